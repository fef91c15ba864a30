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
