"""`--watch` on `ami queues` and `ami channels`: redrawn in place on a terminal, q or Ctrl-C leave with 0."""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import time

import pytest
from util import ADMIN, ami_argv, ami_env, run_ami


def _spawn(args: list[str], port: int) -> tuple[subprocess.Popen, int]:
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [*ami_argv(), *args],
        env={**ami_env(port, **ADMIN), "COLUMNS": "160", "LINES": "50"},
        stdin=follower,
        stdout=follower,
        stderr=subprocess.PIPE,
        close_fds=True,
    )
    os.close(follower)
    return proc, leader


def _read_until(fd: int, wanted: bytes, timeout: float = 20) -> bytes:
    buf = b""
    deadline = time.monotonic() + timeout
    while wanted not in buf and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            try:
                buf += os.read(fd, 65536)
            except OSError:
                break
    return buf


@pytest.mark.parametrize("command", ["queues", "channels"])
def test_watch_draws_a_header_and_q_leaves_with_0(sim, command):
    proc, fd = _spawn([command, "--watch", "0.3"], sim.port)
    try:
        first = _read_until(fd, b"(q to quit)")
        assert b"\x1b[H\x1b[2J" in first
        assert f"ami {command} on 127.0.0.1:{sim.port}".encode() in first
        # Polled again after the interval: a second full redraw.
        again = _read_until(fd, b"(q to quit)", timeout=10)
        assert b"\x1b[H\x1b[2J" in again
        os.write(fd, b"q")
        assert proc.wait(10) == 0
        assert proc.stderr.read() == b""
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(fd)


def test_watch_ctrl_c_leaves_with_0(sim):
    proc, fd = _spawn(["queues", "--watch"], sim.port)
    try:
        _read_until(fd, b"(q to quit)")
        proc.send_signal(signal.SIGINT)
        assert proc.wait(10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(fd)


@pytest.mark.parametrize(
    "args",
    [["queues", "--watch"], ["channels", "--watch", "1"], ["queues", "--watch", "--json"], ["channels", "--watch=0"]],
)
def test_watch_without_a_terminal_is_a_usage_error(args):
    proc = run_ami(args, port=1)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.startswith("ami: error:") and proc.stderr.count("\n") == 1


def test_watch_redraws_on_an_event_before_the_interval(sim):
    proc, fd = _spawn(["queues", "--watch", "60"], sim.port)
    try:
        _read_until(fd, b"(q to quit)")
        time.sleep(0.5)
        started = time.monotonic()
        added = run_ami(["queues", "add", "support", "Local/7777@agents/n", "--name", "Watcher"], port=sim.port)
        assert added.returncode == 0, added.stderr
        redraw = _read_until(fd, b"(q to quit)", timeout=15)
        # Interval 60 s: only the QueueMemberAdded event can have caused this redraw.
        assert b"(q to quit)" in redraw
        assert time.monotonic() - started < 15
        os.write(fd, b"q")
        assert proc.wait(10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(fd)
        run_ami(["queues", "remove", "support", "Local/7777@agents/n"], port=sim.port)


@pytest.mark.parametrize("chunks", ["recorded", 1], ids=["recorded-chunks", "one-byte-reads"])
@pytest.mark.parametrize(
    ("command", "action", "row_event"),
    [("queues", "QueueStatus", "QueueParams"), ("channels", "CoreShowChannels", "CoreShowChannel")],
)
def test_watch_against_a_replay(command, action, row_event, chunks):
    import compose as C
    import replay

    exchange = C.recorded_exchange(action)
    names = [e.get("Queue") or e.get("Channel") for e in C.events_of(exchange, row_event)]
    server = replay.ReplayServer(C.banner_and_login() + exchange + C.logoff(), chunking=chunks)
    proc, fd = _spawn([command, "--watch", "60"], server.port)
    try:
        # The replay waits at most 5 s for the next action (Logoff): q comes well before.
        shown = _read_until(fd, b"(q to quit)")
        last = names[-1].encode() if names else b"(no channels)"
        if last not in shown:
            shown += _read_until(fd, last, timeout=3)
        for name in names:
            assert name.encode() in shown
        os.write(fd, b"q")
        assert proc.wait(10) == 0
        server.wait(5)
        assert server.errors == []
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(fd)
        server.close()
