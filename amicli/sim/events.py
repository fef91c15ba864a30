"""The simulated PBX's own events: Shutdown (stop and restart), and a load mode.

* :func:`shutdown_pbx` (also ``server.shutdown_pbx()``, and the CLI commands
  ``core stop now`` / ``core restart now`` through the Command action) does
  what Asterisk does when it stops: every session gets ``Event: Shutdown``
  (class system, ``Shutdown: Cleanly``, ``Restart: True|False``) and is then
  closed.  A stop also closes the listener, so a new sim can take the port.
* ``Action: SimLoad`` (the sim's own action; Asterisk has no such thing)
  sends recorded events, byte for byte as a real Asterisk 22 sent them, as
  fast as the socket takes them: ``Events: N`` of them (cycled), to every
  other logged-in session that receives call events (``Target: others``,
  the default) or to the session that asked (``Target: self``).  The
  benchmark of ``ami events`` uses it.  :func:`start_load` does the same
  from Python.

FullyBooted and UserEvent live in ``server.py`` and ``actions.py``; the call
lifecycle events of Originate in ``calls.py``.
"""

from __future__ import annotations

import threading
import time
from typing import Iterable, Sequence

from ..protocol import Message
from .pbx import PBX, cli
from .server import Session, SimServer, action
from .users import permission_mask

#: How long a stop waits after the Shutdown event before closing sessions,
#: so that it reaches the clients first.
SHUTDOWN_LINGER = 0.05


def shutdown_headers(restart: bool, cleanly: bool = True) -> list[tuple[str, str]]:
    """``Event: Shutdown`` as Asterisk writes it (manager_event in asterisk.c)."""
    return [
        ("Event", "Shutdown"),
        ("Shutdown", "Cleanly" if cleanly else "Uncleanly"),
        ("Restart", "True" if restart else "False"),
    ]


def shutdown_pbx(server: SimServer, restart: bool = False, close: bool = True) -> None:
    """Broadcast ``Event: Shutdown``, then close every session.

    ``close``: also stop listening (the port is free for a new sim: that is
    how tests restart the PBX on the same port).  With ``close=False`` the
    sim keeps listening, as one that restarts at once would.
    """
    with server.pbx.lock:
        cleanly = not server.pbx.channels
    server.broadcast("system", shutdown_headers(restart, cleanly))
    time.sleep(SHUTDOWN_LINGER)
    if close:
        server.close()
        return
    with server.lock:
        sessions = list(server.sessions)
    for session in sessions:
        _end_session(session)


def _end_session(session: Session) -> None:
    import socket

    session.alive = False
    try:
        session.sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


# ``server.shutdown_pbx(restart=...)``: a method, for tests and the benchmark.
SimServer.shutdown_pbx = shutdown_pbx  # type: ignore[attr-defined]


def _later(func, *args: object) -> None:
    # After the Command reply has gone out, as Asterisk answers first too.
    timer = threading.Timer(0.05, func, args)
    timer.daemon = True
    timer.start()


@cli("core stop now")
def _core_stop(pbx: PBX, args: list[str]) -> tuple[bool, list[str]]:
    _later(shutdown_pbx, pbx.server, False, True)
    return True, []


@cli("core restart now")
def _core_restart(pbx: PBX, args: list[str]) -> tuple[bool, list[str]]:
    _later(_restart, pbx.server)
    return True, []


def _restart(server: SimServer, downtime: float = 1.0) -> None:
    """Shutdown to every session, then boot again after ``downtime`` (new FullyBooted)."""
    shutdown_pbx(server, restart=True, close=False)
    server.booted_at = None
    timer = threading.Timer(downtime, server._boot)
    timer.daemon = True
    timer.start()


# -- the load mode -----------------------------------------------------------


def recorded_blocks() -> list[bytes]:
    """The recorded events below, as the exact bytes Asterisk sent."""
    return [(text.replace("\n", "\r\n") + "\r\n\r\n").encode("utf-8") for text in RECORDED_EVENTS]


