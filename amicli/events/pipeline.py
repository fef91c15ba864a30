"""The stream itself: a reader thread that owns the socket and a writer thread that only writes."""

from __future__ import annotations

import os
import random
import stat
import threading
import time
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator

from ..client import RECV_SIZE, Client, RawRead
from ..errors import AmiError, AmiTimeout, AuthError, ConnectionLost
from ..protocol import Message
from .buffer import Batch, EventBuffer
from .filters import EventFilter
from .formats import make_format
from .writes import write_all, write_lines

#: How often the reader wakes up (to notice a stop request, send a Ping).
TICK = 0.05
#: Reconnect backoff: first delay, cap (seconds).
BACKOFF_FIRST = 0.5
BACKOFF_CAP = 30.0
#: Default ``--buffer``: about 6 MB of events in the usual case.
DEFAULT_BUFFER = 10_000


class StreamCut(Exception):
    """The connection ended (closed, dead, or the PBX shut down)."""

    def __init__(self, reason: str, error: AmiError) -> None:
        super().__init__(reason)
        self.reason = reason
        self.error = error


#: connect() -> a logged-in client, ready to stream, and the events it already received.
Connector = Callable[[], "tuple[Client, list[Message]]"]
#: ``report(text, level)``: one note for people (level ``warning`` or empty).
Reporter = Callable[[str, str], None]


@dataclass
class StreamOptions:
    fmt: str = "text"
    count: int | None = None
    duration: float | None = None
    buffer: int = DEFAULT_BUFFER
    reconnect: bool = False
    keepalive: float | None = None


@dataclass
class StreamResult:
    """How the stream ended: ``reason`` is count, timeout, pipe, interrupted or error."""

    reason: str
    written: int
    dropped: int
    error: BaseException | None = None


def backoff_delays(first: float = BACKOFF_FIRST, cap: float = BACKOFF_CAP) -> Iterable[float]:
    """Capped exponential backoff with jitter: each delay in [d/2, d], d doubling up to ``cap``."""
    delay = first
    while True:
        yield random.uniform(delay / 2, delay)
        delay = min(cap, delay * 2)


def _clock() -> str:
    return time.strftime("%H:%M:%S")


