"""What a default sim is made of: its handler table, its dialplan, its starting state.

Each feature module lists its AMI actions (``ACTIONS``: name, handler,
write class) and CLI commands (``CLI``: words, handler); this module puts
them in one table.  Nothing registers itself on import.
"""

from __future__ import annotations

from . import (
    actions,
    chan_sip13,
    channels,
    devicestates,
    events,
    originate,
    pjsip,
    pjsip_actions,
    pjsip_cli,
    queue_members,
    queues,
)
from .apps import APPLICATIONS
from .dialplan import DEFAULT_EXTENSIONS, Dialplan
from .pbx import PBX, Handlers

#: The modules whose actions and CLI commands a default sim answers.
FEATURES = (actions, channels, queues, queue_members, originate, events, devicestates)
#: PJSIP's, which an Asterisk 13 (chan_sip) does not have.
PJSIP_FEATURES = (pjsip_actions, pjsip_cli)


def default_handlers(asterisk13: bool = False) -> Handlers:
    """A new table of every action and CLI command of the sim (without PJSIP's for an Asterisk 13)."""
    table = Handlers()
    for module in FEATURES + ((chan_sip13,) if asterisk13 else PJSIP_FEATURES):
        for name, handler, perm in getattr(module, "ACTIONS", ()):
            table.add_action(name, handler, perm)
        for words, command in getattr(module, "CLI", ()):
            table.add_cli(words, command)
    for name, handler, perm in chan_sip13.COMMON_ACTIONS:
        table.add_action(name, handler, perm)
    return table


def default_dialplan() -> Dialplan:
    """A new dialplan: the recorded PBX's extensions and the sim's applications."""
    return Dialplan(DEFAULT_EXTENSIONS, APPLICATIONS)


def load_default_state(pbx: PBX, phones: int = 0) -> None:
    """The state a new sim starts with: the recorded PBX's queues, and its PJSIP (plus ``phones`` more
    endpoints), or on an Asterisk 13 its SIP peers."""
    queues.load_default_queues(pbx)
    if pbx.asterisk13:
        chan_sip13.load_sip_peers(pbx)
    else:
        pjsip.load_default_pjsip(pbx, phones)