def load_blob(blocks: Sequence[bytes], size: int = 1 << 20) -> tuple[bytes, int]:
    """Whole cycles of ``blocks`` joined up to about ``size`` bytes: (bytes, events in it)."""
    cycle = b"".join(blocks)
    reps = max(1, size // max(1, len(cycle)))
    return cycle * reps, len(blocks) * reps


def send_load(session: Session, count: int, blocks: Sequence[bytes] | None = None) -> int:
    """Send ``count`` events (cycling ``blocks``) to ``session`` as fast as it reads; return how many went."""
    blocks = list(blocks) if blocks else recorded_blocks()
    blob, per_blob = load_blob(blocks)
    stopping = session.server.pbx.stopping
    sent = 0
    while sent + per_blob <= count and session.alive and not stopping.is_set():
        session.write(blob)
        sent += per_blob
    left = count - sent
    if left > 0 and session.alive and not stopping.is_set():
        cycles, rest = divmod(left, len(blocks))
        session.write(b"".join(blocks) * cycles + b"".join(blocks[:rest]))
        sent += left
    return sent if session.alive else 0


def start_load(
    server: SimServer,
    count: int,
    targets: Iterable[Session] | None = None,
    blocks: Sequence[bytes] | None = None,
) -> list[threading.Thread]:
    """Send ``count`` recorded events to each target (default: every logged-in session taking call events)."""
    call = permission_mask("call")
    if targets is None:
        with server.lock:
            targets = [s for s in server.sessions if s.logged_in and s.wants(call, [])]
    threads = []
    for session in targets:
        thread = threading.Thread(target=send_load, args=(session, count, blocks), name="ami-sim-load", daemon=True)
        thread.start()
        threads.append(thread)
    return threads


@action("SimLoad", "system")
def sim_load(session: Session, request: Message) -> None:
    try:
        count = int(request.get("Events") or "100000")
    except ValueError:
        session.error(request, "Events must be a number")
        return
    if count < 0:
        session.error(request, "Events must be a number")
        return
    target = (request.get("Target") or "others").lower()
    if target not in ("others", "self"):
        session.error(request, "Target must be 'others' or 'self'")
        return
    call = permission_mask("call")
    if target == "self":
        targets = [session] if session.wants(call, []) else []
    else:
        with session.server.lock:
            targets = [s for s in session.server.sessions if s is not session and s.logged_in and s.wants(call, [])]
    session.respond(request, "Success", [("Message", f"Sending {count} recorded events to {len(targets)} sessions")])
    start_load(session.server, count, targets)


# -- recorded events ---------------------------------------------------------
# Asterisk 22.10.1, timestampevents = yes (transcripts events-call-lifecycle
# and busy-events-stream): a call that raises a UserEvent and hangs up, and
# a queue whose members ring unanswered.  Lines as received, CRLF written as
# a newline here.

RECORDED_EVENTS: tuple[str, ...] = (
    "Event: Newchannel\n"
    "Privilege: call,all\n"
    "Timestamp: 1795775748.875622\n"
    "SystemName: pbx-test\n"
    "Channel: Local/event@default-00000008;1\n"
    "ChannelState: 0\n"
    "ChannelStateDesc: Down\n"
    "CallerIDNum: <unknown>\n"
    "CallerIDName: <unknown>\n"
    "ConnectedLineNum: <unknown>\n"
    "ConnectedLineName: <unknown>\n"
    "Language: en\n"
    "AccountCode: \n"
    "Context: default\n"
    "Exten: event\n"
    "Priority: 1\n"
    "Uniqueid: pbx-test-1795775748.16\n"
    "Linkedid: pbx-test-1795775748.16",
    "Event: Newchannel\n"
    "Privilege: call,all\n"
    "Timestamp: 1795775748.875747\n"
    "SystemName: pbx-test\n"
    "Channel: Local/event@default-00000008;2\n"
    "ChannelState: 4\n"
    "ChannelStateDesc: Ring\n"
    "CallerIDNum: <unknown>\n"
    "CallerIDName: <unknown>\n"
    "ConnectedLineNum: <unknown>\n"
    "ConnectedLineName: <unknown>\n"
    "Language: en\n"
    "AccountCode: \n"
    "Context: default\n"
    "Exten: event\n"
    "Priority: 1\n"
    "Uniqueid: pbx-test-1795775748.17\n"
    "Linkedid: pbx-test-1795775748.16",
    "Event: Newexten\n"
    "Privilege: dialplan,all\n"
    "Timestamp: 1795775748.876015\n"
    "SystemName: pbx-test\n"
    "Channel: Local/event@default-00000008;1\n"
    "ChannelState: 0\n"
    "ChannelStateDesc: Down\n"
    "CallerIDNum: <unknown>\n"
    "CallerIDName: <unknown>\n"
    "ConnectedLineNum: <unknown>\n"
    "ConnectedLineName: <unknown>\n"
    "Language: en\n"
    "AccountCode: \n"
    "Context: default\n"
    "Exten: event\n"
    "Priority: 1\n"
    "Uniqueid: pbx-test-1795775748.16\n"
    "Linkedid: pbx-test-1795775748.16\n"
    "Extension: event\n"
    "Application: AppDial2\n"
    "AppData: (Outgoing Line)",
    "Event: LocalBridge\n"
    "Privilege: call,all\n"
    "Timestamp: 1795775748.876040\n"
    "SystemName: pbx-test\n"
    "LocalOneChannel: Local/event@default-00000008;1\n"
    "LocalOneChannelState: 0\n"
    "LocalOneChannelStateDesc: Down\n"
    "LocalOneCallerIDNum: <unknown>\n"
    "LocalOneCallerIDName: <unknown>\n"
    "LocalOneConnectedLineNum: <unknown>\n"
    "LocalOneConnectedLineName: <unknown>\n"
    "LocalOneLanguage: en\n"
    "LocalOneAccountCode: \n"
    "LocalOneContext: default\n"
    "LocalOneExten: event\n"
    "LocalOnePriority: 1\n"
    "LocalOneUniqueid: pbx-test-1795775748.16\n"
    "LocalOneLinkedid: pbx-test-1795775748.16\n"
    "LocalTwoChannel: Local/event@default-00000008;2\n"
    "LocalTwoChannelState: 4\n"
    "LocalTwoChannelStateDesc: Ring\n"
    "LocalTwoCallerIDNum: <unknown>\n"
    "LocalTwoCallerIDName: <unknown>\n"
    "LocalTwoConnectedLineNum: <unknown>\n"
    "LocalTwoConnectedLineName: <unknown>\n"
    "LocalTwoLanguage: en\n"
    "LocalTwoAccountCode: \n"
    "LocalTwoContext: default\n"
    "LocalTwoExten: event\n"
    "LocalTwoPriority: 1\n"
    "LocalTwoUniqueid: pbx-test-1795775748.17\n"
    "LocalTwoLinkedid: pbx-test-1795775748.16\n"
    "Context: default\n"
    "Exten: event\n"
    "LocalOptimization: Yes",
    "Event: DialBegin\n"
    "Privilege: call,all\n"
    "Timestamp: 1795775748.876050\n"
    "SystemName: pbx-test\n"
    "DestChannel: Local/event@default-00000008;1\n"
    "DestChannelState: 0\n"
    "DestChannelStateDesc: Down\n"
    "DestCallerIDNum: <unknown>\n"
    "DestCallerIDName: <unknown>\n"
    "DestConnectedLineNum: <unknown>\n"
    "DestConnectedLineName: <unknown>\n"
    "DestLanguage: en\n"
    "DestAccountCode: \n"
    "DestContext: default\n"
    "DestExten: event\n"
    "DestPriority: 1\n"
    "DestUniqueid: pbx-test-1795775748.16\n"
    "DestLinkedid: pbx-test-1795775748.16\n"
    "DialString: event@default",
    "Event: Newexten\n"
    "Privilege: dialplan,all\n"
    "Timestamp: 1795775748.876056\n"
    "SystemName: pbx-test\n"
    "Channel: Local/event@default-00000008;2\n"
    "ChannelState: 4\n"
    "ChannelStateDesc: Ring\n"
    "CallerIDNum: <unknown>\n"
    "CallerIDName: <unknown>\n"
    "ConnectedLineNum: <unknown>\n"
    "ConnectedLineName: <unknown>\n"
    "Language: en\n"
    "AccountCode: \n"
    "Context: default\n"
    "Exten: event\n"
    "Priority: 1\n"
    "Uniqueid: pbx-test-1795775748.17\n"
    "Linkedid: pbx-test-1795775748.16\n"
    "Extension: event\n"
    "Application: Answer\n"
    "AppData: ",
    "Event: Newstate\n"
    "Privilege: call,all\n"
    "Timestamp: 1795775748.876062\n"
    "SystemName: pbx-test\n"
    "Channel: Local/event@default-00000008;2\n"
    "ChannelState: 6\n"
    "ChannelStateDesc: Up\n"
    "CallerIDNum: <unknown>\n"
    "CallerIDName: <unknown>\n"
    "ConnectedLineNum: <unknown>\n"
    "ConnectedLineName: <unknown>\n"
    "Language: en\n"
    "AccountCode: \n"
    "Context: default\n"
    "Exten: event\n"
    "Priority: 1\n"
    "Uniqueid: pbx-test-1795775748.17\n"
    "Linkedid: pbx-test-1795775748.16",
    "Event: Newstate\n"
    "Privilege: call,all\n"
    "Timestamp: 1795775748.876327\n"
    "SystemName: pbx-test\n"
    "Channel: Local/event@default-00000008;1\n"
    "ChannelState: 6\n"
    "ChannelStateDesc: Up\n"
    "CallerIDNum: <unknown>\n"
    "CallerIDName: <unknown>\n"
    "ConnectedLineNum: <unknown>\n"
    "ConnectedLineName: <unknown>\n"
    "Language: en\n"
    "AccountCode: \n"
    "Context: default\n"
    "Exten: event\n"
    "Priority: 1\n"
    "Uniqueid: pbx-test-1795775748.16\n"
    "Linkedid: pbx-test-1795775748.16",
    "Event: DeviceStateChange\n"
    "Privilege: call,all\n"
    "Timestamp: 1795775748.876339\n"
    "SystemName: pbx-test\n"
    "Device: Local/event@default\n"
    "State: INUSE",
    "Event: DeviceStateChange\n"
    "Privilege: call,all\n"
    "Timestamp: 1795775748.876359\n"
    "SystemName: pbx-test\n"
    "Device: Local/event@default\n"
    "State: INUSE",
    "Event: DialEnd\n"
    "Privilege: call,all\n"
    "Timestamp: 1795775748.876436\n"
    "SystemName: pbx-test\n"
    "DestChannel: Local/event@default-00000008;1\n"
    "DestChannelState: 6\n"
    "DestChannelStateDesc: Up\n"
    "DestCallerIDNum: <unknown>\n"
    "DestCallerIDName: <unknown>\n"
    "DestConnectedLineNum: <unknown>\n"
    "DestConnectedLineName: <unknown>\n"
    "DestLanguage: en\n"
    "DestAccountCode: \n"
    "DestContext: default\n"
    "DestExten: event\n"
    "DestPriority: 1\n"
    "DestUniqueid: pbx-test-1795775748.16\n"
    "DestLinkedid: pbx-test-1795775748.16\n"
    "DialStatus: ANSWER",
    "Event: OriginateResponse\n"
    "Privilege: call,all\n"
    "Timestamp: 1795775748.876451\n"
    "SystemName: pbx-test\n"
    "ActionID: cap-88\n"
    "Response: Success\n"
    "Channel: Local/event@default-00000008;1\n"
    "Application: Wait\n"
    "Data: 1\n"
    "Reason: 4\n"
    "Uniqueid: pbx-test-1795775748.16\n"
    "CallerIDNum: <unknown>\n"
    "CallerIDName: <unknown>",
    "Event: Newexten\n"
    "Privilege: dialplan,all\n"
    "Timestamp: 1795775749.376777\n"
    "SystemName: pbx-test\n"
    "Channel: Local/event@default-00000008;2\n"
    "ChannelState: 6\n"
    "ChannelStateDesc: Up\n"
    "CallerIDNum: <unknown>\n"
    "CallerIDName: <unknown>\n"
    "ConnectedLineNum: <unknown>\n"
    "ConnectedLineName: <unknown>\n"
    "Language: en\n"
    "AccountCode: \n"
    "Context: default\n"
    "Exten: event\n"
    "Priority: 2\n"
    "Uniqueid: pbx-test-1795775748.17\n"
    "Linkedid: pbx-test-1795775748.16\n"
    "Extension: event\n"
    "Application: UserEvent\n"
    "AppData: Deploy,Status: done,Build: 42",
    "Event: UserEvent\n"
    "Privilege: user,all\n"
    "Timestamp: 1795775749.376953\n"
    "SystemName: pbx-test\n"
    "Channel: Local/event@default-00000008;2\n"
    "ChannelState: 6\n"
    "ChannelStateDesc: Up\n"
    "CallerIDNum: <unknown>\n"
    "CallerIDName: <unknown>\n"
    "ConnectedLineNum: <unknown>\n"
    "ConnectedLineName: <unknown>\n"
    "Language: en\n"
    "AccountCode: \n"
    "Context: default\n"
    "Exten: event\n"
    "Priority: 2\n"
    "Uniqueid: pbx-test-1795775748.17\n"
    "Linkedid: pbx-test-1795775748.16\n"
    "UserEvent: Deploy\n"
    "Status: done\n"
    "Build: 42",
    "Event: Newexten\n"
    "Privilege: dialplan,all\n"
    "Timestamp: 1795775749.376963\n"
    "SystemName: pbx-test\n"
    "Channel: Local/event@default-00000008;2\n"
    "ChannelState: 6\n"
    "ChannelStateDesc: Up\n"
    "CallerIDNum: <unknown>\n"
    "CallerIDName: <unknown>\n"
    "ConnectedLineNum: <unknown>\n"
    "ConnectedLineName: <unknown>\n"
    "Language: en\n"
    "AccountCode: \n"
    "Context: default\n"
    "Exten: event\n"
    "Priority: 3\n"
    "Uniqueid: pbx-test-1795775748.17\n"
    "Linkedid: pbx-test-1795775748.16\n"
    "Extension: event\n"
    "Application: Hangup\n"
    "AppData: ",
    "Event: SoftHangupRequest\n"
    "Privilege: call,all\n"
    "Timestamp: 1795775749.376969\n"
    "SystemName: pbx-test\n"
    "Channel: Local/event@default-00000008;2\n"
    "ChannelState: 6\n"
    "ChannelStateDesc: Up\n"
    "CallerIDNum: <unknown>\n"
    "CallerIDName: <unknown>\n"
    "ConnectedLineNum: <unknown>\n"
    "ConnectedLineName: <unknown>\n"
    "Language: en\n"
    "AccountCode: \n"
    "Context: default\n"
    "Exten: event\n"
    "Priority: 3\n"
    "Uniqueid: pbx-test-1795775748.17\n"
    "Linkedid: pbx-test-1795775748.16\n"
    "Cause: 16",
    "Event: Newexten\n"
    "Privilege: dialplan,all\n"
    "Timestamp: 1795775749.376974\n"
    "SystemName: pbx-test\n"
    "Channel: Local/event@default-00000008;2\n"
    "ChannelState: 6\n"
    "ChannelStateDesc: Up\n"
    "CallerIDNum: <unknown>\n"
    "CallerIDName: <unknown>\n"
    "ConnectedLineNum: <unknown>\n"
    "ConnectedLineName: <unknown>\n"
    "Language: en\n"
    "AccountCode: \n"
    "Context: default\n"
    "Exten: h\n"
    "Priority: 1\n"
    "Uniqueid: pbx-test-1795775748.17\n"
    "Linkedid: pbx-test-1795775748.16\n"
    "Extension: h\n"
    "Application: NoOp\n"
    "AppData: hangup",
    "Event: HangupRequest\n"
    "Privilege: call,all\n"
    "Timestamp: 1795775749.376978\n"
    "SystemName: pbx-test\n"
    "Channel: Local/event@default-00000008;1\n"
    "ChannelState: 6\n"
    "ChannelStateDesc: Up\n"
    "CallerIDNum: <unknown>\n"
    "CallerIDName: <unknown>\n"
    "ConnectedLineNum: <unknown>\n"
    "ConnectedLineName: <unknown>\n"
    "Language: en\n"
    "AccountCode: \n"
    "Context: default\n"
    "Exten: event\n"
    "Priority: 1\n"
    "Uniqueid: pbx-test-1795775748.16\n"
    "Linkedid: pbx-test-1795775748.16\n"
    "Cause: 16",
    "Event: Hangup\n"
    "Privilege: call,all\n"
    "Timestamp: 1795775749.376983\n"
    "SystemName: pbx-test\n"
    "Channel: Local/event@default-00000008;2\n"
    "ChannelState: 6\n"
    "ChannelStateDesc: Up\n"
    "CallerIDNum: <unknown>\n"
    "CallerIDName: <unknown>\n"
    "ConnectedLineNum: <unknown>\n"
    "ConnectedLineName: <unknown>\n"
    "Language: en\n"
    "AccountCode: \n"
    "Context: default\n"
    "Exten: h\n"
    "Priority: 2\n"
    "Uniqueid: pbx-test-1795775748.17\n"
    "Linkedid: pbx-test-1795775748.16\n"
    "Cause: 16\n"
    "Cause-txt: Normal Clearing",
    "Event: Hangup\n"
    "Privilege: call,all\n"
    "Timestamp: 1795775749.376986\n"
    "SystemName: pbx-test\n"
    "Channel: Local/event@default-00000008;1\n"
    "ChannelState: 6\n"
    "ChannelStateDesc: Up\n"
    "CallerIDNum: <unknown>\n"
    "CallerIDName: <unknown>\n"
    "ConnectedLineNum: <unknown>\n"
    "ConnectedLineName: <unknown>\n"
    "Language: en\n"
    "AccountCode: \n"
    "Context: default\n"
    "Exten: event\n"
    "Priority: 1\n"
    "Uniqueid: pbx-test-1795775748.16\n"
    "Linkedid: pbx-test-1795775748.16\n"
    "Cause: 16\n"
    "Cause-txt: Normal Clearing",
    "Event: Cdr\n"
    "Privilege: cdr,all\n"
    "Timestamp: 1795775749.377001\n"
    "SystemName: pbx-test\n"
    "AccountCode: \n"
    "Source: \n"
    "Destination: event\n"
    "DestinationContext: default\n"
    "CallerID: \"\" <>\n"
    "Channel: Local/event@default-00000008;2\n"
    "DestinationChannel: \n"
    "LastApplication: Hangup\n"
    "LastData: \n"
    "StartTime: 2026-11-27 10:35:48\n"
    "AnswerTime: 2026-11-27 10:35:48\n"
    "EndTime: 2026-11-27 10:35:49\n"
    "Duration: 0\n"
    "BillableSeconds: 0\n"
    "Disposition: ANSWERED\n"
    "AMAFlags: DOCUMENTATION\n"
    "UniqueID: pbx-test-1795775748.17\n"
    "UserField: ",
    "Event: Cdr\n"
    "Privilege: cdr,all\n"
    "Timestamp: 1795775749.377011\n"
    "SystemName: pbx-test\n"
    "AccountCode: \n"
    "Source: \n"
    "Destination: event\n"
    "DestinationContext: default\n"
    "CallerID: \"\" <>\n"
    "Channel: Local/event@default-00000008;1\n"
    "DestinationChannel: \n"
    "LastApplication: Wait\n"
    "LastData: 1\n"
    "StartTime: 2026-11-27 10:35:48\n"
    "AnswerTime: 2026-11-27 10:35:48\n"
    "EndTime: 2026-11-27 10:35:49\n"
    "Duration: 0\n"
    "BillableSeconds: 0\n"
    "Disposition: ANSWERED\n"
    "AMAFlags: DOCUMENTATION\n"
    "UniqueID: pbx-test-1795775748.16\n"
    "UserField: ",
    "Event: DeviceStateChange\n"
    "Privilege: call,all\n"
    "Timestamp: 1795775749.377254\n"
    "SystemName: pbx-test\n"
    "Device: Local/event@default\n"
    "State: NOT_INUSE",
    "Event: DeviceStateChange\n"
    "Privilege: call,all\n"
    "Timestamp: 1795775749.377260\n"
    "SystemName: pbx-test\n"
    "Device: Local/event@default\n"
    "State: NOT_INUSE",
    "Event: AgentRingNoAnswer\n"
    "Privilege: agent,all\n"
    "Timestamp: 1795775779.511382\n"
    "SystemName: pbx-test\n"
    "Channel: Local/300@default-0000000d;2\n"
    "ChannelState: 6\n"
    "ChannelStateDesc: Up\n"
    "CallerIDNum: 5550199\n"
    "CallerIDName: Waiting Caller\n"
    "ConnectedLineNum: 5550199\n"
    "ConnectedLineName: Waiting Caller\n"
    "Language: en\n"
    "AccountCode: \n"
    "Context: default\n"
    "Exten: 300\n"
    "Priority: 2\n"
    "Uniqueid: pbx-test-1795775763.27\n"
    "Linkedid: pbx-test-1795775763.26\n"
    "DestChannel: Local/1002@ringonly-0000000f;1\n"
    "DestChannelState: 5\n"
    "DestChannelStateDesc: Ringing\n"
    "DestCallerIDNum: 5550199\n"
    "DestCallerIDName: Waiting Caller\n"
    "DestConnectedLineNum: 5550199\n"
    "DestConnectedLineName: Waiting Caller\n"
    "DestLanguage: en\n"
    "DestAccountCode: \n"
    "DestContext: ringonly\n"
    "DestExten: 300\n"
    "DestPriority: 1\n"
    "DestUniqueid: pbx-test-1795775764.30\n"
    "DestLinkedid: pbx-test-1795775763.26\n"
    "Queue: support\n"
    "Interface: Local/1002@ringonly/n\n"
    "MemberName: Bob\n"
    "RingTime: 15000",
    "Event: QueueMemberStatus\n"
    "Privilege: agent,all\n"
    "Timestamp: 1795775779.512088\n"
    "SystemName: pbx-test\n"
    "Queue: support\n"
    "MemberName: Bob\n"
    "Interface: Local/1002@ringonly/n\n"
    "StateInterface: Local/1002@ringonly/n\n"
    "Membership: static\n"
    "Penalty: 0\n"
    "CallsTaken: 0\n"
    "LastCall: 0\n"
    "LastPause: 0\n"
    "LoginTime: 1795775545\n"
    "InCall: 0\n"
    "Status: 1\n"
    "Paused: 0\n"
    "PausedReason: \n"
    "Ringinuse: 1\n"
    "Wrapuptime: 0",
    "Event: DialEnd\n"
    "Privilege: call,all\n"
    "Timestamp: 1795775779.511478\n"
    "SystemName: pbx-test\n"
    "Channel: Local/300@default-0000000d;2\n"
    "ChannelState: 6\n"
    "ChannelStateDesc: Up\n"
    "CallerIDNum: 5550199\n"
    "CallerIDName: Waiting Caller\n"
    "ConnectedLineNum: 5550199\n"
    "ConnectedLineName: Waiting Caller\n"
    "Language: en\n"
    "AccountCode: \n"
    "Context: default\n"
    "Exten: 300\n"
    "Priority: 2\n"
    "Uniqueid: pbx-test-1795775763.27\n"
    "Linkedid: pbx-test-1795775763.26\n"
    "DestChannel: Local/1002@ringonly-0000000f;1\n"
    "DestChannelState: 5\n"
    "DestChannelStateDesc: Ringing\n"
    "DestCallerIDNum: 5550199\n"
    "DestCallerIDName: Waiting Caller\n"
    "DestConnectedLineNum: 5550199\n"
    "DestConnectedLineName: Waiting Caller\n"
    "DestLanguage: en\n"
    "DestAccountCode: \n"
    "DestContext: ringonly\n"
    "DestExten: 300\n"
    "DestPriority: 1\n"
    "DestUniqueid: pbx-test-1795775764.30\n"
    "DestLinkedid: pbx-test-1795775763.26\n"
    "DialStatus: NOANSWER",
)
