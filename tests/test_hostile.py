"""Hostile peers and inputs, one by one: what the fault matrix (test_faults.py) cannot show alone.

Each test names the promise it holds `ami` to (bounded time and memory,
outcomes never mixed up, nothing dangerous on a terminal or in monitoring,
configuration said out loud).  Peers are real sockets: the fault peer of
faults.py, a ScriptPeer, or the sim.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time

import pytest
from matrix import run_measured
from peers.base import ok_reply
from peers.certs import make_certs
from peers.faults import FaultPeer
from peers.script import ScriptPeer
from util import ADMIN, ami_argv, ami_env, run_ami, run_ami_process, start_sim

from amicli.errors import ExitCode
from amicli.events.formats import _MAX_TEMPLATES, JsonFormat
from amicli.protocol import Parser

SECRET = ADMIN["AMI_SECRET"]


def queued(action_id: str | None) -> bytes:
    return ok_reply(action_id, ("Message", "Originate successfully queued"))


def channel_item(action_id: str | None, name: bytes = b"PJSIP/1001-00000001", caller: bytes = b"Alice") -> bytes:
    aid = b"ActionID: " + action_id.encode() + b"\r\n" if action_id else b""
    return (
        b"Event: CoreShowChannel\r\n" + aid + b"Channel: " + name + b"\r\nChannelState: 6\r\nChannelStateDesc: Up\r\n"
        b"CallerIDNum: 1001\r\nCallerIDName: " + caller + b"\r\nUniqueid: 1700000000.1\r\n\r\n"
    )


def list_reply(action_id: str | None, items: list[bytes], count: int) -> list[bytes | float]:
    aid = b"ActionID: " + action_id.encode() + b"\r\n" if action_id else b""
    start = b"Response: Success\r\n" + aid + b"EventList: start\r\nMessage: Channels will follow\r\n\r\n"
    end = b"Event: CoreShowChannelsComplete\r\n" + aid + b"EventList: Complete\r\nListItems: %d\r\n\r\n" % count
    return [start, *items, end]


# -- 1, 2: bounded replies -------------------------------------------------------------


def test_count_streams_a_long_list_in_flat_memory():
    # 50,000 items: the memory of a count is that of one item, whatever the
    # length (kept, they would take some 100 MB).
    def respond(state, action, action_id):
        if action != "coreshowchannels":
            return [ok_reply(action_id)]
        chunk = channel_item(action_id) * 10_000  # one object, sent 5 times
        return list_reply(action_id, [chunk] * 5, 50_000)

    with ScriptPeer(respond) as peer:
        run = run_measured(["--timeout", "30", "channels", "--count"], peer.port, timeout=120)
    assert (run.returncode, run.stdout, run.stderr) == (0, "50000\n", ""), run
    assert run.max_rss_mb < 60, run


def test_count_of_an_endless_list_ends_at_the_reply_deadline(sim):
    with FaultPeer("list-trickle", backend_port=sim.port) as peer:
        started = time.monotonic()
        proc = run_ami(["--timeout", "1", "channels", "--count"], port=peer.port)
        took = time.monotonic() - started
    assert proc.returncode == ExitCode.TIMEOUT and "did not end within 2 s" in proc.stderr
    assert took < 2 + 1 + 2.5  # twice --timeout, the Logoff wait, start-up


def test_a_list_past_the_item_bound_is_refused():
    def respond(state, action, action_id):
        if action != "coreshowchannels":
            return [ok_reply(action_id)]
        return list_reply(action_id, [channel_item(action_id) * 1000] * 101, 101_000)

    with ScriptPeer(respond) as peer:
        run = run_measured(["--timeout", "20", "channels"], peer.port, timeout=120)
    assert run.returncode == ExitCode.PROTOCOL, run
    assert "passed 100000 items" in run.stderr and run.stdout == ""
    assert run.max_rss_mb < 100, run


# -- 3: originate under an event flood ------------------------------------------------------


def call_events(count: int) -> bytes:
    return (
        b"Event: Newexten\r\nPrivilege: dialplan,all\r\nChannel: PJSIP/9-00000009\r\nExten: 9\r\nContext: default\r\n"
        b"Priority: 1\r\nApplication: Wait\r\nAppData: 1\r\n\r\n"
        b"Event: Newstate\r\nPrivilege: call,all\r\nChannel: PJSIP/9-00000009\r\nChannelState: 5\r\n\r\n"
    ) * count


def test_originate_ends_at_ring_timeout_plus_grace_under_an_event_flood():
    burst = call_events(10)  # 20 events every 2 ms: about 10,000 a second, never a quiet moment

    def respond(state, action, action_id):
        if action != "originate":
            return [ok_reply(action_id)]
        # Queued, then call events without end (never an OriginateResponse).
        return [queued(action_id), *([burst, 0.002] * 6000)]

    with ScriptPeer(respond) as peer:
        run = run_measured(
            ["originate", "Local/100@default", "--app", "Wait", "--timeout", "1", "--grace", "1"],
            peer.port,
            timeout=60,
        )
    assert run.returncode == ExitCode.OUTCOME_UNKNOWN, run
    assert "no OriginateResponse within 1 s ring timeout + 1 s grace" in run.stderr
    assert run.seconds < 1 + 1 + 1 + 3, run  # ring timeout, grace, Logoff wait, start-up
    assert run.max_rss_mb < 100, run


def test_grace_below_its_minimum_is_refused(sim):
    for grace in ("0", "0.05", "nan"):
        proc = run_ami(["originate", "Local/100@default", "--app", "Wait", "--grace", grace], port=sim.port)
        assert proc.returncode == ExitCode.USAGE and "--grace" in proc.stderr, (grace, proc.stderr)


# -- 4: originate --batch in flat memory ----------------------------------------------------


def test_batch_memory_stays_flat_as_the_batch_grows(tmp_path):
    """Results are not kept: 10,000 lines take no more memory than 1,000.

    Keeping every result costs about 3 KB a line (300k lines once took
    870 MB), so 9,000 more lines would add some 25 MB.  The 100,000-line
    figure (under 60 MB) is measured by ``bench/bench_batch.py``.
    """

    def respond(state, action, action_id):
        return [queued(action_id)] if action == "originate" else [ok_reply(action_id)]

    peaks = []
    for lines in (1_000, 10_000):
        batch = tmp_path / f"calls-{lines}.csv"
        batch.write_text("channel,exten\n" + "".join(f"Local/{i}@default,100\n" for i in range(lines)))
        with ScriptPeer(respond) as peer:
            run = run_measured(
                ["originate", "--batch", str(batch), "--no-wait", "--parallel", "50"], peer.port, timeout=120
            )
        assert run.returncode == 0, run.stderr
        assert run.stdout.count("\n") == lines
        peaks.append(run.max_rss_mb)
    assert peaks[1] - peaks[0] < 10, peaks


# -- 5: the JSON fast path -------------------------------------------------------------------


def events_with_variables(count: int, names: int) -> bytes:
    one = b"".join(
        b"Event: Newexten\r\nPrivilege: dialplan,all\r\nTimestamp: 1700000000.%06d\r\nChannel: PJSIP/1-00000001\r\n" % i
        + b"".join(b"ChanVariable: VAR%d=%d\r\n" % (n, i) for n in range(names))
        + b"Exten: 100\r\n\r\n"
        for i in range(count)
    )
    return one


@pytest.mark.parametrize("names", [1, 2, 3])
def test_json_fast_path_with_repeated_headers_equals_json_dumps(names):
    data = events_with_variables(200, names)
    fmt = JsonFormat()
    fast = fmt._region(data, "1.000000")
    reference = "".join(JsonFormat.one(m, "1.000000") + "\n" for m in Parser(expect_banner=False).feed(data))
    assert fast == reference
    if names > 1:
        assert json.loads(fast.splitlines()[0])["ChanVariable"] == [f"VAR{n}=0" for n in range(names)]


def test_json_fast_path_is_linear_with_repeated_headers():
    fmt = JsonFormat()
    small, big = events_with_variables(5_000, 2), events_with_variables(20_000, 2)
    fmt._region(small, "1")  # templates learned
    started = time.perf_counter()
    fmt._region(small, "1")
    t_small = time.perf_counter() - started
    started = time.perf_counter()
    fmt._region(big, "1")
    t_big = time.perf_counter() - started
    assert t_big < 4 * t_small * 2.5  # 4 times the events: about 4 times the time, never 16


def test_json_template_cache_is_bounded_against_hostile_event_names():
    fmt = JsonFormat()
    for batch in range(6):
        data = b"".join(
            b"Event: E%06d-%d\r\nKey%d: v\r\n\r\n" % (i, batch, i) + b"Event: X\r\nA: 1\r\nA: 2\r\nB:: 3\r\n\r\n"
            for i in range(1000)
        )
        fmt._region(data, "1")
    assert len(fmt._templates) <= _MAX_TEMPLATES
    assert sum(len(v) for v in fmt._templates.values()) <= _MAX_TEMPLATES


def test_a_flood_of_new_event_shapes_is_formatted_right_and_cheaply():
    """Past a few hundred new shapes a second, templates are no longer compiled into
    functions (each costs up to a millisecond): the lines stay exactly json.dumps'."""
    fmt = JsonFormat()
    data = b"".join(
        b"Event: Shape%d\r\nPrivilege: user,all\r\n" % i
        + b"".join(b"Key%d-%d: value %d\r\n" % (i, k, k) for k in range(20))
        + b"\r\n"
        for i in range(1000)
    )
    started = time.process_time()
    fast = fmt._region(data, "1.000000")
    took = time.process_time() - started
    reference = "".join(JsonFormat.one(m, "1.000000") + "\n" for m in Parser(expect_banner=False).feed(data))
    assert fast == reference
    # Compiling all 1,000 would take about half a second.
    assert took < 0.4, took


