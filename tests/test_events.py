"""``ami events``: the command against the sim and recorded sessions.

The library pieces (filters, the JSON fast path) are checked directly; the
stream itself only through the command (`ami events` in this process, or the
real process for signals and pipes) over real sockets.
"""

from __future__ import annotations

import json
import signal
import subprocess
import threading
import time
from typing import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from inprocess import start_in_process
from peers.script import ScriptPeer
from replay import ReplayServer, load_transcript, server_stream
from util import ADMIN, ami_argv, ami_env, run_ami, start_sim

from amicli.events import (
    EventBuffer,
    JsonFormat,
    ServerFilter,
    event_region_count,
    parse_filter,
)
from amicli.events.buffer import Batch
from amicli.events.formats import TextFormat
from amicli.events.merge import json_opening
from amicli.protocol import Message, Parser
from amicli.sim.events import recorded_blocks, start_load

MONITOR = {"AMI_USER": "monitor", "AMI_SECRET": "m0nitor"}
PLAIN = {"AMI_AUTH": "plain"}


# -- helpers -----------------------------------------------------------------


class Stream:
    """``ami events ARGS`` running in the background (in this process), stdout and stderr collected.

    ``process=True`` (or a ``stdout`` of its own) runs the real process
    instead, as ``.proc``: for signals and pipes.
    """

    def __init__(
        self,
        args: list[str],
        port: int,
        user: dict[str, str] = ADMIN,
        stdout: int | None = None,
        global_args: tuple[str, ...] = (),
        process: bool = False,
    ) -> None:
        env = ami_env(port, **user, **PLAIN)
        argv = [*global_args, "events", *args]
        self.proc: subprocess.Popen | None = None
        self.running = None
        if process or stdout is not None:
            self.proc = subprocess.Popen(
                [*ami_argv(), *argv], env=env, stdout=stdout or subprocess.PIPE, stderr=subprocess.PIPE
            )
        else:
            self.running = start_in_process(argv, env)

    def finish(self, timeout: float = 10) -> tuple[str, str, int]:
        if self.running is not None:
            done = self.running.wait(timeout)
            return done.stdout, done.stderr, done.returncode
        out, err = self.proc.communicate(timeout=timeout)
        return (out or b"").decode("utf-8", "replace"), err.decode("utf-8", "replace"), self.proc.returncode

    def kill(self) -> None:
        if self.running is not None:
            self.running.kill()
        elif self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()


def wait_for(check: Callable[[], object], timeout: float = 10, what: str = "condition") -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


def logged_in(server, n: int = 1):
    """Wait for ``n`` logged-in sessions, and a moment for the login reply to reach ami."""
    sessions = wait_for(
        lambda: (lambda s: s if len(s) >= n else None)([x for x in list(server.sessions) if x.logged_in]),
        what="ami to log in",
    )
    time.sleep(0.05)
    return sessions


def user_event(server, name: str, **headers: str) -> None:
    server.broadcast("user", [("Event", "UserEvent"), ("UserEvent", name), *headers.items()])


def call_event(server, name: str, **headers: str) -> None:
    server.broadcast("call", [("Event", name), *headers.items()])


def json_lines(out: str) -> list[dict]:
    # JSON Lines are split on LF only (a value may hold U+2028, which splitlines() would cut at).
    return [json.loads(line) for line in out.split("\n") if line]


@pytest.fixture
def sim():
    server = start_sim()
    yield server
    server.close()


@pytest.fixture
def streams():
    started: list[Stream] = []

    def start(*args, **kwargs) -> Stream:
        stream = Stream(*args, **kwargs)
        started.append(stream)
        return stream

    yield start
    for stream in started:
        stream.kill()


# -- filters -------------------------------------------------------------------


