"""Queues, their members and waiting callers (``QueueStatus``, ``QueueSummary``),
and changing members (``QueueAdd``, ``QueueRemove``, ``QueuePause``).

No click here: the command in :mod:`amicli.commands.queues` drives this.

Rows are dicts built from the list events:

* keys are the AMI header names exactly as the server sent them;
* counters become JSON numbers, percentages floats, the 0/1 flags
  ``Paused`` and ``InCall`` JSON booleans; a value that does not parse stays
  the string it was;
* a field the server did not send (Asterisk 13 has no ``LoginTime``,
  ``Wrapuptime`` or ``ServicelevelPerf2``) is absent, never invented;
* derived values get keys of their own beside the originals
  (``StatusText`` beside ``Status``), and never replace one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Sequence

from .booleans import parse_bool
from .client import Client, Reply
from .errors import ActionError
from .output import get_field
from .protocol import Message

#: Member ``Status``: the numeric device state (``enum ast_device_state``)
#: and the words Asterisk's ``queue show`` uses for it.
DEVICE_STATES: dict[int, str] = {
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

# Field types, by lower-cased header name (old servers differ in case).
_INT = "int"
_FLOAT = "float"
_BOOL = "bool"

PARAMS_TYPES = {
    "max": _INT,
    "calls": _INT,
    "holdtime": _INT,
    "talktime": _INT,
    "completed": _INT,
    "abandoned": _INT,
    "servicelevel": _INT,
    "servicelevelperf": _FLOAT,
    "servicelevelperf2": _FLOAT,
    "weight": _INT,
}
MEMBER_TYPES = {
    "penalty": _INT,
    "callstaken": _INT,
    "lastcall": _INT,
    "lastpause": _INT,
    "logintime": _INT,
    "incall": _BOOL,
    "status": _INT,
    "paused": _BOOL,
    "wrapuptime": _INT,
    "ringinuse": _BOOL,
}
ENTRY_TYPES = {"position": _INT, "wait": _INT, "priority": _INT}
SUMMARY_TYPES = {
    "loggedin": _INT,
    "available": _INT,
    "callers": _INT,
    "holdtime": _INT,
    "talktime": _INT,
    "longestholdtime": _INT,
    "talking": _INT,
}

#: Headers that describe the AMI exchange, not the queue.
SKIP_FIELDS = frozenset({"Event", "ActionID"})

# -- the known fields (what --fields accepts) --------------------------------

QUEUE_FIELDS = [
    "Queue",
    "Max",
    "Strategy",
    "Calls",
    "Holdtime",
    "TalkTime",
    "Completed",
    "Abandoned",
    "ServiceLevel",
    "ServicelevelPerf",
    "ServicelevelPerf2",
    "Weight",
    # derived
    "LongestHoldTime",
    "LoggedIn",
    "Available",
    "PausedMembers",
    "members",
    "callers",
]

MEMBER_FIELDS = [
    "Queue",
    "Name",
    "MemberName",
    "Location",
    "Interface",
    "StateInterface",
    "Membership",
    "Penalty",
    "CallsTaken",
    "LastCall",
    "LastPause",
    "LoginTime",
    "InCall",
    "Status",
    "Paused",
    "PausedReason",
    "Wrapuptime",
    "Ringinuse",
    # derived
    "StatusText",
]

CALLER_FIELDS = [
    "Queue",
    "Position",
    "Channel",
    "Uniqueid",
    "CallerIDNum",
    "CallerIDName",
    "CallerID",
    "ConnectedLineNum",
    "ConnectedLineName",
    "Wait",
    "Priority",
]

SUMMARY_FIELDS = ["Queue", "LoggedIn", "Available", "Callers", "HoldTime", "TalkTime", "LongestHoldTime", "Talking"]


# -- typing ---------------------------------------------------------------------


def _convert(kind: str | None, value: str) -> object:
    if kind is None:
        return value
    text = value.strip()
    try:
        if kind == _INT:
            return int(text)
        if kind == _FLOAT:
            return float(text)
        if kind == _BOOL:
            truth = parse_bool(text)
            if truth is not None:
                return truth
    except ValueError:
        pass
    return value


def typed_row(msg: Message, types: dict[str, str]) -> dict[str, object]:
    """An event's headers as a dict, values typed by ``types``, Event/ActionID left out."""
    row: dict[str, object] = {}
    for key, value in msg.headers:
        if key in SKIP_FIELDS:
            continue
        converted = _convert(types.get(key.lower()), value)
        if key in row:
            prev = row[key]
            row[key] = [*prev, converted] if isinstance(prev, list) else [prev, converted]
        else:
            row[key] = converted
    return row


