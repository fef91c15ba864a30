#!/usr/bin/env python3
"""Benchmark: how fast ``ami events --json`` takes a flood of real events.

A local AMI server (the sim, in this process) logs each client in and then
sends N recorded Asterisk 22 events, cycled from the transcripts
``busy-events-stream`` and ``events-call-lifecycle``, byte for byte, as fast
as the socket takes them (``SimLoad``).  Each client is a separate process,
measured whole, from the moment the load starts to its exit:

* ``ami events --json --count N > /dev/null``: parse, filter, write JSON Lines;
* panoramisk and asterisk-ami (PyPI), counting events and doing nothing else;
* a bare Python loop that only splits the stream into messages (the floor).

Reported: events per second (median of the runs) and peak RSS.  The
libraries run from their own virtualenv (``--libs-python``), made with::

    python3 -m venv /tmp/benchvenv && /tmp/benchvenv/bin/pip install panoramisk asterisk-ami

Usage::

    python bench/bench_events.py                 # 1,000,000 events, 3 runs
    python bench/bench_events.py --events 100000 --runs 1
"""

from __future__ import annotations

import argparse
import json
import os
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
from amicli.sim.events import recorded_blocks, start_load  # noqa: E402

USER, SECRET = "admin", "s3cret-Admin"
#: Events the sim sends on login (FullyBooted, SuccessfulAuth): every client counts them too.
LOGIN_EVENTS = 2

FLOOR = r"""
import socket, sys
port, want = int(sys.argv[1]), int(sys.argv[2])
s = socket.create_connection(("127.0.0.1", port))
login = "Action: Login\r\nUsername: %s\r\nSecret: %s\r\nActionID: 1\r\n\r\n" % (sys.argv[3], sys.argv[4])
s.sendall(login.encode())
buf = b""
count = 0
while count < want:
    data = s.recv(262144)
    if not data:
        break
    parts = (buf + data).split(b"\r\n\r\n")
    buf = parts.pop()
    for part in parts:
        if part[:6] == b"Event:" or b"\r\nEvent:" in part[:64]:
            count += 1
print(count)
"""

PANORAMISK = r"""
import asyncio, sys
from panoramisk import Manager
port, want = int(sys.argv[1]), int(sys.argv[2])
count = 0
async def main():
    loop = asyncio.get_running_loop()
    done = loop.create_future()
    manager = Manager(loop=loop, host="127.0.0.1", port=port, username=sys.argv[3], secret=sys.argv[4])
    def on_event(manager, message):
        global count
        count += 1
        if count >= want and not done.done():
            done.set_result(None)
    manager.register_event("*", on_event)
    await manager.connect()
    await done
    manager.close()
asyncio.run(main())
print(count)
"""

ASTERISK_AMI = r"""
import sys, threading
from asterisk.ami import AMIClient
port, want = int(sys.argv[1]), int(sys.argv[2])
count = 0
done = threading.Event()
def on_event(event, source):
    global count
    count += 1
    if count >= want:
        done.set()
client = AMIClient(address="127.0.0.1", port=port, timeout=30)
client.add_event_listener(on_event)
client.login(username=sys.argv[3], secret=sys.argv[4])
done.wait()
print(count)
"""


def transcript_blocks() -> list[bytes]:
    """Every event of the two busy transcripts, exact bytes; the sim's own set if they are missing."""
    base = Path(os.environ.get("AMI_TRANSCRIPTS", REPO.parent / "shared" / "ami-transcripts"))
    if not base.is_dir():
        base = Path("/work/shared/ami-transcripts")
    blocks: list[bytes] = []
    for name in ("busy-events-stream", "events-call-lifecycle"):
        path = base / "asterisk-22.10.1" / f"{name}.jsonl"
        if not path.is_file():
            return recorded_blocks()
        stream = b""
        for line in path.read_text(encoding="utf-8").splitlines():
            entry = json.loads(line)
            if entry.get("dir") == "server":
                stream += entry["data"].encode("latin-1")
        stream = stream.split(b"\r\n", 1)[1]  # the banner
        for part in stream.split(b"\r\n\r\n"):
            if part.startswith(b"Event:"):
                blocks.append(part + b"\r\n\r\n")
    return blocks


def ami_command() -> list[str]:
    exe = shutil.which("ami", path=os.path.dirname(sys.executable)) or shutil.which("ami")
    return [exe] if exe else [sys.executable, "-m", "amicli"]


class _PeakRss(threading.Thread):
    """The child's peak RSS (VmHWM), sampled until it exits.

    ``wait4``'s ru_maxrss cannot be used: a child started with vfork counts
    this (much larger) process's memory as its own peak.  VmHWM belongs to
    the process image after exec, and a streaming client's peak is reached
    early and held, so sampling every 10 ms sees it.
    """

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.path = f"/proc/{pid}/status"
        self.kb = 0
        self._done = threading.Event()
        self.start()

    def run(self) -> None:
        while not self._done.wait(0.01):
            try:
                with open(self.path, encoding="ascii") as fh:
                    for line in fh:
                        if line.startswith("VmHWM:"):
                            self.kb = max(self.kb, int(line.split()[1]))
                            break
            except (OSError, ValueError):
                return

    def stop(self) -> None:
        self._done.set()
        self.join()


