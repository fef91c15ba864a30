#!/usr/bin/env python3
"""Benchmark: one ``ami`` command over a fleet of 50 simulated PBXs.

50 sims run in this process, each on its own port, named as one fleet with
``-H``.  Each client is a separate ``ami`` process, measured whole (wall
time from start to exit, peak RSS sampled from /proc):

* ``ami queues --json`` over all 50, against the same over one of them:
  targets under 1.5 s wall and under 3 times one PBX's time;
* ``ami events --json`` merging 50 streams: every sim sends N recorded
  Asterisk 22 events (the sim's load mode) once all 50 sessions are logged
  in; target 100,000 events/s or more in total, counted from the start of
  the load to the exit of ``ami`` (``--count`` is the fleet's total).

Peak RSS target: under 150 MB for every client.  The median of the runs is
reported.

Usage::

    python bench/bench_fleet.py                      # 50 sims, 5 runs, 20,000 events per sim
    python bench/bench_fleet.py --sims 10 --runs 1 --events 5000
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from bench_events import LOGIN_EVENTS, SECRET, USER, _PeakRss, ami_command, transcript_blocks  # noqa: E402

from amicli.sim import SimServer  # noqa: E402
from amicli.sim.events import start_load  # noqa: E402


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, float, int]:
    """(wall seconds, peak RSS MB, exit code) of one ``ami`` run, its output thrown away."""
    started = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    peak = _PeakRss(proc.pid)
    _, err = proc.communicate(timeout=120)
    elapsed = time.perf_counter() - started
    peak.stop()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv[:6])}... exited {proc.returncode}: {err.decode(errors='replace')[:500]}")
    return elapsed, peak.kb / 1024, proc.returncode


def bench_queues(hosts: list[str], env: dict[str, str], runs: int) -> dict:
    fleet = [*ami_command(), "-H", ",".join(hosts), "queues", "--json"]
    one = [*ami_command(), "-H", hosts[0], "queues", "--json"]
    fleet_runs, one_runs = [], []
    for _ in range(runs):
        one_runs.append(timed(one, env))
        fleet_runs.append(timed(fleet, env))
    return {
        "fleet_wall": statistics.median(r[0] for r in fleet_runs),
        "one_wall": statistics.median(r[0] for r in one_runs),
        "fleet_rss": statistics.median(r[1] for r in fleet_runs),
    }


def logged_in(server: SimServer, before: set) -> list:
    with server.lock:
        return [s for s in server.sessions if s not in before and s.logged_in]


def bench_events(servers: list[SimServer], hosts: list[str], env: dict[str, str], events: int, blocks) -> dict:
    """One merged stream: start ami, wait for every session, load every sim, wait for the exit."""
    befores = []
    for server in servers:
        with server.lock:
            befores.append(set(server.sessions))
    total = len(servers) * (events + LOGIN_EVENTS)
    argv = [*ami_command(), "-H", ",".join(hosts), "events", "--json", "--count", str(total)]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    sessions: list = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        sessions = [logged_in(server, before) for server, before in zip(servers, befores, strict=True)]
        if all(sessions):
            break
        time.sleep(0.01)
    else:
        proc.kill()
        raise SystemExit(f"not every PBX was logged in: {proc.stderr.read().decode() if proc.stderr else ''}")
    time.sleep(0.3)  # the login events are written
    peak = _PeakRss(proc.pid)
    watchdog = threading.Timer(120, proc.kill)
    watchdog.start()
    started = time.perf_counter()
    for server, session in zip(servers, sessions, strict=True):
        start_load(getattr(server, "pbx", server), events, session[:1], blocks)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    watchdog.cancel()
    peak.stop()
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        err = proc.stderr.read() if proc.stderr else b""
        raise SystemExit(f"ami events exited {code}: {err.decode(errors='replace')[:500]}")
    total = len(servers) * events
    # CPU per event says what the machine's load does not: the rate on a core of its own.
    cpu = usage.ru_utime + usage.ru_stime
    return {"rate": total / elapsed, "seconds": elapsed, "rss": peak.kb / 1024, "cpu_us": cpu / total * 1e6}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sims", type=int, default=50, help="PBXs in the fleet [50]")
    parser.add_argument("--runs", type=int, default=5, help="runs of each measurement; the median is reported [5]")
    parser.add_argument("--events", type=int, default=20_000, help="events each sim sends [20,000]")
    args = parser.parse_args()

    servers = [SimServer("127.0.0.1", 0).start() for _ in range(args.sims)]
    hosts = [f"127.0.0.1:{server.port}" for server in servers]
    env = {k: v for k, v in os.environ.items() if not k.startswith("AMI_")}
    env.update(AMI_USER=USER, AMI_SECRET=SECRET, AMI_CONFIG=os.devnull)
    blocks = transcript_blocks()
    print(
        f"{args.sims} sims, {args.runs} run(s), Python {sys.version.split()[0]}, {os.cpu_count()} CPUs", file=sys.stderr
    )
    try:
        queues = bench_queues(hosts, env, args.runs)
        print(
            f"  queues: fleet {queues['fleet_wall']:.3f} s, one PBX {queues['one_wall']:.3f} s, "
            f"{queues['fleet_rss']:.1f} MB",
            file=sys.stderr,
        )
        streams = []
        for run in range(args.runs):
            result = bench_events(servers, hosts, env, args.events, blocks)
            streams.append(result)
            print(
                f"  events run {run + 1}: {result['rate']:,.0f} events/s, {result['rss']:.1f} MB, "
                f"{result['cpu_us']:.2f} us CPU/event",
                file=sys.stderr,
            )
    finally:
        for server in servers:
            server.close()
    rate = statistics.median(r["rate"] for r in streams)
    cpu_us = statistics.median(r["cpu_us"] for r in streams)
    rss = max(queues["fleet_rss"], statistics.median(r["rss"] for r in streams))
    ratio = queues["fleet_wall"] / queues["one_wall"]
    checks = [
        (
            f"ami queues --json over {args.sims} PBXs (wall, median)",
            f"{queues['fleet_wall']:.3f} s",
            "< 1.5 s",
            queues["fleet_wall"] < 1.5,
        ),
        ("... against one PBX", f"{queues['one_wall']:.3f} s ({ratio:.2f}x)", "< 3x", ratio < 3),
        (f"ami events --json merging {args.sims} streams", f"{rate:,.0f} events/s", ">= 100,000", rate >= 100_000),
        ("peak RSS (median)", f"{rss:.1f} MB", "< 150 MB", rss < 150),
    ]
    print(
        f"CPU per merged event: {cpu_us:.2f} us (on a free core: {1e6 / cpu_us:,.0f} events/s); "
        f"load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs",
        file=sys.stderr,
    )
    print("\n| measure | result | target |")
    print("| --- | ---: | --- |")
    for name, value, target, ok in checks:
        print(f"| {name} | {value} | {target} {'ok' if ok else 'MISSED'} |")
    return 0 if all(ok for *_, ok in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
