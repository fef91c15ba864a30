"""Writing formatted events to the output: all of it, and to a pipe in whole lines that are atomic."""

from __future__ import annotations

import os
import select
import threading

#: Writes to a pipe up to this size are atomic (POSIX).
_PIPE_BUF = getattr(select, "PIPE_BUF", 512)


def write_lines(fd: int, data: bytes, stop: threading.Event) -> None:
    """Write ``data`` in pieces of whole lines, each at most PIPE_BUF bytes when it can be.

    Stops between two pieces when ``stop`` is set.  A single line longer
    than PIPE_BUF goes out alone (it cannot be atomic).
    """
    view = memoryview(data)
    size = len(data)
    start = 0
    while start < size:
        if stop.is_set():
            return
        end = start + _PIPE_BUF
        if end >= size:
            end = size
        else:
            newline = data.rfind(b"\n", start, end)
            if newline >= 0:
                end = newline + 1
            else:
                newline = data.find(b"\n", end)
                end = size if newline < 0 else newline + 1
        write_all(fd, view[start:end])
        start = end


def write_all(fd: int, data: bytes) -> None:
    """Write everything (a pipe may take it in parts; a non-blocking fd is waited on)."""
    view = memoryview(data)
    while view:
        try:
            written = os.write(fd, view)
        except BlockingIOError:
            select.select([], [fd], [])
            continue
        view = view[written:]
