"""One `ami` over a fleet, over real sockets: three sims, recorded Asterisk 22 and 13 sessions, a dead port.

Each PBX has a profile; ``fleet`` is a group that nests another group
(``sims``).  Every test runs the real `ami` process with ``--sort`` so the
rows come in the order the PBXs were named.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import time

import pytest
from replay import asterisk13_script, client_message, exchanges, response
from util import ADMIN, ami_argv, ami_env, json_lines, run_ami, start_sim

from amicli.errors import ExitCode

SIMS = ("sim1", "sim2", "sim3")


def dead_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def sims():
    servers = [start_sim() for _ in SIMS]
    yield servers
    for server in servers:
        server.close()


@pytest.fixture
def compose(load_transcript):
    """``compose("ping", 2)``: the banner and login of a recording, the exchanges named, its Logoff."""

    def build(name: str, *wanted: int) -> list:
        parts = exchanges(load_transcript(name))
        return parts[0] + parts[1] + [step for n in wanted for step in parts[n]] + parts[-1]

    return build


#: The Asterisk 13 recordings, beside the Asterisk 22 ones.
ASTERISK13 = "../asterisk-13.38.3-sip/"


class Fleet:
    """The profile file for the sims, the replays given and a dead port; ``run`` runs `ami` over it."""

    def __init__(self, tmp_path, sims, replays: dict) -> None:
        self.ports = {name: server.port for name, server in zip(SIMS, sims, strict=True)}
        self.replays = replays
        self.ports.update({name: server.port for name, server in replays.items()})
        self.ports["dead"] = dead_port()
        text = "[sims]\ninclude = sim1, sim2, sim3\n"
        members = ["sims", *replays, "dead"]
        text += f"[fleet]\ninclude = {', '.join(members)}\n"
        for name, port in self.ports.items():
            text += f"[{name}]\nhost = 127.0.0.1\nport = {port}\n"
        self.config = tmp_path / "config"
        self.config.write_text(text)
        self.config.chmod(0o600)
        self.order = [*SIMS, *replays, "dead"]

    def env(self) -> dict[str, str]:
        return {"AMI_CONFIG": str(self.config), "AMI_TIMEOUT": "5", "AMI_AUTH": "plain"}

    def run(self, *args: str, profile: str = "fleet", **kwargs) -> subprocess.CompletedProcess:
        proc = run_ami(["--profile", profile, "--sort", *args], env=self.env(), **kwargs)
        for name, server in self.replays.items():
            server.wait(5)
            assert list(server.errors) == [], (name, server.errors)
        return proc

    def dead_line(self) -> str:
        return f"ami: dead: cannot connect to 127.0.0.1:{self.ports['dead']}"


def servers_of(rows: list[dict]) -> list[str]:
    """The Server of each row, each once, in order of first appearance."""
    seen: list[str] = []
    for row in rows:
        assert next(iter(row)) == "Server", row  # the first key
        if row["Server"] not in seen:
            seen.append(row["Server"])
    return seen


# -- queues and channels -----------------------------------------------------------


def test_queues_rows_carry_their_server_and_a_dead_pbx_is_named(tmp_path, sims, replay, recorded):
    fleet = Fleet(tmp_path, sims, {"a22": replay(recorded("queues-idle", 2))})
    proc = fleet.run("queues", "--json")
    rows = json_lines(proc.stdout)
    assert servers_of(rows) == ["sim1", "sim2", "sim3", "a22"]
    for name in SIMS:
        assert [r["Queue"] for r in rows if r["Server"] == name] == ["support", "sales", "empty"]
    assert {r["Queue"] for r in rows if r["Server"] == "a22"} >= {"support"}
    assert proc.stderr.splitlines() == [fleet.dead_line() + ": connection refused"]
    assert proc.returncode == ExitCode.SOME_SERVERS_FAILED == 9


def test_queues_table_has_server_first_and_errors_as_rows(tmp_path, sims, replay, recorded):
    fleet = Fleet(tmp_path, sims, {"a22": replay(recorded("queues-idle", 6))})
    proc = fleet.run("queues", "summary")
    lines = proc.stdout.splitlines()
    assert lines[0].split()[:2] == ["Server", "Queue"]
    assert [line.split()[0] for line in lines[2:5]] == ["sim1"] * 3
    assert proc.returncode == 9
    fleet = Fleet(tmp_path, sims, {"a22": replay(recorded("queues-idle", 6))})
    proc = fleet.run("queues", "summary", "--json", profile="fleet")
    proc = run_ami(
        ["--profile", "sims,dead", "--errors-as-rows", "--sort", "queues", "summary", "--json"], env=fleet.env()
    )
    rows = json_lines(proc.stdout)
    assert rows[-1] == {
        "Server": "dead",
        "Error": fleet.dead_line()[len("ami: dead: ") :] + ": connection refused",
        "ExitCode": ExitCode.CONNECT,
    }
    assert servers_of(rows) == [*SIMS, "dead"]
    assert proc.returncode == 9


def test_queue_pause_acts_on_every_pbx_and_dry_run_changes_nothing(tmp_path, sims):
    fleet = Fleet(tmp_path, sims, {})
    proc = run_ami(
        ["--profile", "sims", "--sort", "queues", "pause", "Local/2001@agents/n", "--dry-run"], env=fleet.env()
    )
    assert proc.returncode == 0, proc.stderr
    assert [line.split(": ", 1)[0] for line in proc.stdout.splitlines()] == list(SIMS)
    assert all("dry run: would send Action: QueuePause" in line for line in proc.stdout.splitlines())
    members = run_ami(["--profile", "sims", "queues", "members", "--paused", "--json"], env=fleet.env())
    assert json_lines(members.stdout) == []
    proc = run_ami(["--profile", "sims", "queues", "pause", "Local/2001@agents/n", "--json"], env=fleet.env())
    assert proc.returncode == 0, proc.stderr
    assert sorted(r["Server"] for r in json_lines(proc.stdout)) == list(SIMS)
    members = run_ami(["--profile", "sims", "--sort", "queues", "members", "--paused", "--json"], env=fleet.env())
    assert [r["Server"] for r in json_lines(members.stdout)] == list(SIMS)
    run_ami(["--profile", "sims", "queues", "unpause", "Local/2001@agents/n"], env=fleet.env())


def test_channels_listing_and_hangup_over_the_fleet(tmp_path, sims, replay, recorded):
    fleet = Fleet(tmp_path, sims, {"a22": replay(recorded("busy-coreshowchannels", 2))})
    placed = run_ami(
        ["originate", "Local/200@default", "--app", "Wait", "--data", "600", "--no-wait"], port=sims[1].port
    )
    assert placed.returncode == 0, placed.stderr
    proc = fleet.run("channels", "--json")
    rows = json_lines(proc.stdout)
    assert servers_of(rows) == ["sim2", "a22"]
    assert all(r["Channel"].startswith("Local/200@default-") for r in rows if r["Server"] == "sim2")
    assert proc.stderr.startswith(fleet.dead_line()) and proc.returncode == 9
    # hangup --dry-run shows each PBX's channels and hangs up nothing; then they go.
    dry = run_ami(
        ["--profile", "sims", "channels", "hangup", "--match", "^Local/200@", "--dry-run", "--json"], env=fleet.env()
    )
    assert dry.returncode == 0, dry.stderr
    assert {r["Server"] for r in json_lines(dry.stdout)} == {"sim2"}
    assert "dry run: 2 channel(s) would be hung up on 1 PBX(s)" in dry.stderr
    gone = run_ami(
        ["--profile", "sims", "channels", "hangup", "--match", "^Local/200@", "--yes", "--json"], env=fleet.env()
    )
    assert gone.returncode == 0, gone.stderr
    assert {r["Server"] for r in json_lines(gone.stdout)} == {"sim2"}
    count = run_ami(["--profile", "sims", "--sort", "channels", "--count"], env=fleet.env())
    assert count.stdout == "sim1: 0\nsim2: 0\nsim3: 0\n"


# -- text: command and raw ------------------------------------------------------------


def test_command_prefixes_each_line_with_its_server(tmp_path, sims, replay, compose):
    # Asterisk 22's Output headers and Asterisk 13's Response: Follows, both recorded.
    fleet = Fleet(
        tmp_path, sims, {"a22": replay(compose("command", 2)), "a13": replay(compose(ASTERISK13 + "sip-command", 2))}
    )
    proc = fleet.run("command", "core show uptime")
    lines = proc.stdout.splitlines()
    names: list[str] = []
    for line in lines:
        name = line.split(": ", 1)[0]
        if name not in names:
            names.append(name)
    assert names == ["sim1", "sim2", "sim3", "a22", "a13"]
    assert any(line.startswith("sim2: System uptime:") for line in lines)
    assert any(line.startswith("a13: Name/username") for line in lines)
    assert proc.stderr.startswith(fleet.dead_line()) and proc.returncode == 9


def test_command_no_prefix_and_json(tmp_path, sims):
    fleet = Fleet(tmp_path, sims, {})
    proc = run_ami(["--profile", "sims", "--sort", "command", "--no-prefix", "core show uptime"], env=fleet.env())
    assert proc.stdout.splitlines()[0].startswith("System uptime:")
    proc = run_ami(["--profile", "sims", "--sort", "command", "--json", "core show uptime"], env=fleet.env())
    objs = json_lines(proc.stdout)
    assert [o["Server"] for o in objs] == list(SIMS)
    assert objs[0]["Output"][0].startswith("System uptime:")


def test_raw_over_the_fleet(tmp_path, sims, replay, compose):
    fleet = Fleet(
        tmp_path, sims, {"a22": replay(compose("ping", 2)), "a13": replay(compose(ASTERISK13 + "iax-peers", 6))}
    )
    proc = fleet.run("raw", "Ping", "--json")
    objs = json_lines(proc.stdout)
    assert servers_of(objs) == ["sim1", "sim2", "sim3", "a22", "a13"]
    assert {o["Ping"] for o in objs} == {"Pong"}
    assert proc.returncode == 9
    fleet = Fleet(tmp_path, sims, {})
    text = run_ami(["--profile", "sims", "--sort", "raw", "Ping"], env=fleet.env())
    assert text.stdout.startswith("sim1: Response: Success\n")
    assert "sim3: Ping: Pong\n" in text.stdout


# -- monitoring ------------------------------------------------------------------------


def test_login_test_counts_the_fleet(tmp_path, sims, replay, compose):
    a22 = compose("coresettings-corestatus", 2)
    a13 = asterisk13_script(
        ("client", client_message("CoreSettings", "s")),
        ("server", response("s", "Success", ("AMIversion", "2.10.4"), ("AsteriskVersion", "13.38.3"))),
    )
    fleet = Fleet(tmp_path, sims, {"a22": replay(a22), "a13": replay(a13)})
    proc = fleet.run("login-test")
    head, *long_output = proc.stdout.splitlines()
    status, perf = head.split(" | ")
    assert status == "AMI CRITICAL - 5/6 PBXs logged in"
    labels = [item.split("=")[0] for item in perf.split()]
    assert labels == ["sim1_time", "sim2_time", "sim3_time", "a22_time", "a13_time", "dead_time"]
    # The thresholds as given, as one PBX's login-test prints them.
    assert all(re.fullmatch(r"\S+=\d+\.\d{3}s;1;2;0", item) for item in perf.split()), perf
    assert long_output[0].startswith("sim1: OK - admin@127.0.0.1:")
    assert long_output[3].startswith("a22: OK - ") and "Asterisk 22.10.1" in long_output[3]
    assert long_output[4].startswith("a13: OK - ") and "Asterisk 13.38.3" in long_output[4]
    assert long_output[5].startswith("dead: CRITICAL - cannot connect")
    assert proc.returncode == 2
    # --min-ok: five that log in are enough.
    fleet = Fleet(tmp_path, sims, {})
    proc = run_ami(["--profile", "fleet", "login-test", "--min-ok", "3"], env=fleet.env())
    assert proc.stdout.startswith("AMI OK - 3/4 PBXs logged in (at least 3 needed) | ")
    assert proc.returncode == 0
    proc = run_ami(["--profile", "fleet", "login-test", "--min-ok", "4"], env=fleet.env())
    assert proc.stdout.startswith("AMI WARNING - 3/4 PBXs logged in") and proc.returncode == 1


def test_check_counts_the_fleet_too(tmp_path, sims):
    fleet = Fleet(tmp_path, sims, {})
    proc = run_ami(["--profile", "fleet", "check", "channels", "-w", "80", "-c", "100"], env=fleet.env())
    head, *long_output = proc.stdout.splitlines()
    status, perf = head.split(" | ")
    assert status == "AMI CHANNELS CRITICAL - 3/4 PBXs OK"
    assert [item.split("=")[0] for item in perf.split()] == [
        f"{name}_{what}" for name in SIMS for what in ("channels", "calls")
    ]
    assert [line.split(": ")[0] for line in long_output] == [*SIMS, "dead"]
    assert long_output[-1].startswith("dead: CRITICAL - cannot connect")
    assert proc.returncode == 2


# -- events --------------------------------------------------------------------------


def _logged_in(server, n: int = 1) -> list:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        sessions = [s for s in list(server.sessions) if s.logged_in]
        if len(sessions) >= n:
            time.sleep(0.3)
            return sessions
        time.sleep(0.01)
    raise AssertionError("ami never logged in")


def _stop(proc: subprocess.Popen, servers: list) -> None:
    """End a test's `ami` (when it is still running) and its servers."""
    if proc.poll() is None:
        proc.kill()
        proc.communicate()
    for server in servers:
        server.close()


