#!/usr/bin/env python3
"""Benchmark: the whole fault table, every run as a real process, its time and peak RSS measured.

The test suite (``tests/test_faults.py``) runs most of the table inside the
test process, for speed, and measures the peak RSS of real processes only
for the faults that send the most.  This runs every row of the same table
(every fault against every command, text and ``--json``) as its own `ami`
process, eight at a time, and checks each run as the tests do: the
documented exit code, one error line, no traceback, no secret, complete
output lines, the end within ``--timeout`` plus the documented margin, and
a peak RSS under 100 MB.  A run that fails among the others is run again
alone, as in the tests, and reported.

Usage::

    python bench/bench_fault_table.py
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from matrix import COMMANDS  # noqa: E402
from test_faults import MAX_RSS_MB, run_table, start_peers, table_jobs  # noqa: E402


def main() -> int:
    argparse.ArgumentParser(description=__doc__.split("\n\n")[0]).parse_args()
    with tempfile.TemporaryDirectory() as certs:
        sim, peers = start_peers(Path(certs))
        try:
            jobs = table_jobs(peers, list(COMMANDS))
            table = run_table(jobs, lambda fault, command, args: True)
        finally:
            for peer in peers.values():
                peer.close()
            sim.close()
    runs = [(fault, command, run) for (fault, command), rs in table.results.items() for run in rs]
    # Each pair's runs were checked by run_table (the first failure kept): a run of a failing pair counts as failed.
    failed = {key: exc for key, exc in table.failures.items() if exc is not None}
    failures = [f"{fault} ({command}): {str(exc).splitlines()[0] if str(exc) else 'failed'}"
                for (fault, command), exc in failed.items()]  # fmt: skip
    documented = sum(1 for fault, command, _ in runs if (fault, command) not in failed)
    heaviest = max(runs, key=lambda r: r[2].max_rss_mb or 0.0)
    slowest = max(runs, key=lambda r: r[2].seconds)
    print(
        f"{len(runs)} runs ({len(COMMANDS)} commands, text and --json, x {len(peers)} faults), "
        f"each a process, 8 at a time, in {table.elapsed:.1f} s; load margin {table.load_margin:.2f} s",
        file=sys.stderr,
    )
    for fault, _command, args, _port in table.again:
        print(f"  run again alone after failing among the others: {fault}: ami {' '.join(args)}", file=sys.stderr)
    for line in failures:
        print(f"  FAILED {line}", file=sys.stderr)
    print("\n| measure | result | target |")
    print("| --- | ---: | --- |")
    print(f"| runs that ended as documented | {documented} of {len(runs)} | all |")
    rss_run, time_run = heaviest[2], slowest[2]
    print(f"| highest peak RSS | {rss_run.max_rss_mb:.1f} MB ({heaviest[0]}, {heaviest[1]}) | < {MAX_RSS_MB} MB |")
    print(f"| longest run | {time_run.seconds:.2f} s ({slowest[0]}, {slowest[1]}) | within its row's bound |")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
