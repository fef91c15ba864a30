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
from typing import TYPE_CHECKING

from ..protocol import Message
from . import queues as simqueues
from .server import Session, action

if TYPE_CHECKING:
    from .pbx import PBX

#: CoreShowChannel headers after Event and ActionID, in Asterisk 22's order.
CORE_FIELDS = (
    "Channel", "ChannelState", "ChannelStateDesc", "CallerIDNum", "CallerIDName", "ConnectedLineNum",
    "ConnectedLineName", "Language", "AccountCode", "Context", "Exten", "Priority", "Uniqueid", "Linkedid",
    "Application", "ApplicationData", "Duration", "BridgeId",
)
SNAPSHOT_FIELDS = CORE_FIELDS[:14]

#: Hangup cause texts (``ast_cause2str``) for the causes worth naming.
CAUSE_TEXT = {
    0: "Unknown",
    1: "Unallocated (unassigned) number",
    16: "Normal Clearing",
    17: "User busy",
    18: "No user responding",
    19: "User alerting, no answer",
    21: "Call Rejected",
    34: "Circuit/channel congestion",
    127: "Interworking, unspecified",
}

STATE_DESC = {0: "Down", 1: "Rsrvd", 2: "OffHook", 3: "Dialing", 4: "Ring", 5: "Ringing", 6: "Up", 7: "Busy",
              8: "Dialing Offhook", 9: "Pre-ring"}


def _aid(request: Message) -> list[tuple[str, str]]:
    action_id = request.get("ActionID")
    return [("ActionID", action_id)] if action_id is not None else []


def _value(channel: dict, key: str) -> str:
    value = channel.get(key, "")
    return "" if value is None else str(value)


@action("CoreShowChannels", "system,reporting")
def core_show_channels(session: Session, request: Message) -> None:
    pbx = session.server.pbx
    items = [[("Event", "CoreShowChannel"), *[(k, _value(c, k)) for k in CORE_FIELDS]] for c in pbx.channel_snapshot()]
    session.send_list(request, items, "Channels will follow", "CoreShowChannelsComplete")


# -- hanging up ---------------------------------------------------------------


def _partner(name: str) -> str | None:
    """``Local/200@default-0000001e;2`` -> ``...;1`` (the other half of a Local channel)."""
    if name.startswith("Local/") and name[-2:] in (";1", ";2"):
        return name[:-1] + ("1" if name.endswith("2") else "2")
    return None


def _device(name: str) -> str:
    """The device of a channel: its name without the ``-0000001e;2`` suffix."""
    base = name.split(";", 1)[0]
    head, sep, _ = base.rpartition("-")
    return head if sep else base


def _snapshot(channel: dict) -> list[tuple[str, str]]:
    return [(k, _value(channel, k)) for k in SNAPSHOT_FIELDS if k in channel]


def hangup_channel(pbx: PBX, name: str, cause: int | None = None) -> list[str]:
    """Hang up a channel (and the other half of a Local one), sending the events; the names gone."""
    target = pbx.find_channel(name)
    if target is None:
        return []
    partner_name = _partner(name)
    partner = pbx.find_channel(partner_name) if partner_name else None
    broadcast = pbx.server.broadcast
    broadcast("call", [("Event", "SoftHangupRequest"), *_snapshot(target), ("Cause", str(cause if cause else 16))])
    if partner is not None:
        broadcast("call", [("Event", "HangupRequest"), *_snapshot(partner), ("Cause", "0")])
    gone = []
    hangup_cause = cause or 0
    for channel in (target, partner):
        if channel is None:
            continue
        chan_name = channel["Channel"]
        simqueues.leave_queue(pbx, chan_name)
        if pbx.remove_channel(chan_name) is None:
            continue  # ended meanwhile by someone else
        gone.append(chan_name)
        broadcast("call", [("Event", "Hangup"), *_snapshot(channel), ("Cause", str(hangup_cause)),
                           ("Cause-txt", CAUSE_TEXT.get(hangup_cause, "Unknown"))])
        broadcast("call", [("Event", "DeviceStateChange"), ("Device", _device(chan_name)), ("State", "NOT_INUSE")])
    # Channels ringing queue members for a caller that is gone go too.
    for chan_name in gone:
        for other in [c for c in pbx.channel_snapshot() if _ringing_for(pbx, c["Channel"]) == chan_name]:
            gone.extend(hangup_channel(pbx, other["Channel"], cause))
    return gone