def _user_event(server, name: str) -> None:
    server.broadcast("user", [("Event", "UserEvent"), ("UserEvent", name)])


def test_events_merge_with_a_pbx_restarting_under_reconnect(tmp_path, replay, load_transcript):
    sims = [start_sim() for _ in SIMS]
    restarted = None
    stream = load_transcript("busy-events-stream")
    parts = exchanges(stream)
    # The recorded stream, then the connection stays open until ami logs off.
    a22 = replay(parts[0] + parts[1] + [s for part in parts[2:-1] for s in part if s[0] == "server"] + parts[-1])
    fleet = Fleet(tmp_path, sims, {"a22": a22})
    # UserEvents: One from each sim, Three twice and Four from sim1 and sim3,
    # Two from the restarted sim2.  --count is all of them: the streams are
    # read in no set order, so a smaller count could end before Two.
    want = 3 + 2 * 2 + 2 + 1
    env = ami_env(None, **ADMIN, **fleet.env())
    proc = subprocess.Popen(
        [*ami_argv(), "--profile", "fleet", "events", "--reconnect", "--json", "-e", "UserEvent", "-n", str(want)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        for server in sims:
            _logged_in(server)
        for server in sims:
            _user_event(server, "One")
        time.sleep(0.3)
        sims[1].shutdown_pbx(restart=True)
        time.sleep(0.3)
        for server in (sims[0], sims[2]):
            _user_event(server, "Three")
        restarted = start_sim(port=sims[1].port)
        _logged_in(restarted)
        _user_event(restarted, "Two")
        for server in (sims[0], sims[2]):
            _user_event(server, "Three")
        _user_event(sims[0], "Four")
        _user_event(sims[2], "Four")
        out, err = proc.communicate(timeout=15)
    finally:
        _stop(proc, [*sims, *([restarted] if restarted is not None else [])])
    events = json_lines(out.decode())
    assert len(events) == want
    assert all(next(iter(e)) == "Server" for e in events)
    by_server = {name: [e["UserEvent"] for e in events if e["Server"] == name] for name in SIMS}
    assert by_server["sim2"] == ["One", "Two"]
    assert by_server["sim1"] == by_server["sim3"] == ["One", "Three", "Three", "Four"]
    err = err.decode()
    assert "ami: sim2: warning: stream cut" in err and "ami: sim2: stream resumed" in err
    assert fleet.dead_line() in err
    # --count counts across the fleet; the dead PBX still makes the exit code 9.
    assert proc.returncode == 9, err


def test_events_count_across_the_fleet_and_server_in_text(tmp_path, sims):
    fleet = Fleet(tmp_path, sims, {})
    proc = run_ami(["--profile", "sims", "events", "-n", "6", "-t", "10"], env=fleet.env())
    lines = proc.stdout.splitlines()
    assert len(lines) == 6 and proc.returncode == 0, proc.stderr
    assert {line.split(": ", 1)[0] for line in lines} == set(SIMS)


def test_events_buffer_smaller_than_the_login_events_of_the_fleet(tmp_path, sims):
    fleet = Fleet(tmp_path, sims, {})
    proc = run_ami(["--profile", "sims", "events", "--json", "--buffer", "1", "-t", "1"], env=fleet.env(), timeout=10)
    assert proc.returncode == 0 and proc.stderr == ""
    events = json_lines(proc.stdout)
    assert sorted((e["Server"], e["Event"]) for e in events) == sorted(
        (name, event) for name in SIMS for event in ("FullyBooted", "SuccessfulAuth")
    )


def test_events_fields_over_the_fleet(tmp_path, sims):
    # --fields keeps the named headers of every PBX's events, Server first (and once) in JSON.
    fleet = Fleet(tmp_path, sims, {})
    proc = run_ami(["--profile", "sims", "events", "--json", "--fields", "event,server,Uptime", "-n", "6", "-t", "10"],
                   env=fleet.env())  # fmt: skip
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    events = json_lines(proc.stdout)
    assert {e["Server"] for e in events} == set(SIMS)
    assert all(list(e) == ["Server", "Event", "Uptime"] for e in events), events
    assert {e["Uptime"] is None for e in events if e["Event"] == "SuccessfulAuth"} <= {True}
    only_server = run_ami(["--profile", "sims", "events", "--json", "--fields", "Server", "-n", "3", "-t", "10"],
                          env=fleet.env())  # fmt: skip
    assert [list(e) for e in json_lines(only_server.stdout)] == [["Server"]] * 3, only_server.stderr
    proc = run_ami(["--profile", "sims", "events", "--fields", "Privilege", "-n", "6", "-t", "10"], env=fleet.env())
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == 6 and {line.split(": ", 1)[0] for line in lines} == set(SIMS)
    assert all(re.search(r" Privilege=\S+$", line) for line in lines), lines


def test_events_recorded_stream_merged_with_the_sims(tmp_path, sims, replay, load_transcript):
    parts = exchanges(load_transcript("busy-events-stream"))
    recorded_events = [s for part in parts[2:-1] for s in part if s[0] == "server"]
    a22 = replay(parts[0] + parts[1] + recorded_events + parts[-1])
    fleet = Fleet(tmp_path, sims, {"a22": a22})
    proc = fleet.run("events", "--json", "-t", "3")
    events = json_lines(proc.stdout)
    assert all(next(iter(e)) == "Server" for e in events)
    from_a22 = [e for e in events if e["Server"] == "a22"]
    expected = b"".join(data for d, data in parts[1] + recorded_events if d == "server").count(b"Event: ")
    assert len(from_a22) == expected > 10
    assert {e["Event"] for e in events if e["Server"] in SIMS} >= {"FullyBooted"}
    assert proc.stderr.splitlines() == [fleet.dead_line() + ": connection refused"]
    assert proc.returncode == 9


def test_events_flood_from_tls_pbxs_merged_whole(tmp_path):
    # Non-blocking reads over TLS: a record split across reads, and records
    # the TLS layer holds after a read, lose nothing.
    from peers.certs import make_certs

    from amicli.sim.events import recorded_blocks, start_load

    cert, key = make_certs(tmp_path)["good"]
    sims = [start_sim(tls_cert=cert, tls_key=key) for _ in range(2)]
    flood, at_login = 5000, 2  # and FullyBooted, SuccessfulAuth
    hosts = [f"127.0.0.1:{server.port}" for server in sims]
    count = len(sims) * (flood + at_login)
    proc = subprocess.Popen(
        [*ami_argv(), "-H", ",".join(hosts), "--tls", "--ca-file", cert, "events", "--json", "-n", str(count)],
        env=ami_env(None, **ADMIN, AMI_AUTH="plain"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    blocks = recorded_blocks()
    try:
        for server in sims:
            start_load(getattr(server, "pbx", server), flood, _logged_in(server)[:1], blocks)
        out, err = proc.communicate(timeout=60)
    finally:
        _stop(proc, sims)
    assert proc.returncode == 0 and err == b"", err.decode()
    events = json_lines(out.decode())
    names = [block.split(b"\r\n", 1)[0][len("Event: ") :].decode() for block in blocks]
    sent = [names[n % len(names)] for n in range(flood)]
    for host in hosts:
        # Each PBX's events in the order it sent them, none lost, none doubled.
        assert [e["Event"] for e in events if e["Server"] == host][at_login:] == sent


def test_keepalive_per_pbx_finds_the_dead_one_alone(monkeypatch):
    # One PBX accepts the login, then never sends another byte; the other
    # answers every Ping and goes on streaming.
    from peers.script import ScriptPeer

    live = start_sim()
    pings: list[float] = []
    original = live.handlers.actions["ping"].handler
    monkeypatch.setattr(
        live.handlers.actions["ping"], "handler", lambda p, s, r: (pings.append(time.monotonic()), original(p, s, r))
    )
    try:
        with ScriptPeer(lambda state, action, action_id: []) as dead:
            hosts = f"127.0.0.1:{live.port},127.0.0.1:{dead.port}"
            proc = run_ami(
                ["-H", hosts, "--timeout", "1", "events", "--keepalive", "0.2", "-t", "3", "-e", "Nothing"],
                env={"AMI_AUTH": "plain"},
            )
    finally:
        live.close()
    assert proc.stdout == ""
    assert proc.stderr.startswith(f"ami: 127.0.0.1:{dead.port}: ") and "keepalive Ping" in proc.stderr
    assert proc.stderr.count("\n") == 1, proc.stderr
    assert proc.returncode == 9
    assert len(pings) >= 8  # the live PBX was pinged all along, before and after the other died


# -- originate ---------------------------------------------------------------------------


def test_batch_originate_is_routed_by_server(tmp_path, sims):
    fleet = Fleet(tmp_path, sims, {})
    lines = [
        {"channel": "Local/100@default", "app": "Wait", "data": "1"},
        {"channel": "Local/100@default", "app": "Wait", "data": "1", "server": "sim3"},
        {"channel": "Local/100@default", "app": "Wait", "data": "1", "server": "sim2"},
        {"channel": "Local/100@default", "app": "Wait", "data": "1", "server": "nope"},
    ]
    batch = "".join(json.dumps(line) + "\n" for line in lines)
    proc = run_ami(["--profile", "sims", "--sort", "originate", "--batch", "-"], env=fleet.env(), input=batch)
    results = json_lines(proc.stdout)
    assert sorted((r["Line"], r["Server"], r["Outcome"]) for r in results) == [
        (1, "sim1", "answered"),
        (2, "sim3", "answered"),
        (3, "sim2", "answered"),
    ]
    assert "stdin line 4: server 'nope' is not one of the PBXs named" in proc.stderr
    assert proc.returncode == ExitCode.USAGE  # a bad line counts as 2, as with one PBX
    single = run_ami(["--profile", "sims", "originate", "Local/100@default", "--app", "Wait"], env=fleet.env())
    assert single.returncode == ExitCode.USAGE and single.stdout == ""
    assert "takes one PBX; 3 were named (sim1, sim2, sim3)" in single.stderr


# -- the timeout is per PBX ----------------------------------------------------------------


def test_a_silent_pbx_times_out_alone(tmp_path, sims):
    # A peer that accepts and never says a word: it times out, the others answer at once.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        fleet = Fleet(tmp_path, sims, {})
        text = fleet.config.read_text() + f"[silent]\nhost = 127.0.0.1\nport = {silent.getsockname()[1]}\n"
        fleet.config.write_text(text)
        started = time.monotonic()
        proc = run_ami(["--profile", "sims,silent", "--timeout", "1", "queues", "--json"], env=fleet.env())
        elapsed = time.monotonic() - started
    assert sorted({r["Server"] for r in json_lines(proc.stdout)}) == list(SIMS)
    # No banner within --timeout is a hung PBX: a timeout, not "not an AMI server".
    assert proc.stderr.startswith("ami: silent: no AMI banner from 127.0.0.1:") and proc.stderr.count("\n") == 1
    assert proc.returncode == 9
    assert elapsed < 4


# -- one PBX is what it always was ----------------------------------------------------------


def test_one_pbx_has_no_server_column(tmp_path, sims):
    fleet = Fleet(tmp_path, sims, {})
    one = run_ami(["--profile", "sim1", "queues", "--json"], env=fleet.env())
    assert "Server" not in json_lines(one.stdout)[0]
    alone = run_ami(["--profile", "dead", "queues"], env=fleet.env())
    assert alone.returncode == ExitCode.CONNECT and alone.stderr.startswith("ami: error: cannot connect")
    failing = run_ami(["--profile", "dead,dead", "queues"], env=fleet.env())
    assert failing.returncode == ExitCode.CONNECT  # every PBX failed the same way: that code
