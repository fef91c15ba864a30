"""The real `ami` process against recorded Asterisk 22 sessions and Asterisk 13 shapes.

Each script is put together from recorded exchanges (banner, the Login
exchange, the action's exchange, the Logoff exchange), so `ami` talks to
exactly what a real PBX sent, byte for byte, in recorded chunks and one byte
per TCP read.
"""

from __future__ import annotations

import json

import pytest
from replay import (
    asterisk13_script,
    client_message,
    exchanges,
    legacy_command_reply,
    response,
)
from util import run_replayed

from amicli.errors import ExitCode


@pytest.fixture
def compose(load_transcript):
    """``compose(("ping", 0, 1), ("command", 2))``: banner of the first, then the named exchanges."""

    def build(*picks) -> list:
        script: list = []
        for index, (name, *wanted) in enumerate(picks):
            parts = exchanges(load_transcript(name))
            if index == 0:
                script += parts[0]
            for n in wanted:
                script += parts[n if n >= 0 else len(parts) + n]
        return script

    return build


def logoff(name: str):
    return (name, -1)


# -- Asterisk 22, recorded ---------------------------------------------------------


def test_login_test_against_asterisk22(replay, compose, chunking):
    script = compose(("coresettings-corestatus", 1, 2), logoff("coresettings-corestatus"))
    proc = run_replayed(replay, script, ["login-test"], chunking)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.startswith("AMI OK - admin@127.0.0.1:")
    assert "Asterisk 22.10.1, Asterisk Call Manager/11.0.0 | time=" in proc.stdout
    assert proc.replay_errors == []


def test_login_test_wrong_secret_against_asterisk22(replay, load_transcript, chunking):
    # The recording: Error after one second, then the server closes.
    steps = [s for s in load_transcript("login-bad-secret") if s[0] != "client" or b"Login" in s[1]]
    proc = run_replayed(replay, steps, ["login-test"], chunking, user={"AMI_USER": "admin", "AMI_SECRET": "wrong"})
    assert proc.returncode == 2
    assert proc.stdout.startswith("AMI CRITICAL - login as 'admin' failed: Authentication failed |")


def test_command_core_show_version_against_asterisk22(replay, compose, chunking):
    script = compose(("command", 1, 2), logoff("command"))
    proc = run_replayed(replay, script, ["command", "core show version"], chunking)
    assert proc.returncode == 0
    assert proc.stdout == "Asterisk 22.10.1 built by root @ vm on a x86_64 running Linux on 2026-11-27 10:28:25 UTC\n"
    assert proc.stderr == "" and proc.replay_errors == []


def test_command_multiline_output_is_exact(replay, compose, chunking):
    script = compose(("command", 1, 4), logoff("command"))
    proc = run_replayed(replay, script, ["command", "queue show"], chunking)
    assert proc.returncode == 0
    lines = proc.stdout.split("\n")
    assert lines[0].startswith("empty has 0 calls (max unlimited) in 'leastrecent' strategy")
    assert lines[1:4] == ["   No Members", "   No Callers", ""]
    assert "      Carol (Local/2001@agents/n) (ringinuse enabled) (Not in use)" in proc.stdout
    assert proc.stdout.endswith("   No Callers\n\n")


def test_command_failure_against_asterisk22(replay, load_transcript, chunking):
    # The recording's session had events off; `ami command` asks for system events, and a PBX that
    # booted long ago then sends FullyBooted right behind the login reply: the failure is final at once.
    parts = exchanges(load_transcript("command"))
    booted = b"Event: FullyBooted\r\nPrivilege: system,all\r\nUptime: 3600\r\nStatus: Fully Booted\r\n\r\n"
    script = [*parts[0], *parts[1], ("server", booted), *parts[5], *parts[-1]]
    proc = run_replayed(replay, script, ["command", "no such command here"], chunking)
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.startswith("ami: error: No such command 'no such command here'")


def test_raw_ping_json_against_asterisk22(replay, compose, chunking):
    proc = run_replayed(replay, compose(("ping", 1, 2, 3)), ["raw", "Ping", "--json"], chunking)
    assert proc.returncode == 0
    record = json.loads(proc.stdout)
    assert record["Ping"] == "Pong" and record["Timestamp"].startswith("1795775")


