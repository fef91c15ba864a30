"""Many `ami` sessions against one PBX at once, and clients that vanish mid-message.

Cron jobs on many hosts hit one PBX at the same minute: every one of them
must get its own correct answer.  And a client killed halfway through an
action must cost the PBX (here the sim) nothing: it goes on answering.
"""

from __future__ import annotations

import json
import os
import re
import socket
import struct
import subprocess
import time

import pytest
from inprocess import start_in_process
from util import ADMIN, ami_argv, ami_env, run_ami, start_sim

VERSION_LINE = "Asterisk 22.10.1 built by ami-sim @ localhost on a x86_64 running Linux\n"
#: Sessions at once: real processes (each job of job_args, and a second
#: process's Ping: ActionIDs of two pids), and the rest in this process.
SESSIONS = 50
PROCESSES = 4


@pytest.fixture
def sim():
    server = start_sim()
    yield server
    server.close()


def job_args(n: int) -> list[str]:
    """A mix of what cron jobs run: a Ping (JSON), a CLI command, a health check; plain and MD5 logins."""
    auth = ["--auth", "md5" if n % 2 else "plain", "--timeout", "30"]
    kind = n % 3
    if kind == 0:
        return [*auth, "raw", "Ping", "--json"]
    if kind == 1:
        return [*auth, "command", "core show version"]
    # Loose thresholds: this test is about correct answers, not speed under load.
    return [*auth, "login-test", "-w", "30", "-c", "60"]


def test_fifty_sessions_at_once_all_get_correct_answers(sim) -> None:
    """Real processes (each with its own pid in its ActionIDs) and in-process runs, all at once."""
    procs = []
    started = time.monotonic()
    for n in range(PROCESSES):
        procs.append(
            subprocess.Popen(
                [*ami_argv(), *job_args(n)],
                env=ami_env(sim.port, **ADMIN),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    runs = [start_in_process(job_args(n), ami_env(sim.port, **ADMIN)) for n in range(PROCESSES, SESSIONS)]
    results = [(n, proc.pid, *proc.communicate(timeout=60), proc.returncode) for n, proc in enumerate(procs)]
    for n, run in enumerate(runs, PROCESSES):
        done = run.wait(60)
        results.append((n, os.getpid(), done.stdout, done.stderr, done.returncode))
    elapsed = time.monotonic() - started
    seen_ids: list[str] = []
    for n, _pid, out, err, code in results:
        shown = f"job {n}: ami {' '.join(job_args(n))} -> {code}\nstdout={out!r}\nstderr={err!r}"
        assert code == 0 and err == "", shown
        kind = n % 3
        if kind == 0:
            record = json.loads(out)
            assert record["Response"] == "Success" and record["Ping"] == "Pong", shown
            # An ActionID of ami's own shape (a random tag per process), never another's.
            assert re.fullmatch(r"ami-[0-9a-f]{16}-\d+", record["ActionID"]), shown
            seen_ids.append(record["ActionID"])
        elif kind == 1:
            assert out == VERSION_LINE, shown
        else:
            assert out.startswith("AMI OK - admin@127.0.0.1:") and "Asterisk 22.10.1" in out, shown
    assert len(set(seen_ids)) == len(seen_ids)  # each session got the answer to its own action
    assert elapsed < 60
    assert_sessions_drain(sim)


# -- clients that vanish -----------------------------------------------------------------------


def connect(sim) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", sim.port), timeout=5)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def read_until(sock: socket.socket, marker: bytes) -> bytes:
    data = b""
    while marker not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def login(sock: socket.socket, events: str = "off") -> None:
    read_until(sock, b"\r\n")  # the banner
    sock.sendall(
        f"Action: Login\r\nUsername: admin\r\nSecret: s3cret-Admin\r\nEvents: {events}\r\n"
        "ActionID: login\r\n\r\n".encode()
    )
    assert b"Authentication accepted" in read_until(sock, b"Authentication accepted")


def reset(sock: socket.socket) -> None:
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def vanish_before_banner(sim) -> None:
    connect(sim).close()


def reset_before_banner(sim) -> None:
    reset(connect(sim))


def half_action_then_close(sim) -> None:
    sock = connect(sim)
    read_until(sock, b"\r\n")
    sock.sendall(b"Action: Ping\r\nActionID: half\r\nX-Partial: ab")
    sock.close()


def half_login_then_reset(sim) -> None:
    sock = connect(sim)
    read_until(sock, b"\r\n")
    sock.sendall(b"Action: Login\r\nUsername: admin\r\nSec")
    reset(sock)


def logged_in_half_action_then_close(sim) -> None:
    sock = connect(sim)
    login(sock)
    sock.sendall(b"Action: Command\r\nCommand: core show ver")
    sock.close()


def logged_in_half_action_then_reset(sim) -> None:
    sock = connect(sim)
    login(sock)
    sock.sendall(b"Action: Originate\r\nChannel: Local/100@default\r\nApplica")
    reset(sock)


def long_line_then_close(sim) -> None:
    sock = connect(sim)
    read_until(sock, b"\r\n")
    sock.sendall(b"Action: Ping\r\nX-Long: " + b"x" * 200_000)
    sock.close()


def list_action_then_vanish(sim) -> None:
    # The sim is still writing the list when the client goes: its writes fail.
    sock = connect(sim)
    login(sock, events="on")
    sock.sendall(b"Action: QueueStatus\r\nActionID: q\r\n\r\nAction: CoreShowChannels\r\nActionID: c\r\n\r\n")
    reset(sock)


def events_client_vanishes(sim) -> None:
    # A session that gets events disappears; the next broadcast must not trip over it.
    sock = connect(sim)
    login(sock, events="on")
    sock.close()


VANISHING = [
    vanish_before_banner,
    reset_before_banner,
    half_action_then_close,
    half_login_then_reset,
    logged_in_half_action_then_close,
    logged_in_half_action_then_reset,
    long_line_then_close,
    list_action_then_vanish,
    events_client_vanishes,
]


def assert_sessions_drain(sim, within: float = 5.0) -> None:
    """Every session of a client that is gone is dropped by the sim."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        with sim.lock:
            if not sim.sessions:
                return
        time.sleep(0.02)
    with sim.lock:
        assert not sim.sessions, f"{len(sim.sessions)} sessions left over"


def assert_sim_answers(sim) -> None:
    proc = run_ami(["raw", "Ping", "--json"], port=sim.port)
    assert proc.returncode == 0 and json.loads(proc.stdout)["Ping"] == "Pong", proc
    proc = run_ami(["command", "core show version"], port=sim.port)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, VERSION_LINE, ""), proc
    # A broadcast reaches the sessions still there, past the ones that are gone.
    proc = run_ami(["raw", "UserEvent", "UserEvent=AfterVanish"], port=sim.port)
    assert proc.returncode == 0, proc


@pytest.mark.parametrize("vanish", VANISHING, ids=[f.__name__ for f in VANISHING])
def test_sim_survives_a_client_that_vanishes(sim, vanish) -> None:
    vanish(sim)
    assert_sim_answers(sim)
    assert_sessions_drain(sim)


def test_sim_survives_many_vanishing_clients_at_once(sim) -> None:
    import threading

    errors: list[BaseException] = []

    def run(fn) -> None:
        try:
            fn(sim)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(fn,)) for _ in range(6) for fn in VANISHING]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert errors == []
    assert sim._threads and all(t.is_alive() for t in sim._threads), "the sim's accept loop died"
    assert_sim_answers(sim)
    assert_sessions_drain(sim)