def run_one(server: SimServer, argv: list[str], events: int, blocks: list[bytes], env: dict[str, str]) -> dict:
    """Start one client, load it once it is logged in, wait for it: rate and peak RSS."""
    with server.lock:
        before = set(server.sessions)
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    session = None
    deadline = time.monotonic() + 20
    while session is None and time.monotonic() < deadline:
        with server.lock:
            new = [s for s in server.sessions if s not in before and s.logged_in]
        if new:
            session = new[0]
        else:
            time.sleep(0.005)
    if session is None:
        proc.kill()
        raise SystemExit(f"{argv[0]}: never logged in: {proc.stderr.read().decode() if proc.stderr else ''}")
    # Let the client finish its own start-up (the events it got on login).
    time.sleep(0.2)
    peak = _PeakRss(proc.pid)
    # A client that lost events would wait for ever: give up after a while.
    watchdog = threading.Timer(max(60.0, events / 5000), proc.kill)
    watchdog.start()
    started = time.perf_counter()
    start_load(server.pbx, events, [session], blocks)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    watchdog.cancel()
    peak.stop()
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode("utf-8", "replace") if proc.stderr else ""
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv[:3])}... exited {proc.returncode}: {err.strip()}")
    cpu = usage.ru_utime + usage.ru_stime
    return {
        "rate": events / elapsed,
        "seconds": elapsed,
        "rss_mb": peak.kb / 1024,
        "cpu_us": cpu / events * 1e6,
        "stderr": err.strip(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="events per run [1,000,000]")
    parser.add_argument("--runs", type=int, default=3, help="runs per client; the median is reported [3]")
    parser.add_argument(
        "--libs-python",
        default="/tmp/benchvenv/bin/python",
        help="a Python with panoramisk and asterisk-ami installed [/tmp/benchvenv/bin/python]",
    )
    parser.add_argument(
        "--only",
        choices=["ami", "floor", "panoramisk", "asterisk-ami"],
        action="append",
        help="run only these clients (repeatable)",
    )
    args = parser.parse_args()

    blocks = transcript_blocks()
    server = SimServer("127.0.0.1", 0).start()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AMI_")}
    env.update(AMI_USER=USER, AMI_SECRET=SECRET, AMI_PORT=str(server.port), AMI_CONFIG=os.devnull)
    port = str(server.port)
    total = str(args.events + LOGIN_EVENTS)
    clients: dict[str, list[str]] = {
        "ami events --json > /dev/null": [*ami_command(), "events", "--json", "--count", total],
        "bare split loop (floor)": [sys.executable, "-c", FLOOR, port, total, USER, SECRET],
    }
    libs = args.libs_python
    if Path(libs).exists():
        clients["panoramisk (count only)"] = [libs, "-c", PANORAMISK, port, total, USER, SECRET]
        clients["asterisk-ami (count only)"] = [libs, "-c", ASTERISK_AMI, port, total, USER, SECRET]
    else:
        print(f"note: {libs} not found: panoramisk and asterisk-ami are skipped", file=sys.stderr)
    if args.only:
        keys = {"ami": "ami events", "floor": "bare", "panoramisk": "panoramisk", "asterisk-ami": "asterisk-ami"}
        clients = {k: v for k, v in clients.items() if any(k.startswith(keys[o]) for o in args.only)}

    print(
        f"{args.events:,} events ({len(blocks)} recorded shapes, {sum(map(len, blocks)) // len(blocks)} bytes "
        f"on average), {args.runs} run(s) each, Python {sys.version.split()[0]}, {os.cpu_count()} CPUs",
        file=sys.stderr,
    )
    results: dict[str, list[dict]] = {name: [] for name in clients}
    try:
        for run in range(args.runs):
            for name, argv in clients.items():
                result = run_one(server, argv, args.events, blocks, env)
                results[name].append(result)
                print(
                    f"  run {run + 1}: {name}: {result['rate']:,.0f} events/s, {result['rss_mb']:.1f} MB, "
                    f"{result['cpu_us']:.2f} us CPU/event" + (f"  [{result['stderr']}]" if result["stderr"] else ""),
                    file=sys.stderr,
                )
    finally:
        server.close()

    rows = []
    for name, runs in results.items():
        rate = statistics.median(r["rate"] for r in runs)
        rss = statistics.median(r["rss_mb"] for r in runs)
        cpu = statistics.median(r["cpu_us"] for r in runs)
        rows.append((name, rate, rss, cpu))
    ami_rate = next((r for n, r, _, _ in rows if n.startswith("ami")), None)
    print(
        f"\n| client ({args.events:,} events, median of {args.runs}) | events/s | CPU per event | peak RSS "
        "| ami events is |"
    )
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, rate, rss, cpu in rows:
        ratio = f"{ami_rate / rate:.2f}x as fast" if ami_rate and not name.startswith("ami") else ""
        print(f"| {name} | {rate:,.0f} | {cpu:.2f} us | {rss:.1f} MB | {ratio} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