# -- 6, 7: outcomes and replies never mixed up ------------------------------------------------


def test_action_ids_are_random_per_process(sim):
    ids = []
    for _ in range(2):
        proc = run_ami_process(["--debug", "raw", "Ping"], port=sim.port)
        ids += re.findall(r">> ActionID: (\S+)", proc.stderr)
    tags = {i.rsplit("-", 1)[0] for i in ids}
    assert len(tags) == 2, ids  # one tag per process
    assert not any(re.fullmatch(r"ami-\d+-\d+", i) for i in ids), ids  # not the pid


def test_another_sessions_outcome_is_not_ours():
    def respond(state, action, action_id):
        if action != "originate":
            return [ok_reply(action_id)]
        # Outcomes of other sessions' calls (what a PID-1 container's `ami` would use,
        # and another process's), all answered; ours never comes.
        foreign = b"".join(
            b"Event: OriginateResponse\r\nPrivilege: call,all\r\nActionID: " + other.encode() + b"\r\n"
            b"Response: Success\r\nChannel: Local/100@default\r\nReason: 4\r\nUniqueid: 1.1\r\n\r\n"
            for other in ("ami-1-2", "ami-1-3", action_id.rsplit("-", 1)[0] + "x-2", action_id + "0")
        )
        return [queued(action_id), call_events(1) + foreign]

    with ScriptPeer(respond) as peer:
        proc = run_ami(
            ["originate", "Local/100@default", "--app", "Wait", "--timeout", "1", "--grace", "0.5", "--json"],
            port=peer.port,
        )
    assert proc.returncode == ExitCode.OUTCOME_UNKNOWN, proc.stderr
    assert json.loads(proc.stdout)["Outcome"] == "unknown"