class EventStream:
    """Run the reader and writer threads until count, timeout, pipe close, error or Ctrl-C.

    ``connect`` opens a logged-in session (used again to reconnect);
    ``client`` and ``early`` are the first session and the events it got
    while being set up.  The output goes to ``out_fd``; notes for people
    (drops, reconnects) to ``report``.
    """

    #: Bytes read per ``recv`` (a reader among many reads less at a time: memory).
    recv_size = RECV_SIZE

    def __init__(
        self,
        connect: Connector,
        client: Client,
        early: list[Message],
        options: StreamOptions,
        event_filter: EventFilter,
        *,
        out_fd: int,
        report: Reporter | None = None,
        early_filter: Callable[[Message], bool] | None = None,
        formatter: object = None,
    ) -> None:
        self.connect = connect
        self.client = client
        self.options = options
        self.filter = event_filter
        self.early_filter = early_filter
        self.out_fd = out_fd
        self.report = report or _no_report
        # ``formatter``: anything with format(batch) -> bytes (--fields brings its own).
        self.formatter = formatter if formatter is not None else make_format(options.fmt)
        self.buffer = EventBuffer(options.buffer)
        self.written = 0
        #: Events formatted and queued (not dropped): --count stops the reader there.
        self.queued = 0
        self.error: BaseException | None = None
        self.pipe_closed = False
        self.count_reached = False
        self._stop = threading.Event()
        self._writer_stop = threading.Event()
        self.finished = threading.Event()
        self._reader = threading.Thread(target=self._read_loop, name="ami-events-reader", daemon=True)
        self._writer = threading.Thread(target=self._write_loop, name="ami-events-writer", daemon=True)
        self._dropped_reported = 0
        # Queued by the reader once the writer runs: a --buffer smaller than
        # them then waits for the writer, which would never come before.
        self._early = (early, time.time())

    # -- notes ------------------------------------------------------------

    def report_drops(self) -> None:
        """Say how many events were dropped since the last report (the total is in the result)."""
        dropped = self.buffer.dropped
        new = dropped - self._dropped_reported
        if new > 0:
            self._dropped_reported = dropped
            self.report(f"output too slow: {new} events dropped ({dropped} so far)", "warning")

    # -- running ------------------------------------------------------------

    def run(self) -> StreamResult:
        """Stream until the end; Ctrl-C ends it with reason ``interrupted``."""
        duration = self.options.duration
        deadline = None if duration is None else time.monotonic() + duration
        timed_out = False
        self._writer.start()
        self._reader.start()
        try:
            while not self.finished.wait(1.0 if deadline is None else max(0.0, min(1.0, deadline - time.monotonic()))):
                self.report_drops()
                if deadline is not None and time.monotonic() >= deadline:
                    timed_out = True
                    break
        except KeyboardInterrupt:
            self._shutdown(drain=False)
            return StreamResult("interrupted", self.written, self.buffer.dropped)
        if self.pipe_closed:
            reason = "pipe"
        elif self.count_reached:
            reason = "count"
        elif timed_out:
            reason = "timeout"
        else:
            reason = "error"
        # Events already received are still written (within a short time)
        # when the stream ends by timeout or by a lost connection.
        self._shutdown(drain=reason in ("timeout", "error"))
        if self.pipe_closed:
            reason = "pipe"
        elif self.count_reached:
            reason = "count"
        return StreamResult(reason, self.written, self.buffer.dropped, self.error)

    @property
    def reader_alive(self) -> bool:
        return self._reader.is_alive()

    def _shutdown(self, drain: bool) -> None:
        self._stop.set()
        if not drain:
            self._writer_stop.set()
            self.buffer.clear()
        self.buffer.close()
        self._reader.join(1.0)
        self._writer.join(2.0 if drain else 0.5)
        self._writer_stop.set()

    # -- the reader ---------------------------------------------------------

    def _queue_early(self, early: list[Message], received: float) -> None:
        keep = [
            m
            for m in early
            if m.kind == "event" and (self.early_filter is None or self.early_filter(m)) and self.filter(m)
        ]
        if keep:
            self._emit(Batch(received, messages=keep))

    def _emit(self, batch: Batch) -> None:
        """Format ``batch`` and queue it for the writer (in parts no larger than the buffer).

        The reader formats: the writer only writes, so the two threads do
        not take turns on the CPU, and a slow output still costs the reader
        nothing more than a dropped batch.
        """
        for part in self._parts(batch):
            if self.buffer.drop_if_stuck(part.count):
                continue
            part.out = self.formatter.format(part)
            self.queued += part.count - self.buffer.put(part)

    def _parts(self, batch: Batch) -> Iterator[Batch]:
        """``batch`` cut to what ``--count`` still wants, in parts no larger than the buffer."""
        count = self.options.count
        if count is not None and batch.count > count - self.queued:
            batch = batch.head(max(0, count - self.queued))
        capacity = self.buffer.capacity
        while batch.count:
            part, batch = batch.split(capacity) if batch.count > capacity else (batch, Batch(0.0, messages=[]))
            yield part

    def _read_loop(self) -> None:
        try:
            self._queue_early(*self._early)
            while not self._stop.is_set():
                try:
                    self._pump(self.client)
                    return
                except StreamCut as cut:
                    self._close_quietly(self.client)
                    if not self.options.reconnect or self._stop.is_set():
                        self.error = cut.error
                        return
                    client = self._reconnect(cut.reason)
                    if client is None:
                        return
                    self.client = client
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            self.error = exc
        finally:
            # The writer drains what is queued, then ends the stream.
            self.buffer.close()

    @staticmethod
    def _close_quietly(client: Client) -> None:
        client.closed = True
        try:
            client.close()
        except Exception:  # noqa: BLE001 - the connection is already gone
            pass

    def _reconnect(self, reason: str) -> Client | None:
        redialed = self._redial(reason)
        if redialed is None:
            return None
        self._resumed(*redialed)
        return redialed[0]

    def _redial(self, reason: str) -> tuple[Client, list[Message], float, int] | None:
        """Say the stream was cut, then connect with backoff: (client, early events, gap, attempts), None on stop."""
        self.report(f"stream cut at {_clock()}: {reason}; reconnecting", "warning")
        started = time.monotonic()
        attempts = 0
        for delay in backoff_delays():
            if self._stop.wait(delay):
                return None
            attempts += 1
            try:
                client, early = self.connect()
            except AuthError:
                raise
            except AmiError:
                continue
            return client, early, time.monotonic() - started, attempts
        return None  # pragma: no cover - the generator never ends

    def _resumed(self, client: Client, early: list[Message], gap: float, attempts: int) -> None:
        """Say the stream resumed, and queue the events the new session brought."""
        self.report(
            f"stream resumed at {_clock()} after {gap:.1f} s "
            f"({attempts} attempt{'s' if attempts != 1 else ''}); events in between are lost",
            "",
        )
        self._queue_early(early, time.time())

    def _pump(self, client: Client) -> None:
        """Read until asked to stop; raise StreamCut when the connection ends."""
        keepalive = Keepalive(client, self.options.keepalive)
        stop = self._stop
        count = self.options.count
        read = client.read_region
        take = self._take
        # Without a client-side filter, runs of plain events stay bytes.
        raw = not self.filter.active
        while not stop.is_set():
            if count is not None and self.queued >= count:
                return  # all the events wanted are read
            try:
                got = read(TICK, raw=raw, size=self.recv_size)
            except ConnectionLost as exc:
                raise StreamCut(cut_reason(client, exc), exc) from None
            if got is not None:
                keepalive.heard()
                take(got)
            keepalive.check(time.monotonic())

    def _take(self, got: RawRead) -> None:
        """Queue what one read brought: a region as it is, messages filtered; stop at Shutdown."""
        received = time.time()
        messages = got.messages
        if got.region:
            batch = Batch(received, data=got.region, count=got.count)
            if b"Event: Shutdown\r\n" not in got.region:
                self._emit(batch)
            else:
                messages = batch.as_messages() + messages
        if not messages:
            return
        event_filter = self.filter
        keep = []
        shutdown = None
        for msg in messages:
            if msg.kind != "event":
                continue
            if event_filter(msg):
                keep.append(msg)
            if msg.name == "Shutdown":
                shutdown = msg
        if keep:
            self._emit(Batch(received, messages=keep))
        if shutdown is not None:
            what = ", ".join(f"{k}: {shutdown.get(k)}" for k in ("Shutdown", "Restart") if shutdown.get(k))
            reason = f"the PBX is shutting down ({what})" if what else "the PBX is shutting down"
            raise StreamCut(reason, ConnectionLost(f"{reason}; {self.client.address} ended the session"))

    # -- the writer ---------------------------------------------------------

    def _write_loop(self) -> None:
        buffer = self.buffer
        count = self.options.count
        fd = self.out_fd
        try:
            mode = os.fstat(fd).st_mode
        except OSError:
            mode = 0
        # A pipe or socket is written in whole lines of at most PIPE_BUF bytes:
        # such writes are atomic, so a consumer never sees half a line, even
        # when ami is interrupted while the consumer is not reading.
        piecewise = stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)
        try:
            while not self._writer_stop.is_set():
                batches = buffer.take(TICK)
                if batches is None:
                    return
                if not batches and piecewise and reader_gone(fd):
                    # `ami events | head -1` on an idle PBX: the reader left, and
                    # no event may come for minutes to find it out by writing.
                    self.pipe_closed = True
                    return
                for batch in batches:
                    if self._writer_stop.is_set():
                        buffer.release(batch.count)
                        continue
                    data = batch.out
                    if data:
                        buffer.writing_since = time.monotonic()
                        try:
                            if piecewise:
                                write_lines(fd, data, self._writer_stop)
                            else:
                                write_all(fd, data)
                        finally:
                            buffer.writing_since = None
                    self.written += batch.count
                    buffer.release(batch.count)
                    if count is not None and self.written >= count:
                        self.count_reached = True
                        return
        except BrokenPipeError:
            self.pipe_closed = True
        except OSError as exc:
            if self.error is None:
                self.error = AmiError(f"cannot write the output: {exc.strerror or exc}")
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            if self.error is None:
                self.error = exc
        finally:
            self.finished.set()