def device_state_text(status: object) -> str | None:
    """``1`` -> ``"Not in use"``; an unknown number -> ``"Unknown (12)"``."""
    if isinstance(status, bool) or not isinstance(status, int):
        return None if status is None else str(status)
    return DEVICE_STATES.get(status, f"Unknown ({status})")


def member_from_event(msg: Message) -> dict[str, object]:
    row = typed_row(msg, MEMBER_TYPES)
    text = device_state_text(get_field(row, "Status"))
    if text is not None and "StatusText" not in row:
        row["StatusText"] = text
    return row


def caller_from_event(msg: Message) -> dict[str, object]:
    return typed_row(msg, ENTRY_TYPES)


def summary_from_event(msg: Message) -> dict[str, object]:
    return typed_row(msg, SUMMARY_TYPES)


# -- what counts as logged in and available (as app_queue's QueueSummary) -----


def member_logged_in(member: dict[str, object]) -> bool:
    """Not Unavailable or Invalid (app_queue counts these as logged in)."""
    status = get_field(member, "Status")
    return not (isinstance(status, int) and status in (4, 5))


def member_available(member: dict[str, object]) -> bool:
    """Logged in, device Not in use (or Unknown), and not paused."""
    status = get_field(member, "Status")
    return member_logged_in(member) and status in (0, 1) and get_field(member, "Paused") is not True


# -- QueueStatus ---------------------------------------------------------------


@dataclass
class QueueStatus:
    """Everything one or more QueueStatus replies said."""

    queues: list[dict[str, object]] = field(default_factory=list)
    #: Names asked for that the PBX does not know.
    missing: list[str] = field(default_factory=list)

    @property
    def members(self) -> list[dict[str, object]]:
        return [m for q in self.queues for m in q["members"]]  # type: ignore[union-attr]

    @property
    def callers(self) -> list[dict[str, object]]:
        return [c for q in self.queues for c in q["callers"]]  # type: ignore[union-attr]