def _ringing_for(pbx: PBX, name: str) -> str | None:
    channel = pbx.find_channel(name)
    return channel.get("_ringing_for") if channel else None


def _cause(text: str | None) -> int | None:
    # As Asterisk: a cause that is not a number from 0 to 127 is ignored.
    if not text:
        return None
    try:
        number = int(text)
    except ValueError:
        return None
    return number if 0 <= number <= 127 else None


@action("Hangup", "system,call")
def hangup(session: Session, request: Message) -> None:
    pbx = session.server.pbx
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
    aid = _aid(request)
    session.respond(request, "Success", [("EventList", "start"), ("Message", "Channels hung up will follow")])
    matched = [c["Channel"] for c in pbx.channel_snapshot() if rx.search(c["Channel"])]
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


def read_variable(pbx: PBX, channel: dict | None, variable: str) -> str:
    """A channel variable or dialplan function of the channel ('' when unset)."""
    if channel is None:
        return str(getattr(pbx, "globals", {}).get(variable, ""))
    upper = variable.upper()
    functions = {
        "CHANNEL(STATE)": lambda: _value(channel, "ChannelStateDesc"),
        "CHANNEL(NAME)": lambda: _value(channel, "Channel"),
        "CHANNEL(LANGUAGE)": lambda: _value(channel, "Language"),
        "CHANNEL(ACCOUNTCODE)": lambda: _value(channel, "AccountCode"),
        "CHANNEL(LINKEDID)": lambda: _value(channel, "Linkedid"),
        "CHANNEL(UNIQUEID)": lambda: _value(channel, "Uniqueid"),
        "UNIQUEID": lambda: _value(channel, "Uniqueid"),
        "CALLERID(NUM)": lambda: _value(channel, "CallerIDNum"),
        "CALLERID(NAME)": lambda: _value(channel, "CallerIDName"),
        "CONTEXT": lambda: _value(channel, "Context"),
        "EXTEN": lambda: _value(channel, "Exten"),
        "PRIORITY": lambda: _value(channel, "Priority"),
    }
    if upper in functions:
        return functions[upper]()
    return str(channel.get("_vars", {}).get(variable, ""))


@action("Getvar", "call,reporting")
def getvar(session: Session, request: Message) -> None:
    pbx = session.server.pbx
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


def status_headers(channel: dict) -> list[tuple[str, str]]:
    """One ``Status`` event (without ActionID), in Asterisk 22's order."""
    seconds = int(time.time() - channel.get("_created", time.time()))
    return [
        ("Event", "Status"),
        ("Privilege", "Call"),
        *[(k, _value(channel, k)) for k in SNAPSHOT_FIELDS],
        ("Type", _value(channel, "Channel").split("/", 1)[0]),
        ("DNID", ""),
        ("EffectiveConnectedLineNum", _value(channel, "ConnectedLineNum")),
        ("EffectiveConnectedLineName", _value(channel, "ConnectedLineName")),
        ("TimeToHangup", "0"),
        ("BridgeID", _value(channel, "BridgeId")),
        ("Application", _value(channel, "Application")),
        ("Data", _value(channel, "ApplicationData")),
        ("Nativeformats", "(slin)"),
        ("Readformat", "slin"),
        ("Readtrans", ""),
        ("Writeformat", "slin"),
        ("Writetrans", ""),
        ("Callgroup", "0"),
        ("Pickupgroup", "0"),
        ("Seconds", str(seconds)),
    ]


