"""amicli.client.Client over real sockets, against recorded Asterisk 22 sessions and crafted peers.

Every test runs twice: with the server chunks sent as recorded, and one byte
per send (so the client sees one-byte reads).
"""

from __future__ import annotations

import socket
import time
from typing import Callable

import pytest
from replay import (
    ASTERISK13_QUEUES_TEXT,
    VERSION_DIR,
    ReplayServer,
    Script,
    asterisk13_session,
    find_transcripts_dir,
    load_transcript,
    message_headers,
    rewrite_action_ids,
    server_stream,
    transcript_names,
)

from amicli import protocol
from amicli.client import Client, Reply
from amicli.errors import (
    ActionError,
    AmiTimeout,
    AuthError,
    ConnectError,
    ConnectionLost,
    PermissionDenied,
    ProtocolError,
)

Replay = Callable[..., ReplayServer]

ADMIN = ("admin", "s3cret-Admin")


@pytest.fixture(params=["recorded", 1], ids=["recorded", "bytewise"])
def chunking(request: pytest.FixtureRequest) -> object:
    return request.param


def client_for(server: ReplayServer, timeout: float = 2.0, **kwargs: object) -> Client:
    return Client(server.host, server.port, timeout=timeout, **kwargs)  # type: ignore[arg-type]


def finished_cleanly(server: ReplayServer) -> None:
    """The client followed the script to its end, and closed."""
    assert server.wait(3.0), "replay server still running"
    assert server.errors == []


def recorded_messages(name: str) -> list[protocol.Message]:
    return protocol.Parser().feed(server_stream(load_transcript(name)))


# -- login ------------------------------------------------------------------


def test_plain_login(replay: Replay, chunking: object) -> None:
    server = replay("login-plain-ok", chunking=chunking)
    with client_for(server, keep_events=True) as client:
        client.connect()
        assert client.banner == "Asterisk Call Manager/11.0.0"
        assert client.version == "11.0.0"
        reply = client.login(*ADMIN, auth="plain", events="on")
        assert reply.ok and reply.message == "Authentication accepted"
        assert client.logged_in
        # FullyBooted came right behind the Login response.
        assert client.wait_booted(timeout=1.0)
        # A generous wait, so that a one-byte replay on a busy machine still
        # reaches Goodbye.
        client.logoff(timeout=10.0)
    # The events were sorted out while the client waited for Goodbye.
    assert [e.name for e in client.events] == ["FullyBooted", "SuccessfulAuth"]
    finished_cleanly(server)
    assert server.actions() == ["Login", "Logoff"]
    login = protocol.Parser(expect_banner=False).feed(server.received[0])[0]
    assert login.get("Username") == "admin" and login.get("Secret") == "s3cret-Admin"
    assert login.get("ActionID") and login.get("ActionID") != "cap-1"


def test_md5_login(replay: Replay, chunking: object) -> None:
    server = replay("login-md5-ok", chunking=chunking)
    with client_for(server) as client:
        client.connect()
        reply = client.login(*ADMIN, auth="md5")
        assert reply.ok
    finished_cleanly(server)
    assert server.actions() == ["Challenge", "Login", "Logoff"]
    login = protocol.Parser(expect_banner=False).feed(server.received[1])[0]
    # The Challenge value is the recorded one, so the key is the recorded key.
    assert login.get("AuthType") == "MD5"
    assert login.get("Key") == "2d6904a52f237859487056e34575e184"
    assert login.get("Secret") is None


@pytest.mark.parametrize("name", ["login-bad-secret", "login-unknown-user", "login-acl-denied"])
def test_bad_login_is_auth_error(replay: Replay, chunking: object, name: str) -> None:
    server = replay(name, chunking=chunking)
    started = time.monotonic()
    with client_for(server) as client:
        client.connect()
        with pytest.raises(AuthError, match="Authentication failed"):
            client.login("admin", "wrong", auth="plain")
        assert not client.logged_in
    assert time.monotonic() - started < 2.0
    finished_cleanly(server)
    assert server.actions() == ["Login"]


def test_md5_bad_key_is_auth_error(replay: Replay, chunking: object) -> None:
    server = replay("login-md5-bad", chunking=chunking)
    with client_for(server) as client:
        client.connect()
        with pytest.raises(AuthError):
            client.login("admin", "wrong", auth="md5")
    finished_cleanly(server)


# -- simple actions ---------------------------------------------------------