def test_a_reply_sent_before_its_request_is_not_taken(sim):
    with FaultPeer("forged-reply", backend_port=sim.port) as peer:
        proc = run_ami(["raw", "Ping", "--json"], port=peer.port)
        version = run_ami(["login-test", "--json"], port=peer.port)
    assert proc.returncode == 0 and json.loads(proc.stdout)["Ping"] == "Pong"
    assert "FORGED" not in proc.stdout + version.stdout


def test_login_answered_with_text_is_not_a_login(sim):
    with FaultPeer("login-text", backend_port=sim.port) as peer:
        check = run_ami(["login-test"], port=peer.port)
        raw = run_ami(["raw", "Ping"], port=peer.port)
    assert (
        check.returncode == 3
        and check.stdout.startswith("AMI UNKNOWN - ")
        and "answered Login with text" in check.stdout
    )
    assert raw.returncode == ExitCode.PROTOCOL and raw.stdout == ""


# -- 9: control characters ----------------------------------------------------------------------

ESC = b"\x1b[2J\x1b]0;owned\x07\xc2\x9b6n"
SHOWN = "\\x1b[2J\\x1b]0;owned\\x07\\x9b6n"


def escaping_peer() -> ScriptPeer:
    def respond(state, action, action_id):
        if action == "coreshowchannels":
            return list_reply(action_id, [channel_item(action_id, caller=b"Eve " + ESC)], 1)
        if action == "ping":
            return [ok_reply(action_id, ("Ping", "Pong " + ESC.decode()))]
        aid = b"ActionID: " + action_id.encode() + b"\r\n" if action_id else b""
        return [b"Response: Error\r\n" + aid + b"Message: No such thing " + ESC + b"\r\n\r\n"]

    def after_login(state):
        return [b"Event: User" + ESC + b"\r\nPrivilege: user,all\r\nKe" + ESC + b"y: va" + ESC + b"lue\r\n\r\n"]

    return ScriptPeer(respond, after_login=after_login)


