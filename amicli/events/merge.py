"""Many PBXs' event streams merged into one output, each event saying which PBX sent it.

One reader thread for all the PBXs and one writer: the
:class:`FleetEventStream` owns the shared buffer, the clock and ``--count``,
and its reader waits on every PBX's socket at once (a selector).  Each pass
reads what every ready socket holds, without blocking, so a busy fleet is
read in large batches by one thread: fifty threads waking on a little data
each would spend more on taking turns than on the events.  Each PBX keeps
its own state in a :class:`MemberStream` (parser, filter, keepalive,
Shutdown detection, the tag with its name); the batches of one pass are
formatted, tagged and queued together, so the writer still only writes.
A PBX whose stream ends does not stop the others; with ``reconnect`` each
PBX reconnects on its own, in a short-lived thread of its own, off the
selector until its new session is handed back.
"""

from __future__ import annotations

import collections
import json
import re
import selectors
import threading
import time
from typing import Callable, Sequence

from ..errors import ConnectionLost
from ..protocol import Message
from .buffer import Batch
from .filters import EventFilter
from .pipeline import TICK, Connector, EventStream, Keepalive, Reporter, StreamCut, StreamOptions, cut_reason

#: How long a full buffer waits for the writer before dropping, with many PBXs.
FLEET_GRACE = 1.0
#: Bytes read per ``recv`` from each ready PBX in a pass.
FLEET_RECV_SIZE = 256 * 1024
#: A message boundary followed by the next message (``--format ami``).
_NEXT_MESSAGE = re.compile(rb"(\r?\n\r?\n)(?=[^\r\n])")


def json_opening(server: str) -> str:
    """How each JSON line from ``server`` begins: ``"Server"`` is its first key."""
    return '{"Server":' + json.dumps(server, ensure_ascii=False) + ","


def server_tagger(fmt: str, server: str) -> Callable[[bytes], bytes]:
    """A function that adds ``server`` to every event of formatted text or AMI output.

    text: ``SERVER: `` before each line; ami: a ``Server:`` header first in
    each message.  (JSON needs none: the formatter opens each line with
    :func:`json_opening`.)
    """
    if fmt == "ami":
        header = b"Server: " + server.encode("utf-8", "replace") + b"\r\n"
        after = rb"\1" + header.replace(b"\\", b"\\\\")

        def tag_ami(out: bytes) -> bytes:
            return header + _NEXT_MESSAGE.sub(after, out) if out else out

        return tag_ami
    prefix = server.encode("utf-8", "replace") + b": "
    inner_prefix = b"\n" + prefix

    def tag_text(out: bytes) -> bytes:
        return prefix + out[:-1].replace(b"\n", inner_prefix) + b"\n" if out else out

    return tag_text