def test_raw_coreshowchannels_prints_the_whole_list(replay, compose, chunking):
    script = compose(("busy-coreshowchannels", 1, 2), logoff("busy-coreshowchannels"))
    proc = run_replayed(replay, script, ["raw", "CoreShowChannels"], chunking)
    assert proc.returncode == 0
    # The bytes as received, CRLF line ends included.
    assert "\n" not in proc.stdout.replace("\r\n", "")
    blocks = [b for b in proc.stdout.split("\r\n\r\n") if b.strip()]
    assert blocks[0].startswith("Response: Success\r\n")
    assert blocks[-1].startswith("Event: CoreShowChannelsComplete\r\n")
    items = [b for b in blocks if b.startswith("Event: CoreShowChannel\r\n")]
    assert len(items) == int(blocks[-1].split("ListItems: ")[1].split("\r\n")[0])
    assert proc.replay_errors == []


def test_raw_json_keeps_repeated_output_headers(replay, compose, chunking):
    script = compose(("command", 1, 4), logoff("command"))
    proc = run_replayed(replay, script, ["raw", "Command", "Command=queue show", "--json"], chunking)
    record = json.loads(proc.stdout)
    assert isinstance(record["Output"], list) and "" in record["Output"]


def test_permission_denied_against_asterisk22(replay, compose, chunking):
    script = compose(("permission-denied", 1, 3), logoff("permission-denied"))
    proc = run_replayed(
        replay,
        script,
        ["command", "core show version"],
        chunking,
        user={"AMI_USER": "monitor", "AMI_SECRET": "m0nitor"},
    )
    assert proc.returncode == ExitCode.AUTH
    assert "permission denied" in proc.stderr


# -- Asterisk 13 (AMI 2.10) shapes -------------------------------------------------


def test_login_test_against_asterisk13(replay, chunking):
    script = asterisk13_script(
        ("client", client_message("CoreSettings", "s")),
        ("server", response("s", "Success", ("AMIversion", "2.10.4"), ("AsteriskVersion", "13.38.3"))),
    )
    proc = run_replayed(replay, script, ["login-test"], chunking)
    assert proc.returncode == 0
    assert "Asterisk 13.38.3, Asterisk Call Manager/2.10.4 | time=" in proc.stdout
    assert proc.replay_errors == []


def test_command_core_show_version_against_asterisk13(replay, chunking):
    version = "Asterisk 13.38.3 built by root @ pbx on a x86_64 running Linux on 2021-05-06 10:12:08 UTC"
    script = asterisk13_script(
        ("client", client_message("Command", "c")),
        ("server", legacy_command_reply(version + "\n", "c")),
    )
    proc = run_replayed(replay, script, ["command", "core show version"], chunking)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, version + "\n", "")
    assert proc.replay_errors == []


def test_command_asterisk13_output_with_blank_lines(replay, chunking):
    text = "first\n\n   indented: with colon\nlast line"  # no newline before the marker
    script = asterisk13_script(("client", client_message("Command", "c")), ("server", legacy_command_reply(text, "c")))
    proc = run_replayed(replay, script, ["command", "some command"], chunking)
    assert proc.stdout == "first\n\n   indented: with colon\nlast line\n"


def test_raw_queues_headerless_answer_does_not_hang(replay, chunking):
    from replay import ASTERISK13_QUEUES_TEXT, headerless_text_reply

    script = asterisk13_script(
        ("client", client_message("Queues", "q")),
        ("server", headerless_text_reply(ASTERISK13_QUEUES_TEXT)),
        ("client", client_message("Ping", "fence")),
        ("server", response("fence", "Success", ("Ping", "Pong"))),
    )
    proc = run_replayed(replay, script, ["--timeout", "3", "raw", "Queues"], chunking)
    assert proc.returncode == 0
    assert proc.stdout.startswith("sales has 0 calls")
    assert "\r\n\r\nsupport has 0 calls" in proc.stdout
    assert proc.replay_errors == []
