"""Secrets stay secret: never printed, never traced, never on a command line, never in a readable file.

Every command runs with ``--debug`` (the protocol trace on stderr) in the
situations that produce the most text: success, a wrong secret, a refused
connection, a TLS failure, a timeout; with plain and MD5 logins.  Neither
the secret, nor the wrong secret tried, nor the MD5 key computed from it
may show anywhere.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from matrix import COMMANDS, Run, run_timed
from peers.certs import make_certs
from peers.faults import FaultPeer
from util import ami_argv, ami_env, run_ami

from amicli.errors import ExitCode

SECRET = "s3cret-Admin"  # admin's secret in the sim
WRONG = "WrongSecret-Zq9Xy-42"
TIMEOUT = "1"
PLUGIN_UNKNOWN = 3


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    return make_certs(tmp_path_factory.mktemp("certs"))


@pytest.fixture(scope="module")
def peers(sim, certs):
    names = ("refused", "tls-untrusted", "trickle")
    made = {name: FaultPeer(name, backend_port=sim.port, certs=certs) for name in names}
    yield made
    for peer in made.values():
        peer.close()


def md5_keys(trace: str, secret: str) -> list[str]:
    """The MD5 keys `ami` computed: one per ``Challenge:`` it received."""
    return [hashlib.md5((c + secret).encode()).hexdigest() for c in re.findall(r"^<< Challenge: (\S+)", trace, re.M)]


def assert_no_secret(run: Run, secrets: list[str], auth: str) -> None:
    everything = run.stdout + run.stderr
    shown = f"ami {' '.join(run.args)} -> {run.returncode}\nstdout={run.stdout[:500]!r}\nstderr={run.stderr[:1500]!r}"
    for secret in secrets:
        assert secret not in everything, shown
        if auth == "md5":
            for key in md5_keys(run.stderr, secret):
                assert key not in everything, shown
    assert "Traceback" not in run.stdout, shown


# -- every command, every situation ---------------------------------------------------


SITUATIONS = ["ok", "wrong-secret", "refused", "tls-failure", "timeout"]


def situation_run(situation: str, command: str, auth: str, sim, peers) -> Run:
    secret = WRONG if situation == "wrong-secret" else SECRET
    port = {"ok": sim.port, "wrong-secret": sim.port}.get(situation)
    extra: list[str] = []
    if situation == "refused":
        port = peers["refused"].port
    elif situation == "tls-failure":
        port = peers["tls-untrusted"].port
        extra = ["--tls"]
    elif situation == "timeout":
        port = peers["trickle"].port
    args = ["--debug", "--auth", auth, "--timeout", TIMEOUT, *extra, *COMMANDS[command].args]
    return run_timed(args, port, user={"AMI_USER": "admin", "AMI_SECRET": secret})


@pytest.fixture(scope="module")
def situation_runs(sim, peers):
    jobs = [(s, c, a) for s in SITUATIONS for c in COMMANDS for a in ("plain", "md5")]
    with ThreadPoolExecutor(16) as pool:  # in-process runs, mostly waiting on their peer
        futures = {job: pool.submit(situation_run, *job, sim, peers) for job in jobs}
        runs = {job: future.result() for job, future in futures.items()}
    # A run that ended otherwise than its situation says (a deadline missed
    # while sharing the machine with the others) is run again, alone.
    for job, run in runs.items():
        if expected_code(job[0], job[1]) not in (None, run.returncode):
            runs[job] = situation_run(*job, sim, peers)
    return runs


def expected_code(situation: str, command: str) -> int | None:
    if situation == "ok":
        return 0
    if situation == "wrong-secret":
        return 2 if command == "login-test" else ExitCode.AUTH
    return None


@pytest.mark.parametrize("auth", ["plain", "md5"])
@pytest.mark.parametrize("command", list(COMMANDS))
@pytest.mark.parametrize("situation", SITUATIONS)
def test_secret_never_shown(situation_runs, situation: str, command: str, auth: str) -> None:
    run = situation_runs[(situation, command, auth)]
    assert_no_secret(run, [SECRET, WRONG], auth)
    if situation == "ok":
        assert run.returncode == 0, run
        # The trace is there, with the secret masked: the check looked at real text.
        masked = "Secret: ********" if auth == "plain" else "Key: ********"
        assert masked in run.stderr, run.stderr[:2000]
        if auth == "md5":
            assert md5_keys(run.stderr, SECRET), "no Challenge in the trace"
    elif situation == "wrong-secret":
        assert run.returncode == expected_code(situation, command), run
        assert "Authentication failed" in run.stdout + run.stderr


def test_md5_keeps_the_secret_off_the_wire(sim) -> None:
    """With --auth md5 the secret never crosses the network; with plain it does (use TLS)."""
    peer = FaultPeer("non-utf8", backend_port=sim.port)  # a relay that records what clients send
    try:
        md5 = run_timed(["--auth", "md5", "raw", "Ping"], peer.port)
        md5_bytes = bytes(peer.from_clients)
        plain = run_timed(["--auth", "plain", "raw", "Ping"], peer.port)
    finally:
        peer.close()
    assert md5.returncode == 0 and plain.returncode == 0
    assert b"Key: " in md5_bytes and SECRET.encode() not in md5_bytes
    assert SECRET.encode() in bytes(peer.from_clients)[len(md5_bytes) :]


# -- other ways to give the secret ------------------------------------------------------


@pytest.mark.parametrize("source", ["env", "secret-file", "secret-stdin", "profile"])
def test_secret_sources_never_show_it(sim, tmp_path, source: str) -> None:
    for secret, code in ((SECRET, 0), (WRONG, ExitCode.AUTH)):
        env: dict[str, str] = {"AMI_USER": "admin"}
        args = ["--debug", "--timeout", TIMEOUT]
        stdin = b""
        if source == "env":
            env["AMI_SECRET"] = secret
        elif source == "secret-file":
            path = tmp_path / "secret"
            path.write_text(secret + "\n")
            path.chmod(0o600)
            args += ["--secret-file", str(path)]
        elif source == "secret-stdin":
            args += ["--secret-file", "-"]
            stdin = (secret + "\n").encode()
        else:
            cfg = tmp_path / "config"
            cfg.write_text(f"[default]\nuser = admin\nsecret = {secret}\n")
            cfg.chmod(0o600)
            env["AMI_CONFIG"] = str(cfg)
        run = run_timed([*args, "raw", "Ping"], sim.port, env=env, user=None, input=stdin)
        assert run.returncode == code, run
        assert_no_secret(run, [secret], "plain")


def test_no_option_takes_the_secret_on_the_command_line() -> None:
    # A secret in argv is visible to every user through ps: there is no --secret.
    proc = run_ami(["--secret", "s3cret-Admin", "raw", "Ping"])
    assert proc.returncode == ExitCode.USAGE
    assert "s3cret-Admin" not in proc.stdout + proc.stderr


# -- child processes ---------------------------------------------------------------------


def process_parents() -> dict[int, int]:
    """pid -> parent pid, of every process now."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        # pid (comm) state ppid ...: comm may hold spaces and parentheses.
        ppid = int(stat[stat.rindex(b")") + 2 :].split()[1])
        parents[int(entry)] = ppid
    return parents


