"""The simulated PBX's channel actions: CoreShowChannels, Hangup, Getvar, Status.

Channels live in ``pbx.channels`` (see :class:`~amicli.sim.pbx.PBX`); the call
lifecycle adds and removes them.  Shapes follow the recorded Asterisk 22
(``busy-coreshowchannels``, ``coreshowchannels-empty``, ``hangup-getvar``):

* CoreShowChannels: ``Channels will follow``, one ``CoreShowChannel`` per
  channel (ActionID right after Event), ``CoreShowChannelsComplete``;
* Hangup by name: ``Channel Hungup`` or ``No such channel``; by
  ``/regex/``: a list of ``ChannelHungup`` events (ActionID last) ended by
  ``ChannelsHungupListComplete``.  A Local channel takes its other half
  with it, and the events are those of the recording (SoftHangupRequest,
  HangupRequest, Hangup, DeviceStateChange).

:func:`populate_demo` loads the busy state of the recordings: twelve
channels up or ringing, a caller waiting in ``support`` whose members ring.
"""

from __future__ import annotations

import re
import time

from ..protocol import Message
from . import queues as simqueues
from .channel import CAUSE_TEXT, Channel, local_partner
from .pbx import PBX
from .session import Session, action_id_of


def core_show_channels(pbx: PBX, session: Session, request: Message) -> None:
    items = [c.core_show() for c in pbx.channels_by_age()]
    session.send_list(request, items, "Channels will follow", "CoreShowChannelsComplete")


# -- hanging up ---------------------------------------------------------------


def hangup_channel(pbx: PBX, name: str, cause: int | None = None) -> list[str]:
    """Hang up a channel (and the other half of a Local one), sending the events; the names gone."""
    target = pbx.find_channel(name)
    if target is None:
        return []
    partner_name = local_partner(name)
    partner = pbx.find_channel(partner_name) if partner_name else None
    pbx.broadcast("call", [("Event", "SoftHangupRequest"), *target.snapshot(), ("Cause", str(cause or 16))])
    if partner is not None:
        pbx.broadcast("call", [("Event", "HangupRequest"), *partner.snapshot(), ("Cause", "0")])
    gone = []
    hangup_cause = cause or 0
    for channel in (target, partner):
        if channel is None:
            continue
        simqueues.leave_queue(pbx, channel.name)
        if pbx.remove_channel(channel.name) is None:
            continue  # ended meanwhile by someone else
        gone.append(channel.name)
        cause_text = CAUSE_TEXT.get(hangup_cause, "Unknown")
        pbx.broadcast(
            "call", [("Event", "Hangup"), *channel.snapshot(), ("Cause", str(hangup_cause)), ("Cause-txt", cause_text)]
        )
        pbx.broadcast("call", [("Event", "DeviceStateChange"), ("Device", channel.device), ("State", "NOT_INUSE")])
    # Channels ringing queue members for a caller that is gone go too.
    for chan_name in gone:
        for other in [c for c in pbx.channels_by_age() if c.ringing_for == chan_name]:
            gone.extend(hangup_channel(pbx, other.name, cause))
    return gone


def _cause(text: str | None) -> int | None:
    # As Asterisk: a cause that is not a number from 0 to 127 is ignored.
    if not text:
        return None
    try:
        number = int(text)
    except ValueError:
        return None
    return number if 0 <= number <= 127 else None


