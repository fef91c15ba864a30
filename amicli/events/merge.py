"""Many PBXs' event streams merged into one output, each event saying which PBX sent it.

One reader thread per PBX (a :class:`MemberStream`, which is an
:class:`EventStream` whose batches go to the fleet instead of its own
buffer) and one writer: the :class:`FleetEventStream`, which owns the
shared buffer, the clock and ``--count``.  Each PBX formats its own
batches (formatters are not shared between threads) and tags them with its
name before they are queued, so the writer still only writes.  A PBX whose
stream ends does not stop the others; with ``reconnect`` each PBX
reconnects on its own.
"""

from __future__ import annotations

import json
import re
import sys
import threading
from typing import Callable, Sequence

from ..protocol import Message
from .buffer import Batch
from .filters import EventFilter
from .pipeline import TICK, Connector, EventStream, Reporter, StreamOptions

#: How long a full buffer waits for the writer before dropping, with several readers.
FLEET_GRACE = 1.0
#: Bytes read per ``recv`` by each PBX's reader.
FLEET_RECV_SIZE = 64 * 1024
#: The interpreter's switch interval while several readers run (the default is 0.005 s).
SWITCH_INTERVAL = 0.05
#: A message boundary followed by the next message (``--format ami``).
_NEXT_MESSAGE = re.compile(rb"(\r?\n\r?\n)(?=[^\r\n])")


def server_tagger(fmt: str, server: str) -> Callable[[bytes], bytes]:
    """A function that adds ``server`` to every event of formatted output.

    json: ``"Server"`` as the first key of each line; text: ``SERVER: ``
    before each line; ami: a ``Server:`` header first in each message.
    """
    if fmt == "json":
        head = b'{"Server":' + json.dumps(server, ensure_ascii=False).encode("utf-8") + b","
        inner = b"\n" + head

        def tag_json(out: bytes) -> bytes:
            # A JSON line is one object, never empty; a newline inside a value is escaped.
            return head + out[1:].replace(b"\n{", inner) if out else out

        return tag_json
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
    """One PBX's reader: its batches are formatted, tagged and handed to the fleet."""

    #: A batch is held in several forms while it is formatted, by every reader at once.
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
        self.tag = server_tagger(fleet.options.fmt, server)
        super().__init__(
            connect,
            client,
            early,
            fleet.options,
            event_filter,
            out_fd=fleet.out_fd,
            report=_prefixed(fleet.report, server),
            early_filter=early_filter,
        )

    @property  # type: ignore[override]
    def queued(self) -> int:
        """Events queued by the whole fleet: ``--count`` counts across it."""
        return self.fleet.queued

    @queued.setter
    def queued(self, value: int) -> None:
        pass  # the fleet counts

    def _emit(self, batch: Batch) -> None:
        self.fleet.emit(self, batch)


def _prefixed(report: Reporter, server: str) -> Reporter:
    """A reporter that names the PBX: ``ami: warning: ...`` becomes ``ami: pbx2: warning: ...``."""

    def report_for(text: str, level: str) -> None:
        report(f"{server}: {level}: {text}" if level else f"{server}: {text}", "")

    return report_for


class FleetEventStream(EventStream):
    """The writer thread, the shared buffer and the clock for the readers of several PBXs.

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
    ) -> None:
        self._count_lock = threading.Lock()
        self._queued = 0
        super().__init__(lambda: (None, []), None, [], options, event_filter, out_fd=out_fd, report=report)  # type: ignore[arg-type]
        # Many readers share the interpreter with the writer: a writer that
        # waits its turn is not a slow consumer, so drops wait longer.
        self.buffer.grace = FLEET_GRACE
        self.members = [
            MemberStream(self, server, connect, client, early, event_filter, early_filter)
            for server, connect, client, early in members
        ]

    @property  # type: ignore[override]
    def queued(self) -> int:
        return self._queued

    @queued.setter
    def queued(self, value: int) -> None:
        self._queued = value

    def emit(self, member: MemberStream, batch: Batch) -> None:
        """Format, tag and queue ``member``'s batch (in parts no larger than the buffer); --count across all."""
        count = self.options.count
        capacity = self.buffer.capacity
        while batch.count:
            part, batch = batch.split(capacity) if batch.count > capacity else (batch, Batch(0.0, messages=[]))
            with self._count_lock:
                if count is not None:
                    room = count - self._queued
                    if room <= 0:
                        return
                    if part.count > room:
                        part, batch = part.head(room), Batch(0.0, messages=[])
                self._queued += part.count
            if self.buffer.drop_if_stuck(part.count):
                with self._count_lock:
                    self._queued -= part.count
                continue
            part.out = member.tag(member.formatter.format(part))
            dropped = self.buffer.put(part)
            if dropped:
                with self._count_lock:
                    self._queued -= dropped

    def run(self):  # -> StreamResult
        # Many busy readers: a longer slice each means far fewer hand-overs of the interpreter.
        before = sys.getswitchinterval()
        sys.setswitchinterval(SWITCH_INTERVAL)
        try:
            return super().run()
        finally:
            sys.setswitchinterval(before)

    def _read_loop(self) -> None:
        """Start every PBX's reader; end the stream when all have ended (or on stop)."""
        try:
            for member in self.members:
                member._reader.start()
            while not self._stop.is_set() and any(member.reader_alive for member in self.members):
                self._stop.wait(TICK)
        finally:
            for member in self.members:
                member._stop.set()
            self.buffer.close()

    def _shutdown(self, drain: bool) -> None:
        for member in self.members:
            member._stop.set()
        for member in self.members:
            if member._reader.ident is not None:  # started (the stream may end before all are)
                member._reader.join(1.0)
        super()._shutdown(drain)

    def close_all(self) -> None:
        """Log off every PBX whose reader has ended (a reader still running owns its socket)."""
        for member in self.members:
            if not member.reader_alive:
                try:
                    member.client.close()  # type: ignore[attr-defined]
                except Exception:  # noqa: BLE001 - the connection may be gone already
                    pass
