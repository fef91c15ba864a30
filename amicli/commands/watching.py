"""``--watch`` for listings: the shared option and the glue to :mod:`amicli.live`."""

from __future__ import annotations

import dataclasses
import io
import sys
from typing import Callable

import click

from ..context import get_app
from ..errors import ExitCode

watch_option = click.option(
    "--watch",
    "watch",
    type=float,
    is_flag=False,
    flag_value=2.0,
    default=None,
    metavar="[SECONDS]",
    help="On a terminal: redraw the table in place as the PBX changes (driven by events, and read again "
    "every SECONDS [2]); q or Ctrl-C quits. Example: --watch, --watch=5",
)


def check_watch(watch: float | None, as_json: bool, count: bool = False) -> None:
    """Refuse --watch where it cannot work: not a terminal, or not a table."""
    if watch is None:
        return
    if watch <= 0:
        raise click.BadParameter("must be more than 0 seconds", param_hint="--watch")
    if as_json or count:
        raise click.UsageError("--watch draws a table: it does not go with --json or --count")
    if not sys.stdout.isatty():
        raise click.UsageError("--watch needs a terminal on stdout (not a pipe or a file)")


def table_text(out, write: Callable[[object], None]) -> str:
    """What ``write(out)`` would print, as text (same --fmt, --fields, --no-headers)."""
    buf = io.BytesIO()
    write(dataclasses.replace(out, stream=buf))
    return buf.getvalue().decode("utf-8", "replace")


def run_watch(render, *, title: str, interval: float, triggers: frozenset[str], events: str) -> int:
    """Open a session receiving ``events`` and run the live view until q or Ctrl-C (exit 0)."""
    from .. import live

    keys = sys.stdin.fileno() if sys.stdin.isatty() else None
    try:
        with get_app().session(events=events, keep_events=True) as client:
            live.run(
                client,
                render,
                title=title,
                interval=interval,
                triggers=triggers,
                out=sys.stdout.buffer,
                keys_fd=keys,
            )
    except KeyboardInterrupt:
        pass
    sys.stdout.write("\n")
    return ExitCode.OK
