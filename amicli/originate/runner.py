"""Placing the calls, some in parallel, and learning how each one ended."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Generator, Iterable, Iterator

from ..client import Client, Reply, error_for, new_action_id
from ..errors import AmiError, AmiTimeout
from ..protocol import Message
from .batch import BadLine
from .outcome import (
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


#: ``progress(spec, action_id, queued, seconds)``: where a call in flight stands.
Progress = Callable[[CallSpec, str, bool, float], None]
#: Seconds between two progress reports while waiting.
PROGRESS_TICK = 0.5


def run_calls(
    client: Client,
    items: Iterable[CallSpec | BadLine],
    *,
    parallel: int = 1,
    grace: float = DEFAULT_GRACE,
    wait: bool = True,
    clock: Callable[[], float] = time.monotonic,
    progress: Progress | None = None,
    input_waits: bool = True,
) -> Iterator[CallResult | BadLine]:
    """Place the calls, at most ``parallel`` in flight, and yield each result as it ends.

    ``client`` is logged in; with ``wait`` it must keep events
    (``keep_events=True``) and receive ``call`` events.  Bad lines pass
    through in their place.  Without ``wait``, a call's result is its
    queuing (``queued``).  Raises :class:`NoCallEvents` (after yielding the
    calls in flight as ``unknown``) when the session turns out to receive no
    call events; the calls not yet placed are then never placed.  Nothing is
    ever sent twice.  ``progress`` is told, at least every
    :data:`PROGRESS_TICK` seconds while waiting, where each call in flight
    stands.  ``input_waits``: ``items`` may block (a slow stdin), so each
    call leaves as soon as it is read; otherwise the calls placed together
    leave in one write.
    """
    if parallel < 1:
        raise ValueError("parallel must be at least 1")
    calls = _Calls(client, iter(items), parallel, grace, wait, clock)
    calls.progress = progress
    calls.together = 1 if input_waits else parallel
    return calls.run()


class _Calls:
    """The calls of one run: those in flight, and what the session has shown so far."""

    def __init__(
        self,
        client: Client,
        source: Iterator[CallSpec | BadLine],
        parallel: int,
        grace: float,
        wait: bool,
        clock: Callable[[], float],
    ) -> None:
        self.client = client
        self.source = source
        self.parallel = parallel
        self.grace = grace
        self.wait = wait
        self.clock = clock
        self.inflight: dict[str, _InFlight] = {}
        self.exhausted = False
        #: Whether any call event reached the session (so an outcome will too).
        self.events_seen = False
        self.first_queued: float | None = None
        self.progress: Progress | None = None
        #: How many calls may wait to leave in one write.
        self.together = 1

    def run(self) -> Iterator[CallResult | BadLine]:
        while True:
            took_input = yield from self._place()
            if not self.inflight:
                return
            if took_input:
                # Reading the input may have blocked (a slow stdin): take in what
                # the PBX sent meanwhile before judging any deadline.
                yield from self._guarded(_drain, self.client)
            now = self.clock()
            ready = self._replies(now) + self._outcomes() + self._overdue(now)
            if self._no_call_events(now):
                yield from ready
                yield from self._give_up()
            if ready:
                yield from ready
                continue
            # Nothing ready: read until the nearest deadline.
            yield from self._guarded(self._read_until, self._report_progress(self._next_deadline()))

    def _finish(self, flight: _InFlight, outcome: str, **details: object) -> CallResult:
        self.inflight.pop(flight.action_id, None)
        since = flight.queued_at if flight.queued_at is not None else flight.sent_at
        return CallResult(flight.spec, flight.action_id, outcome, seconds=self.clock() - since, **details)  # type: ignore[arg-type]

    def _place(self) -> Generator[CallResult | BadLine, None, bool]:
        """Send calls from the input until ``parallel`` are in flight; whether input was read."""
        took_input = False
        ready: list[tuple[CallSpec, str]] = []
        while not self.exhausted and len(self.inflight) + len(ready) < self.parallel:
            took_input = True
            item = next(self.source, None)
            if item is None:
                self.exhausted = True
                break
            if isinstance(item, BadLine):
                yield item
                continue
            ready.append((item, new_action_id()))
            if len(ready) >= self.together:
                yield from self._send(ready)
                ready = []
        yield from self._send(ready)
        return took_input

    def _send(self, ready: list[tuple[CallSpec, str]]) -> Iterator[CallResult]:
        """Send these calls in one write; each is in flight from now."""
        if not ready:
            return
        try:
            replies = self.client.submit_all([spec.headers(action_id) for spec, action_id in ready])
        except AmiError as exc:
            # Sent in part, or not at all: nobody can tell whether they ring.
            for spec, action_id in ready:
                self.inflight[action_id] = _InFlight(spec, action_id, Reply(action=[]), self.clock())
            yield from self._lost(exc)
            return
        sent_at = self.clock()
        for (spec, action_id), reply in zip(ready, replies, strict=True):
            self.inflight[action_id] = _InFlight(spec, action_id, reply, sent_at)

    def _replies(self, now: float) -> list[CallResult]:
        """Replies to the Originate actions: queued, or refused."""
        ready = []
        for flight in list(self.inflight.values()):
            if flight.queued_at is not None or not flight.reply.done:
                continue
            self.client.wait(flight.reply, 0)  # forget it on the client's side
            response = flight.reply.response
            if not flight.reply.ok:
                exc = error_for(response, flight.reply.action) if response else None
                ready.append(self._finish(flight, REFUSED, reply=response, error=str(exc or "")))
                continue
            flight.queued_at = now
            if self.first_queued is None:
                self.first_queued = now
            if not self.wait:
                ready.append(self._finish(flight, QUEUED, reply=response))
        return ready

    def _outcomes(self) -> list[CallResult]:
        """Events: any at all proves call events reach us; ours end calls."""
        ready = []
        events = self.client.events
        while events:
            msg = events.popleft()
            is_outcome = (msg.get("Event") or "").lower() in _OUTCOME_EVENTS
            self.events_seen = self.events_seen or is_outcome or _is_call_event(msg)
            flight = self.inflight.get(msg.action_id or "") if is_outcome else None
            if flight is None:
                continue
            response = msg.get("Response") or ("Success" if msg.name.lower() == "originatesuccess" else None)
            outcome, _ = outcome_for(msg.get("Reason"), response)
            ready.append(self._finish(flight, outcome, event=msg))
        return ready

    def _overdue(self, now: float) -> list[CallResult]:
        """Calls past their deadline: no reply to the action, or no outcome in time."""
        client = self.client
        ready = []
        for flight in list(self.inflight.values()):
            if flight.queued_at is None:
                if now >= flight.sent_at + client.timeout:
                    error = (
                        f"no reply to Originate from {client.address} within {client.timeout:g} s (the call may ring)"
                    )
                    ready.append(self._finish(flight, UNKNOWN, error=error))
            elif now >= flight.queued_at + flight.spec.ring_timeout + self.grace:
                error = (
                    f"no OriginateResponse within {flight.spec.ring_timeout:g} s ring timeout "
                    f"+ {self.grace:g} s grace (the call may have rung)"
                )
                ready.append(self._finish(flight, UNKNOWN, error=error))
        return ready

    def _awaiting_first_event(self) -> bool:
        return self.wait and not self.events_seen and self.first_queued is not None

    def _no_call_events(self, now: float) -> bool:
        """Whether the silence since the first call was queued proves no call event will come."""
        return (
            self._awaiting_first_event()
            and now >= self.first_queued + self.grace  # type: ignore[operator]
            and bool(self.inflight)
        )

    def _give_up(self) -> Iterator[CallResult]:
        """Every call in flight as unknown, then NoCallEvents."""
        for flight in list(self.inflight.values()):
            yield self._finish(flight, UNKNOWN, error="no call events on this session")
        raise NoCallEvents(
            f"no call events reached this session within {self.grace:g} s of the call being queued, so its "
            "outcome cannot be known: the AMI user needs read=call (or read=all) in manager.conf, with "
            "no eventfilter hiding call events. The call may ring anyway: do not retry it blindly",
            # Not read on: the input may be an endless pipe.
            unplaced=not self.exhausted,
        )

    def _next_deadline(self) -> float:
        deadlines = []
        for flight in self.inflight.values():
            if flight.queued_at is None:
                deadlines.append(flight.sent_at + self.client.timeout)
            elif self.wait:
                deadlines.append(flight.queued_at + flight.spec.ring_timeout + self.grace)
        if self._awaiting_first_event():
            deadlines.append(self.first_queued + self.grace)  # type: ignore[operator]
        return min(deadlines) if deadlines else self.clock() + self.client.timeout

    def _report_progress(self, deadline: float) -> float:
        """Tell ``progress`` where each call stands; the deadline, no later than the next report."""
        if self.progress is None:
            return deadline
        now = self.clock()
        for flight in self.inflight.values():
            since = flight.queued_at if flight.queued_at is not None else flight.sent_at
            self.progress(flight.spec, flight.action_id, flight.queued_at is not None, now - since)
        return min(deadline, now + PROGRESS_TICK)

    def _read_until(self, deadline: float) -> None:
        try:
            self.client.pump(_wall_deadline(deadline, self.clock), what="the outcome of Originate")
        except AmiTimeout:
            pass

    def _guarded(self, step: Callable[..., None], *args: object) -> Iterator[CallResult]:
        """Run ``step``; when the session breaks, every call in flight is lost."""
        try:
            step(*args)
        except AmiError as exc:
            yield from self._lost(exc)

    def _lost(self, exc: AmiError) -> Iterator[CallResult]:
        """The session broke with calls sent: report each as unknown, then raise.

        Once an Originate has left, a lost connection, a timeout or a broken
        stream says nothing about the call: it may ring.  So the exit status is
        OUTCOME_UNKNOWN, never CONNECT, which a script could take as safe to retry.
        """
        for flight in list(self.inflight.values()):
            yield self._finish(flight, UNKNOWN, error=str(exc))
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