def test_parse_filter_forms() -> None:
    ev = Message.from_pairs(
        [("Event", "Hangup"), ("Channel", "PJSIP/100-1"), ("Cause", "16"), ("Var", "a"), ("Var", "b")]
    )
    assert parse_filter("Cause=16")(ev) and not parse_filter("Cause=17")(ev)
    assert parse_filter("cause!=17")(ev) and not parse_filter("Cause!=16")(ev)
    assert parse_filter("Channel~^PJSIP/")(ev) and not parse_filter("Channel~^SIP/")(ev)
    assert parse_filter("Channel!~^SIP/")(ev) and not parse_filter("Channel!~PJSIP")(ev)
    # A missing header holds for the negations only; a repeated one for any value.
    assert not parse_filter("Missing=x")(ev) and parse_filter("Missing!=x")(ev)
    assert not parse_filter("Missing~.")(ev) and parse_filter("Missing!~.")(ev)
    assert parse_filter("Var=b")(ev) and not parse_filter("Var!=a")(ev)
    assert parse_filter("Cause-txt=a b=c").value == "a b=c"
    for bad in ("NoOperator", "=value", "Key~(", "Key!"):
        with pytest.raises(ValueError):
            parse_filter(bad)


def test_server_filter_emulation_follows_asterisk() -> None:
    hangup = Message.from_pairs([("Event", "Hangup"), ("Channel", "Local/1")])
    request = Message.from_pairs([("Event", "HangupRequest"), ("Channel", "Local/2")])
    newstate = Message.from_pairs([("Event", "Newstate"), ("Channel", "Local/1")])
    include = ServerFilter(["Event: Hangup"])
    assert include(hangup) and include(request) and not include(newstate)
    both = ServerFilter(["Event: Hangup", "!Channel: Local/2"])
    assert both(hangup) and not both(request) and not both(newstate)
    exclude = ServerFilter(["!Event: Newstate"])
    assert exclude(hangup) and not exclude(newstate)


# -- the JSON fast path ----------------------------------------------------------


def reference_json(data: bytes, received: str) -> str:
    msgs = Parser(expect_banner=False).feed(data)
    return "".join(JsonFormat.one(m, received) + "\n" for m in msgs if m.kind == "event")


def test_json_fast_path_equals_json_dumps_on_recorded_events() -> None:
    events = b"".join(recorded_blocks()) * 3
    assert event_region_count(events, 1 << 20) == 3 * len(recorded_blocks())
    fmt = JsonFormat()
    out = fmt._region(events, "1.5")
    assert out == reference_json(events, "1.5")
    for line in out.split("\n")[:-1]:
        obj = json.loads(line)
        assert "Timestamp" in obj and "Received" not in obj


ODD_BLOCKS = [
    b"Event: X\r\nA: 1\r\nA: 2\r\n\r\n",  # a repeated header: a list
    b"Event: X\r\nK:v\r\n\r\n",
    b"Event: X\r\nA:B: c\r\n\r\n",
    b"Event: X\r\nK: a\rb\r\n\r\n",
    b"Event: X\r\nK: tab\there\r\n\r\n",
    b'Event: X\r\nK: q"uo\\te\r\n\r\n',
    b"Event: X\r\nK: \xff\xfe not utf-8\r\n\r\n",
    b"Event: X\r\nK%s: v%s\r\n\r\n",
    b"Event: X\r\n: v\r\n\r\n",
    b"Event: X\r\nno colon\r\n\r\n",
    b"Event: X\r\nK: a: b\r\nL: c\r\n\r\n",
    b"Event: Y\r\n\r\n",
    b"Event: X\r\nReceived: mine\r\n\r\n",
    b"Event: X\r\nK: \x00\r\n\r\n",
    b"Event: X\r\nk: 1\r\nK: 2\r\n\r\n",
    b"\r\nEvent: S\r\nK: v\r\n\r\n",
    "Event: Ünï\r\nKé: \u2028 ☎\r\n\r\n".encode(),
]


#: How a fleet opens each JSON line: its Server key first (a name that needs escaping).
OPENING = json_opening('pbx "1" ☎\\')


def opened(text: str) -> str:
    """JSON lines with the fleet's opening in place of each ``{``."""
    return "".join(OPENING + line[1:] + "\n" for line in text.split("\n")[:-1])


