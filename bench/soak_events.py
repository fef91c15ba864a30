#!/usr/bin/env python3
"""Soak test: ``ami events --json > /dev/null`` for a long time at full rate; memory must stay flat.

A local AMI server (the sim, in this process) logs ``ami events`` in and
then sends recorded Asterisk 22 events (byte for byte, cycled) as fast as
the socket takes them, for the whole run.  ``ami`` runs with ``--timeout
SECONDS`` (it stops by itself and exits 0) and its output goes to
/dev/null.  Every second the process's RSS is read from /proc; at the end
the script reports the event rate, the CPU used, and the RSS at the start,
at the end and at its peak, with the slope over the run (a leak shows as a
slope that is not ~0).

Not a test (it runs for 10 minutes by default); not run in CI.

Usage::

    python bench/soak_events.py                    # 600 s
    python bench/soak_events.py --seconds 60       # a quick look
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from amicli.sim import SimServer  # noqa: E402

USER, SECRET = "admin", "s3cret-Admin"


def event_blob() -> tuple[bytes, int]:
    """About 1 MB of whole recorded events, and how many events it holds."""
    try:
        from amicli.sim.events import load_blob, recorded_blocks

        return load_blob(recorded_blocks())
    except ImportError:  # an older sim without the load mode: a few events of our own
        blocks = [
            b"Event: Newchannel\r\nPrivilege: call,all\r\nTimestamp: 1795775748.875622\r\nSystemName: pbx\r\n"
            b"Channel: Local/100@default-00000008;1\r\nChannelState: 0\r\nChannelStateDesc: Down\r\n"
            b"CallerIDNum: <unknown>\r\nCallerIDName: <unknown>\r\nUniqueid: pbx-1795775748.16\r\n\r\n",
            b"Event: Hangup\r\nPrivilege: call,all\r\nTimestamp: 1795775749.104000\r\nSystemName: pbx\r\n"
            b"Channel: Local/100@default-00000008;1\r\nCause: 16\r\nCause-txt: Normal Clearing\r\n\r\n",
        ]
        cycle = b"".join(blocks)
        reps = (1 << 20) // len(cycle)
        return cycle * reps, len(blocks) * reps


def ami_command() -> list[str]:
    exe = shutil.which("ami", path=os.path.dirname(sys.executable)) or shutil.which("ami")
    return [exe] if exe else [sys.executable, "-m", "amicli"]


def status_kb(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of ``pid`` in kB (empty once it has exited)."""
    out: dict[str, int] = {}
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith(("VmRSS:", "VmHWM:")):
                    out[line.split(":")[0]] = int(line.split()[1])
    except (OSError, ValueError):
        pass
    return out


class Flood(threading.Thread):
    """Writes the blob to one session until stopped; counts the events written."""

    def __init__(self, session, blob: bytes, per_blob: int) -> None:
        super().__init__(name="soak-flood", daemon=True)
        self.session, self.blob, self.per_blob = session, blob, per_blob
        self.sent = 0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set() and self.session.alive:
            self.session.write(self.blob)  # blocks while ami does not read: the rate is ami's
            if self.session.alive:
                self.sent += self.per_blob