def hangup(pbx: PBX, session: Session, request: Message) -> None:
    name = request.get("Channel") or ""
    cause = _cause(request.get("Cause"))
    if not name:
        session.error(request, "No channel specified")
        return
    if not name.startswith("/"):
        if pbx.find_channel(name) is None:
            session.error(request, "No such channel")
            return
        session.respond(request, "Success", [("Message", "Channel Hungup")])
        hangup_channel(pbx, name, cause)
        return
    if len(name) < 2 or not name.endswith("/"):
        session.error(request, "Regex format invalid, Channel param should be /regex/")
        return
    try:
        rx = re.compile(name[1:-1])
    except re.error:
        session.error(request, f"Regex compile failed on: {name}")
        return
    aid = action_id_of(request)
    session.respond(request, "Success", [("EventList", "start"), ("Message", "Channels hung up will follow")])
    matched = [c.name for c in pbx.channels_by_age() if rx.search(c.name)]
    count = 0
    for chan_name in matched:
        if pbx.find_channel(chan_name) is None:
            continue  # went with its other half
        count += 1
        session.send([("Event", "ChannelHungup"), ("Channel", chan_name), *aid])
        # As in the recording: the list is written first, then the hang-up events.
    session.send([("Event", "ChannelsHungupListComplete"), *aid, ("EventList", "Complete"), ("ListItems", str(count))])
    for chan_name in matched:
        hangup_channel(pbx, chan_name, cause)


# -- variables -------------------------------------------------------------------

#: Dialplan functions of a channel that Getvar reads: the header they show.
CHANNEL_FUNCTIONS = {
    "CHANNEL(STATE)": "ChannelStateDesc",
    "CHANNEL(NAME)": "Channel",
    "CHANNEL(LANGUAGE)": "Language",
    "CHANNEL(ACCOUNTCODE)": "AccountCode",
    "CHANNEL(LINKEDID)": "Linkedid",
    "CHANNEL(UNIQUEID)": "Uniqueid",
    "UNIQUEID": "Uniqueid",
    "CALLERID(NUM)": "CallerIDNum",
    "CALLERID(NAME)": "CallerIDName",
    "CONTEXT": "Context",
    "EXTEN": "Exten",
    "PRIORITY": "Priority",
}


def read_variable(pbx: PBX, channel: Channel | None, variable: str) -> str:
    """A channel variable or dialplan function of the channel ('' when unset)."""
    if channel is None:
        return pbx.globals.get(variable, "")
    header = CHANNEL_FUNCTIONS.get(variable.upper())
    if header is not None:
        return channel.field_value(header)
    return channel.variables.get(variable, "")


def getvar(pbx: PBX, session: Session, request: Message) -> None:
    variable = request.get("Variable") or ""
    name = request.get("Channel")
    if not variable:
        session.error(request, "No variable specified")
        return
    channel = None
    if name:
        channel = pbx.find_channel(name)
        if channel is None:
            session.error(request, "No such channel")
            return
    session.respond(request, "Success", [("Variable", variable), ("Value", read_variable(pbx, channel, variable))])


# -- Status ------------------------------------------------------------------------


def status_headers(channel: Channel) -> list[tuple[str, str]]:
    """One ``Status`` event (without ActionID), in Asterisk 22's order."""
    return [
        ("Event", "Status"),
        ("Privilege", "Call"),
        *channel.snapshot(),
        ("Type", channel.name.split("/", 1)[0]),
        ("DNID", ""),
        ("EffectiveConnectedLineNum", channel.connected_num),
        ("EffectiveConnectedLineName", channel.connected_name),
        ("TimeToHangup", "0"),
        ("BridgeID", channel.bridge_id),
        ("Application", channel.application),
        ("Data", channel.application_data),
        ("Nativeformats", "(slin)"),
        ("Readformat", "slin"),
        ("Readtrans", ""),
        ("Writeformat", "slin"),
        ("Writetrans", ""),
        ("Callgroup", "0"),
        ("Pickupgroup", "0"),
        ("Seconds", str(int(time.time() - channel.created))),
    ]


