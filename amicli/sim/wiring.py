"""What a default sim is made of: its handler table, its dialplan, its starting state.

Each feature module lists its AMI actions (``ACTIONS``: name, handler,
write class) and CLI commands (``CLI``: words, handler); this module puts
them in one table.  Nothing registers itself on import.
"""

from __future__ import annotations

from . import actions, channels, events, originate, queue_members, queues
from .apps import APPLICATIONS
from .dialplan import DEFAULT_EXTENSIONS, Dialplan
from .pbx import PBX, Handlers

#: The modules whose actions and CLI commands a default sim answers.
FEATURES = (actions, channels, queues, queue_members, originate, events)


def default_handlers() -> Handlers:
    """A new table of every action and CLI command of the sim."""
    table = Handlers()
    for module in FEATURES:
        for name, handler, perm in getattr(module, "ACTIONS", ()):
            table.add_action(name, handler, perm)
        for words, command in getattr(module, "CLI", ()):
            table.add_cli(words, command)
    return table


def default_dialplan() -> Dialplan:
    """A new dialplan: the recorded PBX's extensions and the sim's applications."""
    return Dialplan(DEFAULT_EXTENSIONS, APPLICATIONS)


def load_default_state(pbx: PBX) -> None:
    """The state a new sim starts with: the recorded PBX's queues."""
    queues.load_default_queues(pbx)
