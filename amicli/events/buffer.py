"""Batches of events and the bounded buffer between the reader and the writer thread."""

from __future__ import annotations

import threading
import time
from collections import deque

from ..protocol import Message, Parser, event_region_count

__all__ = ["FULL_GRACE", "Batch", "EventBuffer", "event_region_count"]

#: How long the reader waits for the writer to make room before dropping.
#: Far below Asterisk's 100 ms ``writetimeout``, and the kernel's socket
#: buffers hold far more than this much traffic anyway.
FULL_GRACE = 0.05


class Batch:
    """Events received together: a region of raw bytes, or a list of messages.

    ``data``: complete event messages exactly as received, each ending in
    CRLF CRLF (see :func:`event_region_count`).  ``received``: epoch seconds
    of the ``recv`` that completed them.
    """

    __slots__ = ("data", "messages", "count", "received", "out")

    def __init__(
        self, received: float, data: bytes | None = None, messages: list[Message] | None = None, count: int = 0
    ) -> None:
        self.data = data
        self.messages = messages
        self.count = count if data is not None else len(messages or ())
        self.received = received
        #: The batch formatted for the output (set by the reader).
        self.out = b""

    def as_messages(self) -> list[Message]:
        """The batch's events as messages (a region's stray empty lines between events are not events)."""
        if self.messages is None:
            self.messages = [m for m in Parser(expect_banner=False).feed(self.data or b"") if m.kind == "event"]
            self.data = None
        return self.messages

    def head(self, n: int) -> "Batch":
        """The first ``n`` events."""
        return self.split(n)[0]

    def split(self, n: int) -> "tuple[Batch, Batch]":
        """The first ``n`` events, and the others."""
        if n >= self.count:
            return self, Batch(self.received, messages=[])
        msgs = self.as_messages()
        return Batch(self.received, messages=msgs[:n]), Batch(self.received, messages=msgs[n:])


class EventBuffer:
    """A bounded queue of formatted batches between the reader and the writer.

    Capacity counts events, not batches: those waiting and those being
    written.  When a batch does not fit, what the reader does depends on why:

    * the writer is busy (it writes one batch at a time and frees its room
      when done): the reader waits, which is the fastest the stream can go;
    * the writer is stuck in a write because the consumer of the output is
      slow: after :data:`FULL_GRACE` the batch is dropped and its events
      counted, and later batches are dropped at once until the writer frees
      room.  Reading the socket never waits longer on the output.

    The reader never queues a batch larger than the capacity.
    """

    def __init__(self, capacity: int, grace: float = FULL_GRACE) -> None:
        self.capacity = capacity
        self.grace = grace
        self.dropped = 0
        #: When the writer entered the write it is in (monotonic), else None.
        self.writing_since: float | None = None
        self._items: deque[Batch] = deque()
        self._held = 0
        self._cond = threading.Condition()
        self._closed = False
        self._overflowing = False

    def put(self, batch: Batch) -> int:
        """Queue ``batch``; return how many events were dropped (all of it, or none)."""
        n = batch.count
        if n <= 0:
            return 0
        cond = self._cond
        with cond:
            while not self._closed:
                if self._held + n <= self.capacity:
                    self._items.append(batch)
                    self._held += n
                    cond.notify_all()
                    return 0
                since = self.writing_since
                if since is not None and (self._overflowing or time.monotonic() - since >= self.grace):
                    self.dropped += n
                    self._overflowing = True
                    return n
                cond.wait(self.grace / 2)
            return 0  # the stream is ending: nothing more is written

    def drop_if_stuck(self, n: int) -> bool:
        """Count ``n`` events as dropped, without formatting them, when they would be anyway."""
        with self._cond:
            since = self.writing_since
            if self._overflowing and since is not None and self._held + n > self.capacity:
                self.dropped += n
                return True
            return False

    def take(self, timeout: float) -> list[Batch] | None:
        """Every queued batch (waiting up to ``timeout``); None once closed and empty."""
        with self._cond:
            if not self._items:
                if self._closed:
                    return None
                self._cond.wait(timeout)
                if not self._items:
                    return None if self._closed else []
            items = list(self._items)
            self._items.clear()
            return items

    def release(self, n: int) -> None:
        """The writer is done with ``n`` events: their room is free again."""
        with self._cond:
            self._held -= n
            self._overflowing = False
            self._cond.notify_all()

    def close(self) -> None:
        """No more batches will come: the writer drains what is queued, then ends."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def clear(self) -> None:
        with self._cond:
            for batch in self._items:
                self._held -= batch.count
            self._items.clear()
            self._cond.notify_all()