def test_ping(replay: Replay, chunking: object) -> None:
    server = replay("ping", chunking=chunking)
    with client_for(server) as client:
        client.connect()
        client.login(*ADMIN, auth="plain")
        reply = client.action("Ping")
        assert reply.ok
        assert reply.response is not None
        assert reply.response["Ping"] == "Pong"
        assert reply.response["Timestamp"] == "1795775622.291740"
        # The ActionID came back rewritten to the one the client sent.
        assert reply.response.action_id == dict(reply.action)["ActionID"]
    finished_cleanly(server)
    assert server.actions() == ["Login", "Ping", "Logoff"]


def test_command_output_lines(replay: Replay, chunking: object) -> None:
    server = replay("command", chunking=chunking)
    with client_for(server) as client:
        client.connect()
        client.login(*ADMIN, auth="plain")
        ok, lines = client.command("core show version")
        assert ok and lines == [
            "Asterisk 22.10.1 built by root @ vm on a x86_64 running Linux on 2026-11-27 10:28:25 UTC"
        ]
        ok, lines = client.command("core show uptime")
        assert ok and lines == ["System uptime: 1 minute, 26 seconds", "Last reload: 1 minute, 26 seconds"]
        ok, lines = client.command("queue show")
        assert ok
        assert lines == queue_show_lines()
        assert lines[1] == "   No Members" and lines[3] == "" and lines[-1] == ""
        ok, lines = client.command("no such command here")
        assert not ok
        assert lines == [
            "No such command 'no such command here' (type 'core show help no such' for other possible commands)"
        ]
    finished_cleanly(server)


def queue_show_lines() -> list[str]:
    """The ``queue show`` output lines as Asterisk 22 sent them (Output headers)."""
    reply = next(m for m in recorded_messages("command") if m.action_id == "cap-46")
    return reply.get_all("Output")


def test_unknown_action_is_action_error(replay: Replay, chunking: object) -> None:
    server = replay("unknown-action", chunking=chunking)
    with client_for(server) as client:
        client.connect()
        client.login(*ADMIN, auth="plain")
        reply = client.request([("Action", "FooBar")])
        assert not reply.ok
        assert reply.message.startswith("Invalid/unknown command: FooBar.")
        with pytest.raises(ActionError, match="FooBar: Invalid/unknown command") as info:
            reply.raise_for_error()
        assert not isinstance(info.value, PermissionDenied)
        assert info.value.reply is reply.response
    finished_cleanly(server)


def test_permission_denied(replay: Replay, chunking: object) -> None:
    server = replay("permission-denied", chunking=chunking)
    with client_for(server) as client:
        client.connect()
        client.login("monitor", "m0nitor", auth="plain")
        reply = client.request(
            [("Action", "Originate"), ("Channel", "Local/100@default"), ("Application", "Wait"), ("Data", "1")]
        )
        with pytest.raises(PermissionDenied, match="Originate: permission denied"):
            reply.raise_for_error()
        with pytest.raises(PermissionDenied):
            client.command("core show version")
    finished_cleanly(server)
    assert server.actions() == ["Login", "Originate", "Command", "Logoff"]


def test_actions_before_login(replay: Replay, chunking: object) -> None:
    server = replay("action-before-login", chunking=chunking)
    with client_for(server) as client:
        client.connect()
        with pytest.raises(PermissionDenied):
            client.action("Ping")
        reply = client.request([("Action", "CoreShowChannels")])
        assert not reply.ok and not reply.is_list and reply.events == []
    finished_cleanly(server)


# -- lists ------------------------------------------------------------------


def test_core_show_channels_busy(replay: Replay, chunking: object) -> None:
    server = replay("busy-coreshowchannels", chunking=chunking)
    with client_for(server, keep_events=True) as client:
        client.connect()
        client.login(*ADMIN, auth="plain")
        reply = client.request([("Action", "CoreShowChannels")])
        assert reply.ok and reply.is_list and reply.done
        assert [e.name for e in reply.events] == ["CoreShowChannel"] * 12
        assert reply.complete is not None and reply.complete["ListItems"] == "12"
        action_id = dict(reply.action)["ActionID"]
        assert {m.action_id for m in reply.messages} == {action_id}
        # Same channels, same order as recorded.
        recorded = [m for m in recorded_messages("busy-coreshowchannels") if m.name == "CoreShowChannel"]
        assert [e.get("Channel") for e in reply.events] == [m.get("Channel") for m in recorded]
        status = client.request([("Action", "Status")])
        assert [e.name for e in status.events] == ["Status"] * 12
        assert status.complete is not None and status.complete.name == "StatusComplete"
        # List items are the reply's, not events.
        assert list(client.events) == []
    finished_cleanly(server)


