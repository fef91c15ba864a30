"""The foundation as a user meets it: the real `ami` process against the sim and odd peers.

Each test checks stdout, stderr and the exit code separately.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest
from peers.base import FakePeer
from peers.certs import make_certs
from util import ADMIN, ami_argv, ami_env, run_ami, start_sim

from amicli.errors import ExitCode

# -- peers that are not a well-behaved Asterisk --------------------------------


class Peer(FakePeer):
    """A one-connection peer running ``script(peer, conn)``; :meth:`read_message` reads what the client sent."""

    def __init__(self, script) -> None:
        self.received = b""
        self._taken = 0
        super().__init__(script, max_connections=1)

    def read_message(self, conn: socket.socket) -> bytes:
        """Read up to the end of one client message (a blank line)."""
        while b"\r\n\r\n" not in self.received[self._taken :]:
            data = conn.recv(65536)
            if not data:
                raise OSError("closed")
            self.received += data
        end = self.received.index(b"\r\n\r\n", self._taken) + 4
        msg = self.received[self._taken : end]
        self._taken = end
        return msg


def action_id(msg: bytes) -> str:
    found = re.search(rb"ActionID: (\S+)", msg)
    return found.group(1).decode() if found else ""


def logged_in_then(after):
    """A peer that says the banner, accepts any login, then runs ``after``."""

    def script(peer: Peer, conn: socket.socket) -> None:
        conn.sendall(b"Asterisk Call Manager/11.0.0\r\n")
        while True:
            msg = peer.read_message(conn)
            aid = action_id(msg).encode()
            if b"Action: Challenge" in msg:
                conn.sendall(b"Response: Success\r\nActionID: " + aid + b"\r\nChallenge: 123\r\n\r\n")
                continue
            conn.sendall(b"Response: Success\r\nActionID: " + aid + b"\r\nMessage: Authentication accepted\r\n\r\n")
            break
        after(peer, conn)

    return script


# -- the command group -----------------------------------------------------------


def test_help_lists_every_command():
    proc = run_ami(["--help"])
    assert proc.returncode == 0
    for name in ("login-test", "originate", "queues", "channels", "events", "raw", "command", "sim"):
        assert re.search(rf"^\s+{name}\s", proc.stdout, re.M), name
    assert proc.stderr == ""


def test_python_dash_m_and_version():
    proc = subprocess.run([sys.executable, "-m", "amicli", "--version"], capture_output=True, text=True, env=ami_env())
    assert proc.returncode == 0
    assert re.fullmatch(r"ami \d+\.\d+\.\d+\n", proc.stdout)


def test_help_and_version_do_not_import_tabulate():
    # Nor the output layer: start-up pays only for what the command uses.
    code = (
        "import sys; from amicli.cli import run; run(['--help']); run(['--version']);"
        " print('tabulate' in sys.modules, 'amicli.output' in sys.modules)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=ami_env())
    assert proc.stdout.strip().splitlines()[-1] == "False False"


def test_unknown_option_is_one_line_usage_error():
    proc = run_ami(["raw", "--bogus"])
    assert proc.returncode == ExitCode.USAGE
    assert proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("ami: error: ")
    assert "Traceback" not in proc.stderr


# -- login-test ------------------------------------------------------------------


def test_login_test_ok(sim):
    proc = run_ami(["login-test"], port=sim.port)
    assert proc.returncode == 0, proc.stderr
    assert re.fullmatch(
        r"AMI OK - admin@127\.0\.0\.1:\d+ logged in in \d+ ms, Asterisk 22\.10\.1, Asterisk Call Manager/11\.0\.0"
        r" \| time=\d+\.\d{3}s;1;2;0\n",
        proc.stdout,
    )
    assert proc.stderr == ""


def test_login_test_plain_auth_and_json(sim):
    proc = run_ami(["--auth", "plain", "login-test", "--json"], port=sim.port)
    assert proc.returncode == 0
    record = json.loads(proc.stdout)
    assert record["status"] == "OK" and record["code"] == 0
    assert record["ami_version"] == "11.0.0" and record["asterisk_version"] == "22.10.1"


def test_login_test_version_needs_permission(sim):
    # caller may not run CoreSettings: still OK, without the Asterisk version.
    proc = run_ami(["login-test"], port=sim.port, user={"AMI_USER": "caller", "AMI_SECRET": "dial-0ut"})
    assert proc.returncode == 0
    assert "Asterisk 22" not in proc.stdout and "Asterisk Call Manager/11.0.0" in proc.stdout


def test_login_test_quiet(sim):
    proc = run_ami(["login-test", "--quiet"], port=sim.port)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")
    proc = run_ami(["login-test", "--quiet"], port=sim.port, user={"AMI_USER": "admin", "AMI_SECRET": "nope"})
    assert proc.returncode == 2 and proc.stdout.startswith("AMI CRITICAL")


def test_login_test_warning_threshold(sim):
    proc = run_ami(["login-test", "-w", "0.000001", "-c", "100"], port=sim.port)
    assert proc.returncode == 1
    assert proc.stdout.startswith("AMI WARNING - ")


def test_login_test_wrong_secret_is_critical_within_2s():
    server = start_sim(login_fail_delay=1.0)  # as the real PBX: one second
    try:
        started = time.monotonic()
        proc = run_ami(["login-test"], port=server.port, user={"AMI_USER": "admin", "AMI_SECRET": "wrong"})
        elapsed = time.monotonic() - started
    finally:
        server.close()
    assert proc.returncode == 2
    assert proc.stdout.startswith("AMI CRITICAL - login as 'admin' failed: Authentication failed |")
    assert elapsed < 2.5
    assert "wrong" not in proc.stdout + proc.stderr


@pytest.mark.parametrize(
    "user", [{"AMI_USER": "nobody", "AMI_SECRET": "x"}, {"AMI_USER": "elsewhere", "AMI_SECRET": "fromafar"}]
)
def test_login_test_unknown_user_and_acl_are_critical(sim, user):
    proc = run_ami(["login-test"], port=sim.port, user=user)
    assert proc.returncode == 2 and "Authentication failed" in proc.stdout


def test_login_test_nothing_listening():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = run_ami(["login-test"], port=port)
    assert proc.returncode == 2
    assert proc.stdout.startswith("AMI CRITICAL - cannot connect to 127.0.0.1:") and "refused" in proc.stdout


def test_login_test_http_server_is_unknown():
    peer = Peer(lambda p, c: c.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"))
    proc = run_ami(["login-test"], port=peer.port)
    peer.close()
    assert proc.returncode == 3
    assert proc.stdout.startswith("AMI UNKNOWN - not an AMI server: it greeted with 'HTTP/1.1 400 Bad Request'")


def test_login_test_usage_error_exits_3():
    proc = run_ami(["login-test", "-w", "abc"])
    assert proc.returncode == 3
    assert proc.stdout.startswith("AMI UNKNOWN - usage:")


# -- raw -------------------------------------------------------------------------


def test_raw_ping_text_and_json(sim):
    proc = run_ami(["raw", "Ping"], port=sim.port)
    assert proc.returncode == 0
    # The bytes as received, CRLF included (not a terminal).
    assert proc.stdout.startswith("Response: Success\r\nActionID: ami-") and "Ping: Pong\r\n" in proc.stdout
    proc = run_ami(["raw", "Ping", "--json"], port=sim.port)
    record = json.loads(proc.stdout)
    assert record["Response"] == "Success" and record["Ping"] == "Pong"


def test_raw_error_exits_1(sim):
    proc = run_ami(["raw", "FooBar"], port=sim.port)
    assert proc.returncode == 1
    assert "Message: Invalid/unknown command: FooBar." in proc.stdout


def test_raw_repeated_key_sends_two_headers(sim):
    proc = run_ami(
        ["--debug", "raw", "UserEvent", "UserEvent=Deploy", "Variable=a=1", "Variable: b=2,3"], port=sim.port
    )
    assert proc.returncode == 0
    assert ">> Variable: a=1\n>> Variable: b=2,3\n" in proc.stderr


def test_raw_stdin_runs_actions_in_order(sim):
    text = "Action: Ping\nActionID: first\n\n# a comment\nAction: FooBar\nActionID: second\n"
    proc = run_ami(["raw", "-", "--json"], port=sim.port, input=text)
    assert proc.returncode == 1  # the second one failed
    records = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [r["ActionID"] for r in records] == ["first", "second"]


def test_raw_bad_header_argument():
    proc = run_ami(["raw", "Ping", "novalue"])
    assert proc.returncode == 2 and "Key=Value" in proc.stderr


def test_raw_list_action_prints_whole_list(sim):
    proc = run_ami(["raw", "ListCommands"], port=sim.port)
    assert proc.returncode == 0 and "Ping:  (Priv: <none>)" in proc.stdout


# -- command ---------------------------------------------------------------------


def test_command_prints_output_exactly(sim):
    proc = run_ami(["command", "core show version"], port=sim.port)
    assert proc.returncode == 0
    assert proc.stdout == "Asterisk 22.10.1 built by ami-sim @ localhost on a x86_64 running Linux\n"
    assert proc.stderr == ""


def test_command_asterisk13_format():
    server = start_sim(asterisk13=True)
    try:
        proc = run_ami(["command", "core", "show", "version"], port=server.port)
        uptime = run_ami(["command", "core show uptime"], port=server.port)
    finally:
        server.close()
    assert proc.returncode == 0
    assert proc.stdout == "Asterisk 13.38.3 built by ami-sim @ localhost on a x86_64 running Linux\n"
    assert uptime.stdout.startswith("System uptime: ") and uptime.stdout.count("\n") == 2


def test_command_failure_exits_1(sim):
    proc = run_ami(["command", "no such thing"], port=sim.port)
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert (
        proc.stderr
        == "ami: error: No such command 'no such thing' (type 'core show help no such' for other possible commands)\n"
    )


def test_command_permission_denied(sim):
    proc = run_ami(
        ["command", "core show version"], port=sim.port, user={"AMI_USER": "monitor", "AMI_SECRET": "m0nitor"}
    )
    assert proc.returncode == ExitCode.AUTH
    assert "permission denied" in proc.stderr and proc.stdout == ""


def test_command_waits_for_fully_booted():
    # Before FullyBooted the sim's module commands do not exist yet: `ami command`
    # waits for FullyBooted and runs the command again.
    server = start_sim(boot_delay=1.0)
    try:
        started = time.monotonic()
        early = run_ami(["command", "core show uptime"], port=server.port)
        proc = run_ami(["command", "queue show"], port=server.port)
        elapsed = time.monotonic() - started
        booted = run_ami(["command", "queue show"], port=server.port)
    finally:
        server.close()
    assert early.returncode == 0  # core commands work at once
    assert elapsed >= 0.9

    # The two runs may fall in different seconds: "login was N secs ago" may differ.
    def same(text: str) -> str:
        return re.sub(r"\d+ secs ago", "N secs ago", text)

    assert (proc.returncode, same(proc.stdout), proc.stderr) == (booted.returncode, same(booted.stdout), booted.stderr)


def test_failed_command_on_a_booted_pbx_does_not_wait(sim):
    # FullyBooted came with the login, from a PBX up for a minute (its Uptime says so):
    # a failure is final, no waiting for boot.  A PBX up for under 3 s may still be
    # registering its CLI commands; that case is tests/test_boot.py's.
    sim.pbx.started -= 60
    started = time.monotonic()
    proc = run_ami(["--timeout", "5", "command", "no such thing"], port=sim.port)
    assert proc.returncode == 1 and time.monotonic() - started < 3


# -- exit codes for failures -----------------------------------------------------


def test_connection_refused_exit_code():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = run_ami(["raw", "Ping"], port=port)
    assert proc.returncode == ExitCode.CONNECT
    assert proc.stdout == "" and proc.stderr == f"ami: error: cannot connect to 127.0.0.1:{port}: connection refused\n"


def test_silent_peer_is_a_timeout():
    # A hung PBX (deadlocked, SIGSTOPped) accepts TCP and sends no banner: exit 5, CRITICAL for login-test.
    peer = Peer(lambda p, c: time.sleep(3))
    started = time.monotonic()
    proc = run_ami(["--timeout", "0.5", "raw", "Ping"], port=peer.port)
    assert time.monotonic() - started < 2.5
    assert (proc.returncode, proc.stdout) == (ExitCode.TIMEOUT, "")
    assert proc.stderr == f"ami: error: no AMI banner from 127.0.0.1:{peer.port} within 0.5 s (is the PBX hung?)\n"
    peer = Peer(lambda p, c: time.sleep(3))
    proc = run_ami(["--timeout", "0.5", "login-test"], port=peer.port)
    assert (proc.returncode, proc.stderr) == (2, "")
    assert proc.stdout.startswith("AMI CRITICAL - no AMI banner from") and proc.stdout.count("\n") == 1


def test_reply_timeout():
    peer = Peer(logged_in_then(lambda p, c: time.sleep(3)))
    started = time.monotonic()
    proc = run_ami(["--timeout", "0.5", "raw", "Ping"], port=peer.port)
    assert time.monotonic() - started < 2.5
    assert proc.returncode == ExitCode.TIMEOUT
    assert proc.stderr.startswith("ami: error: no answer from 127.0.0.1:") and "Ping" in proc.stderr


def test_ssh_banner_is_protocol_error():
    peer = Peer(lambda p, c: c.sendall(b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n"))
    proc = run_ami(["raw", "Ping"], port=peer.port)
    assert proc.returncode == ExitCode.PROTOCOL
    assert proc.stderr == "ami: error: not an AMI server: it greeted with 'SSH-2.0-OpenSSH_9.2p1 Debian-2'\n"


def test_huge_line_is_refused_with_bounded_memory():
    def flood(peer: Peer, conn: socket.socket) -> None:
        chunk = b"x" * 65536
        for _ in range(10 * 16):  # 10 MiB, no newline
            conn.sendall(chunk)

    peer = Peer(logged_in_then(lambda p, c: (p.read_message(c), flood(p, c))))
    proc = run_ami(["raw", "Ping"], port=peer.port)
    assert proc.returncode == ExitCode.PROTOCOL
    assert "line longer than" in proc.stderr and proc.stderr.count("\n") == 1


def test_non_utf8_bytes_give_valid_json():
    def reply(peer: Peer, conn: socket.socket) -> None:
        msg = peer.read_message(conn)
        conn.sendall(b"Response: Success\r\nActionID: " + action_id(msg).encode() + b"\r\nCaller\xff: Jos\xe9\r\n\r\n")
        peer.read_message(conn)

    peer = Peer(logged_in_then(reply))
    proc = run_ami(["raw", "Ping", "--json"], port=peer.port)
    assert proc.returncode == 0
    record = json.loads(proc.stdout)
    assert record["Caller\ufffd"] == "Jos\ufffd"


def test_peer_closing_mid_reply():
    def close_midway(peer: Peer, conn: socket.socket) -> None:
        peer.read_message(conn)
        conn.sendall(b"Response: Success\r\nActionID: x")

    peer = Peer(logged_in_then(close_midway))
    proc = run_ami(["raw", "Ping", "--json"], port=peer.port)
    assert proc.returncode == ExitCode.CONNECT
    assert proc.stdout == "" and "closed the connection" in proc.stderr


# -- configuration and secrets ---------------------------------------------------


def write_profile(tmp_path, text: str, mode: int = 0o600):
    path = tmp_path / "config"
    path.write_text(text)
    path.chmod(mode)
    return str(path)


def test_profile_supplies_settings(sim, tmp_path):
    cfg = write_profile(
        tmp_path, f"[default]\nport = 1\n\n[lab]\nport = {sim.port}\nuser = admin\nsecret = s3cret-Admin\n"
    )
    proc = run_ami(["--profile", "lab", "raw", "Ping"], user=None, env={"AMI_CONFIG": cfg})
    assert proc.returncode == 0, proc.stderr
    # AMI_PROFILE works like --profile.
    proc = run_ami(["raw", "Ping"], user=None, env={"AMI_CONFIG": cfg, "AMI_PROFILE": "lab"})
    assert proc.returncode == 0


def test_precedence_option_over_env_over_profile(sim, tmp_path):
    cfg = write_profile(tmp_path, "[default]\nport = 1\nuser = admin\nsecret = s3cret-Admin\n")
    # profile alone: port 1, refused
    assert run_ami(["raw", "Ping"], user=None, env={"AMI_CONFIG": cfg}).returncode == ExitCode.CONNECT
    # environment beats the profile
    assert run_ami(["raw", "Ping"], user=None, env={"AMI_CONFIG": cfg, "AMI_PORT": str(sim.port)}).returncode == 0
    # the option beats the environment
    proc = run_ami(["-P", str(sim.port), "raw", "Ping"], user=None, env={"AMI_CONFIG": cfg, "AMI_PORT": "1"})
    assert proc.returncode == 0


def test_world_readable_profile_with_secret_is_refused(sim, tmp_path):
    cfg = write_profile(tmp_path, f"[default]\nport = {sim.port}\nuser = admin\nsecret = s3cret-Admin\n", 0o644)
    proc = run_ami(["raw", "Ping"], user=None, env={"AMI_CONFIG": cfg})
    assert proc.returncode == ExitCode.CONFIG
    assert "readable by others" in proc.stderr and "chmod 600" in proc.stderr
    assert "s3cret-Admin" not in proc.stdout + proc.stderr


def test_unknown_profile(tmp_path):
    cfg = write_profile(tmp_path, "[default]\nuser = admin\n")
    proc = run_ami(["--profile", "nope", "raw", "Ping"], env={"AMI_CONFIG": cfg})
    assert proc.returncode == ExitCode.CONFIG and "no profile 'nope'" in proc.stderr


def test_secret_file_and_stdin(sim, tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("s3cret-Admin\n")
    secret.chmod(0o600)  # a secret file others can read is refused
    env = {"AMI_USER": "admin"}
    assert run_ami(["--secret-file", str(secret), "raw", "Ping"], port=sim.port, user=env).returncode == 0
    proc = run_ami(["--secret-file", "-", "raw", "Ping"], port=sim.port, user=env, input="s3cret-Admin\n")
    assert proc.returncode == 0


def test_no_secret_without_terminal_is_a_clear_error(sim):
    proc = run_ami(["raw", "Ping"], port=sim.port, user={"AMI_USER": "admin"})
    assert proc.returncode == ExitCode.CONFIG
    assert proc.stderr.startswith("ami: error: no secret given")


@pytest.mark.parametrize("auth", ["md5", "plain"])
def test_secret_never_in_any_output(sim, auth):
    """Neither the secret nor the MD5 key appears, in traces or errors."""
    for secret in ("s3cret-Admin", "WrongSecret-42"):
        proc = run_ami(
            ["--debug", "--auth", auth, "raw", "Ping"], port=sim.port, user={"AMI_USER": "admin", "AMI_SECRET": secret}
        )
        everything = proc.stdout + proc.stderr
        assert secret not in everything
        assert ("Secret: ********" if auth == "plain" else "Key: ********") in proc.stderr
        if auth == "md5":
            keys = re.findall(r"\b[0-9a-f]{32}\b", everything)
            assert keys == []


# -- TLS -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    """Self-signed certificates: ``good`` (localhost, 127.0.0.1) and ``other`` (other.example)."""
    return make_certs(tmp_path_factory.mktemp("tls"))


def test_tls_verified_with_ca_file(certs):
    cert, key = certs["good"]
    server = start_sim(tls_cert=cert, tls_key=key)
    try:
        ok = run_ami(["--tls", "-P", str(server.port), "--ca-file", cert, "raw", "Ping"])
        untrusted = run_ami(["--tls", "-P", str(server.port), "raw", "Ping"])
        insecure = run_ami(["--tls", "-P", str(server.port), "--insecure", "raw", "Ping"])
    finally:
        server.close()
    assert ok.returncode == 0 and "Ping: Pong" in ok.stdout
    assert (
        untrusted.returncode == ExitCode.TLS and "not trusted" in untrusted.stderr and "--insecure" in untrusted.stderr
    )
    assert insecure.returncode == 0


def test_tls_certificate_for_another_name(certs):
    cert, key = certs["other"]
    server = start_sim(tls_cert=cert, tls_key=key)
    try:
        proc = run_ami(["--tls", "-P", str(server.port), "--ca-file", cert, "raw", "Ping"])
    finally:
        server.close()
    assert proc.returncode == ExitCode.TLS
    assert proc.stderr.count("\n") == 1 and "127.0.0.1" in proc.stderr


def test_tls_to_a_plain_port(sim):
    proc = run_ami(["--tls", "-P", str(sim.port), "--timeout", "2", "raw", "Ping"])
    assert proc.returncode in (ExitCode.TLS, ExitCode.PROTOCOL, ExitCode.TIMEOUT)
    assert proc.stderr.startswith("ami: error: ") and proc.stderr.count("\n") == 1


# -- signals and pipes -----------------------------------------------------------


def test_sigint_sends_logoff_and_exits_130():
    got_logoff = threading.Event()

    def wait_then_expect_logoff(peer: Peer, conn: socket.socket) -> None:
        peer.read_message(conn)  # the action: never answered
        msg = peer.read_message(conn)
        if b"Action: Logoff" in msg:
            got_logoff.set()
            conn.sendall(b"Response: Goodbye\r\nActionID: " + action_id(msg).encode() + b"\r\n\r\n")

    peer = Peer(logged_in_then(wait_then_expect_logoff))
    proc = subprocess.Popen(
        [*ami_argv(), "raw", "Ping"],
        env=ami_env(peer.port, **ADMIN),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 5
    while b"Action: Ping" not in peer.received and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=5)
    assert proc.returncode == 130
    assert got_logoff.wait(2)
    assert b"Traceback" not in err and out == b""


def test_broken_pipe_exits_quietly(sim):
    proc = subprocess.Popen(
        [*ami_argv(), "command", "core show uptime"],
        env=ami_env(sim.port, **ADMIN),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    proc.stdout.close()  # the reader is gone before anything is written
    err = proc.stderr.read()
    proc.wait(timeout=10)
    assert proc.returncode == 0
    assert err == b""


def test_head_closes_pipe_on_long_output(sim):
    cmd = f"{' '.join(ami_argv())} raw ListCommands | head -1"
    proc = subprocess.run(
        ["bash", "-o", "pipefail", "-c", cmd], env=ami_env(sim.port, **ADMIN), capture_output=True, text=True
    )
    assert proc.returncode == 0
    assert proc.stdout == "Response: Success\n" and proc.stderr == ""


def test_env_isolated():
    # The helpers must not leak the developer's own AMI settings into tests.
    assert "AMI_SECRET" not in ami_env()
    assert os.environ.get("AMI_CONFIG", "") != ami_env()["AMI_CONFIG"]