def test_control_characters_are_shown_not_obeyed():
    with escaping_peer() as peer:
        table = run_ami(["channels"], port=peer.port)
        error = run_ami(["queues", "pause", "PJSIP/1"], port=peer.port)
        events = run_ami(["events", "--timeout", "1"], port=peer.port)
        as_json = run_ami(["raw", "Ping", "--json"], port=peer.port)
    for proc in (table, error, events, as_json):
        assert not re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f]", proc.stdout + proc.stderr), proc
    assert "Eve " + SHOWN in table.stdout
    assert error.returncode == 1 and SHOWN in error.stderr and error.stderr.startswith("ami: error: ")
    assert "User" + SHOWN in events.stdout and "Ke" + SHOWN + "y=" in events.stdout
    assert "\\u001b[2J" in as_json.stdout and "\\u009b6n" in as_json.stdout


def test_login_test_status_line_has_no_escape_and_no_fake_perfdata(sim):
    with FaultPeer("control-chars", backend_port=sim.port) as peer:
        refused = run_ami(["login-test"], port=peer.port, user={"AMI_USER": "admin", "AMI_SECRET": "wrong"})
    assert refused.returncode == 2
    line = refused.stdout
    assert line.count("|") == 1 and "\\x1b" in line and "\x1b" not in line, line


# -- 10: the secret quoted back -----------------------------------------------------------------


@pytest.mark.parametrize("auth", ["plain", "md5"])
def test_the_secret_quoted_back_is_hidden_everywhere(sim, auth):
    with FaultPeer("quoted-secret", backend_port=sim.port) as peer:
        runs = [
            run_ami(["--auth", auth, "--debug", "raw", "Ping"], port=peer.port),
            run_ami(["--auth", auth, "login-test"], port=peer.port),
            run_ami(["--auth", auth, "login-test", "--json"], port=peer.port),
        ]
        sent = bytes(peer.from_clients).decode()
    keys = re.findall(r"Key: (\S+)", sent)
    assert (auth == "md5") == bool(keys)
    for proc in runs:
        text = proc.stdout + proc.stderr
        assert SECRET not in text and not any(k in text for k in keys), text
        assert re.search(r"Authentication failed for .*'\*{8}'", text), text


# -- 11, 12: what goes on the wire ------------------------------------------------------------