def _unique(names: Iterable[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for name in names:
        # app_queue compares queue names without regard to case.
        if name.lower() not in seen:
            seen.add(name.lower())
            out.append(name)
    return out


def group_status(events: Iterable[Message]) -> list[dict[str, object]]:
    """QueueParams / QueueMember / QueueEntry events -> one dict per queue.

    Members and callers go to their queue by its name (the ``Queue``
    header), not by their place in the stream.  A member whose queue sent no
    QueueParams gets a queue of its own holding only ``Queue``.
    """
    queues: dict[str, dict[str, object]] = {}
    order: list[dict[str, object]] = []

    def queue_for(name: str) -> dict[str, object]:
        queue = queues.get(name)
        if queue is None:
            queue = {"Queue": name}
            queues[name] = queue
            order.append(queue)
        return queue

    members: dict[str, list[dict[str, object]]] = {}
    callers: dict[str, list[dict[str, object]]] = {}
    for msg in events:
        event = msg.get("Event") or ""
        if event == "QueueParams":
            row = typed_row(msg, PARAMS_TYPES)
            name = str(row.get("Queue", ""))
            queue = queue_for(name)
            queue.update(row)
        elif event == "QueueMember":
            row = member_from_event(msg)
            name = str(row.get("Queue", ""))
            queue_for(name)
            members.setdefault(name, []).append(row)
        elif event == "QueueEntry":
            row = caller_from_event(msg)
            name = str(row.get("Queue", ""))
            queue_for(name)
            callers.setdefault(name, []).append(row)
    for queue in order:
        name = str(queue["Queue"])
        add_derived(queue, members.get(name, []), callers.get(name, []))
    return order


def add_derived(queue: dict[str, object], members: list[dict[str, object]], callers: list[dict[str, object]]) -> None:
    """Counts from the members and callers, beside the QueueParams headers."""

    def put(key: str, value: object) -> None:
        if key not in queue:  # never replace what the server sent
            queue[key] = value

    waits = [c.get("Wait") for c in callers if isinstance(c.get("Wait"), int)]
    put("LongestHoldTime", max(waits) if waits else 0)
    put("LoggedIn", sum(1 for m in members if member_logged_in(m)))
    put("Available", sum(1 for m in members if member_available(m)))
    put("PausedMembers", sum(1 for m in members if get_field(m, "Paused") is True))
    queue["members"] = members
    queue["callers"] = callers


def queue_status(client: Client, names: Sequence[str] = ()) -> QueueStatus:
    """QueueStatus for every queue, or for each of ``names`` (all in flight at once)."""
    result = QueueStatus()
    if not names:
        reply = client.request_booted([("Action", "QueueStatus")]).raise_for_error()
        result.queues = group_status(reply.events)
        return result
    wanted = _unique(names)
    requests = [[("Action", "QueueStatus"), ("Queue", name)] for name in wanted]
    replies = zip(wanted, client.request_all(requests), strict=True)
    for name, reply in replies:
        reply.raise_for_error()
        # Every server sends a QueueParams first for a queue it knows; an
        # unknown name is answered with an empty list.
        known = any(
            (m.get("Event") or "") == "QueueParams" and (m.get("Queue") or "").lower() == name.lower()
            for m in reply.events
        )
        if not known:
            result.missing.append(name)
        result.queues.extend(q for q in group_status(reply.events) if str(q["Queue"]).lower() == name.lower())
    return result


# -- QueueSummary -----------------------------------------------------------------


def queue_summary(client: Client, names: Sequence[str] = ()) -> tuple[list[dict[str, object]], list[str]]:
    """(QueueSummary rows, names asked for that the PBX does not know)."""
    if not names:
        reply = client.request_booted([("Action", "QueueSummary")]).raise_for_error()
        return [summary_from_event(m) for m in reply.events if (m.get("Event") or "") == "QueueSummary"], []
    rows: list[dict[str, object]] = []
    missing: list[str] = []
    wanted = _unique(names)
    requests = [[("Action", "QueueSummary"), ("Queue", name)] for name in wanted]
    replies = zip(wanted, client.request_all(requests), strict=True)
    for name, reply in replies:
        reply.raise_for_error()
        found = [summary_from_event(m) for m in reply.events if (m.get("Event") or "") == "QueueSummary"]
        found = [r for r in found if str(r.get("Queue", "")).lower() == name.lower()]
        if not found:
            missing.append(name)
        rows.extend(found)
    return rows, missing


# -- acting on members ---------------------------------------------------------------


class QueueRefused(ActionError):
    """The PBX refused to change a queue's members."""


def _bool_word(value: bool) -> str:
    return "true" if value else "false"


def add_request(
    queue: str,
    interface: str,
    *,
    name: str | None = None,
    penalty: int | None = None,
    paused: bool | None = None,
    reason: str | None = None,
    state_interface: str | None = None,
) -> list[tuple[str, str]]:
    headers = [("Action", "QueueAdd"), ("Queue", queue), ("Interface", interface)]
    if name is not None:
        headers.append(("MemberName", name))
    if penalty is not None:
        headers.append(("Penalty", str(penalty)))
    if paused is not None:
        headers.append(("Paused", _bool_word(paused)))
    if reason is not None:
        headers.append(("Reason", reason))
    if state_interface is not None:
        headers.append(("StateInterface", state_interface))
    return headers


def remove_request(queue: str, interface: str) -> list[tuple[str, str]]:
    return [("Action", "QueueRemove"), ("Queue", queue), ("Interface", interface)]


def pause_request(
    interface: str, paused: bool, queue: str | None = None, reason: str | None = None
) -> list[tuple[str, str]]:
    headers = [("Action", "QueuePause"), ("Interface", interface), ("Paused", _bool_word(paused))]
    if queue is not None:
        headers.append(("Queue", queue))
    if reason is not None:
        headers.append(("Reason", reason))
    return headers


def explain_refusal(action: str, message: str, interface: str, queue: str | None) -> str:
    """The PBX's refusal in plain words, its own words kept at the end."""
    where = f"queue '{queue}'" if queue else "any queue"
    low = message.lower()
    if "no such queue" in low:
        text = f"no such queue: '{queue}'"
    elif "already there" in low:
        text = f"{interface} is already a member of {where}"
    elif "not there" in low or "interface not found" in low:
        text = f"{interface} is not a member of {where}"
    elif "invalid/unknown command" in low:
        text = f"the PBX does not know {action} (app_queue not loaded, or the PBX still booting)"
    elif "not dynamic" in low:
        text = f"{interface} is a static member of {where} (from queues.conf); only dynamic members can be removed"
    else:
        text = f"{action} refused"
    return f"{text} (PBX: {message})"


def act(client: Client, headers: list[tuple[str, str]]) -> Reply:
    """Send a QueueAdd/QueueRemove/QueuePause; raise QueueRefused when refused."""
    reply = client.request_booted(headers)
    response = reply.response
    if response is not None and response.is_error:
        message = response.get("Message") or "error"
        if message.lower() == "permission denied":
            reply.raise_for_error()
        action = headers[0][1]
        values = {k: v for k, v in headers}
        raise QueueRefused(explain_refusal(action, message, values.get("Interface", ""), values.get("Queue")), response)
    return reply