class MemberStream(EventStream):
    """One PBX of the fleet: its session, filter, keepalive and name; the fleet's reader reads it.

    It has no threads of its own but the one that reconnects it.
    """

    recv_size = FLEET_RECV_SIZE

    def __init__(
        self,
        fleet: "FleetEventStream",
        server: str,
        connect: Connector,
        client: object,
        early: list[Message],
        event_filter: EventFilter,
        early_filter: Callable[[Message], bool] | None,
    ) -> None:
        self.fleet = fleet
        self.server = server
        #: JSON: each line opened with this PBX's Server key by the formatter itself;
        #: other formats: the formatted output tagged afterwards.
        self.opening = json_opening(server) if fleet.options.fmt == "json" else None
        self.tag = server_tagger(fleet.options.fmt, server) if self.opening is None else None
        #: Set when this PBX's stream has ended for good (its ``error`` says why, if it failed).
        self.ended = False
        self.keepalive: Keepalive | None = None
        self._redialer: threading.Thread | None = None
        super().__init__(
            connect,
            client,
            early,
            fleet.options,
            event_filter,
            out_fd=fleet.out_fd,
            report=_prefixed(fleet.report, server),
            early_filter=early_filter,
            formatter=fleet.formatter,  # one thread formats for all: one set of learned templates
        )
        # Without a client-side filter, runs of plain events stay bytes.
        self.raw = not event_filter.active

    @property
    def reader_alive(self) -> bool:
        """Whether this PBX is still read, or being reconnected."""
        redialer = self._redialer
        if redialer is not None and redialer.is_alive():
            return True
        return not self.ended and self.fleet.reader_alive

    def _emit(self, batch: Batch) -> None:
        self.fleet.emit(self, batch)

    def read_once(self) -> bool:
        """Take what the socket holds, without waiting; True when a TLS layer still holds more.

        Raises StreamCut when the connection ends (or the PBX shuts down).
        """
        client = self.client
        try:
            got = client.read_region(0.0, raw=self.raw, size=self.recv_size)
        except ConnectionLost as exc:
            raise StreamCut(cut_reason(client, exc), exc) from None
        if got is None:
            return False
        if self.keepalive is not None:
            self.keepalive.heard()
        self._take(got)
        pending = getattr(client.sock, "pending", None)
        return pending is not None and pending() > 0

    def redial(self, reason: str) -> None:
        """Reconnect in a thread of its own; the new session goes back to the fleet's reader."""
        self._redialer = threading.Thread(
            target=self._redial_then_hand_back, args=(reason,), name=f"ami-events-redial-{self.server}", daemon=True
        )
        self._redialer.start()

    def _redial_then_hand_back(self, reason: str) -> None:
        redialed = None
        try:
            redialed = self._redial(reason)
        except BaseException as exc:  # noqa: BLE001 - a refused login ends this PBX's stream; reported at the end
            self.error = exc
        self.fleet.hand_back(self, redialed)


def _prefixed(report: Reporter, server: str) -> Reporter:
    """A reporter that names the PBX: ``ami: warning: ...`` becomes ``ami: pbx2: warning: ...``."""

    def report_for(text: str, level: str) -> None:
        report(f"{server}: {level}: {text}" if level else f"{server}: {text}", "")

    return report_for


