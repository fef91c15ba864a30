"""The simulated PBX's queue member actions: QueueAdd, QueueRemove, QueuePause.

Replies and ``QueueMember*`` events as the recorded Asterisk 22 writes them
(``queue-members``).
"""

from __future__ import annotations

import time

from ..protocol import Message
from .pbx import PBX
from .queues import Member, Queue, find_queue, matching, not_loaded
from .session import Session


def _truth(text: str | None) -> bool:
    return (text or "").strip().lower() in ("yes", "true", "y", "t", "1", "on")


def _member_event(event: str, queue: Queue, m: Member) -> list[tuple[str, str]]:
    return [
        ("Event", event),
        ("Queue", queue.name),
        ("MemberName", m.name),
        ("Interface", m.interface),
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
        ("Ringinuse", "1" if m.ringinuse else "0"),
        ("Wrapuptime", str(m.wrapuptime)),
    ]


def queue_add(pbx: PBX, session: Session, request: Message) -> None:
    if not_loaded(pbx, session, request):
        return
    name = request.get("Queue") or ""
    interface = request.get("Interface") or ""
    if not name:
        session.error(request, "'Queue' not specified.")
        return
    if not interface:
        session.error(request, "'Interface' not specified.")
        return
    try:
        penalty = max(0, int(request.get("Penalty") or "0"))
    except ValueError:
        penalty = 0
    paused = _truth(request.get("Paused"))
    with pbx.lock:
        queue = find_queue(pbx, name)
        if queue is None:
            session.error(request, "Unable to add interface to queue: No such queue")
            return
        if queue.member(interface) is not None:
            session.error(request, "Unable to add interface: Already there")
            return
        now = int(time.time())
        member = Member(
            interface,
            request.get("MemberName") or interface,
            request.get("StateInterface") or interface,
            penalty=penalty,
            dynamic=True,
            paused=paused,
            reason=(request.get("Reason") or "") if paused else "",
            last_pause=now if paused else 0,
            login_time=now,
        )
        queue.members.append(member)
        event = _member_event("QueueMemberAdded", queue, member)
    session.respond(request, "Success", [("Message", "Added interface to queue")])
    pbx.broadcast("agent", event)


def queue_remove(pbx: PBX, session: Session, request: Message) -> None:
    if not_loaded(pbx, session, request):
        return
    name = request.get("Queue") or ""
    interface = request.get("Interface") or ""
    if not name or not interface:
        session.error(request, "Need 'Queue' and 'Interface' parameters.")
        return
    with pbx.lock:
        queue = find_queue(pbx, name)
        if queue is None:
            session.error(request, "Unable to remove interface from queue: No such queue")
            return
        member = queue.member(interface)
        if member is None:
            session.error(request, "Unable to remove interface: Not there")
            return
        if not member.dynamic:
            session.error(request, "Member not dynamic")
            return
        queue.members.remove(member)
        event = _member_event("QueueMemberRemoved", queue, member)
    session.respond(request, "Success", [("Message", "Removed interface from queue")])
    pbx.broadcast("agent", event)


def queue_pause(pbx: PBX, session: Session, request: Message) -> None:
    if not_loaded(pbx, session, request):
        return
    interface = request.get("Interface") or ""
    paused_text = request.get("Paused") or ""
    if not interface or not paused_text:
        session.error(request, "Need 'Interface' and 'Paused' parameters.")
        return
    paused = _truth(paused_text)
    reason = request.get("Reason") or ""
    events = []
    with pbx.lock:
        targets = matching(pbx, request.get("Queue"))
        now = int(time.time())
        for queue in targets:
            member = queue.member(interface)
            if member is None:
                continue
            member.paused = paused
            member.reason = reason
            if paused:
                member.last_pause = now
            event = _member_event("QueueMemberPause", queue, member)
            events.append(event)
    if not events:
        session.error(request, "Interface not found")
        return
    session.respond(
        request,
        "Success",
        [("Message", "Interface paused successfully" if paused else "Interface unpaused successfully")],
    )
    for event in events:
        pbx.broadcast("agent", event)


#: (action, handler, write class needed)
ACTIONS = (
    ("QueueAdd", queue_add, "agent"),
    ("QueueRemove", queue_remove, "agent"),
    ("QueuePause", queue_pause, "agent"),
)
