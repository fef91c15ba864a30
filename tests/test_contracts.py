"""One contract for the whole command line: local problems, secrets, the same code for the same failure.

Each case runs `ami` (in this process, see inprocess.py; a few as real
processes) over real sockets against the sim or a fault peer (or nothing at
all for problems found before connecting) and checks stdout, stderr and the
exit code.
"""

from __future__ import annotations

import pytest
from util import run_ami, start_sim

from amicli.errors import ExitCode

NOT_UTF8 = "Jos\udce9"  # passed to the process as the bytes b"Jos\xe9"


@pytest.fixture(scope="module")
def sim13():
    server = start_sim(asterisk13=True)
    yield server
    server.close()


def one_error_line(proc, code: int, *parts: str) -> None:
    assert (proc.returncode, proc.stdout) == (code, ""), proc.stderr
    assert proc.stderr.startswith("ami: error: ") and proc.stderr.count("\n") == 1, proc.stderr
    assert "internal error" not in proc.stderr and "Traceback" not in proc.stderr
    for part in parts:
        assert part in proc.stderr


# -- local problems: one line, 7 (configuration) or 2 (usage), never "internal error" -------------


@pytest.mark.parametrize(
    "args, culprit",
    [
        (["originate", "--caller-id", NOT_UTF8, "PJSIP/alice", "--exten", "100"], r"argument 'Jos\xe9'"),
        (["raw", "Ping", f"X-Note={NOT_UTF8}"], r"argument 'X-Note=Jos\xe9'"),
        (["command", f"core show {NOT_UTF8}"], r"argument 'core show Jos\xe9'"),
    ],
)
def test_an_argument_that_is_not_utf8_is_a_usage_error(sim, args, culprit):
    proc = run_ami(args, port=sim.port)
    one_error_line(proc, ExitCode.USAGE, culprit, "is not UTF-8")


def test_an_environment_variable_that_is_not_utf8_is_a_configuration_error(sim):
    proc = run_ami(["raw", "Ping"], port=sim.port, env={"AMI_USER": NOT_UTF8})
    one_error_line(proc, ExitCode.CONFIG, "AMI_USER is not UTF-8")


@pytest.mark.parametrize(
    "args, culprit",
    [
        (["command", ""], "'CLI COMMAND': must not be empty"),
        (["command", " "], "'CLI COMMAND': must not be empty"),
        (["-H", "", "raw", "Ping"], "'--host': must not be empty"),
        (["-u", "", "raw", "Ping"], "'--user': must not be empty"),
        (["--secret-file", "", "raw", "Ping"], "'--secret-file': must not be empty"),
    ],
)
def test_empty_values_are_usage_errors(sim, args, culprit):
    one_error_line(run_ami(args, port=sim.port), ExitCode.USAGE, culprit)


def test_ca_file_missing_unreadable_or_not_a_certificate(sim, tmp_path):
    not_cert = tmp_path / "not-a-cert.pem"
    not_cert.write_text("hello\n")
    for path, says in (
        (tmp_path / "missing.pem", "No such file or directory"),
        (not_cert, "not a PEM certificate file"),
        (tmp_path, "Is a directory"),
    ):
        proc = run_ami(["--tls", "--ca-file", str(path), "raw", "Ping"], port=sim.port)
        one_error_line(proc, ExitCode.CONFIG, f"--ca-file {path}: {says}")


def test_ami_config_naming_a_missing_file(sim, tmp_path):
    proc = run_ami(["raw", "Ping"], port=sim.port, env={"AMI_CONFIG": str(tmp_path / "nope")})
    one_error_line(proc, ExitCode.CONFIG, f"AMI_CONFIG names {tmp_path / 'nope'}, which does not exist")


# -- secrets ---------------------------------------------------------------------------------------


