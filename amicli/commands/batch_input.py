"""Where ``ami originate --batch`` reads its lines from: a file, or stdin for '-'."""

from __future__ import annotations

import os
import stat
import sys

import click


def open_batch(name: str):
    """The batch file opened for reading bytes (stdin's for '-'); a usage error when it cannot be read."""
    if name == "-":
        return sys.stdin.buffer
    try:
        return open(name, "rb")  # noqa: SIM115 - closed by the caller
    except OSError as exc:
        raise click.BadParameter(f"cannot read {name}: {exc.strerror or exc}", param_hint="--batch") from None


def input_may_wait(stream) -> bool:
    """Whether reading ``stream`` may block (a pipe, a terminal): only a regular file never does."""
    try:
        return not stat.S_ISREG(os.fstat(stream.fileno()).st_mode)
    except (OSError, ValueError, AttributeError):
        return True