def descendants(pid: int, parents: dict[int, int] | None = None) -> set[int]:
    """Every process below ``pid`` (children of children included), now or in ``parents``."""
    if parents is None:
        parents = process_parents()
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return fh.read().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return ""


@pytest.fixture(scope="module")
def watched(sim, peers, tmp_path_factory):
    """Every command at once, kept busy by a trickling peer (events: streaming), its process tree watched.

    -> command: (its own command line, {descendant pid: command line}).
    """
    secret_file = tmp_path_factory.mktemp("secret") / "secret"
    secret_file.write_text(SECRET + "\n")
    secret_file.chmod(0o600)
    procs = {}
    for command, cmd in COMMANDS.items():
        port = sim.port if command == "events" else peers["trickle"].port
        procs[command] = subprocess.Popen(
            [*ami_argv(), "--timeout", TIMEOUT, "--secret-file", str(secret_file), *cmd.args],
            env=ami_env(port, AMI_USER="admin"),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    own: dict[str, str] = {}
    seen: dict[str, dict[int, str]] = {command: {} for command in procs}
    deadline = time.monotonic() + 20
    try:
        while any(p.poll() is None for p in procs.values()) and time.monotonic() < deadline:
            parents = process_parents()  # one look at /proc for all the commands
            for command, proc in procs.items():
                if proc.poll() is not None:
                    continue
                own[command] = own.get(command) or cmdline(proc.pid)
                for child in descendants(proc.pid, parents):
                    seen[command].setdefault(child, cmdline(child))
            time.sleep(0.02)
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
            proc.wait()
    return {command: (own.get(command, ""), seen[command]) for command in procs}


@pytest.mark.parametrize("command", list(COMMANDS))
def test_no_child_process_and_no_secret_in_any_command_line(watched, command: str) -> None:
    """While `ami` works it has no child process; its own argv holds no secret (it came from a file)."""
    own, seen = watched[command]
    assert own and "--secret-file" in own and SECRET not in own
    assert all(SECRET not in line for line in seen.values()), seen
    assert seen == {}, f"ami {command} started child processes: {seen}"


# -- profile file permissions ------------------------------------------------------------


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660, 0o620, 0o606])
@pytest.mark.parametrize("command", list(COMMANDS))
def test_profile_readable_by_others_is_refused(sim, tmp_path, mode: int, command: str) -> None:
    cfg = tmp_path / "config"
    cfg.write_text(f"[default]\nport = {sim.port}\nuser = admin\nsecret = {SECRET}\n")
    cfg.chmod(mode)
    proc = run_ami(["--timeout", TIMEOUT, *COMMANDS[command].args], user=None, env={"AMI_CONFIG": str(cfg)})
    assert SECRET not in proc.stdout + proc.stderr
    if command == "login-test":
        # A configuration problem is UNKNOWN to a monitoring system.
        assert proc.returncode == PLUGIN_UNKNOWN and "readable by others" in proc.stdout, proc
        return
    assert proc.returncode == ExitCode.CONFIG, proc
    assert proc.stderr.startswith("ami: error: ") and proc.stderr.count("\n") == 1
    assert "readable by others" in proc.stderr and "chmod 600" in proc.stderr
    assert proc.stdout == ""


