"""`ami sim` answers as the recorded Asterisk 22 does, shape for shape.

The recorded client side of each transcript is sent to the sim, byte for
byte; the sim's answers must carry the same messages, in the same order,
with the same header names in the same order and the same values, except for
values that differ from run to run (times, ids, counters).
"""

from __future__ import annotations

import socket
import time

import pytest
from replay import load_transcript, server_stream
from util import start_sim

from amicli.protocol import Parser

# Values that change from one run (or one PBX) to the next.
VOLATILE = {
    "Timestamp",
    "Uptime",
    "LastReload",
    "SystemName",
    "EventTV",
    "SessionID",
    "SessionTV",
    "LocalAddress",
    "RemoteAddress",
    "Challenge",
    "CoreStartupDate",
    "CoreStartupTime",
    "CoreReloadDate",
    "CoreReloadTime",
    "CoreProcessedCalls",
    "CoreCurrentCalls",
}

SCENARIOS = [
    "ping",
    "login-plain-ok",
    "login-plain-events-off",
    "login-bad-secret",
    "login-unknown-user",
    "login-acl-denied",
    "unknown-action",
    "missing-action",
    "permission-denied",
    "action-before-login",
    "long-header",
    "many-headers",
    "lf-only",
    "tls-login",
    "coresettings-corestatus",
    "userevent-action",
    "events-action",
]


def shape(messages, drop_values=()):
    out = []
    for msg in messages:
        out.append([(k, None if k in VOLATILE or k in drop_values else v) for k, v in msg.headers])
    return out


def play_client_side(port: int, steps, wait_close: float = 0.5) -> tuple[list, bool]:
    """Send the recorded client chunks; collect what the sim answers."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    parser = Parser()
    got = []
    closed = False
    # How many messages the recording has after each client step.
    counts, n = [], 0
    rec_parser = Parser()
    for direction, data in steps:
        if direction == "server":
            n += len(rec_parser.feed(data))
        elif direction == "client":
            counts.append(n)
    counts.append(n)
    expected_counts = counts[1:]
    client_chunks = [data for direction, data in steps if direction == "client"]
    for chunk, want in zip(client_chunks, expected_counts, strict=True):
        if closed:
            break
        try:
            sock.sendall(chunk)
        except OSError:
            closed = True
            break
        deadline = time.monotonic() + 3
        while len(got) < want and time.monotonic() < deadline:
            try:
                data = sock.recv(65536)
            except OSError:
                closed = True
                break
            if not data:
                closed = True
                break
            got += parser.feed(data)
    if not closed:
        # Did the sim close the connection after its last answer?
        sock.settimeout(wait_close)
        try:
            closed = sock.recv(65536) == b""
        except OSError:
            closed = False
    sock.close()
    return got, closed


@pytest.fixture(scope="module")
def sim():
    server = start_sim(login_fail_delay=0.05)
    yield server
    server.close()


@pytest.mark.parametrize("name", SCENARIOS)
def test_sim_answers_like_asterisk22(sim, name):
    steps = load_transcript(name)
    # tls-login is the same exchange as on TCP; TLS itself is tested in test_cli.
    recorded = Parser().feed(server_stream(steps))
    got, _ = play_client_side(sim.port, steps)
    # The recorded ActionIDs are the ones the recorded client sent, so they match too.
    assert shape(got) == shape(recorded)


def test_sim_closes_after_failed_login(sim):
    got, closed = play_client_side(sim.port, load_transcript("login-bad-secret"), wait_close=5)
    assert closed
    assert [m.get("Message") for m in got] == ["Authentication failed"]


def test_sim_failed_login_pauses_one_second():
    server = start_sim(login_fail_delay=1.0)
    try:
        started = time.monotonic()
        play_client_side(server.port, load_transcript("login-bad-secret"))
        elapsed = time.monotonic() - started
    finally:
        server.close()
    assert 0.9 <= elapsed < 2.5


def test_sim_md5_login(sim):
    import hashlib

    sock = socket.create_connection(("127.0.0.1", sim.port), timeout=5)
    parser = Parser()
    sock.sendall(b"Action: Challenge\r\nActionID: c1\r\nAuthType: MD5\r\n\r\n")
    msgs = []
    while len(msgs) < 1:
        msgs += parser.feed(sock.recv(4096))
    challenge = msgs[0]["Challenge"]
    assert challenge.isdigit()
    key = hashlib.md5((challenge + "s3cret-Admin").encode()).hexdigest()
    sock.sendall(f"Action: Login\r\nAuthType: MD5\r\nUsername: admin\r\nKey: {key}\r\nActionID: c2\r\n\r\n".encode())
    while len(msgs) < 2:
        msgs += parser.feed(sock.recv(4096))
    assert msgs[1]["Message"] == "Authentication accepted"
    sock.close()


# -- the sim is wired explicitly: each sim its own table, dialplan and state -------


def test_each_sim_has_its_own_dialplan_and_handlers():
    first, second = start_sim(), start_sim()
    try:
        first.pbx.dialplan.add_extension("default", "777", [("Answer", ""), ("Hangup", "")])
        assert first.pbx.dialplan.find("default", "777") is not None
        assert second.pbx.dialplan.find("default", "777") is None
        assert first.handlers is not second.handlers
        del first.handlers.actions["ping"]
        assert _ask(first.port, "Ping")["Response"] == "Error"
        assert _ask(second.port, "Ping")["Response"] == "Success"
    finally:
        first.close()
        second.close()


def _ask(port: int, action: str) -> dict:
    """Log in as admin, send one action, return its response's headers."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    parser = Parser()
    sock.sendall(b"Action: Login\r\nUsername: admin\r\nSecret: s3cret-Admin\r\nEvents: off\r\n\r\n")
    sock.sendall(f"Action: {action}\r\nActionID: q1\r\n\r\n".encode())
    got: list = []
    while not any(m.get("ActionID") == "q1" for m in got):
        got += parser.feed(sock.recv(65536))
    sock.close()
    return dict(next(m for m in got if m.get("ActionID") == "q1").headers)


def test_sim_modules_form_no_import_cycle_and_share_only_the_wire_format():
    """Imports anywhere in a module count, also inside functions and TYPE_CHECKING blocks."""
    import ast
    from pathlib import Path

    import amicli.sim

    folder = Path(amicli.sim.__file__).parent
    graph: dict[str, set[str]] = {}
    outside: set[str] = set()
    for path in folder.glob("*.py"):
        deps = graph.setdefault(path.stem, set())
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                names = [node.module] if node.module else [a.name for a in node.names]
                deps.update(n.split(".")[0] for n in names)
            elif isinstance(node, ast.ImportFrom) and node.level == 2:
                outside.add(node.module or "")
            elif isinstance(node, (ast.Import, ast.ImportFrom)) and "amicli" in ast.unparse(node):
                outside.add(ast.unparse(node))
    assert outside == {"protocol"}

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        for dep in graph.get(start, ()):
            if dep == goal or (dep not in seen and (seen.add(dep) or reaches(dep, goal, seen))):
                return True
        return False

    assert [m for m in graph if m != "__init__" and reaches(m, m, set())] == []
