"""The simulated PBX's call queues: state, QueueStatus/QueueSummary, member changes, ``queue show``.

The queues are those of the recorded PBX's queues.conf:

* ``support`` (ringall): static members Alice ``Local/1001@ringonly/n``
  (state interface ``Local/1001@ringonly``) and Bob ``Local/1002@ringonly/n``;
* ``sales`` (rrmemory, service level 60 s): static member Carol
  ``Local/2001@agents/n``;
* ``empty`` (leastrecent): no members.

Reply shapes, header order and messages are those of the recorded Asterisk 22
(``queues-idle``, ``busy-queues``, ``queue-members``).  Adding, removing
and pausing members is in ``queue_members.py``.  With
``SimServer(asterisk13=True)`` the list events lose the fields Asterisk 13
did not send yet (``ServicelevelPerf2``, ``LastPause``, ``LoginTime``,
``Wrapuptime``); a live 13.38.3 does send the caller's ``Priority``.

Other sim modules (the call lifecycle) put callers in a queue with
:func:`join_queue` and take them out with :func:`leave_queue`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Iterable, Sequence

from ..protocol import Message
from .channel import Channel
from .pbx import PBX
from .session import Session

#: Device state names as ``queue show`` prints them (``ast_devstate2str``), by number.
DEVICE_STATE_TEXT = {
    0: "Unknown",
    1: "Not in use",
    2: "In use",
    3: "Busy",
    4: "Invalid",
    5: "Unavailable",
    6: "Ringing",
    7: "Ring+Inuse",
    8: "On Hold",
}


@dataclass
class Member:
    interface: str
    name: str
    state_interface: str = ""
    penalty: int = 0
    dynamic: bool = False
    paused: bool = False
    reason: str = ""
    calls: int = 0
    last_call: int = 0
    last_pause: int = 0
    login_time: int = 0
    in_call: bool = False
    status: int = 1
    wrapuptime: int = 0
    ringinuse: bool = True
    #: The caller channel this member's phone rings for (demo state), if any.
    ringing_for: str | None = None

    @property
    def membership(self) -> str:
        return "dynamic" if self.dynamic else "static"


@dataclass
class Caller:
    channel: str
    uniqueid: str
    cid_num: str = "<unknown>"
    cid_name: str = "<unknown>"
    connected_num: str = "<unknown>"
    connected_name: str = "<unknown>"
    start: float = field(default_factory=time.time)
    priority: int = 0


@dataclass
class Queue:
    name: str
    strategy: str = "ringall"
    maxlen: int = 0
    servicelevel: int = 0
    weight: int = 0
    holdtime: int = 0
    talktime: int = 0
    completed: int = 0
    abandoned: int = 0
    completed_in_sl: int = 0
    abandoned_in_sl: int = 0
    members: list[Member] = field(default_factory=list)
    callers: list[Caller] = field(default_factory=list)

    def member(self, interface: str) -> Member | None:
        return next((m for m in self.members if m.interface.lower() == interface.lower()), None)

    @property
    def sl(self) -> float:
        return 100.0 * self.completed_in_sl / self.completed if self.completed > 0 else 0.0

    @property
    def sl2(self) -> float:
        total = self.completed + self.abandoned
        return 100.0 * (self.completed_in_sl + self.abandoned_in_sl) / total if total > 0 else 0.0


def default_queues(login_time: int) -> list[Queue]:
    """The queues of the recorded PBX's queues.conf, in its order."""
    return [
        Queue(
            "support",
            "ringall",
            members=[
                Member("Local/1001@ringonly/n", "Alice", "Local/1001@ringonly", login_time=login_time),
                Member("Local/1002@ringonly/n", "Bob", "Local/1002@ringonly/n", login_time=login_time),
            ],
        ),
        Queue(
            "sales",
            "rrmemory",
            servicelevel=60,
            members=[Member("Local/2001@agents/n", "Carol", "Local/2001@agents/n", login_time=login_time)],
        ),
        Queue("empty", "leastrecent"),
    ]


def load_default_queues(pbx: PBX) -> None:
    """Give the PBX the queues of the recorded PBX."""
    with pbx.lock:
        for queue in default_queues(int(pbx.started)):
            pbx.queues[queue.name] = queue


def queues_of(pbx: PBX) -> dict[str, Queue]:
    """The PBX's queues (name -> Queue)."""
    return pbx.queues


def find_queue(pbx: PBX, name: str) -> Queue | None:
    """A queue by name; app_queue compares queue names without regard to case."""
    queues = queues_of(pbx)
    if name in queues:
        return queues[name]
    return next((q for q in queues.values() if q.name.lower() == name.lower()), None)


# -- callers: used by the call lifecycle (and the demo) ------------------------