def test_core_show_channels_empty(replay: Replay, chunking: object) -> None:
    server = replay("coreshowchannels-empty", chunking=chunking)
    with client_for(server) as client:
        client.connect()
        client.login(*ADMIN, auth="plain")
        reply = client.request([("Action", "CoreShowChannels")])
        assert reply.ok and reply.is_list and reply.events == []
        assert reply.complete is not None and reply.complete["ListItems"] == "0"
        assert len(reply.messages) == 2
    finished_cleanly(server)


# -- events -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "channel"),
    [("busy-events-stream", "Local/100@default"), ("events-call-lifecycle", "Local/event@default")],
)
def test_events_around_responses(replay: Replay, chunking: object, name: str, channel: str) -> None:
    recorded = [m for m in recorded_messages(name) if m.kind == "event"]
    server = replay(name, chunking=chunking)
    # One byte per read of a 23 kB stream takes seconds on a loaded machine;
    # the Goodbye comes only after all of it.
    with client_for(server, timeout=15.0, keep_events=True) as client:
        client.connect()
        client.login(*ADMIN, auth="plain", events="on")
        originate: Reply = client.action("Originate", Channel=channel, Application="Wait", Data="1", Async="true")
        assert originate.message == "Originate successfully queued"
        # Logoff's Goodbye comes after every event: the client sorts them out
        # of the way while it waits for it.
        goodbye = client.request([("Action", "Logoff")])
        assert goodbye.response is not None and goodbye.response.name == "Goodbye"
        client.logged_in = False
        events = list(client.events)
        assert [(e.name, e.headers) for e in events if e.name != "OriginateResponse"] == [
            (e.name, e.headers) for e in recorded if e.name != "OriginateResponse"
        ]
        result = [e for e in events if e.name == "OriginateResponse"]
        assert len(result) == 1
        assert result[0]["Response"] == "Success"
        # It carries the ActionID of our Originate (rewritten by the replay).
        assert result[0].action_id == dict(originate.action)["ActionID"]
        assert client.fully_booted
    finished_cleanly(server)


def test_next_event(replay: Replay, chunking: object) -> None:
    server = replay("userevent-action", chunking=chunking)
    with client_for(server, keep_events=True) as client:
        client.connect()
        client.login(*ADMIN, auth="plain", events="on")
        first = client.next_event(timeout=1.0)
        assert first is not None and first.name == "FullyBooted"
        client.events.clear()
        sent = [m for m in recorded_messages("userevent-action") if m.name == "UserEvent"]
        assert sent, "transcript has a UserEvent"
        reply = client.request(recorded_action("userevent-action", 1))
        assert reply.ok and reply.message == "Event Sent"
        event = client.next_event(timeout=1.0)
        while event is not None and event.name != "UserEvent":
            event = client.next_event(timeout=1.0)
        assert event is not None
        action_id = dict(reply.action)["ActionID"]
        assert event.headers == [(k, action_id if k == "ActionID" else v) for k, v in sent[0].headers]
        assert client.next_event(timeout=0.1) is None
    finished_cleanly(server)


def recorded_action(name: str, index: int) -> list[tuple[str, str]]:
    """The index-th recorded client action of ``name``, without its ActionID."""
    steps = [data for direction, data in load_transcript(name) if direction == "client"]
    return [(k, v) for k, v in message_headers(steps[index]) if k.lower() != "actionid"]


# -- Asterisk 13 ------------------------------------------------------------


def test_asterisk13_session(replay: Replay, chunking: object) -> None:
    modern_lines = queue_show_lines()
    legacy_text = "\n".join(modern_lines) + "\n"
    server = replay(asterisk13_session(command_output=legacy_text), chunking=chunking)
    with client_for(server) as client:
        client.connect()
        assert client.version == "2.10.4"
        client.login("admin", "x", auth="plain")
        ok, lines = client.command("queue show")
        assert ok
        # The Asterisk 13 raw text gives exactly the lines Asterisk 22 sends as Output headers.
        assert lines == modern_lines
        started = time.monotonic()
        queues = client.request([("Action", "Queues")])
        assert time.monotonic() - started < 1.0
        assert queues.ok and queues.response is not None and queues.response.kind == "text"
        text = queues.response.text or ""
        wanted = [ln for ln in ASTERISK13_QUEUES_TEXT.split("\n") if ln]
        assert [ln for ln in text.split("\n") if ln] == wanted
        # The session still works after the headerless answer.
        assert client.action("Ping").response is not None
    finished_cleanly(server)
    assert server.actions() == ["Login", "Command", "Queues", "Ping", "Ping", "Logoff"]