def test_secret_file_option_beats_ami_secret(sim, tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("s3cret-Admin\n")
    secret.chmod(0o600)
    user = {"AMI_USER": "admin", "AMI_SECRET": "wrong-one"}
    proc = run_ami(["--secret-file", str(secret), "raw", "Ping"], port=sim.port, user=user)
    assert (proc.returncode, proc.stderr) == (0, "")
    assert "Ping: Pong" in proc.stdout
    # Without the option AMI_SECRET is used (and is wrong here).
    assert run_ami(["raw", "Ping"], port=sim.port, user=user).returncode == ExitCode.AUTH
    # AMI_SECRET beats AMI_SECRET_FILE (as the README says); the file alone is used.
    in_env = {"AMI_SECRET_FILE": str(secret)}
    assert run_ami(["raw", "Ping"], port=sim.port, user=user, env=in_env).returncode == ExitCode.AUTH
    alone = run_ami(["raw", "Ping"], port=sim.port, user={"AMI_USER": "admin"}, env=in_env)
    assert (alone.returncode, alone.stderr) == (0, "")


def test_secret_file_readable_by_others_is_refused_like_a_profile(sim, tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("s3cret-Admin\n")
    secret.chmod(0o644)
    proc = run_ami(["--secret-file", str(secret), "raw", "Ping"], port=sim.port, user={"AMI_USER": "admin"})
    one_error_line(proc, ExitCode.CONFIG, f"{secret} holds a secret and is readable by others (mode 644)")
    assert f"run: chmod 600 {secret}" in proc.stderr and "s3cret" not in proc.stderr


# -- the same failure, the same code ---------------------------------------------------------------


def test_permission_denied_is_4_in_raw_too(sim):
    monitor = {"AMI_USER": "monitor", "AMI_SECRET": "m0nitor"}
    proc = run_ami(["raw", "Originate", "Channel=PJSIP/alice", "Exten=100"], port=sim.port, user=monitor)
    assert proc.returncode == ExitCode.AUTH
    assert "Message: Permission denied" in proc.stdout  # the reply is still printed: it is raw's data
    assert proc.stderr == ""


def test_failing_cli_command_is_1_on_asterisk13_too(sim, sim13):
    for server in (sim, sim13):
        proc = run_ami(["command", "no such thing"], port=server.port)
        one_error_line(proc, ExitCode.ACTION_FAILED, "No such command 'no such thing'")
    ok = run_ami(["command", "core show version"], port=sim13.port)
    assert (ok.returncode, ok.stderr) == (0, "")


# -- login-test: always one status line and a Monitoring Plugins code -----------------------------


def plugin_line(proc, code: int, starts: str) -> None:
    assert (proc.returncode, proc.stderr) == (code, ""), proc.stderr
    assert proc.stdout.startswith(starts) and proc.stdout.count("\n") == 1, proc.stdout


@pytest.mark.parametrize(
    "args, env, says",
    [
        (["--timeout", "abc", "login-test"], {}, "AMI UNKNOWN - usage: Invalid value for '--timeout'"),
        (["login-test"], {"AMI_PORT": "abc"}, "AMI UNKNOWN - usage: Invalid value for '-P' / '--port'"),
        (["login-test"], {"AMI_AUTH": "sha"}, "AMI UNKNOWN - usage: Invalid value for '--auth'"),
        (["--tls", "--ca-file", "/nonexistent/ca.pem", "login-test"], {}, "AMI UNKNOWN - --ca-file /nonexistent"),
        (["login-test"], {"AMI_CONFIG": "/nonexistent/config"}, "AMI UNKNOWN - AMI_CONFIG names /nonexistent"),
        (["login-test", "-w", "3", "-c", "1"], {}, "AMI UNKNOWN - usage: -w 3 is above -c 1"),
        (["login-test", "-t", "abc"], {}, "AMI UNKNOWN - usage: Invalid value for '-t' / '--timeout'"),
        (["-u", NOT_UTF8, "login-test"], {}, r"AMI UNKNOWN - usage: argument 'Jos\xe9' is not UTF-8"),
    ],
)
def test_login_test_bad_options_and_environment_are_unknown(sim, args, env, says):
    plugin_line(run_ami(args, port=sim.port, env=env), 3, says)


def test_login_test_takes_plugin_options_after_the_subcommand(sim):
    proc = run_ami(["login-test", "-t", "5", "-H", "127.0.0.1", "-P", str(sim.port)], port=1)
    plugin_line(proc, 0, f"AMI OK - admin@127.0.0.1:{sim.port} logged in in ")


def test_login_test_perfdata_keeps_thresholds_as_given(sim):
    proc = run_ami(["login-test", "-w", "0.0005", "-c", "0.25"], port=sim.port)
    assert proc.stdout.rstrip("\n").endswith(";0.0005;0.25;0")
    assert proc.returncode in (1, 2)  # slower than 0.5 ms, whatever the machine


def test_login_test_never_counts_the_secret_prompt(sim):
    # A person types the secret at a terminal: the check's clock starts after it.
    import os
    import pty
    import subprocess
    import time

    from util import ami_argv, ami_env

    leader, follower = pty.openpty()
    env = ami_env(sim.port, AMI_USER="admin")
    proc = subprocess.Popen(
        [*ami_argv(), "login-test", "-w", "0.5", "-c", "1"],
        stdin=follower,
        stdout=subprocess.PIPE,
        stderr=follower,
        env=env,
    )
    os.close(follower)
    prompt = b""
    while b"secret" not in prompt:
        prompt += os.read(leader, 1024)
    time.sleep(1.5)  # the person types slowly
    os.write(leader, b"s3cret-Admin\n")
    out, _ = proc.communicate(timeout=20)
    os.close(leader)
    assert proc.returncode == 0, out
    assert out.decode().startswith("AMI OK - ")


def test_login_test_json_has_the_keys_its_help_lists(sim):
    import json
    import re

    help_text = " ".join(run_ami(["login-test", "--help"]).stdout.split())
    assert help_text.count("--json prints one object") == 1
    listed = help_text.split("--json prints one object: ", 1)[1].split(". ", 1)[0]
    ok = json.loads(run_ami(["login-test", "--json"], port=sim.port).stdout)
    refused = json.loads(run_ami(["login-test", "--json"], port=1).stdout)
    assert {"warning", "critical", "asterisk_version"} <= set(ok) and refused["status"] == "CRITICAL"
    for key in {*ok, *refused}:
        assert re.search(rf"\b{key}\b", listed), f"--json key {key!r} is not in the help: {listed}"


# -- check: the Monitoring Plugins column of the README's table, as login-test -------------------


@pytest.fixture(scope="module")
def fault_peers():
    from peers.faults import FaultPeer

    peers = {name: FaultPeer(name) for name in ("silent", "http")}
    yield peers
    for peer in peers.values():
        peer.close()


@pytest.mark.parametrize(
    "failure, args, env, status",
    [
        ("usage", ["--timeout", "abc"], {}, "UNKNOWN"),
        ("config", [], {"AMI_CONFIG": "/nonexistent/config"}, "UNKNOWN"),
        ("ca-file", ["--tls", "--ca-file", "/nonexistent/ca.pem"], {}, "UNKNOWN"),
        ("refused", ["-P", "1"], {}, "CRITICAL"),
        ("wrong-secret", [], {"AMI_SECRET": "wrong"}, "CRITICAL"),
        ("silent", ["--timeout", "0.5"], {}, "CRITICAL"),
        ("http", [], {}, "UNKNOWN"),
    ],
    ids=lambda v: v if isinstance(v, str) and v.islower() else None,
)
def test_check_has_login_tests_codes(sim, fault_peers, failure, args, env, status):
    port = fault_peers[failure].port if failure in fault_peers else sim.port
    code = {"CRITICAL": 2, "UNKNOWN": 3}[status]
    for check, name in ((["login-test"], "AMI"), (["check", "channels"], "AMI CHANNELS")):
        plugin_line(run_ami([*args, *check], port=port, env=env), code, f"{name} {status} - ")


def test_check_codes_of_its_own(sim):
    # Where the README's table gives `check` a code of its own: the PBX's refusal is UNKNOWN, a boot CRITICAL.
    from bootpeer import BootPeer

    caller = {"AMI_USER": "caller", "AMI_SECRET": "dial-0ut"}  # may not run CoreStatus
    plugin_line(run_ami(["check", "channels"], port=sim.port, user=caller), 3, "AMI CHANNELS UNKNOWN - ")
    proc = run_ami(["check", "queue", "nope"], port=sim.port)
    assert (proc.returncode, proc.stderr) == (3, "") and proc.stdout.startswith("AMI QUEUE UNKNOWN - ")
    with BootPeer(boot_after=30) as peer:
        proc = run_ami(["--timeout", "1", "check", "queue"], port=peer.port)
    plugin_line(proc, 2, "AMI QUEUE CRITICAL - PBX still booting")