def join_queue(pbx: PBX, queue_name: str, channel: Channel, priority: int = 0) -> int:
    """Put a channel in a queue; its position (0: no such queue)."""
    with pbx.lock:
        queue = find_queue(pbx, queue_name)
        if queue is None:
            return 0
        caller = Caller(
            channel.name,
            channel.uniqueid,
            channel.caller_num,
            channel.caller_name,
            channel.connected_num,
            channel.connected_name,
            priority=priority,
        )
        queue.callers.append(caller)
        position = len(queue.callers)
    pbx.broadcast(
        "agent",
        [
            ("Event", "QueueCallerJoin"),
            *channel.snapshot(),
            ("Queue", queue.name),
            ("Position", str(position)),
            ("Count", str(position)),
        ],
    )
    return position


def leave_queue(pbx: PBX, channel_name: str, abandoned: bool = True) -> bool:
    """Take a channel out of whatever queue it waits in; True if it was waiting."""
    with pbx.lock:
        found = next(
            ((q, i) for q in queues_of(pbx).values() for i, c in enumerate(q.callers) if c.channel == channel_name),
            None,
        )
        if found is None:
            return False
        queue, index = found
        caller = queue.callers.pop(index)
        held = int(time.time() - caller.start)
        if abandoned:
            queue.abandoned += 1
            if held <= queue.servicelevel:
                queue.abandoned_in_sl += 1
        for member in queue.members:
            if member.ringing_for == channel_name:
                member.ringing_for = None
                member.status = 1
        channel = pbx.find_channel(channel_name)
        snapshot = channel.snapshot() if channel is not None else [("Channel", channel_name)]
        count = len(queue.callers)
        name = queue.name
    if abandoned:
        pbx.broadcast(
            "agent",
            [
                ("Event", "QueueCallerAbandon"),
                *snapshot,
                ("Queue", name),
                ("Position", str(index + 1)),
                ("OriginalPosition", str(index + 1)),
                ("HoldTime", str(held)),
            ],
        )
    pbx.broadcast(
        "agent",
        [
            ("Event", "QueueCallerLeave"),
            *snapshot,
            ("Queue", name),
            ("Count", str(count)),
            ("Position", str(index + 1)),
        ],
    )
    return True


# -- list events ---------------------------------------------------------------


def params_headers(queue: Queue, asterisk13: bool = False) -> list[tuple[str, str]]:
    headers = [
        ("Event", "QueueParams"),
        ("Queue", queue.name),
        ("Max", str(queue.maxlen)),
        ("Strategy", queue.strategy),
        ("Calls", str(len(queue.callers))),
        ("Holdtime", str(queue.holdtime)),
        ("TalkTime", str(queue.talktime)),
        ("Completed", str(queue.completed)),
        ("Abandoned", str(queue.abandoned)),
        ("ServiceLevel", str(queue.servicelevel)),
        ("ServicelevelPerf", f"{queue.sl:.1f}"),
        ("ServicelevelPerf2", f"{queue.sl2:.1f}"),
        ("Weight", str(queue.weight)),
    ]
    if asterisk13:
        headers = [h for h in headers if h[0] != "ServicelevelPerf2"]
    return headers


def member_headers(queue: Queue, m: Member, asterisk13: bool = False) -> list[tuple[str, str]]:
    headers = [
        ("Event", "QueueMember"),
        ("Queue", queue.name),
        ("Name", m.name),
        ("Location", m.interface),
        ("StateInterface", m.state_interface),
        ("Membership", m.membership),
        ("Penalty", str(m.penalty)),
        ("CallsTaken", str(m.calls)),
        ("LastCall", str(m.last_call)),
        ("LastPause", str(m.last_pause)),
        ("LoginTime", str(m.login_time)),
        ("InCall", "1" if m.in_call else "0"),
        ("Status", str(m.status)),
        ("Paused", "1" if m.paused else "0"),
        ("PausedReason", m.reason),
        ("Wrapuptime", str(m.wrapuptime)),
    ]
    if asterisk13:
        headers = [h for h in headers if h[0] not in ("LastPause", "LoginTime", "Wrapuptime")]
    return headers


def entry_headers(queue: Queue, position: int, c: Caller, now: float) -> list[tuple[str, str]]:
    return [
        ("Event", "QueueEntry"),
        ("Queue", queue.name),
        ("Position", str(position)),
        ("Channel", c.channel),
        ("Uniqueid", c.uniqueid),
        ("CallerIDNum", c.cid_num),
        ("CallerIDName", c.cid_name),
        ("ConnectedLineNum", c.connected_num),
        ("ConnectedLineName", c.connected_name),
        ("Wait", str(int(now - c.start))),
        ("Priority", str(c.priority)),
    ]


def not_loaded(pbx: PBX, session: Session, request: Message) -> bool:
    """Before FullyBooted app_queue is not loaded: its actions do not exist yet."""
    if pbx.booted:
        return False
    name = request.get("Action") or ""
    session.error(request, f"Invalid/unknown command: {name}. Use Action: ListCommands to show available commands.")
    return True


def matching(pbx: PBX, name: str | None) -> list[Queue]:
    queues = list(queues_of(pbx).values())
    if not name:
        return queues
    return [q for q in queues if q.name.lower() == name.lower()]


