"""Placing the calls, some in parallel, and learning how each one ended."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator

from ..client import Client, Reply, error_for, new_action_id
from ..errors import AmiError, AmiTimeout, ExitCode
from ..protocol import Message
from .batch import BadLine
from .outcome import (
    OUTCOME_EXIT,
    QUEUED,
    REFUSED,
    UNKNOWN,
    CallResult,
    NoCallEvents,
    OutcomeUnknown,
    outcome_for,
)
from .spec import CallSpec

#: Extra wait past the ring timeout for the outcome, and the longest wait for
#: the first call event after a call was queued (seconds).
DEFAULT_GRACE = 3.0

#: The events that carry an Originate's outcome: OriginateResponse since
#: Asterisk 1.6; OriginateSuccess / OriginateFailure before (same headers).
_OUTCOME_EVENTS = ("originateresponse", "originatesuccess", "originatefailure")


@dataclass
class _InFlight:
    spec: CallSpec
    action_id: str
    reply: Reply
    sent_at: float
    queued_at: float | None = None


def run_calls(
    client: Client,
    items: Iterable[CallSpec | BadLine],
    *,
    parallel: int = 1,
    grace: float = DEFAULT_GRACE,
    wait: bool = True,
    clock: Callable[[], float] = time.monotonic,
) -> Iterator[CallResult | BadLine]:
    """Place the calls, at most ``parallel`` in flight, and yield each result as it ends.

    ``client`` is logged in; with ``wait`` it must keep events
    (``keep_events=True``) and receive ``call`` events.  Bad lines pass
    through in their place.  Without ``wait``, a call's result is its
    queuing (``queued``).  Raises :class:`NoCallEvents` (after yielding the
    calls in flight as ``unknown``) when the session turns out to receive no
    call events; the calls not yet placed are then never placed.  Nothing is
    ever sent twice.
    """
    if parallel < 1:
        raise ValueError("parallel must be at least 1")
    source = iter(items)
    inflight: dict[str, _InFlight] = {}
    exhausted = False
    events_seen = False
    first_queued: float | None = None

    def finish(flight: _InFlight, outcome: str, code: int, **kw: object) -> CallResult:
        inflight.pop(flight.action_id, None)
        since = flight.queued_at if flight.queued_at is not None else flight.sent_at
        return CallResult(flight.spec, flight.action_id, outcome, code, seconds=clock() - since, **kw)  # type: ignore[arg-type]

    while True:
        took_input = False
        while not exhausted and len(inflight) < parallel:
            took_input = True
            item = next(source, None)
            if item is None:
                exhausted = True
                break
            if isinstance(item, BadLine):
                yield item
                continue
            action_id = new_action_id()
            try:
                reply = client.submit(item.headers(action_id))
            except AmiError as exc:
                # Sent in part, or not at all: nobody can tell whether it rings.
                lost = _InFlight(item, action_id, Reply(action=[]), clock())
                yield from _lost(finish, [*inflight.values(), lost], exc)
            inflight[action_id] = _InFlight(item, action_id, reply, clock())
        if not inflight:
            return
        if took_input:
            # Reading the input may have blocked (a slow stdin): take in what
            # the PBX sent meanwhile before judging any deadline.
            try:
                _drain(client)
            except AmiError as exc:
                yield from _lost(finish, list(inflight.values()), exc)

        ready: list[CallResult] = []
        now = clock()
        # 1. Replies to the Originate actions: queued, or refused.
        for flight in list(inflight.values()):
            if flight.queued_at is None and flight.reply.done:
                client.wait(flight.reply, 0)  # forget it on the client's side
                if not flight.reply.ok:
                    exc = error_for(flight.reply.response, flight.reply.action) if flight.reply.response else None
                    code = exc.exit_code if exc is not None else ExitCode.ACTION_FAILED
                    ready.append(finish(flight, REFUSED, code, reply=flight.reply.response, error=str(exc or "")))
                    continue
                flight.queued_at = now
                if first_queued is None:
                    first_queued = now
                if not wait:
                    ready.append(finish(flight, QUEUED, ExitCode.OK, reply=flight.reply.response))
        # 2. Events: any at all proves call events reach us; ours end calls.
        while client.events:
            msg = client.events.popleft()
            is_outcome = (msg.get("Event") or "").lower() in _OUTCOME_EVENTS
            events_seen = events_seen or is_outcome or _is_call_event(msg)
            if not is_outcome:
                continue
            flight = inflight.get(msg.action_id or "")
            if flight is None:
                continue
            response = msg.get("Response") or ("Success" if msg.name.lower() == "originatesuccess" else None)
            outcome, _ = outcome_for(msg.get("Reason"), response)
            ready.append(finish(flight, outcome, OUTCOME_EXIT[outcome], event=msg))
        # 3. Deadlines.
        for flight in list(inflight.values()):
            if flight.queued_at is None:
                if now >= flight.sent_at + client.timeout:
                    ready.append(
                        finish(
                            flight,
                            UNKNOWN,
                            ExitCode.OUTCOME_UNKNOWN,
                            error=f"no reply to Originate from {client.address} within {client.timeout:g} s "
                            "(the call may ring)",
                        )
                    )
            elif now >= flight.queued_at + flight.spec.ring_timeout + grace:
                ready.append(
                    finish(
                        flight,
                        UNKNOWN,
                        ExitCode.OUTCOME_UNKNOWN,
                        error=f"no OriginateResponse within {flight.spec.ring_timeout:g} s ring timeout "
                        f"+ {grace:g} s grace (the call may have rung)",
                    )
                )
        if wait and not events_seen and first_queued is not None and now >= first_queued + grace and inflight:
            message = (
                f"no call events reached this session within {grace:g} s of the call being queued, so its "
                "outcome cannot be known: the AMI user needs read=call (or read=all) in manager.conf, with "
                "no eventfilter hiding call events. The call may ring anyway: do not retry it blindly; "
                "use --no-wait to place calls without waiting for the outcome"
            )
            yield from ready
            for flight in list(inflight.values()):
                yield finish(flight, UNKNOWN, ExitCode.OUTCOME_UNKNOWN, error="no call events on this session")
            if not exhausted:
                # Not read on: the input may be an endless pipe.
                message += " (the calls of the lines not yet read were not placed)"
            raise NoCallEvents(message)
        if ready:
            yield from ready
            continue

        # Nothing ready: read until the nearest deadline.
        deadlines = []
        for flight in inflight.values():
            if flight.queued_at is None:
                deadlines.append(flight.sent_at + client.timeout)
            elif wait:
                deadlines.append(flight.queued_at + flight.spec.ring_timeout + grace)
        if wait and not events_seen and first_queued is not None:
            deadlines.append(first_queued + grace)
        deadline = min(deadlines) if deadlines else clock() + client.timeout
        try:
            client.pump(_wall_deadline(deadline, clock), what="the outcome of Originate")
        except AmiTimeout:
            pass
        except AmiError as exc:
            yield from _lost(finish, list(inflight.values()), exc)


def _lost(finish: Callable[..., CallResult], flights: list[_InFlight], exc: AmiError) -> Iterator[CallResult]:
    """The session broke with calls sent: report each as unknown, then raise.

    Once an Originate has left, a lost connection, a timeout or a broken
    stream says nothing about the call: it may ring.  So the exit status is
    OUTCOME_UNKNOWN, never CONNECT, which a script could take as safe to retry.
    """
    for flight in flights:
        yield finish(flight, UNKNOWN, ExitCode.OUTCOME_UNKNOWN, error=str(exc))
    raise OutcomeUnknown(f"{exc}; the call may ring: do not retry it blindly") from exc


def _is_call_event(msg: Message) -> bool:
    """An event of class ``call`` (``Privilege: call,all``): proof that call events reach us."""
    privilege = (msg.get("Privilege") or "").lower().replace(" ", "")
    return "call" in privilege.split(",")


#: The longest one drain of pending messages may take: under an event
#: flood there is never a quiet millisecond, and deadlines must still be judged.
DRAIN_LIMIT = 0.05


def _drain(client: Client) -> None:
    """Route every message already received or arriving within a millisecond (for at most DRAIN_LIMIT)."""
    end = time.monotonic() + DRAIN_LIMIT
    while time.monotonic() < end:
        try:
            client.pump(time.monotonic() + 0.001, what="pending messages")
        except AmiTimeout:
            return


def _wall_deadline(deadline: float, clock: Callable[[], float]) -> float:
    """A deadline on ``clock`` as one on time.monotonic (what the client uses)."""
    if clock is time.monotonic:
        return deadline
    return time.monotonic() + max(0.0, deadline - clock())


class BatchStatus:
    """A batch's exit status, kept up to date result by result (the results themselves are not kept)."""

    def __init__(self) -> None:
        self._first: tuple[int, int] | None = None  # (line, code) of the first line that failed
        self._index = 0

    def add(self, item: CallResult | BadLine) -> None:
        failure: tuple[int, int] | None = None
        if isinstance(item, BadLine):
            failure = (item.line, int(ExitCode.USAGE))
        elif not item.ok:
            failure = (item.spec.line if item.spec.line is not None else self._index, int(item.exit_code))
        self._index += 1
        if failure is not None and (self._first is None or failure < self._first):
            self._first = failure

    @property
    def code(self) -> int:
        return int(ExitCode.OK) if self._first is None else self._first[1]


def exit_status(results: Iterable[CallResult | BadLine]) -> int:
    """A batch's exit status: that of the first line (in input order) that did not end answered."""
    status = BatchStatus()
    for item in results:
        status.add(item)
    return status.code
