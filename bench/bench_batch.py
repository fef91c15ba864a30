#!/usr/bin/env python3
"""Benchmark: ``ami originate --batch`` over 100,000 lines, in flat memory.

A local server (the one of ``bench_lists.py``) logs the client in and
answers each Originate with ``Originate successfully queued``.  The whole
``ami originate --batch FILE --no-wait --parallel 50`` process is measured:
wall time, CPU time and peak RSS (medians of the runs), for a small batch
and a large one.  Results are never kept, so the peak must not grow with the
batch: target under 60 MB for 100,000 lines.

Usage::

    python bench/bench_batch.py                 # 1,000 and 100,000 lines, 3 runs each
    python bench/bench_batch.py --lines 20000 --runs 1
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_lists import AID, BenchServer, run_once  # noqa: E402

QUEUED = b"Response: Success\r\nActionID: " + AID + b"\r\nMessage: Originate successfully queued\r\n\r\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="runs of each size; the median is reported [3]")
    parser.add_argument("--lines", type=int, default=100_000, help="lines in the large batch [100,000]")
    parser.add_argument("--small", type=int, default=1_000, help="lines in the small batch [1,000]")
    args = parser.parse_args()

    server = BenchServer({"Originate": QUEUED})
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for lines in (args.small, args.lines):
            batch = Path(tmp) / f"calls-{lines}.csv"
            batch.write_text("channel,exten\n" + "".join(f"Local/{i}@default,100\n" for i in range(lines)))
            argv = ["originate", "--batch", str(batch), "--no-wait", "--parallel", "50"]
            runs = [run_once(argv, server.port) for _ in range(args.runs)]
            results[lines] = [statistics.median(r[i] for r in runs) for i in range(3)]
            wall, cpu, rss = results[lines]
            print(
                f"  {lines:,} lines: {wall:.2f} s wall, {cpu:.2f} s CPU ({cpu / lines * 1e6:.0f} us a call), "
                f"{rss:.1f} MB peak",
                file=sys.stderr,
            )
    server.close()
    big_rss = results[args.lines][2]
    growth = big_rss - results[args.small][2]
    print("\n| measure | result | target |")
    print("| --- | ---: | --- |")
    print(f"| peak RSS, {args.lines:,} lines | {big_rss:.1f} MB | < 60 MB {'ok' if big_rss < 60 else 'MISSED'} |")
    print(f"| growth from {args.small:,} lines | {growth:+.1f} MB | flat |")
    print(f"| wall, {args.lines:,} lines | {results[args.lines][0]:.2f} s | |")
    return 0 if big_rss < 60 else 1


if __name__ == "__main__":
    sys.exit(main())