class FleetEventStream(EventStream):
    """The reader and writer threads, the shared buffer and the clock for several PBXs.

    ``members``: per PBX, ``(server name, connect, first client, its early events)``.
    """

    def __init__(
        self,
        members: Sequence[tuple[str, Connector, object, list[Message]]],
        options: StreamOptions,
        event_filter: EventFilter,
        *,
        out_fd: int,
        report: Reporter | None = None,
        early_filter: Callable[[Message], bool] | None = None,
        formatter: object = None,
    ) -> None:
        # Formatted output of the current pass, queued as one batch.
        self._pending: list[bytes] = []
        self._pending_count = 0
        # (member, what its redial brought) from the reconnecting threads.
        self._handed_back: collections.deque = collections.deque()
        super().__init__(
            lambda: (None, []),  # type: ignore[arg-type]
            None,
            [],
            options,
            event_filter,
            out_fd=out_fd,
            report=report,
            formatter=formatter,
        )
        # A writer that waits its turn behind a pass over many PBXs is not a
        # slow consumer, so drops wait longer.
        self.buffer.grace = FLEET_GRACE
        self.members = [
            MemberStream(self, server, connect, client, early, event_filter, early_filter)
            for server, connect, client, early in members
        ]

    # -- queueing (the reader's thread) ---------------------------------------

    def emit(self, member: MemberStream, batch: Batch) -> None:
        """Format and tag ``member``'s batch into the current pass's output; --count across all."""
        capacity = self.buffer.capacity
        for part in self._parts(batch):
            if self._pending_count + part.count > capacity:
                self.flush()
            if self.buffer.drop_if_stuck(part.count):
                continue
            if member.opening is not None:
                self._pending.append(self.formatter.format(part, member.opening))  # type: ignore[call-arg]
            else:
                self._pending.append(member.tag(self.formatter.format(part)))  # type: ignore[misc]
            self._pending_count += part.count
            self.queued += part.count

    def flush(self) -> None:
        """Queue the output gathered so far as one batch for the writer."""
        if not self._pending_count:
            return
        batch = Batch(0.0, data=b"", count=self._pending_count)
        batch.out = b"".join(self._pending)
        self._pending = []
        self._pending_count = 0
        self.queued -= self.buffer.put(batch)

    def hand_back(self, member: MemberStream, redialed: tuple | None) -> None:
        """A reconnecting thread is done: a new session to read, or None (stopped, or login refused)."""
        self._handed_back.append((member, redialed))

    # -- the reader -----------------------------------------------------------

    def _read_loop(self) -> None:
        """Read every PBX until all have ended, --count is reached, or the stream stops."""
        try:
            with selectors.DefaultSelector() as selector:
                self._select_loop(selector)
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            self.error = exc
        finally:
            for member in self.members:
                member._stop.set()
            self.buffer.close()

    def _select_loop(self, selector: selectors.BaseSelector) -> None:
        for member in self.members:
            member._queue_early(*member._early)  # the events the sessions brought with them
            self._attach(selector, member)
        self.flush()
        count = self.options.count
        keepalive = self.options.keepalive
        next_check = time.monotonic() + TICK
        again: list[MemberStream] = []  # TLS sessions holding more than one read took
        while not self._stop.is_set():
            if count is not None and self.queued >= count:
                return  # all the events wanted are read
            if self._handed_back:
                self._adopt(selector)
            if not selector.get_map() and all(m.ended for m in self.members):
                return  # every PBX's stream has ended
            ready = [key.data for key, _ in selector.select(0 if again else TICK)]
            ready.extend(m for m in again if m not in ready)
            again = [m for m in ready if self._read(selector, m)]
            self.flush()
            if keepalive:
                now = time.monotonic()
                if now >= next_check:
                    next_check = now + TICK
                    self._check_keepalives(selector, now)

    def _attach(self, selector: selectors.BaseSelector, member: MemberStream) -> None:
        client = member.client
        member.keepalive = Keepalive(client, self.options.keepalive)
        selector.register(client.sock, selectors.EVENT_READ, member)  # type: ignore[attr-defined]

    def _read(self, selector: selectors.BaseSelector, member: MemberStream) -> bool:
        if member.ended or member.client.sock is None:  # cut earlier in this pass
            return False
        try:
            return member.read_once()
        except StreamCut as cut:
            self._cut(selector, member, cut)
        except Exception as exc:  # noqa: BLE001 - a fault in one PBX's events ends its stream alone
            self.flush()
            selector.unregister(member.client.sock)  # type: ignore[attr-defined]
            member.error = exc
            member.ended = True
        return False

    def _check_keepalives(self, selector: selectors.BaseSelector, now: float) -> None:
        for key in list(selector.get_map().values()):
            member = key.data
            try:
                member.keepalive.check(now)
            except StreamCut as cut:
                self._cut(selector, member, cut)

    def _cut(self, selector: selectors.BaseSelector, member: MemberStream, cut: StreamCut) -> None:
        """``member``'s connection ended: reconnect it (with ``reconnect``) or end its stream."""
        self.flush()  # its events before the note
        selector.unregister(member.client.sock)  # type: ignore[attr-defined]
        member._close_quietly(member.client)
        if not self.options.reconnect or self._stop.is_set():
            member.error = cut.error
            member.ended = True
            return
        member.redial(cut.reason)

    def _adopt(self, selector: selectors.BaseSelector) -> None:
        """Read again the PBXs whose reconnecting threads brought new sessions."""
        while self._handed_back:
            member, redialed = self._handed_back.popleft()
            if redialed is None:
                member.ended = True
                continue
            member.client = redialed[0]
            member._resumed(*redialed)
            self._attach(selector, member)

    # -- the end ----------------------------------------------------------------

    def _shutdown(self, drain: bool) -> None:
        for member in self.members:
            member._stop.set()
        super()._shutdown(drain)
        deadline = time.monotonic() + 1.0
        for member in self.members:
            if member._redialer is not None:
                member._redialer.join(max(0.0, deadline - time.monotonic()))

    def close_all(self) -> None:
        """Log off every PBX no longer read (one still reconnecting owns its socket)."""
        while self._handed_back:
            _, redialed = self._handed_back.popleft()
            if redialed is not None:
                self._close(redialed[0])
        for member in self.members:
            if not member.reader_alive:
                self._close(member.client)

    @staticmethod
    def _close(client: object) -> None:
        try:
            client.close()  # type: ignore[attr-defined]
        except Exception:  # noqa: BLE001 - the connection may be gone already
            pass