@pytest.mark.parametrize(
    "separator", ["\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029", "\x00"]
)
def test_raw_stdin_splits_lines_only_at_lf(sim, separator):
    text = f"Action: Getvar\nVariable: x{separator}Action: Command\nCommand: core stop now\n"
    proc = run_ami(["raw", "-"], port=sim.port, input=text)
    assert proc.returncode == ExitCode.USAGE and "line 2" in proc.stderr, proc.stderr
    assert proc.stdout == ""


def test_crlf_stdin_still_works(sim):
    proc = run_ami(["raw", "-", "--json"], port=sim.port, input="Action: Ping\r\n\r\nAction: Ping\r\n")
    assert proc.returncode == 0 and len(proc.stdout.splitlines()) == 2


def test_nul_in_a_batch_row_is_refused(sim, tmp_path):
    batch = tmp_path / "calls.jsonl"
    batch.write_text('{"channel": "Local/100@default", "app": "Wait", "data": "1\\u0000x"}\n')
    proc = run_ami(["originate", "--batch", str(batch)], port=sim.port)
    assert proc.returncode == ExitCode.USAGE and "line 1" in proc.stderr and "NUL" in proc.stderr


def test_header_lines_over_1024_bytes_are_refused_before_sending():
    with ScriptPeer() as peer:
        long_cid = "x" * 1020
        runs = [
            run_ami(["originate", "Local/1@default", "--app", "Wait", "--caller-id", long_cid], port=peer.port),
            run_ami(["raw", "Ping", "X-Long=" + "y" * 1100], port=peer.port),
            run_ami(["raw", "-"], port=peer.port, input="Action: Ping\nX-Long: " + "z" * 1100 + "\n"),
        ]
    for proc in runs:
        assert proc.returncode == ExitCode.USAGE and "1024" in proc.stderr, proc.stderr
        assert proc.stdout == ""


# -- 13: permissions ---------------------------------------------------------------------------


def profile(path, text: str, mode: int) -> str:
    path.write_text(text)
    path.chmod(mode)
    return str(path)


def test_secret_files_readable_by_others_are_refused(sim, tmp_path):
    secret = tmp_path / "secret"
    secret.write_text(SECRET + "\n")
    link = tmp_path / "link"
    link.symlink_to(secret)
    user = {"AMI_USER": "admin"}
    for mode in (0o644, 0o640, 0o604):
        secret.chmod(mode)
        for name in (secret, link):
            proc = run_ami(["--secret-file", str(name), "raw", "Ping"], port=sim.port, user=user)
            assert proc.returncode == ExitCode.CONFIG and "readable by others" in proc.stderr, proc.stderr
    secret.chmod(0o600)
    assert run_ami(["--secret-file", str(link), "raw", "Ping"], port=sim.port, user=user).returncode == 0


def test_profiles_others_could_read_or_change_are_refused(sim, tmp_path):
    good = tmp_path / "private"
    good.mkdir(mode=0o700)
    unused_secret = f"[default]\nport = {sim.port}\nuser = admin\n\n[other]\nsecret = x\n"
    cases = [
        (profile(good / "a", unused_secret, 0o644), "readable by others"),
        (profile(good / "b", f"[default]\nport = {sim.port}\n", 0o666), "writable by others"),
    ]
    open_dir = tmp_path / "open"
    open_dir.mkdir()
    open_dir.chmod(0o777)
    cases.append((profile(open_dir / "c", f"[default]\nport = {sim.port}\n", 0o600), "other users can change"))
    for path, says in cases:
        proc = run_ami(["raw", "Ping"], user=ADMIN, env={"AMI_CONFIG": path, "AMI_PORT": str(sim.port)})
        assert proc.returncode == ExitCode.CONFIG and says in proc.stderr, (path, proc.stderr)
    ok = profile(good / "d", unused_secret, 0o600)
    assert run_ami(["raw", "Ping"], user={"AMI_SECRET": SECRET}, env={"AMI_CONFIG": ok}).returncode == 0