def slope_mb_per_min(samples: list[tuple[float, float]]) -> float:
    """Least-squares slope of RSS (MB) against time (minutes)."""
    if len(samples) < 2:
        return 0.0
    xs = [t / 60 for t, _ in samples]
    ys = [mb for _, mb in samples]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / den if den else 0.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=600.0, help="how long ami events runs [600]")
    parser.add_argument("--every", type=float, default=1.0, help="RSS sampling interval in seconds [1]")
    parser.add_argument("--quiet", action="store_true", help="no progress line every minute")
    args = parser.parse_args()

    blob, per_blob = event_blob()
    server = SimServer("127.0.0.1", 0).start()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AMI_")}
    env.update(AMI_USER=USER, AMI_SECRET=SECRET, AMI_PORT=str(server.port), AMI_CONFIG=os.devnull)
    argv = [*ami_command(), "events", "--json", "--timeout", f"{args.seconds:g}"]
    print(
        f"soak: {' '.join(argv[-4:])} > /dev/null for {args.seconds:g} s; {per_blob} events per "
        f"{len(blob) // 1024} kB write; Python {sys.version.split()[0]}, {os.cpu_count()} CPUs",
        file=sys.stderr,
        flush=True,
    )
    with server.lock:
        before = set(server.sessions)
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    session = None
    deadline = time.monotonic() + 20
    while session is None and time.monotonic() < deadline:
        with server.lock:
            new = [s for s in server.sessions if s not in before and s.logged_in]
        session = new[0] if new else None
        if session is None:
            time.sleep(0.005)
    if session is None:
        proc.kill()
        server.close()
        print("soak: ami events never logged in", file=sys.stderr, flush=True)
        return 1
    flood = Flood(session, blob, per_blob)
    started = time.monotonic()
    flood.start()
    samples: list[tuple[float, float]] = []
    peak_kb = 0
    next_sample = started + args.every
    next_report = started + 60
    usage = None
    code = None
    while code is None:
        time.sleep(max(0.0, min(next_sample - time.monotonic(), 0.2)))
        pid, wstatus, usage = os.wait4(proc.pid, os.WNOHANG)  # reaped here: wait4 gives its CPU time
        if pid:
            code = os.waitstatus_to_exitcode(wstatus)
            proc.returncode = code
            break
        if time.monotonic() < next_sample:
            continue
        next_sample += args.every
        now = time.monotonic()
        status = status_kb(proc.pid)
        if "VmRSS" in status:
            samples.append((now - started, status["VmRSS"] / 1024))
            peak_kb = max(peak_kb, status.get("VmHWM", 0))
        if not args.quiet and now >= next_report and samples:
            next_report += 60
            print(
                f"soak: {now - started:5.0f} s  {flood.sent / (now - started):>10,.0f} events/s  "
                f"RSS {samples[-1][1]:.1f} MB (peak {peak_kb / 1024:.1f} MB)",
                file=sys.stderr,
                flush=True,
            )
    elapsed = time.monotonic() - started
    flood.stop.set()
    server.close()
    flood.join(5)
    err = proc.stderr.read().decode("utf-8", "replace") if proc.stderr else ""
    dropped = sum(int(n) for n in re.findall(r"(\d+) events? dropped in all", err))

    rss = [mb for _, mb in samples]
    settled = [(t, mb) for t, mb in samples if t >= 10] or samples  # after start-up
    rows = [
        ("duration", f"{elapsed:.0f} s"),
        ("events sent to ami", f"{flood.sent:,}"),
        ("events/s", f"{flood.sent / elapsed:,.0f}"),
        ("events dropped by ami (output too slow)", f"{dropped:,}"),
        ("exit status", f"{code}"),
        ("RSS first sample (1 s)", f"{rss[0]:.1f} MB" if rss else "-"),
        ("RSS last sample", f"{rss[-1]:.1f} MB" if rss else "-"),
        ("RSS min / max of the samples", f"{min(rss):.1f} / {max(rss):.1f} MB" if rss else "-"),
        ("peak RSS (VmHWM)", f"{peak_kb / 1024:.1f} MB"),
        ("RSS slope after 10 s", f"{slope_mb_per_min(settled):+.3f} MB/min"),
    ]
    if usage is not None:
        cpu = usage.ru_utime + usage.ru_stime
        rows.insert(3, ("CPU per event (ami)", f"{cpu / max(1, flood.sent) * 1e6:.2f} us"))
    print("\n| soak: ami events --json > /dev/null | |")
    print("| --- | ---: |")
    for name, value in rows:
        print(f"| {name} | {value} |")
    if err.strip():
        print(f"\nami stderr: {err.strip()}", file=sys.stderr, flush=True)
    return 0 if code == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
