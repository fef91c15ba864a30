"""The simulated PBX's own events: Shutdown (stop and restart), and a load mode.

* :func:`shutdown_pbx` (also ``SimServer.shutdown_pbx()``, and the CLI commands
  ``core stop now`` / ``core restart now`` through the Command action) does
  what Asterisk does when it stops: every session gets ``Event: Shutdown``
  (class system, ``Shutdown: Cleanly``, ``Restart: True|False``) and is then
  closed.  A stop also closes the listener, so a new sim can take the port.
* ``Action: SimLoad`` (the sim's own action; Asterisk has no such thing)
  sends recorded events, byte for byte as a real Asterisk 22 sent them, as
  fast as the socket takes them: ``Events: N`` of them (cycled), to every
  other logged-in session that receives call events (``Target: others``,
  the default) or to the session that asked (``Target: self``).  The
  benchmark of ``ami events`` uses it.  :func:`start_load` does the same
  from Python.

FullyBooted lives in ``pbx.py``, UserEvent in ``actions.py``; the call
lifecycle events of Originate in ``localcall.py``.
"""

from __future__ import annotations

import threading
import time
from typing import Iterable, Sequence

from ..protocol import Message
from .pbx import PBX
from .session import Session
from .users import permission_mask

#: How long a stop waits after the Shutdown event before closing sessions,
#: so that it reaches the clients first.
SHUTDOWN_LINGER = 0.05


def shutdown_headers(restart: bool, cleanly: bool = True) -> list[tuple[str, str]]:
    """``Event: Shutdown`` as Asterisk writes it (manager_event in asterisk.c)."""
    return [
        ("Event", "Shutdown"),
        ("Shutdown", "Cleanly" if cleanly else "Uncleanly"),
        ("Restart", "True" if restart else "False"),
    ]


def shutdown_pbx(pbx: PBX, restart: bool = False, close: bool = True) -> None:
    """Broadcast ``Event: Shutdown``, then close every session.

    ``close``: also stop listening (the port is free for a new sim: that is
    how tests restart the PBX on the same port).  With ``close=False`` the
    sim keeps listening, as one that restarts at once would.
    """
    with pbx.lock:
        cleanly = not pbx.channels
    pbx.broadcast("system", shutdown_headers(restart, cleanly))
    time.sleep(SHUTDOWN_LINGER)
    if close:
        pbx.close()
        return
    pbx.sessions.shut_all()


def _later(func, *args: object) -> None:
    # After the Command reply has gone out, as Asterisk answers first too.
    timer = threading.Timer(0.05, func, args)
    timer.daemon = True
    timer.start()


def core_stop(pbx: PBX, args: list[str]) -> tuple[bool, list[str]]:
    _later(shutdown_pbx, pbx, False, True)
    return True, []


def core_restart(pbx: PBX, args: list[str]) -> tuple[bool, list[str]]:
    _later(restart_pbx, pbx)
    return True, []


def restart_pbx(pbx: PBX, downtime: float = 1.0) -> None:
    """Shutdown to every session, then boot again after ``downtime`` (new FullyBooted)."""
    shutdown_pbx(pbx, restart=True, close=False)
    pbx.booted_at = None
    timer = threading.Timer(downtime, pbx.boot)
    timer.daemon = True
    timer.start()


# -- the load mode -----------------------------------------------------------


#: Asterisk 22.10.1 events, timestampevents = yes (transcripts
#: events-call-lifecycle and busy-events-stream): a call that raises a
#: UserEvent and hangs up, and a queue whose members ring unanswered.  Stored
#: one block per event, blocks separated by an empty line, CRLF as a newline.
RECORDED_EVENTS_FILE = "recorded-events.txt"


def recorded_events() -> list[str]:
    """The recorded events' text, one string per event."""
    from importlib.resources import files

    text = files(__package__).joinpath(RECORDED_EVENTS_FILE).read_text(encoding="utf-8")
    return text.rstrip("\n").split("\n\n")


def recorded_blocks() -> list[bytes]:
    """The recorded events, as the exact bytes Asterisk sent."""
    return [(text.replace("\n", "\r\n") + "\r\n\r\n").encode("utf-8") for text in recorded_events()]


def load_blob(blocks: Sequence[bytes], size: int = 1 << 20) -> tuple[bytes, int]:
    """Whole cycles of ``blocks`` joined up to about ``size`` bytes: (bytes, events in it)."""
    cycle = b"".join(blocks)
    reps = max(1, size // max(1, len(cycle)))
    return cycle * reps, len(blocks) * reps


def send_load(stopping: threading.Event, session: Session, count: int, blocks: Sequence[bytes] | None = None) -> int:
    """Send ``count`` events (cycling ``blocks``) to ``session`` as fast as it reads; return how many went."""
    blocks = list(blocks) if blocks else recorded_blocks()
    blob, per_blob = load_blob(blocks)
    sent = 0
    while sent + per_blob <= count and session.alive and not stopping.is_set():
        session.write(blob)
        sent += per_blob
    left = count - sent
    if left > 0 and session.alive and not stopping.is_set():
        cycles, rest = divmod(left, len(blocks))
        session.write(b"".join(blocks) * cycles + b"".join(blocks[:rest]))
        sent += left
    return sent if session.alive else 0


def start_load(
    pbx: PBX,
    count: int,
    targets: Iterable[Session] | None = None,
    blocks: Sequence[bytes] | None = None,
) -> list[threading.Thread]:
    """Send ``count`` recorded events to each target (default: every logged-in session taking call events)."""
    call = permission_mask("call")
    if targets is None:
        targets = [s for s in pbx.sessions.snapshot() if s.logged_in and s.wants(call, [])]
    threads = []
    for session in targets:
        thread = threading.Thread(
            target=send_load, args=(pbx.stopping, session, count, blocks), name="ami-sim-load", daemon=True
        )
        thread.start()
        threads.append(thread)
    return threads


def sim_load(pbx: PBX, session: Session, request: Message) -> None:
    try:
        count = int(request.get("Events") or "100000")
    except ValueError:
        session.error(request, "Events must be a number")
        return
    if count < 0:
        session.error(request, "Events must be a number")
        return
    target = (request.get("Target") or "others").lower()
    if target not in ("others", "self"):
        session.error(request, "Target must be 'others' or 'self'")
        return
    call = permission_mask("call")
    if target == "self":
        targets = [session] if session.wants(call, []) else []
    else:
        others = pbx.sessions.snapshot()
        targets = [s for s in others if s is not session and s.logged_in and s.wants(call, [])]
    session.respond(request, "Success", [("Message", f"Sending {count} recorded events to {len(targets)} sessions")])
    start_load(pbx, count, targets)


#: (action, handler, write class needed)
ACTIONS = (("SimLoad", sim_load, "system"),)

#: (the command's words, handler)
CLI = (
    ("core stop now", core_stop),
    ("core restart now", core_restart),
)