def test_asterisk13_queues_text_keeps_blank_lines(replay: Replay, chunking: object) -> None:
    server = replay(asterisk13_session(), chunking=chunking)
    with client_for(server) as client:
        client.connect()
        client.login("admin", "x", auth="plain")
        client.command("queue show")
        queues = client.request([("Action", "Queues")])
        assert queues.response is not None
        assert (queues.response.text or "").strip("\n") == ASTERISK13_QUEUES_TEXT.strip("\n")


# -- peers that are not AMI -------------------------------------------------

HTTP_REPLY = b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n\r\nBad Request"


@pytest.mark.parametrize(
    "script",
    [
        [("server", HTTP_REPLY), ("close", b"")],
        [("server", HTTP_REPLY)],
        [("server", b"SSH-2.0-OpenSSH_9.2\r\n")],
        [("server", b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" + bytes(600))],
        [("close", b"")],
        [("server", b"Asterisk Call Man"), ("close", b"")],
    ],
    ids=["http-close", "http-open", "ssh", "binary", "close-at-once", "half-banner"],
)
def test_non_ami_peer_is_protocol_error(replay: Replay, chunking: object, script: Script) -> None:
    server = replay(script, chunking=chunking)
    started = time.monotonic()
    with client_for(server) as client:
        with pytest.raises(ProtocolError, match="not an AMI server"):
            client.connect()
    assert time.monotonic() - started < 2.0
    assert server.wait(3.0)
    assert server.received == []


def test_silent_peer_is_a_timeout(replay: Replay, chunking: object) -> None:
    server = replay([], chunking=chunking)
    started = time.monotonic()
    with client_for(server, timeout=0.5) as client:
        with pytest.raises(AmiTimeout, match="no AMI banner from .* within 0.5 s"):
            client.connect()
    elapsed = time.monotonic() - started
    assert 0.4 < elapsed < 2.0
    assert server.wait(3.0)


def test_connection_refused_is_connect_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    started = time.monotonic()
    with pytest.raises(ConnectError, match="connection refused"):
        Client("127.0.0.1", port, timeout=2.0).connect()
    assert time.monotonic() - started < 2.0


# -- the replay server itself -----------------------------------------------


def test_replay_reports_a_client_that_leaves_the_script(replay: Replay, chunking: object) -> None:
    server = replay("ping", chunking=chunking)
    with client_for(server) as client:
        client.connect()
        client.login(*ADMIN, auth="plain")
        with pytest.raises(ConnectError):
            client.request([("Action", "CoreStatus")])
    assert server.wait(3.0)
    assert server.errors == ["expected Action 'Ping' from the client, got 'CoreStatus'"]


def test_rewrite_action_ids_across_chunk_boundaries() -> None:
    chunks = [
        b"Response: Success\r\nAction",
        b"ID: cap-1",
        b"\r\nMessage: ok\r\n\r\nEvent: X\r\nActionID: cap-2\r\n\r\n",
    ]
    out = rewrite_action_ids(chunks, {b"cap-1": b"ami-123-45", b"cap-2": None})
    assert b"".join(out) == b"Response: Success\r\nActionID: ami-123-45\r\nMessage: ok\r\n\r\nEvent: X\r\n\r\n"
    # Boundaries inside a rewritten line move to its end.
    assert out == [
        b"Response: Success\r\nActionID: ami-123-45\r\n",
        b"",
        b"Message: ok\r\n\r\nEvent: X\r\n\r\n",
    ]
    assert rewrite_action_ids(chunks, {}) == chunks
    assert rewrite_action_ids(chunks, {b"other": b"x"}) == chunks


def test_client_without_action_ids_gets_none_back(replay: Replay, chunking: object) -> None:
    server = replay("ping", chunking=chunking)
    with socket.create_connection(server.address, timeout=2.0) as sock:
        sock.sendall(b"Action: Login\r\nUsername: admin\r\nSecret: s3cret-Admin\r\n\r\nAction: Ping\r\n\r\n")
        sock.sendall(b"Action: Logoff\r\n\r\n")
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    assert b"ActionID" not in data
    assert data.startswith(b"Asterisk Call Manager/11.0.0\r\nResponse: Success\r\nMessage: Authentication accepted")
    assert data.endswith(b"Response: Goodbye\r\nMessage: Thanks for all the fish.\r\n\r\n")
    assert server.wait(3.0) and server.errors == []


# -- every recorded session, action by action -------------------------------

# long-header records how Asterisk treats a line over 1,024 bytes; the client
# refuses to send such a line at all (see test_long_header_is_never_sent).
TRANSCRIPTS = [
    name
    for name in (transcript_names() if (find_transcripts_dir() / VERSION_DIR).is_dir() else [])
    if name != "long-header"
]
SMALL = [name for name in TRANSCRIPTS if len(server_stream(load_transcript(name))) <= 4000]


def test_long_header_is_never_sent(replay: Replay) -> None:
    from amicli.errors import UsageError

    server = replay("long-header")
    with client_for(server) as client:
        client.connect()
        with pytest.raises(UsageError, match="over the 1024"):
            client.login("u" * 8000, "x9-only-here")
    server.close()
    assert server.received == []


def normalized(msg: protocol.Message, back: dict[str, str]) -> tuple[str, tuple[tuple[str, str], ...]]:
    """A message with the client's ActionIDs mapped back to the recorded ones."""
    return (msg.kind, tuple((k, back.get(v, v) if k.lower() == "actionid" else v) for k, v in msg.headers))


def client_steps(name: str) -> list[tuple[float, bytes]]:
    """When the recording client sent each of its messages, and the bytes."""
    import json

    from replay import transcript_path

    out = []
    with open(transcript_path(name), encoding="utf-8") as fh:
        for line in fh:
            entry = json.loads(line) if line.strip() else {}
            if entry.get("dir") == "client":
                out.append((float(entry.get("t", 0.0)), entry["data"].encode("latin-1")))
    return out


def drive_recorded_session(server: ReplayServer, name: str) -> None:
    """Send each recorded client action through Client.request; check every message arrives where it belongs."""
    steps = load_transcript(name)
    script = steps[: next((i for i, (d, _) in enumerate(steps) if d == "close"), len(steps))]
    recorded = recorded_messages(name)
    replies: list[tuple[bytes, Reply]] = []
    # Actions the recording client sent within a few milliseconds were sent
    # at once (the booting sessions): they are sent at once here too.
    groups: list[list[bytes]] = []
    last = -1.0
    before_close = sum(1 for direction, _ in script if direction == "client")
    for sent_at, data in client_steps(name)[:before_close]:
        if sent_at - last > 0.005 or not groups:
            groups.append([])
        groups[-1].append(data)
        last = sent_at
    with client_for(server, keep_events=True) as client:
        client.connect()
        # Every action is sent before the first reply is awaited: the replay reads each when its
        # turn comes, so sessions whose actions overlap their replies (booting-*) play as recorded.
        in_flight: list[tuple[bytes, Reply]] = []
        for direction, data in script:
            if direction == "client":
                action = [(k, v) for k, v in message_headers(data) if k.lower() != "actionid"]
                in_flight.append((data, client.submit(action)))
        for sent, reply in in_flight:
            replies.append((sent, client.wait(reply)))
        # Whatever follows the last reply (events), until the server closes or goes quiet.
        while True:
            try:
                client.pump(time.monotonic() + 0.2)
            except (ConnectionLost, AmiTimeout):
                break
        events = list(client.events)
    assert server.wait(3.0)
    assert server.errors == []
    back = {v.decode(): k.decode() for k, v in server.id_map.items() if v is not None}
    seen: list[protocol.Message] = list(events)
    for data, reply in replies:
        assert reply.done and reply.response is not None
        recorded_id = dict(message_headers(data)).get("ActionID")
        want = [m for m in recorded if m.kind == "response" and m.action_id == recorded_id]
        assert normalized(reply.response, back) == normalized(want[0], back)
        if reply.is_list:
            want_items = [m for m in recorded if m.kind == "event" and m.action_id == recorded_id]
            got_items = reply.events + ([reply.complete] if reply.complete is not None else [])
            assert [normalized(m, back) for m in got_items] == [normalized(m, back) for m in want_items]
        seen.extend(reply.messages)
    assert sorted(normalized(m, back) for m in seen) == sorted(normalized(m, back) for m in recorded)


@pytest.mark.parametrize("name", TRANSCRIPTS)
def test_every_recorded_session(replay: Replay, name: str) -> None:
    drive_recorded_session(replay(name), name)


@pytest.mark.parametrize("name", SMALL)
def test_every_small_recorded_session_bytewise(replay: Replay, name: str) -> None:
    drive_recorded_session(replay(name, chunking=1), name)