def _send_list(
    session: Session, request: Message, message: str, events: Iterable[list[tuple[str, str]]], complete: str
) -> None:
    """A queue list: start, events with the ActionID last (as app_queue writes them), Complete."""
    session.send_list(request, events, message, complete, action_id_last=True)


def queue_status(pbx: PBX, session: Session, request: Message) -> None:
    if not_loaded(pbx, session, request):
        return
    old = pbx.asterisk13
    member_filter = request.get("Member") or ""
    events: list[list[tuple[str, str]]] = []
    now = time.time()
    with pbx.lock:
        for queue in matching(pbx, request.get("Queue")):
            events.append(params_headers(queue, old))
            for m in queue.members:
                if not member_filter or member_filter in (m.interface, m.name):
                    events.append(member_headers(queue, m, old))
            for position, c in enumerate(queue.callers, 1):
                events.append(entry_headers(queue, position, c, now))
    _send_list(session, request, "Queue status will follow", events, "QueueStatusComplete")


def _available(m: Member) -> bool:
    return m.status in (0, 1) and not m.paused


def queue_summary(pbx: PBX, session: Session, request: Message) -> None:
    if not_loaded(pbx, session, request):
        return
    events = []
    now = time.time()
    with pbx.lock:
        for queue in matching(pbx, request.get("Queue")):
            logged_in = [m for m in queue.members if m.status not in (4, 5)]
            longest = max((int(now - c.start) for c in queue.callers), default=0)
            events.append(
                [
                    ("Event", "QueueSummary"),
                    ("Queue", queue.name),
                    ("LoggedIn", str(len(logged_in))),
                    ("Available", str(sum(1 for m in logged_in if _available(m)))),
                    ("Callers", str(len(queue.callers))),
                    ("HoldTime", str(queue.holdtime)),
                    ("TalkTime", str(queue.talktime)),
                    ("LongestHoldTime", str(longest)),
                ]
            )
    _send_list(session, request, "Queue summary will follow", events, "QueueSummaryComplete")


# -- the CLI: queue show -------------------------------------------------------------


def _member_line(m: Member, now: float) -> str:
    text = f"      {m.name}"
    if m.name.lower() != m.interface.lower():
        text += f" ({m.interface}"
        if m.state_interface and m.state_interface.lower() != m.interface.lower():
            text += f" from {m.state_interface}"
        text += ")"
    if m.penalty:
        text += f" with penalty {m.penalty}"
    text += f" (ringinuse {'enabled' if m.ringinuse else 'disabled'})"
    if m.dynamic:
        text += " (dynamic)"
    if m.paused:
        reason = f":{m.reason}" if m.reason else ""
        text += f" (paused{reason} was {int(now - m.last_pause)} secs ago)"
    if m.in_call:
        text += " (in call)"
    text += f" ({DEVICE_STATE_TEXT.get(m.status, 'Unknown')})"
    if m.calls:
        text += f" has taken {m.calls} calls (last was {int(now - m.last_call)} secs ago)"
    else:
        text += " has taken no calls yet"
    text += f" (login was {int(now - m.login_time)} secs ago)"
    return text


def queue_show_lines(pbx: PBX, name: str | None = None) -> list[str]:
    """``queue show [NAME]`` as Asterisk 22 prints it (queues in name order)."""
    now = time.time()
    lines: list[str] = []
    with pbx.lock:
        queues = sorted(matching(pbx, name), key=lambda q: q.name)
        for q in queues:
            maxlen = str(q.maxlen) if q.maxlen else "unlimited"
            lines.append(
                f"{q.name} has {len(q.callers)} calls (max {maxlen}) in '{q.strategy}' strategy "
                f"({q.holdtime}s holdtime, {q.talktime}s talktime), W:{q.weight}, C:{q.completed}, "
                f"A:{q.abandoned}, SL:{q.sl:.1f}%, SL2:{q.sl2:.1f}% within {q.servicelevel}s"
            )
            if q.members:
                lines.append("   Members: ")
                lines.extend(_member_line(m, now) for m in q.members)
            else:
                lines.append("   No Members")
            if q.callers:
                lines.append("   Callers: ")
                for pos, c in enumerate(q.callers, 1):
                    wait = int(now - c.start)
                    lines.append(f"      {pos}. {c.channel} (wait: {wait // 60}:{wait % 60:02d}, prio: {c.priority})")
            else:
                lines.append("   No Callers")
            lines.append("")
    if not queues:
        lines.append(f"No such queue: {name}." if name else "No queues.")
    return lines


def queue_show(pbx: PBX, args: Sequence[str]) -> tuple[bool, list[str]]:
    if len(args) > 1:
        return False, ["Usage: queue show", "       Provides summary information on a specified queue."]
    return True, queue_show_lines(pbx, args[0] if args else None)


#: (action, handler, write class needed)
ACTIONS = (
    ("QueueStatus", queue_status, ""),
    ("QueueSummary", queue_summary, ""),
)

#: (the command's words, handler)
CLI = (("queue show", queue_show),)