def reader_gone(fd: int) -> bool:
    """Whether the reading end of the pipe or socket ``fd`` has been closed (poll says POLLERR or POLLHUP)."""
    import select

    poller = select.poll()
    poller.register(fd, 0)  # errors and hang-ups are always reported
    try:
        events = poller.poll(0)
    except OSError:
        return False
    return any(mask & (select.POLLERR | select.POLLHUP) for _, mask in events)


def _no_report(text: str, level: str) -> None:
    pass


def cut_reason(client: Client, lost: ConnectionLost) -> str:
    """Why the stream was cut, for the note that announces a reconnection."""
    cause = lost.__cause__
    if isinstance(cause, OSError):
        return f"connection to {client.address} failed: {cause.strerror or cause}"
    return str(lost)


class Keepalive:
    """The keepalive Ping every ``every`` seconds (none when 0 or None).

    A Ping left without any answer for the client's timeout means the
    connection is dead.
    """

    def __init__(self, client: Client, every: float | None) -> None:
        self.client = client
        self.every = every
        self.dead_after = client.timeout
        self.next_ping = time.monotonic() + every if every else float("inf")
        self.ping_sent: float | None = None

    def heard(self) -> None:
        self.ping_sent = None

    def check(self, now: float) -> None:
        if not self.every:
            return
        if self.ping_sent is not None and now - self.ping_sent > self.dead_after:
            message = (
                f"no answer from {self.client.address} to the keepalive Ping within {self.dead_after:g} s: "
                "the connection is dead"
            )
            raise StreamCut(message, AmiTimeout(message))
        if now >= self.next_ping:
            try:
                self.client.send([("Action", "Ping")])
            except AmiError as exc:
                raise StreamCut(str(exc), exc) from None
            if self.ping_sent is None:
                self.ping_sent = now
            self.next_ping = now + self.every
