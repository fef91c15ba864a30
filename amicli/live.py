"""A live view: a table redrawn in place on a terminal as the PBX changes.

No click here.  The view is driven by events: the session receives the
event classes that announce changes (``call`` for channels, ``agent`` for
queues), and the table is read again as soon as one of the trigger events
arrives (at most every ``min_gap`` seconds).  It is also read again every
``interval`` seconds, which is all a user without read permission for
those classes gets: polling is the fallback, never the only way.
"""

from __future__ import annotations

import os
import select
import shutil
import time
from typing import IO, Callable

from .client import Client

#: Events that change what ``ami queues`` shows.
QUEUE_TRIGGERS = frozenset(
    {
        "QueueCallerJoin", "QueueCallerLeave", "QueueCallerAbandon", "QueueMemberStatus", "QueueMemberPause",
        "QueueMemberPaused", "QueueMemberAdded", "QueueMemberRemoved", "QueueMemberPenalty", "QueueMemberRinginuse",
        "AgentCalled", "AgentConnect", "AgentComplete", "AgentRingNoAnswer",
    }
)  # fmt: skip
#: Events that change what ``ami channels`` shows.
CHANNEL_TRIGGERS = frozenset(
    {
        "Newchannel", "Hangup", "Newstate", "NewCallerid", "NewConnectedLine", "BridgeEnter", "BridgeLeave",
        "DialBegin", "DialEnd", "Rename", "MusicOnHoldStart", "MusicOnHoldStop",
    }
)  # fmt: skip

HOME_AND_CLEAR = "\x1b[H\x1b[2J"
QUIT_KEYS = frozenset({"q", "Q"})

#: ``render(client)`` -> (totals for the header line, the table text).
Render = Callable[[Client], "tuple[str, str]"]


def fit(text: str, columns: int, rows: int) -> str:
    """Cut lines to the terminal's width, and the table to its height."""
    lines = [line[:columns] for line in text.rstrip("\n").split("\n")]
    if rows > 0 and len(lines) > rows:
        hidden = len(lines) - rows + 1
        lines = [*lines[: rows - 1], f"... {hidden} more lines (make the window taller)"[:columns]]
    return "\n".join(lines) + "\n"


def draw(out: IO[bytes], header: str, table: str) -> None:
    size = shutil.get_terminal_size((100, 30))
    body = fit(table, size.columns, size.lines - 3)
    out.write((HOME_AND_CLEAR + header[: size.columns] + "\n\n" + body).encode("utf-8", "replace"))
    out.flush()


def header_line(title: str, where: str, totals: str) -> str:
    return f"{title} on {where}  {time.strftime('%H:%M:%S')}  {totals}  (q to quit)"


def wait_for_change(client: Client, interval: float, triggers: frozenset[str], keys_fd: int | None) -> str:
    """``"quit"`` (q pressed), ``"event"`` (a trigger arrived) or ``"timeout"`` (interval over)."""
    deadline = time.monotonic() + interval
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return "timeout"
        if keys_fd is not None and _quit_pressed(keys_fd):
            return "quit"
        msg = client.next_event(timeout=min(0.1, remaining))
        if msg is not None and msg.name in triggers:
            return "event"


def _quit_pressed(fd: int) -> bool:
    ready, _, _ = select.select([fd], [], [], 0)
    if not ready:
        return False
    data = os.read(fd, 64)
    if not data:
        return False
    return any(ch in QUIT_KEYS for ch in data.decode("utf-8", "replace"))


def run(
    client: Client,
    render: Render,
    *,
    title: str,
    interval: float,
    triggers: frozenset[str],
    out: IO[bytes],
    keys_fd: int | None = None,
    min_gap: float = 0.3,
) -> None:
    """Draw, wait for a change, draw again, until q (returns) or Ctrl-C (KeyboardInterrupt)."""
    restore = _cbreak(keys_fd)
    try:
        while True:
            totals, table = render(client)
            draw(out, header_line(title, client.address, totals), table)
            drawn = time.monotonic()
            client.events.clear()
            outcome = wait_for_change(client, interval, triggers, keys_fd)
            if outcome == "quit":
                return
            if outcome == "event":
                # A burst of events (a call arriving) redraws once.
                gap = min_gap - (time.monotonic() - drawn)
                if gap > 0 and wait_for_change(client, gap, frozenset(), keys_fd) == "quit":
                    return
    finally:
        restore()


def _cbreak(fd: int | None) -> Callable[[], None]:
    """Keys arrive one by one, unechoed (Ctrl-C still interrupts); returns the undo."""
    if fd is None or not os.isatty(fd):
        return lambda: None
    import termios
    import tty

    saved = termios.tcgetattr(fd)
    tty.setcbreak(fd)
    return lambda: termios.tcsetattr(fd, termios.TCSADRAIN, saved)
