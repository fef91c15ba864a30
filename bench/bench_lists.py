#!/usr/bin/env python3
"""Benchmark: big lists through the whole ``ami`` process.

A local server logs the client in and answers ``CoreShowChannels`` with
10,000 channels and ``QueueStatus`` with 200 queues of 50 members (and a
few waiting callers), in the exact shapes of the recorded Asterisk 22
(header order, ActionID placement, list start and Complete events).  Each
case runs the installed ``ami`` as a child process several times; the wall
time (spawn to exit), its CPU time (user + system: steadier than the wall
time on a busy machine) and the child's peak resident memory (``ru_maxrss``
from ``wait4``) are reported as medians.  stdout goes to a pipe that is
drained, as in ``ami ... | jq``.

Targets (2-core machine): 10,000 channels as JSON Lines under 1 s, as a
table under 2 s, peak memory under 100 MB.

Usage:
    python bench/bench_lists.py [--runs 5] [--channels 10000] [--queues 200] [--members 50]
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time

AID = b"\x00AID\x00"  # placeholder for the request's ActionID


def channel_event(i: int) -> bytes:
    """One CoreShowChannel, header order as Asterisk 22 writes it."""
    call = i // 2
    half = 1 + i % 2
    if i % 3 == 0:
        name = f"PJSIP/trunk-{i:08x}"
        app, data, state, desc = "Dial", f"PJSIP/{1000 + call % 9000}@trunk,30,tT", "6", "Up"
    elif i % 3 == 1:
        name = f"Local/{200 + call % 700}@default-{call:08x};{half}"
        app, data, state, desc = "Wait", "600", "6", "Up"
    else:
        name = f"PJSIP/{1000 + call % 9000}-{i:08x}"
        app, data, state, desc = "AppQueue", "(Outgoing Line)", "5", "Ringing"
    seconds = i % 5000
    duration = f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
    return (
        "Event: CoreShowChannel\r\n"
        "ActionID: \x00AID\x00\r\n"
        f"Channel: {name}\r\n"
        f"ChannelState: {state}\r\n"
        f"ChannelStateDesc: {desc}\r\n"
        f"CallerIDNum: 555{i % 10000:04d}\r\n"
        f"CallerIDName: Caller {i}\r\n"
        f"ConnectedLineNum: {1000 + call % 9000}\r\n"
        "ConnectedLineName: Agent\r\n"
        "Language: en\r\n"
        "AccountCode: \r\n"
        "Context: default\r\n"
        f"Exten: {200 + call % 700}\r\n"
        f"Priority: {half}\r\n"
        f"Uniqueid: pbx-bench-1795775763.{i}\r\n"
        f"Linkedid: pbx-bench-1795775763.{call * 2}\r\n"
        f"Application: {app}\r\n"
        f"ApplicationData: {data}\r\n"
        f"Duration: {duration}\r\n"
        f"BridgeId: {'' if i % 4 else f'{call:08x}-bench-bridge'}\r\n"
        "\r\n"
    ).encode()


def channels_reply(count: int) -> bytes:
    parts = [b"Response: Success\r\nActionID: \x00AID\x00\r\nEventList: start\r\nMessage: Channels will follow\r\n\r\n"]
    parts += [channel_event(i) for i in range(count)]
    parts.append(
        b"Event: CoreShowChannelsComplete\r\nActionID: \x00AID\x00\r\nEventList: Complete\r\n"
        + f"ListItems: {count}\r\n\r\n".encode()
    )
    return b"".join(parts)


def queues_reply(queues: int, members: int) -> bytes:
    """QueueParams, QueueMember and QueueEntry, ActionID last as app_queue writes them."""
    parts = [
        b"Response: Success\r\nActionID: \x00AID\x00\r\nEventList: start\r\nMessage: Queue status will follow\r\n\r\n"
    ]
    items = 0
    for q in range(queues):
        callers = q % 4
        parts.append(
            (
                "Event: QueueParams\r\n"
                f"Queue: queue-{q:03d}\r\n"
                "Max: 0\r\n"
                f"Strategy: {('ringall', 'rrmemory', 'leastrecent')[q % 3]}\r\n"
                f"Calls: {callers}\r\n"
                f"Holdtime: {q % 60}\r\n"
                f"TalkTime: {q % 300}\r\n"
                f"Completed: {q * 7}\r\n"
                f"Abandoned: {q % 11}\r\n"
                "ServiceLevel: 60\r\n"
                f"ServicelevelPerf: {q % 100}.0\r\n"
                f"ServicelevelPerf2: {q % 90}.5\r\n"
                "Weight: 0\r\n"
                "ActionID: \x00AID\x00\r\n\r\n"
            ).encode()
        )
        items += 1
        for m in range(members):
            paused = 1 if m % 7 == 0 else 0
            parts.append(
                (
                    "Event: QueueMember\r\n"
                    f"Queue: queue-{q:03d}\r\n"
                    f"Name: Agent {q}-{m}\r\n"
                    f"Location: PJSIP/{q:03d}{m:02d}\r\n"
                    f"StateInterface: PJSIP/{q:03d}{m:02d}\r\n"
                    f"Membership: {'dynamic' if m % 5 == 0 else 'static'}\r\n"
                    f"Penalty: {m % 3}\r\n"
                    f"CallsTaken: {m * 3}\r\n"
                    f"LastCall: {1795775000 + m if m % 2 else 0}\r\n"
                    f"LastPause: {1795774000 + m if paused else 0}\r\n"
                    "LoginTime: 1795770000\r\n"
                    f"InCall: {m % 2}\r\n"
                    f"Status: {m % 9}\r\n"
                    f"Paused: {paused}\r\n"
                    f"PausedReason: {'lunch' if paused else ''}\r\n"
                    "Wrapuptime: 0\r\n"
                    "ActionID: \x00AID\x00\r\n\r\n"
                ).encode()
            )
            items += 1
        for c in range(callers):
            parts.append(
                (
                    "Event: QueueEntry\r\n"
                    f"Queue: queue-{q:03d}\r\n"
                    f"Position: {c + 1}\r\n"
                    f"Channel: PJSIP/trunk-{q:04x}{c:04x}\r\n"
                    f"Uniqueid: pbx-bench-1795775763.{q * 10 + c}\r\n"
                    f"CallerIDNum: 555{q:03d}{c}\r\n"
                    "CallerIDName: Waiting\r\n"
                    "ConnectedLineNum: <unknown>\r\n"
                    "ConnectedLineName: <unknown>\r\n"
                    f"Wait: {c * 10}\r\n"
                    "Priority: 0\r\n"
                    "ActionID: \x00AID\x00\r\n\r\n"
                ).encode()
            )
            items += 1
    parts.append(
        b"Event: QueueStatusComplete\r\nActionID: \x00AID\x00\r\nEventList: Complete\r\n"
        + f"ListItems: {items}\r\n\r\n".encode()
    )
    return b"".join(parts)


class BenchServer:
    """Banner, any login accepted, canned list replies, Logoff; one thread per client."""

    def __init__(self, replies: dict[str, bytes]) -> None:
        self.replies = {k.lower(): v for k, v in replies.items()}
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._client, args=(conn,), daemon=True).start()

    def _client(self, conn: socket.socket) -> None:
        with conn:
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn.sendall(b"Asterisk Call Manager/11.0.0\r\n")
            buf = b""
            while True:
                while b"\r\n\r\n" not in buf:
                    data = conn.recv(65536)
                    if not data:
                        return
                    buf += data
                raw, buf = buf.split(b"\r\n\r\n", 1)
                headers = {}
                for line in raw.decode().split("\r\n"):
                    key, _, value = line.partition(":")
                    headers[key.strip().lower()] = value.strip()
                action = headers.get("action", "").lower()
                aid = headers.get("actionid", "").encode()
                aid_line = b"ActionID: " + aid + b"\r\n" if aid else b""
                if action == "logoff":
                    conn.sendall(b"Response: Goodbye\r\n" + aid_line + b"Message: Thanks for all the fish.\r\n\r\n")
                    return
                if action == "login":
                    conn.sendall(b"Response: Success\r\n" + aid_line + b"Message: Authentication accepted\r\n\r\n")
                elif action == "challenge":
                    conn.sendall(b"Response: Success\r\n" + aid_line + b"Challenge: 123456789\r\n\r\n")
                elif action in self.replies:
                    conn.sendall(self.replies[action].replace(AID, aid))
                else:
                    conn.sendall(b"Response: Error\r\n" + aid_line + b"Message: Invalid/unknown command\r\n\r\n")

    def close(self) -> None:
        self.listener.close()


def ami_command() -> list[str]:
    exe = shutil.which("ami", path=os.path.dirname(sys.executable)) or shutil.which("ami")
    return [exe] if exe else [sys.executable, "-m", "amicli"]


def run_once(args: list[str], port: int) -> tuple[float, float, float, int]:
    """(wall seconds, CPU seconds, peak RSS MB, stdout bytes) of one ``ami`` process."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AMI_")}
    env.update(AMI_CONFIG=os.devnull, AMI_PORT=str(port), AMI_USER="admin", AMI_SECRET="x")
    start = time.perf_counter()
    proc = subprocess.Popen([*ami_command(), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    size = 0
    assert proc.stdout is not None
    while True:
        chunk = proc.stdout.read(1 << 16)
        if not chunk:
            break
        size += len(chunk)
    err = proc.stderr.read() if proc.stderr else b""
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"ami {' '.join(args)} failed ({proc.returncode}): {err.decode(errors='replace')}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024.0, size


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="runs per case (the median is reported)")
    parser.add_argument("--channels", type=int, default=10_000)
    parser.add_argument("--queues", type=int, default=200)
    parser.add_argument("--members", type=int, default=50)
    opts = parser.parse_args()

    replies = {
        "CoreShowChannels": channels_reply(opts.channels),
        "QueueStatus": queues_reply(opts.queues, opts.members),
    }
    server = BenchServer(replies)
    n_members = opts.queues * opts.members
    cases = [
        (f"channels, {opts.channels} rows, JSON Lines", ["channels", "--json"], 1.0),
        (f"channels, {opts.channels} rows, table", ["channels"], 2.0),
        (f"channels --count ({opts.channels})", ["channels", "--count"], None),
        (f"queues, {opts.queues} queues x {opts.members} members, JSON Lines", ["queues", "--json"], None),
        (f"queues, {opts.queues} queues, table", ["queues"], None),
        (f"queues members, {n_members} rows, JSON Lines", ["queues", "members", "--json"], None),
        (f"queues members, {n_members} rows, table", ["queues", "members"], None),
    ]
    print(
        f"reply sizes: CoreShowChannels {len(replies['CoreShowChannels']) / 1e6:.1f} MB, "
        f"QueueStatus {len(replies['QueueStatus']) / 1e6:.1f} MB; {opts.runs} runs per case; "
        f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs"
    )
    print()
    print(
        f"| {'case':<52} | wall median (s) | wall min (s) | CPU median (s) | peak RSS median (MB) | stdout (MB) "
        "| target |"
    )
    print(
        f"|{'-' * 54}|-----------------|--------------|----------------|----------------------|-------------|--------|"
    )
    failed = False
    try:
        run_once(["channels", "--count"], server.port)  # warm the file cache
        for title, args, wall_target in cases:
            walls, cpus, rss, size = [], [], [], 0
            for _ in range(opts.runs):
                wall, cpu, peak, size = run_once(args, server.port)
                walls.append(wall)
                cpus.append(cpu)
                rss.append(peak)
            wall_med, rss_med = statistics.median(walls), statistics.median(rss)
            ok = (wall_target is None or wall_med < wall_target) and rss_med < 100
            failed |= not ok
            target = (f"< {wall_target:g} s, " if wall_target else "") + "< 100 MB"
            verdict = "ok" if ok else "MISSED"
            print(
                f"| {title:<52} | {wall_med:15.3f} | {min(walls):12.3f} | {statistics.median(cpus):14.3f} "
                f"| {rss_med:20.1f} | {size / 1e6:11.2f} | {target} {verdict} |"
            )
    finally:
        server.close()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