def status(pbx: PBX, session: Session, request: Message) -> None:
    name = request.get("Channel")
    with pbx.lock:
        if name:
            channel = pbx.channels.get(name)
            if channel is None:
                session.error(request, "No such channel")
                return
            channels = [channel]
        else:
            channels = pbx.channels_by_age()
        events = [status_headers(c) for c in channels]
    aid = action_id_of(request)
    session.respond(request, "Success", [("EventList", "start"), ("Message", "Channel status will follow")])
    for headers in events:
        session.send([*headers, *aid])
    n = str(len(events))
    session.send([("Event", "StatusComplete"), *aid, ("EventList", "Complete"), ("ListItems", n), ("Items", n)])


# -- the demo state ------------------------------------------------------------------


def _demo_channel(
    name: str,
    state: int,
    cid: tuple[str, str],
    place: tuple[str, str, int],
    ids: tuple[str, str],
    app: tuple[str, str],
    age: float,
) -> Channel:
    return Channel(
        name,
        state,
        caller_num=cid[0],
        caller_name=cid[1],
        connected_num=cid[0],
        connected_name=cid[1],
        context=place[0],
        exten=place[1],
        priority=place[2],
        uniqueid=ids[0],
        linkedid=ids[1],
        application=app[0],
        application_data=app[1],
        created=time.time() - age,
    )


def populate_demo(pbx: PBX) -> None:
    """Load the busy state of the recordings (``busy-coreshowchannels``, ``busy-queues``).

    Three calls to 200 (Wait 600, both halves of each Local channel up); a
    caller (5550199 "Waiting Caller") waiting in ``support`` on
    ``Local/300@default-0000000d;2`` while Alice's and Bob's phones ring for
    it (their members ``In use``).  Safe to call once per PBX.
    """
    line, waiting = ("5550100", "Line"), ("5550199", "Waiting Caller")
    sysname = pbx.system_name
    base = int(time.time()) - 4

    def uid(n: int) -> str:
        return f"{sysname}-{base}.{n}"

    channels = []
    for n, suffix in ((20, "a"), (22, "b"), (24, "c")):
        name = f"Local/200@default-0000000{suffix}"
        wait = ("Wait", "600")
        channels.append(_demo_channel(f"{name};1", 6, line, ("default", "200", 1), (uid(n), uid(n)), wait, 4))
        channels.append(_demo_channel(f"{name};2", 6, line, ("default", "200", 2), (uid(n + 1), uid(n)), wait, 4))
    caller = _demo_channel(
        "Local/300@default-0000000d;2",
        6,
        waiting,
        ("default", "300", 2),
        (uid(27), uid(26)),
        ("Queue", "support,,,,600"),
        3,
    )
    channels.append(
        _demo_channel(
            "Local/300@default-0000000d;1", 6, waiting, ("default", "300", 1), (uid(26), uid(26)), ("Wait", "600"), 3
        )
    )
    channels.append(caller)
    for member, first in (("1002", 30), ("1001", 32)):
        suffix = "0000000f" if member == "1002" else "00000010"
        name = f"Local/{member}@ringonly-{suffix}"
        outgoing = _demo_channel(
            f"{name};1", 5, waiting, ("ringonly", "300", 1), (uid(first), uid(26)), ("AppQueue", "(Outgoing Line)"), 3
        )
        ringing = _demo_channel(
            f"{name};2", 4, waiting, ("ringonly", member, 2), (uid(first + 1), uid(26)), ("Wait", "600"), 3
        )
        outgoing.ringing_for = ringing.ringing_for = caller.name
        channels += [outgoing, ringing]
    for channel in channels:
        pbx.add_channel(channel)
    position = simqueues.join_queue(pbx, "support", caller)
    if position:
        support = simqueues.find_queue(pbx, "support")
        assert support is not None
        support.callers[-1].start = time.time() - 5
        for member in support.members:
            member.status = 2
            member.ringing_for = caller.name


#: (action, handler, write class needed)
ACTIONS = (
    ("CoreShowChannels", core_show_channels, "system,reporting"),
    ("Hangup", hangup, "system,call"),
    ("Getvar", getvar, "call,reporting"),
    ("Status", status, "system,call,reporting"),
)