@pytest.mark.skipif(os.geteuid() != 0, reason="changing a file's owner needs root")
def test_files_owned_by_another_user_are_refused(sim, tmp_path):
    nobody = 65534
    secret = tmp_path / "secret"
    secret.write_text(SECRET)
    secret.chmod(0o600)
    os.chown(secret, nobody, -1)
    proc = run_ami(["--secret-file", str(secret), "raw", "Ping"], port=sim.port, user={"AMI_USER": "admin"})
    assert proc.returncode == ExitCode.CONFIG and "owned by another user" in proc.stderr
    path = profile(tmp_path / "config", f"[default]\nport = {sim.port}\n", 0o600)
    os.chown(path, nobody, -1)
    proc = run_ami(["raw", "Ping"], env={"AMI_CONFIG": path})
    assert proc.returncode == ExitCode.CONFIG and "owned by another user" in proc.stderr


# -- 14: TLS said out loud -------------------------------------------------------------------


def test_tls_options_without_tls_are_usage_errors(sim):
    for args in (["--insecure"], ["--ca-file", "/etc/ssl/certs/ca-certificates.crt"]):
        proc = run_ami([*args, "raw", "Ping"], port=sim.port)
        assert proc.returncode == ExitCode.USAGE and "add --tls" in proc.stderr, proc.stderr


def test_insecure_warns(tmp_path_factory):
    cert, key = make_certs(tmp_path_factory.mktemp("tls"))["good"]
    server = start_sim(tls_cert=cert, tls_key=key)
    try:
        proc = run_ami(["--tls", "-P", str(server.port), "--insecure", "raw", "Ping"])
    finally:
        server.close()
    assert proc.returncode == 0
    assert proc.stderr.startswith("ami: warning: --insecure: the TLS certificate") and proc.stderr.count("\n") == 1


# -- 15: odd values --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args, env",
    [
        (["--timeout", "nan"], {}),
        (["--timeout", "inf"], {}),
        (["--timeout", "1e300"], {}),
        (["-H", "a" * 64 + ".example.com"], {}),
        ([], {"AMI_USER": "admin\r"}),
        ([], {"AMI_SECRET": SECRET + "\n"}),
        ([], {"AMI_TIMEOUT": "nan"}),
    ],
)
def test_odd_values_are_configuration_errors(sim, args, env):
    proc = run_ami([*args, "raw", "Ping"], port=sim.port, env=env)
    assert proc.returncode == ExitCode.CONFIG, proc.stderr
    assert proc.stderr.startswith("ami: error: ") and "internal error" not in proc.stderr
    assert SECRET not in proc.stderr


def test_a_profile_value_with_a_line_break_is_a_configuration_error(sim, tmp_path):
    # A CRLF file reads as LF lines (works); a lone CR inside a value cannot be a value.
    crlf = profile(tmp_path / "config", f"[default]\r\nport = {sim.port}\r\nuser = admin\r\n", 0o600)
    proc = run_ami(["raw", "Ping"], user={"AMI_SECRET": SECRET}, env={"AMI_CONFIG": crlf})
    assert proc.returncode == 0, proc.stderr
    bad = profile(tmp_path / "config2", f"[default]\nport = {sim.port}\nuser = admin\rx\n", 0o600)
    proc = run_ami(["raw", "Ping"], user={"AMI_SECRET": SECRET}, env={"AMI_CONFIG": bad})
    assert proc.returncode == ExitCode.CONFIG and "internal error" not in proc.stderr, proc.stderr


@pytest.mark.parametrize("closed", [(1,), (2,), (1, 2)])
def test_closed_standard_streams_exit_cleanly(sim, closed):
    def close():
        for fd in closed:
            os.close(fd)

    proc = subprocess.run(
        [*ami_argv(), "raw", "Ping"],
        env=ami_env(sim.port, **ADMIN),
        capture_output=True,
        timeout=60,
        preexec_fn=close,
    )
    assert proc.returncode == 0, proc
    assert b"Traceback" not in proc.stderr and b"internal error" not in proc.stderr, proc
