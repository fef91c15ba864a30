#!/usr/bin/env python3
"""Benchmark: the JSON fast path of ``ami events`` with repeated headers.

Asterisk repeats ``ChanVariable`` once per variable named in ``channelvars``
(manager.conf).  This formats N Newexten events (the shape of the recorded
ones) with 1, 2 and 3 ``ChanVariable`` headers each, as ``ami events --json``
does (``JsonFormat``, in this process, in batches of 1,000 events), and
reports events per second.  Repeated headers must cost about what the extra
bytes cost: the run fails (exit 1) when 2 or 3 repeats are slower than the
single-header rate divided by :data:`ALLOWED`.

Usage::

    python bench/bench_json_repeated.py               # 200,000 events, best of 5
    python bench/bench_json_repeated.py --events 50000
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from amicli.events.formats import JsonFormat  # noqa: E402

#: The slowest a repeated-header run may be, against the single-header rate.
ALLOWED = 1.5
BATCH = 1000


def batch(variables: int, start: int) -> bytes:
    """BATCH Newexten events with ``variables`` ChanVariable headers each."""
    out = []
    for i in range(start, start + BATCH):
        head = (
            b"Event: Newexten\r\nPrivilege: dialplan,all\r\nTimestamp: 1796135130.%06d\r\n"
            b"Channel: PJSIP/1001-00000042\r\nChannelState: 6\r\nChannelStateDesc: Up\r\n"
            b"CallerIDNum: 1001\r\nCallerIDName: Alice\r\nUniqueid: 1796135100.%d\r\n" % (i % 1_000_000, i)
        )
        chan = b"".join(b"ChanVariable: VAR%d=value-%d\r\n" % (n, i) for n in range(variables))
        tail = b"Context: default\r\nExten: 100\r\nPriority: 2\r\nApplication: Wait\r\nAppData: 1\r\n\r\n"
        out.append(head + chan + tail)
    return b"".join(out)


def rates(shapes: tuple[int, ...], events: int, runs: int) -> dict[int, float]:
    """Events per second per shape, best of ``runs``; shapes take turns, so load hits them alike."""
    batches = {v: [batch(v, k * BATCH) for k in range(max(1, events // BATCH))] for v in shapes}
    best = dict.fromkeys(shapes, 0.0)
    for _ in range(runs):
        for variables, data in batches.items():
            fmt = JsonFormat()
            started = time.perf_counter()
            for chunk in data:
                fmt._region(chunk, "1796135130.000000")
            seconds = time.perf_counter() - started
            best[variables] = max(best[variables], len(data) * BATCH / seconds)
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=200_000, help="events per run [200,000]")
    parser.add_argument("--runs", type=int, default=5, help="runs per shape; the best is reported [5]")
    args = parser.parse_args()
    found = rates((1, 2, 3), args.events, args.runs)
    single = found[1]
    print(f"1 ChanVariable: {single:>12,.0f} events/s")
    ok = True
    for variables in (2, 3):
        slower = single / found[variables]
        verdict = "ok" if slower <= ALLOWED else f"SLOWER than {ALLOWED}x"
        print(f"{variables} ChanVariable: {found[variables]:>12,.0f} events/s ({slower:.2f}x the time, {verdict})")
        ok = ok and slower <= ALLOWED
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