@action("Status", "system,call,reporting")
def status(session: Session, request: Message) -> None:
    pbx = session.server.pbx
    name = request.get("Channel")
    with pbx.lock:
        if name:
            channel = pbx.channels.get(name)
            if channel is None:
                session.error(request, "No such channel")
                return
            channels = [channel]
        else:
            channels = sorted(pbx.channels.values(), key=lambda c: c.get("_created", 0))
        events = [status_headers(c) for c in channels]
    aid = _aid(request)
    session.respond(request, "Success", [("EventList", "start"), ("Message", "Channel status will follow")])
    for headers in events:
        session.send([*headers, *aid])
    n = str(len(events))
    session.send([("Event", "StatusComplete"), *aid, ("EventList", "Complete"), ("ListItems", n), ("Items", n)])


# -- the demo state ------------------------------------------------------------------


def _demo_channel(name: str, state: int, cid: tuple[str, str], context: str, exten: str, priority: int,
                  uniqueid: str, linkedid: str, app: str, data: str, age: float) -> dict:
    return {
        "Channel": name,
        "ChannelState": str(state),
        "ChannelStateDesc": STATE_DESC[state],
        "CallerIDNum": cid[0],
        "CallerIDName": cid[1],
        "ConnectedLineNum": cid[0],
        "ConnectedLineName": cid[1],
        "Language": "en",
        "AccountCode": "",
        "Context": context,
        "Exten": exten,
        "Priority": str(priority),
        "Uniqueid": uniqueid,
        "Linkedid": linkedid,
        "Application": app,
        "ApplicationData": data,
        "BridgeId": "",
        "_created": time.time() - age,
    }


def populate_demo(pbx: PBX) -> None:
    """Load the busy state of the recordings (``busy-coreshowchannels``, ``busy-queues``).

    Three calls to 200 (Wait 600, both halves of each Local channel up); a
    caller (5550199 "Waiting Caller") waiting in ``support`` on
    ``Local/300@default-0000000d;2`` while Alice's and Bob's phones ring for
    it (their members ``In use``).  Safe to call once per PBX.
    """
    line, waiting = ("5550100", "Line"), ("5550199", "Waiting Caller")
    sysname = pbx.server.system_name
    base = int(time.time()) - 4

    def uid(n: int) -> str:
        return f"{sysname}-{base}.{n}"

    channels = []
    for n, suffix in ((20, "a"), (22, "b"), (24, "c")):
        name = f"Local/200@default-0000000{suffix}"
        channels.append(_demo_channel(f"{name};1", 6, line, "default", "200", 1, uid(n), uid(n), "Wait", "600", 4))
        channels.append(_demo_channel(f"{name};2", 6, line, "default", "200", 2, uid(n + 1), uid(n), "Wait", "600", 4))
    caller = _demo_channel("Local/300@default-0000000d;2", 6, waiting, "default", "300", 2, uid(27), uid(26),
                           "Queue", "support,,,,600", 3)
    channels.append(_demo_channel("Local/300@default-0000000d;1", 6, waiting, "default", "300", 1, uid(26), uid(26),
                                  "Wait", "600", 3))
    channels.append(caller)
    for member, first in (("1002", 30), ("1001", 32)):
        suffix = "0000000f" if member == "1002" else "00000010"
        name = f"Local/{member}@ringonly-{suffix}"
        outgoing = _demo_channel(f"{name};1", 5, waiting, "ringonly", "300", 1, uid(first), uid(26), "AppQueue",
                                 "(Outgoing Line)", 3)
        ringing = _demo_channel(f"{name};2", 4, waiting, "ringonly", member, 2, uid(first + 1), uid(26), "Wait",
                                "600", 3)
        outgoing["_ringing_for"] = ringing["_ringing_for"] = caller["Channel"]
        channels += [outgoing, ringing]
    for channel in channels:
        pbx.add_channel(channel)
    simqueues.queues_of(pbx)
    position = simqueues.join_queue(pbx, "support", caller)
    if position:
        support = simqueues.find_queue(pbx, "support")
        assert support is not None
        support.callers[-1].start = time.time() - 5
        for member in support.members:
            member.status = 2
            member.ringing_for = caller["Channel"]