@pytest.mark.parametrize("block", ODD_BLOCKS)
def test_json_fast_path_on_odd_blocks(block: bytes) -> None:
    fmt = JsonFormat()
    normal = recorded_blocks()[0]
    for data in (block, block * 2, normal + block + normal, block + normal):
        if event_region_count(data, 1 << 20):
            assert fmt._region(data, "2.5") == reference_json(data, "2.5")
            assert fmt._region(data, "2.5", OPENING) == opened(reference_json(data, "2.5"))


KEYS = st.sampled_from(["Event", "Channel", "Cause", "Var", "var", "Timestamp", "A:B", "Ké", "K%s", "X-Y", ""])
# No control character: those take a block off the fast path (test_region_needs_the_usual_shape,
# ODD_BLOCKS), and an example off it would compare nothing.
VALUES = st.text(alphabet=st.sampled_from(list('ab :"\\%é☎') + ["\u2028"]), max_size=8)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.lists(st.tuples(KEYS, VALUES), min_size=0, max_size=6), min_size=1, max_size=5))
def test_json_fast_path_equals_json_dumps(blocks: list[list[tuple[str, str]]]) -> None:
    data = b"".join(
        ("Event: E\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers) + "\r\n").encode("utf-8") for headers in blocks
    )
    assert event_region_count(data, 1 << 20) == len(blocks)
    fmt = JsonFormat()
    out = fmt._region(data, "3.5")
    assert out == reference_json(data, "3.5")
    assert out == fmt._region(data, "3.5")  # the learned templates give the same again
    assert fmt._region(data, "3.5", OPENING) == opened(out)  # a fleet's Server key first
    for line in out.split("\n")[:-1]:
        json.loads(line)


def test_region_needs_the_usual_shape() -> None:
    ok = b"Event: A\r\nK: v\r\n\r\nEvent: B\r\n\r\n"
    assert event_region_count(ok, 1 << 20) == 2
    assert event_region_count(b"Response: Success\r\n\r\n" + ok, 1 << 20) == 0
    assert event_region_count(ok + b"Response: Success\r\n\r\n", 1 << 20) == 0
    assert event_region_count(b"Event: A\nK: v\n\n", 1 << 20) == 0
    assert event_region_count(b"Event: A\r\nK: a\nb\r\n\r\n", 1 << 20) == 0
    assert event_region_count(b"Event: A\r\nK: a\rb\r\n\r\n", 1 << 20) == 0
    # Other control characters too: the formats take a region's text as it is.
    assert event_region_count(b"Event: A\r\nK: a\tb\r\n\r\n", 1 << 20) == 0
    assert event_region_count(b"Event: A\r\nK: \x00\r\n\r\n", 1 << 20) == 0
    assert event_region_count(ok, 10) == 0


def test_buffer_drops_only_when_the_writer_is_stuck_on_output() -> None:
    from amicli.events import Batch

    buffer = EventBuffer(5, grace=0.05)
    msgs = [Message.from_pairs([("Event", "E"), ("N", str(i))]) for i in range(4)]
    assert buffer.put(Batch(0.0, messages=msgs)) == 0
    # Full, and the writer is in a write that does not return: the batch is dropped.
    buffer.writing_since = time.monotonic()
    started = time.monotonic()
    assert buffer.put(Batch(0.0, messages=msgs)) == 4
    assert time.monotonic() - started < 1
    assert buffer.put(Batch(0.0, messages=msgs[:2])) == 2  # at once now
    assert buffer.dropped == 6
    # Full while the writer is busy but not stuck: the reader waits for room instead.
    buffer.writing_since = None
    threading.Timer(0.2, buffer.release, (4,)).start()
    started = time.monotonic()
    assert buffer.put(Batch(0.0, messages=msgs)) == 0
    assert time.monotonic() - started >= 0.15


# -- the real process against the sim -------------------------------------------


def test_count_json_lines(sim, streams) -> None:
    stream = streams(["--json", "--count", "5"], sim.port)
    logged_in(sim)
    for i in range(5):
        user_event(sim, "Tick", N=str(i))
    out, err, code = stream.finish()
    assert code == 0, err
    assert err == ""
    lines = json_lines(out)
    assert len(lines) == 5
    # The events the session gets at login come first; FullyBooted has no Timestamp.
    assert [obj["Event"] for obj in lines] == ["FullyBooted", "SuccessfulAuth", "UserEvent", "UserEvent", "UserEvent"]
    assert "Received" in lines[0] and "Timestamp" not in lines[0]
    assert lines[2] == {
        "Event": "UserEvent",
        "Privilege": "user,all",
        "Timestamp": lines[2]["Timestamp"],
        "SystemName": "pbx-sim",
        "UserEvent": "Tick",
        "N": "0",
    }


def test_event_hangup_during_a_call(sim, streams) -> None:
    sim.time_scale = 50
    stream = streams(["--event", "Hangup", "--json", "-n", "2"], sim.port)
    logged_in(sim)
    result = run_ami(
        ["raw", "Originate", "Channel=Local/event@default", "Application=Wait", "Data=1", "Async=true"], port=sim.port
    )
    assert result.returncode == 0, result.stderr
    out, err, code = stream.finish()
    assert code == 0, err
    lines = json_lines(out)
    assert [obj["Event"] for obj in lines] == ["Hangup", "Hangup"]
    assert {obj["Cause-txt"] for obj in lines} == {"Normal Clearing"}


def test_text_lines_and_ami_blocks(sim, streams) -> None:
    text = streams(["-e", "UserEvent", "-n", "1"], sim.port)
    ami = streams(["-e", "UserEvent", "-n", "1", "--format", "ami"], sim.port)
    logged_in(sim, 2)
    user_event(sim, "Deploy", Status="done", Build="42")
    out, err, code = text.finish()
    assert code == 0 and err == ""
    clock, name, *fields = out.split()
    assert len(clock) == 12 and clock[2] == ":" and clock[8] == "."
    assert name == "UserEvent" and fields == ["UserEvent=Deploy", "Status=done", "Build=42"]
    out, err, code = ami.finish()
    assert code == 0 and err == ""
    assert out.startswith("Event: UserEvent\r\nPrivilege: user,all\r\nTimestamp: ")
    assert out.endswith("UserEvent: Deploy\r\nStatus: done\r\nBuild: 42\r\n\r\n")


FILTER_CASES = [
    (["-f", "N=2"], ["2"]),
    (["-f", "N!=2"], ["1", "3", "4"]),
    (["-f", "Tag~^a"], ["1", "2"]),
    (["-f", "Tag!~^a"], ["3", "4"]),
    (["-f", "Tag~^a", "-f", "N!=1"], ["2"]),
    (["-f", "Missing!=x"], ["1", "2", "3", "4"]),
]


def test_filters(sim, streams) -> None:
    # All the variants at once, on the same events.
    running = [streams(["--json", "-t", "1.5", "-e", "userevent", *filters], sim.port) for filters, _ in FILTER_CASES]
    logged_in(sim, len(running))
    for n, tag in (("1", "apple"), ("2", "avocado"), ("3", "banana"), ("4", "cherry")):
        user_event(sim, "Fruit", N=n, Tag=tag)
    for stream, (filters, expected) in zip(running, FILTER_CASES, strict=True):
        out, err, code = stream.finish()
        assert code == 0, err
        assert [obj["N"] for obj in json_lines(out)] == expected, filters


def test_timeout_exit_codes(sim) -> None:
    started = time.monotonic()
    result = run_ami(["events", "-t", "0.5", "-n", "100", "-e", "Hangup"], port=sim.port)
    elapsed = time.monotonic() - started
    assert result.returncode == 1 and result.stdout == "" and result.stderr == ""
    assert 0.45 < elapsed < 5
    result = run_ami(["events", "-t", "0.3", "-e", "Hangup"], port=sim.port)
    assert result.returncode == 0 and result.stdout == ""


def test_usage_errors() -> None:
    for args, word in (
        (["--filter", "nonsense"], "--filter"),
        (["--filter", "K~("], "regular expression"),
        (["--mask", "calls"], "unknown event class"),
        (["--json", "--format", "ami"], "--json"),
        (["--count", "0"], "--count"),
        (["--server-filter", "("], "regular expression"),
    ):
        result = run_ami(["events", *args])
        assert result.returncode == 2, (args, result.stderr)
        assert result.stderr.startswith("ami: error:") and word in result.stderr
        assert result.stderr.count("\n") == 1 and result.stdout == ""


def test_mask_asks_the_pbx_for_classes(sim, streams) -> None:
    stream = streams(["--mask", "call", "--json", "-n", "1"], sim.port)
    logged_in(sim)
    user_event(sim, "NotMine")
    call_event(sim, "Newstate", Channel="Local/1")
    out, err, code = stream.finish()
    assert code == 0, err
    assert [obj["Event"] for obj in json_lines(out)] == ["Newstate"]


def test_server_filter_through_the_pbx(sim, streams) -> None:
    stream = streams(["--server-filter", "UserEvent: Keep", "--json", "-n", "2"], sim.port)
    session = logged_in(sim)[0]
    assert session.filters  # the Filter action reached the PBX
    for name in ("Drop", "Keep", "Drop", "Keep"):
        user_event(sim, name)
    out, err, code = stream.finish()
    assert code == 0 and err == ""
    # FullyBooted and SuccessfulAuth came before the filter: held to it here.
    assert [obj["UserEvent"] for obj in json_lines(out)] == ["Keep", "Keep"]


def test_server_filter_without_permission_filters_here(sim, streams) -> None:
    stream = streams(["--server-filter", "Event: Newstate", "--json", "-n", "2"], sim.port, user=MONITOR)
    session = logged_in(sim)[0]
    assert not session.filters
    for name in ("Hangup", "Newstate", "Newchannel", "Newstate"):
        call_event(sim, name, Channel="Local/1")
    out, err, code = stream.finish()
    assert code == 0
    assert [obj["Event"] for obj in json_lines(out)] == ["Newstate", "Newstate"]
    assert err.count("\n") == 1 and "may not use the Filter action" in err and "monitor" in err


def test_ctrl_c_sends_logoff_and_exits_130(sim, streams, monkeypatch) -> None:
    seen: list[str] = []
    original = sim.handlers.actions["logoff"].handler

    def spy(pbx, session, request) -> None:
        seen.append(session.user.name if session.user else "?")
        original(pbx, session, request)

    monkeypatch.setattr(sim.handlers.actions["logoff"], "handler", spy)
    stream = streams(["--json"], sim.port, process=True)
    logged_in(sim)
    user_event(sim, "Before")
    time.sleep(0.2)
    stream.proc.send_signal(signal.SIGINT)
    out, err, code = stream.finish()
    assert code == 130
    assert seen == ["admin"]
    assert json_lines(out)[-1]["UserEvent"] == "Before"
    assert "Traceback" not in err


def test_closed_pipe_exits_quietly(sim) -> None:
    reader, writer = __import__("os").pipe()
    stream = Stream(["--json"], sim.port, stdout=writer)
    __import__("os").close(writer)
    try:
        logged_in(sim)
        with open(reader, "rb") as pipe:
            assert json.loads(pipe.readline())["Event"] == "FullyBooted"
        # The reader is gone (`| head -1`): the next write fails, ami ends quietly.
        for i in range(3):
            user_event(sim, "After", N=str(i))
            time.sleep(0.05)
        _, err, code = stream.finish()
        assert code == 0
        assert err == ""
    finally:
        stream.kill()


def test_slow_consumer_gets_drops_reported_not_a_disconnect(sim, streams) -> None:
    stream = streams(["--json", "--buffer", "100"], sim.port, process=True)
    session = logged_in(sim)[0]
    start_load(sim.pbx, 30_000, [session])
    # Nobody reads the output for a while: the pipe fills, ami keeps reading.
    time.sleep(1.5)
    assert session.alive
    first = json.loads(stream.proc.stdout.readline())
    assert first["Event"] == "FullyBooted"
    time.sleep(0.3)
    user_event(sim, "StillThere")
    time.sleep(0.3)
    assert session.alive
    stream.proc.send_signal(signal.SIGINT)
    # (Not communicate(): it would lose what readline() buffered.)
    code = stream.proc.wait(10)
    out = stream.proc.stdout.read().decode()
    err = stream.proc.stderr.read().decode()
    assert code == 130
    assert "output too slow" in err and "dropped in all" in err
    dropped = int(err.split(" events dropped in all")[0].rsplit("ami: warning: ", 1)[1])
    assert 0 < dropped < 30_000
    for line in out.split("\n")[:-1]:
        json.loads(line)  # never half a line


def test_reconnect_across_a_restart_on_the_same_port(streams) -> None:
    first = start_sim()
    port = first.port
    second = None
    try:
        stream = streams(["--reconnect", "--json", "-e", "UserEvent", "-n", "2"], port)
        logged_in(first)
        user_event(first, "One")
        time.sleep(0.2)
        first.shutdown_pbx(restart=True)  # Event: Shutdown, then the PBX goes away
        time.sleep(0.3)
        second = start_sim(port=port)
        logged_in(second)
        user_event(second, "Two")
        out, err, code = stream.finish()
        assert code == 0, err
        assert [obj["UserEvent"] for obj in json_lines(out)] == ["One", "Two"]
        assert "stream cut" in err and "Shutdown: Cleanly, Restart: True" in err
        assert "stream resumed" in err
    finally:
        first.close()
        if second is not None:
            second.close()


def test_without_reconnect_a_lost_connection_is_exit_3(sim, streams) -> None:
    stream = streams(["--json"], sim.port)
    logged_in(sim)
    user_event(sim, "Last")
    time.sleep(0.2)
    sim.shutdown_pbx()
    out, err, code = stream.finish()
    assert code == 3
    assert json_lines(out)[-1]["Event"] == "Shutdown"
    assert err.startswith("ami: error:") and "shutting down" in err and err.count("\n") == 1


def test_core_restart_now_through_the_command_action(sim, streams) -> None:
    stream = streams(["--reconnect", "--json", "-e", "Shutdown", "-e", "FullyBooted", "-n", "3"], sim.port)
    logged_in(sim)
    result = run_ami(["command", "core restart now"], port=sim.port)
    assert result.returncode == 0, result.stderr
    out, err, code = stream.finish(timeout=15)
    assert code == 0, err
    assert [obj["Event"] for obj in json_lines(out)] == ["FullyBooted", "Shutdown", "FullyBooted"]


def test_keepalive_finds_a_dead_peer(streams) -> None:
    # A peer that accepts the login, then never sends another byte.
    with ScriptPeer(lambda state, action, action_id: []) as peer:
        started = time.monotonic()
        stream = streams(["--keepalive", "0.2"], peer.port, global_args=("--timeout", "1"))
        out, err, code = stream.finish(timeout=15)
        assert code == 5, err
        assert "keepalive Ping" in err and err.count("\n") == 1
        assert time.monotonic() - started < 6


def test_keepalive_pings_a_live_peer(sim, streams, monkeypatch) -> None:
    pings: list[float] = []
    original = sim.handlers.actions["ping"].handler
    monkeypatch.setattr(
        sim.handlers.actions["ping"], "handler", lambda p, s, r: (pings.append(time.monotonic()), original(p, s, r))
    )
    stream = streams(["--keepalive", "0.2", "-t", "1.2", "-e", "Nothing"], sim.port)
    out, err, code = stream.finish()
    assert code == 0 and out == "" and err == ""
    assert len(pings) >= 3


def test_a_buffer_smaller_than_the_login_events_still_streams(sim, streams) -> None:
    # The events that came with the login are more than --buffer holds: they
    # wait for the writer like any others (they once waited for ever).
    stream = streams(["--json", "--buffer", "1", "-t", "1"], sim.port)
    out, err, code = stream.finish(timeout=10)
    assert code == 0 and err == ""
    assert [e["Event"] for e in json_lines(out)] == ["FullyBooted", "SuccessfulAuth"]


def test_load_mode_sends_recorded_events(sim, streams) -> None:
    # A buffer larger than the load: this test is about the load, not about
    # drops when the test's own reader falls behind.
    stream = streams(["--json", "-n", "20002", "--buffer", "50000"], sim.port)
    session = logged_in(sim)[0]
    start_load(sim.pbx, 20_000, [session])
    out, err, code = stream.finish(timeout=30)
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert len(lines) == 20_002
    names = {json.loads(line)["Event"] for line in lines[2:]}
    assert {"Newchannel", "Hangup", "Cdr", "UserEvent", "AgentRingNoAnswer"} <= names


def test_simload_action_loads_other_sessions(sim, streams) -> None:
    stream = streams(["--json", "-n", "12"], sim.port)
    logged_in(sim)
    result = run_ami(["raw", "SimLoad", "Events=10"], port=sim.port)
    assert result.returncode == 0, result.stderr
    assert "Message: Sending 10 recorded events to 1 sessions" in result.stdout
    out, err, code = stream.finish()
    assert code == 0 and err == ""
    assert len(json_lines(out)) == 12


# -- recorded sessions ------------------------------------------------------------


def lifecycle_script(name: str) -> list[tuple[str, bytes]]:
    """A recorded session without the client's Originate (``ami events`` sends none)."""
    steps = load_transcript(name)
    return [(d, data) for d, data in steps if not (d == "client" and data.startswith(b"Action: Originate"))]


@pytest.mark.parametrize("chunking", ["recorded", 1])
def test_replay_call_lifecycle(replay, chunking) -> None:
    steps = lifecycle_script("events-call-lifecycle")
    recorded = [m for m in Parser().feed(server_stream(steps)) if m.kind == "event"]
    server = replay(steps, chunking=chunking)
    result = run_ami(["events", "--json", "-n", str(len(recorded))], port=server.port, env=PLAIN)
    assert result.returncode == 0, result.stderr
    assert server.wait(5) and server.errors == []
    assert server.actions() == ["Login", "Logoff"]
    lines = json_lines(result.stdout)
    for obj in lines:
        obj.pop("Received", None)
    assert lines == [m.to_dict() for m in recorded]


def test_replay_filter_transcript() -> None:
    steps = lifecycle_script("filter")
    server = ReplayServer(steps)
    try:
        result = run_ami(
            ["events", "--server-filter", "Event: Hangup", "--format", "ami", "-n", "3"], port=server.port, env=PLAIN
        )
        assert result.returncode == 0, result.stderr
        assert server.wait(5) and server.errors == []
        assert server.actions() == ["Login", "Filter", "Logoff"]
    finally:
        server.close()
    blocks = result.stdout.split("\r\n\r\n")[:-1]
    # The PBX's filter is a regex on the text: HangupRequest matches too.
    assert [b.split("\r\n")[0] for b in blocks] == ["Event: HangupRequest", "Event: Hangup", "Event: Hangup"]


def test_json_general_path_skips_stray_empty_lines() -> None:
    # A C1 control character sends a region down the general path; the empty
    # line after its event is a stray between messages, not an event.
    data = "Event: E\r\nEvent: \x85\r\nEvent: \r\n\r\n\r\n".encode()
    assert event_region_count(data, 1 << 20) == 1
    assert JsonFormat()._region(data, "3.5") == reference_json(data, "3.5")
    assert JsonFormat()._region(data, "3.5", OPENING) == opened(reference_json(data, "3.5"))


def test_a_stray_empty_line_in_a_region_is_no_event_in_any_format() -> None:
    # Split "\r\n\r" | "\n\r\n" across two reads, a message's end and the empty
    # line after it come back as one region with the stray inside it.
    region = b"Event: VarSet\r\nData: n\r\n\r\n\r\nEvent: UserEvent\r\nX: 1\r\n\r\n"
    count = event_region_count(region, 1 << 20)
    assert count == 2
    text = TextFormat().format(Batch(1.0, data=region, count=count)).decode()
    assert [line.split()[1] for line in text.splitlines()] == ["VarSet", "UserEvent"]
    first, rest = Batch(1.0, data=region, count=count).split(1)
    assert [m.name for m in first.as_messages()] == ["VarSet"]
    assert [m.name for m in rest.as_messages()] == ["UserEvent"]
