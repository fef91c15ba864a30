#!/usr/bin/env python3
"""Benchmark: `ami` against a PBX that is still booting, many times over.

Each run starts a fresh boot fault peer (``tests/bootpeer.py``: the login is
accepted at once, no FullyBooted with it, ``Invalid/unknown command`` for
module actions and "No such command" for core CLI commands until shortly
after FullyBooted), then runs one of ``ami command 'core show version'``,
``ami queues`` and ``ami channels`` with ``--timeout 10`` at once.  The boot
takes a random 0-2.5 s (the recorded boots ended 0.02, 1.2 and 2.0 s after
the login), the CLI lags a random 0-0.5 s behind FullyBooted, and
the user may or may not read system events (half of the runs never see
FullyBooted, only SuccessfulAuth after the first reply); for ``channels`` CoreShowChannels is a module action in half
of the runs, so its retry is exercised too.

A run passes when `ami` exits 0 with the expected data on stdout and nothing
on stderr.  The target is every run of every command.

Usage:
    python bench/boot_retry.py [--runs 100] [--jobs 4] [--seed 1]
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from bootpeer import CORE_ACTIONS, BootPeer  # noqa: E402
from util import ADMIN, ami_argv, ami_env  # noqa: E402

CASES = {
    "command": (["command", "core show version"], "Asterisk 22.10.1 built by"),
    "queues": (["queues", "--json"], '"Queue":"support"'),
    "channels": (["channels", "--json"], '"Channel":"PJSIP/alice-00000001"'),
}


def one_run(case: str, rng: random.Random) -> tuple[bool, float, str]:
    args, expected = CASES[case]
    core = CORE_ACTIONS
    if case == "channels" and rng.random() < 0.5:
        core = CORE_ACTIONS - {"coreshowchannels"}
    # A session that sees neither FullyBooted nor SuccessfulAuth has no sign of a boot at all
    # (a user with read=call only): not one of these runs.
    system_reader = rng.random() < 0.5
    peer = BootPeer(
        boot_after=rng.uniform(0, 2.5),
        cli_lag=rng.uniform(0, 0.5),
        system_reader=system_reader,
        auth_event=not system_reader or rng.random() < 0.5,
        core_actions=core,
    )
    started = time.monotonic()
    try:
        proc = subprocess.run(
            [*ami_argv(), "--timeout", "10", *args],
            env=ami_env(peer.port, **ADMIN),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=30,
        )
    finally:
        peer.close()
    elapsed = time.monotonic() - started
    out, err = proc.stdout.decode(), proc.stderr.decode()
    ok = proc.returncode == 0 and expected in out and err == ""
    return ok, elapsed, "" if ok else f"exit {proc.returncode}: {err.strip()[:200]}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100, help="runs per command [100]")
    parser.add_argument("--jobs", type=int, default=min(4, os.cpu_count() or 1), help="runs at once [4]")
    parser.add_argument("--seed", type=int, default=1, help="random seed [1]")
    opts = parser.parse_args()
    failures = 0
    for case in CASES:
        rngs = [random.Random(f"{opts.seed}-{case}-{i}") for i in range(opts.runs)]
        with ThreadPoolExecutor(opts.jobs) as pool:
            results = list(pool.map(lambda rng, case=case: one_run(case, rng), rngs))
        passed = sum(ok for ok, _, _ in results)
        times = sorted(t for _, t, _ in results)
        print(
            f"{case:9} {passed}/{opts.runs} succeeded; wall time median {times[len(times) // 2]:.2f} s, "
            f"max {times[-1]:.2f} s"
        )
        for ok, _, why in results:
            if not ok:
                print(f"  failed: {why}")
        failures += opts.runs - passed
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
