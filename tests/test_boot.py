"""`ami` against a PBX that is still booting (tests/bootpeer.py, shaped on the booting-* recordings).

The full 100-runs-per-command check is ``bench/boot_retry.py``; a handful of runs here.
"""

from __future__ import annotations

import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from bootpeer import CORE_ACTIONS, BootPeer
from util import json_lines, run_ami

from amicli.errors import ExitCode

CASES = {
    "command": (["command", "core show version"], "Asterisk 22.10.1 built by root"),
    "queues": (["queues", "--json"], '"Queue":"support"'),
    "channels": (["channels", "--json"], '"Channel":"PJSIP/alice-00000001"'),
}


def booting_run(case: str, system_reader: bool) -> tuple[subprocess.CompletedProcess, list[str]]:
    """`ami` against a PBX that boots 0.8 s after the first connection: the run, and the actions it sent."""
    # CoreShowChannels as a module action too, so that `channels` has something to wait for.
    core = CORE_ACTIONS - {"coreshowchannels"}
    peer = BootPeer(0.8, 0.3, system_reader=system_reader, core_actions=core, clock_from_first_connection=True)
    with peer:
        proc = run_ami(["--timeout", "10", *CASES[case][0]], port=peer.port)
    return proc, list(peer.actions)


@pytest.fixture(scope="module")
def booting_runs() -> dict[tuple[str, bool], tuple[subprocess.CompletedProcess, list[str]]]:
    """Every case, at once: each waits out its own PBX's boot (each PBX's clock starts with its first client)."""
    jobs = [(case, system_reader) for case in CASES for system_reader in (True, False)]
    with ThreadPoolExecutor(len(jobs)) as pool:
        futures = {job: pool.submit(booting_run, *job) for job in jobs}
        return {job: future.result() for job, future in futures.items()}


@pytest.mark.parametrize("system_reader", [True, False], ids=["sees-FullyBooted", "never-sees-FullyBooted"])
@pytest.mark.parametrize("case", list(CASES))
def test_booting_pbx_is_waited_for_and_asked_again(booting_runs, case, system_reader):
    proc, actions = booting_runs[(case, system_reader)]
    assert (proc.returncode, proc.stderr) == (0, "")
    assert CASES[case][1] in proc.stdout
    name = {"command": "Command", "queues": "QueueStatus", "channels": "CoreShowChannels"}[case]
    assert actions.count(name) > 1  # it failed at first, and was asked again


def test_core_cli_command_lagging_behind_fully_booted():
    # FullyBooted came with the login (the PBX booted 0 s ago), but the core CLI commands are not there yet.
    with BootPeer(boot_after=0, cli_lag=0.6) as peer:
        time.sleep(0.05)
        proc = run_ami(["--timeout", "10", "command", "core show version"], port=peer.port)
    assert (proc.returncode, proc.stderr) == (0, "")
    assert proc.stdout.startswith("Asterisk 22.10.1")


def test_still_booting_at_the_timeout_is_a_timeout():
    with BootPeer(boot_after=30) as peer:
        started = time.monotonic()
        proc = run_ami(["--timeout", "1", "queues"], port=peer.port)
        elapsed = time.monotonic() - started
    assert (proc.returncode, proc.stdout) == (ExitCode.TIMEOUT, "")
    assert proc.stderr.startswith("ami: error: PBX still booting: QueueStatus still fails after 1 s")
    assert "app_queue" not in proc.stderr and proc.stderr.count("\n") == 1
    assert elapsed < 5


def test_a_pbx_booted_long_ago_fails_at_once():
    # FullyBooted with the login and a long uptime: "No such command" is the user's, not the boot's.
    with BootPeer(boot_after=-60) as peer:
        started = time.monotonic()
        proc = run_ami(["--timeout", "10", "command", "core show nothing"], port=peer.port)
        queues = run_ami(["--timeout", "10", "queues", "--json"], port=peer.port)
        elapsed = time.monotonic() - started
    assert (proc.returncode, proc.stdout) == (ExitCode.ACTION_FAILED, "")
    assert proc.stderr == (
        "ami: error: No such command 'core show nothing' (type 'core show help core' for other possible commands)\n"
    )
    assert peer.actions.count("Command") == 1
    assert json_lines(queues.stdout)[0]["Queue"] == "support"
    assert elapsed < 5


def test_no_sign_of_a_boot_at_all_is_final_at_once():
    # Neither FullyBooted nor SuccessfulAuth reaches the session (read=call only, say): nothing shows a
    # boot, so the unknown action is the answer, after a short look for either.
    with BootPeer(boot_after=30, system_reader=False, auth_event=False) as peer:
        started = time.monotonic()
        proc = run_ami(["--timeout", "10", "queues"], port=peer.port)
        elapsed = time.monotonic() - started
    assert (proc.returncode, proc.stdout) == (ExitCode.ACTION_FAILED, "")
    assert proc.stderr.startswith("ami: error: QueueStatus: Invalid/unknown command") and "app_queue" in proc.stderr
    assert peer.actions.count("QueueStatus") == 1 and elapsed < 5
