#!/usr/bin/env python3
"""Benchmark: ``ami endpoints`` and ``ami metrics`` on a big PBX, whole process.

A local server (bench_lists.BenchServer) answers PJSIPShowEndpoints with
5,000 endpoints, PJSIPShowContacts with a registered contact for each,
PJSIPShowRegistrationsOutbound with 50 trunks (and their AuthDetail),
QueueStatus with 200 queues of 50 members, CoreShowChannels with 200
channels, CoreSettings and CoreStatus, in the recorded Asterisk 22 shapes.
Each case runs the installed ``ami`` as a child process; wall time, CPU time
and peak RSS (``wait4``) are reported as medians.

With ``--sim``, the endpoint cases also run against ``ami sim --endpoints N``
(the simulator in this process; it has 3 queues, so the metrics case stays
on the scripted server).

Targets (2-core machine): ``ami endpoints --json`` with 5,000 endpoints under
1 s; ``ami metrics`` for 200 queues x 50 members plus 5,000 endpoints under
2 s; peak RSS under 100 MB.

Usage:
    python bench/bench_endpoints.py [--runs 5] [--endpoints 5000] [--queues 200] [--members 50]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench_lists import BenchServer, channels_reply, queues_reply, run_once  # noqa: E402

START = "Response: Success\r\nActionID: \x00AID\x00\r\nEventList: start\r\nMessage: {}\r\n\r\n"
COMPLETE = "Event: {}\r\nActionID: \x00AID\x00\r\nEventList: Complete\r\nListItems: {}\r\n\r\n"


def endpoints_reply(count: int) -> bytes:
    parts = [START.format("A listing of Endpoints follows, presented as EndpointList events")]
    for i in range(count):
        name = f"ext{i:05d}"
        state = ("Not in use", "In use", "Unavailable", "Ringing")[i % 4]
        parts.append(
            "Event: EndpointList\r\nActionID: \x00AID\x00\r\nObjectType: endpoint\r\n"
            f"ObjectName: {name}\r\nTransport: transport-udp\r\nAor: {name}\r\nAuths: {name}-auth\r\n"
            f"OutboundAuths: \r\nContacts: {name}/sip:{name}@10.{i // 65536}.{i // 256 % 256}.{i % 256}:5060,\r\n"
            f"DeviceState: {state}\r\nActiveChannels: {i % 3}\r\n\r\n"
        )
    parts.append(COMPLETE.format("EndpointListComplete", count))
    return "".join(parts).encode()


def contacts_reply(count: int) -> bytes:
    parts = [START.format("A listing of Contacts follows, presented as ContactList events")]
    for i in range(count):
        name = f"ext{i:05d}"
        status = ("Reachable", "Reachable", "Unreachable", "NonQualified")[i % 4]
        parts.append(
            "Event: ContactList\r\nActionID: \x00AID\x00\r\nObjectType: contact\r\n"
            f"ObjectName: {name};@{i:032x}\r\nViaAddr: 10.0.0.1\r\nQualifyTimeout: 3.000000\r\n"
            f"Qualify2xxOnly: false\r\nCallId: {i:016x}@10.0.0.1\r\nRegServer: pbx\r\nPruneOnBoot: no\r\nPath: \r\n"
            f"Endpoint: {name}\r\nViaPort: 5060\r\nAuthenticateQualify: no\r\n"
            f"Uri: sip:{name}@10.{i // 65536}.{i // 256 % 256}.{i % 256}:5060\r\nQualifyFrequency: 60\r\n"
            f"UserAgent: Phone/1.0\r\nExpirationTime: {1796135095 + i}\r\nOutboundProxy: \r\n"
            f"Status: {status}\r\nRoundtripUsec: {0 if status != 'Reachable' else 400 + i % 5000}\r\n\r\n"
        )
    parts.append(COMPLETE.format("ContactListComplete", count))
    return "".join(parts).encode()


def registrations_reply(count: int) -> bytes:
    parts = [START.format("Following are Events for each Outbound registration")]
    for i in range(count):
        parts.append(
            "Event: OutboundRegistrationDetail\r\nActionID: \x00AID\x00\r\nObjectType: registration\r\n"
            f"ObjectName: trunk{i:02d}-reg\r\nClientUri: sip:trunk{i:02d}@provider.example\r\n"
            f"ServerUri: sip:provider.example\r\nExpiration: 120\r\nEndpoint: trunk{i:02d}\r\n"
            f"OutboundAuth: trunk{i:02d}-auth\r\nStatus: {'Rejected' if i % 10 == 0 else 'Registered'}\r\n"
            f"NextReg: {i}\r\n\r\n"
            "Event: AuthDetail\r\nActionID: \x00AID\x00\r\nObjectType: auth\r\n"
            f"ObjectName: trunk{i:02d}-auth\r\nUsername: trunk{i:02d}\r\nAuthType: digest\r\n"
            f"Password: bench-secret-{i}\r\n\r\n"
        )
    parts.append(COMPLETE.format("OutboundRegistrationDetailComplete", count))
    return "".join(parts).encode()


CORE = {
    "CoreSettings": b"Response: Success\r\nActionID: \x00AID\x00\r\nAMIversion: 11.0.0\r\nAsteriskVersion: 22.10.1\r\n"
    b"SystemName: bench\r\n\r\n",
    "CoreStatus": b"Response: Success\r\nActionID: \x00AID\x00\r\nCoreStartupDate: 2026-11-27\r\n"
    b"CoreStartupTime: 10:32:25\r\nCoreCurrentCalls: 100\r\nCoreProcessedCalls: 12345\r\n\r\n",
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="runs per case (the median is reported)")
    parser.add_argument("--endpoints", type=int, default=5000)
    parser.add_argument("--queues", type=int, default=200)
    parser.add_argument("--members", type=int, default=50)
    parser.add_argument("--sim", action="store_true", help="also run the endpoint cases against ami sim")
    opts = parser.parse_args()
    replies = {
        "PJSIPShowEndpoints": endpoints_reply(opts.endpoints),
        "PJSIPShowContacts": contacts_reply(opts.endpoints),
        "PJSIPShowRegistrationsOutbound": registrations_reply(50),
        "QueueStatus": queues_reply(opts.queues, opts.members),
        "CoreShowChannels": channels_reply(200),
        **CORE,
    }
    server = BenchServer(replies)
    cases = [
        (f"endpoints --json, {opts.endpoints} endpoints", ["endpoints", "--json"], 1.0),
        (f"endpoints (table), {opts.endpoints} endpoints", ["endpoints"], None),
        (f"check endpoints, {opts.endpoints} endpoints", ["check", "endpoints", "-w", "~:"], None),
        (
            f"metrics, {opts.queues} queues x {opts.members} members + {opts.endpoints} endpoints",
            ["metrics"],
            2.0,
        ),
    ]
    sim = None
    if opts.sim:
        import dataclasses

        from amicli.sim import SimServer
        from amicli.sim.users import DEFAULT_USERS

        # run_once logs in as admin with the secret "x".
        users = {**DEFAULT_USERS, "admin": dataclasses.replace(DEFAULT_USERS["admin"], secret="x")}
        sim = SimServer("127.0.0.1", port=0, endpoints=opts.endpoints, users=users).start()
        cases.append((f"endpoints --json, ami sim --endpoints {opts.endpoints}", ["endpoints", "--json"], 1.0))
    print(f"{opts.runs} runs per case; python {sys.version.split()[0]}, {os.cpu_count()} CPUs\n")
    print("| case | wall median (s) | CPU median (s) | peak RSS median (MB) | target |")
    print("| --- | ---: | ---: | ---: | --- |")
    failed = False
    try:
        for title, args, target in cases:
            runs = []
            for _ in range(opts.runs):
                port = sim.port if sim is not None and "ami sim" in title else server.port
                try:
                    runs.append(run_once(args, port))
                except SystemExit as exc:
                    # check endpoints exits 0-3 by design; only its timing matters here.
                    if not args[0] == "check":
                        raise
                    print(f"  ({exc})", file=sys.stderr)
            if not runs:
                continue
            wall = statistics.median(r[0] for r in runs)
            cpu = statistics.median(r[1] for r in runs)
            rss = statistics.median(r[2] for r in runs)
            ok = (target is None or wall < target) and rss < 100
            failed = failed or not ok
            verdict = "" if target is None else f"< {target:g} s, < 100 MB: {'ok' if ok else 'MISSED'}"
            print(f"| {title} | {wall:.3f} | {cpu:.3f} | {rss:.1f} | {verdict} |")
    finally:
        server.close()
        if sim is not None:
            sim.close()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