@pytest.mark.parametrize("mode", [0o600, 0o400])
def test_private_profile_works(sim, tmp_path, mode: int) -> None:
    cfg = tmp_path / "config"
    cfg.write_text(f"[default]\nport = {sim.port}\nuser = admin\nsecret = {SECRET}\n")
    cfg.chmod(mode)
    for command in ("login-test", "raw", "command"):
        proc = run_ami(["--timeout", "5", *COMMANDS[command].args], user=None, env={"AMI_CONFIG": str(cfg)})
        assert proc.returncode == 0, proc


def test_readable_profile_without_a_secret_is_fine(sim, tmp_path) -> None:
    # Only a file that holds a secret must be private.
    cfg = tmp_path / "config"
    cfg.write_text(f"[default]\nport = {sim.port}\nuser = admin\n")
    cfg.chmod(0o644)
    proc = run_ami(["raw", "Ping"], user={"AMI_SECRET": SECRET}, env={"AMI_CONFIG": str(cfg)})
    assert proc.returncode == 0, proc


# -- TLS verification ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tls_peers(sim, certs):
    made = {name: FaultPeer(name, backend_port=sim.port, certs=certs) for name in ("tls-untrusted", "tls-wrong-name")}
    yield made
    for peer in made.values():
        peer.close()


@pytest.mark.parametrize(
    "peer_name, args, env, code",
    [
        ("tls-untrusted", [], {}, ExitCode.TLS),
        ("tls-untrusted", ["--ca-file", "{good}"], {}, 0),
        ("tls-untrusted", ["--insecure"], {}, 0),
        ("tls-untrusted", [], {"AMI_INSECURE": "1"}, 0),
        ("tls-untrusted", ["--ca-file", "{other}"], {}, ExitCode.TLS),
        ("tls-wrong-name", ["--ca-file", "{other}"], {}, ExitCode.TLS),
        ("tls-wrong-name", [], {}, ExitCode.TLS),
        ("tls-wrong-name", ["--insecure"], {}, 0),
    ],
    ids=[
        "self-signed",
        "ca-file",
        "insecure",
        "AMI_INSECURE",
        "other-ca",
        "wrong-name",
        "wrong-name-no-ca",
        "wrong-name-insecure",
    ],
)
def test_tls_verifies_unless_insecure(tls_peers, certs, peer_name, args, env, code) -> None:
    peer = tls_peers[peer_name]
    logins = peer.logins
    args = [a.replace("{good}", certs["good"][0]).replace("{other}", certs["other"][0]) for a in args]
    run = run_timed(["--tls", "--timeout", "5", *args, "raw", "Ping"], peer.port, env=env)
    assert run.returncode == code, run
    assert SECRET not in run.stdout + run.stderr
    if code == ExitCode.TLS:
        assert run.stderr.startswith("ami: error: TLS certificate of 127.0.0.1:") and run.stderr.count("\n") == 1
        assert "--insecure" in run.stderr  # says how to proceed
        assert peer.logins == logins  # nothing, the secret least of all, was sent to an unverified peer
    else:
        assert "Ping: Pong" in run.stdout


def test_tls_from_profile(tls_peers, certs, tmp_path) -> None:
    peer = tls_peers["tls-untrusted"]
    cfg = tmp_path / "config"
    cfg.write_text(
        f"[default]\nport = {peer.port}\ntls = yes\nca_file = {certs['good'][0]}\nuser = admin\nsecret = {SECRET}\n"
    )
    cfg.chmod(0o600)
    proc = run_ami(["raw", "Ping"], user=None, env={"AMI_CONFIG": str(cfg)})
    assert proc.returncode == 0, proc
    cfg.write_text(f"[default]\nport = {peer.port}\ntls = yes\nuser = admin\nsecret = {SECRET}\n")
    proc = run_ami(["raw", "Ping"], user=None, env={"AMI_CONFIG": str(cfg)})
    assert proc.returncode == ExitCode.TLS, proc


def test_certificates_exist(certs) -> None:
    for cert, key in certs.values():
        assert Path(cert).read_text().startswith("-----BEGIN CERTIFICATE-----")
        assert Path(key).exists()


def test_the_process_watch_sees_children() -> None:
    # The child-process check above means something only if it can see one.
    proc = subprocess.Popen(["sh", "-c", "sleep 2 & wait"])
    try:
        deadline = time.monotonic() + 2
        found: set[int] = set()
        while not found and time.monotonic() < deadline:
            found = descendants(proc.pid)
            time.sleep(0.02)
        assert found and "sleep 2" in cmdline(next(iter(found)))
    finally:
        for pid in found:
            try:
                os.kill(pid, 9)
            except OSError:
                pass
        proc.kill()
        proc.wait()
