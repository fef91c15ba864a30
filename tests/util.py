"""Helpers shared by the test modules: a running sim, and running `ami` (in this process, or as a process)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from typing import Sequence

from inprocess import run_in_process

from amicli.sim import SimServer

ADMIN = {"AMI_USER": "admin", "AMI_SECRET": "s3cret-Admin"}


def ami_argv() -> list[str]:
    """The installed `ami` (a real process), or `python -m amicli` beside this interpreter."""
    exe = shutil.which("ami", path=os.path.dirname(sys.executable)) or shutil.which("ami")
    return [exe] if exe else [sys.executable, "-m", "amicli"]


def ami_env(port: int | None = None, **extra: str) -> dict[str, str]:
    """A clean environment for `ami`: no AMI_* from the caller, no profile file.

    COLUMNS and LINES go too: tables fit them, and pytest's workers set them,
    so a test that wants a width names it.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("AMI_") and k not in ("COLUMNS", "LINES")}
    env["AMI_CONFIG"] = os.devnull  # an empty file: no profiles
    if port is not None:
        env["AMI_PORT"] = str(port)
    env.update(extra)
    return env


def _full_env(port: int | None, env: dict[str, str] | None, user: dict[str, str] | None) -> dict[str, str]:
    full_env = ami_env(port, **(user or {}))
    if env:
        full_env.update(env)
    return full_env


def run_ami(
    args: Sequence[str],
    *,
    port: int | None = None,
    env: dict[str, str] | None = None,
    input: str | bytes | None = None,
    timeout: float = 30,
    user: dict[str, str] | None = ADMIN,
    terminal: Sequence[str] = (),
) -> subprocess.CompletedProcess:
    """Run `ami ARGS` in this process (see inprocess.py); stdout and stderr captured as text.

    ``port`` sets AMI_PORT, ``user`` AMI_USER and AMI_SECRET, ``env`` anything
    else, over a clean environment (:func:`ami_env`).  The result has the
    shape of :func:`run_ami_process`'s, so a test switches with one word.
    ``terminal`` puts "stdout" and/or "stderr" on a pseudo-terminal.
    """
    if isinstance(input, str):
        input = input.encode()
    return run_in_process(args, _full_env(port, env, user), input or b"", timeout, terminal)


def run_ami_process(
    args: Sequence[str],
    *,
    port: int | None = None,
    env: dict[str, str] | None = None,
    input: str | bytes | None = None,
    timeout: float = 30,
    user: dict[str, str] | None = ADMIN,
) -> subprocess.CompletedProcess:
    """Run `ami ARGS` as a real process, for what only a process shows; stdout and stderr captured as text."""
    if isinstance(input, str):
        input = input.encode()
    proc = subprocess.run(
        [*ami_argv(), *args],
        env=_full_env(port, env, user),
        input=input if input is not None else b"",
        capture_output=True,
        timeout=timeout,
    )
    proc.stdout_bytes, proc.stderr_bytes = proc.stdout, proc.stderr
    proc.stdout = proc.stdout.decode("utf-8", "replace")
    proc.stderr = proc.stderr.decode("utf-8", "replace")
    return proc


def complete(line: str, *, shell: str = "bash", env: dict[str, str] | None = None) -> list[str]:
    """What `ami` answers at a TAB after ``line`` (its last word is the one being
    completed): its output lines, as the shell's completion script gets them.

    Run in this process, with the variables the scripts set; the scripts
    themselves run in real shells in test_docs.py.
    """
    words = line.split(" ")
    complete_env = {"COMP_WORDS": line, "COMP_CWORD": str(len(words) - 1), "_AMI_COMPLETE": f"{shell}_complete"}
    if shell != "bash":
        complete_env["COMP_CWORD"] = words[-1]  # zsh and fish pass the incomplete word itself
    proc = run_ami([], env={**(env or {}), **complete_env}, user=None)
    assert (proc.returncode, proc.stderr) == (0, ""), (line, proc)
    return proc.stdout.splitlines()


def start_sim(**kwargs: object) -> SimServer:
    """A sim on a free loopback port, running in a background thread."""
    kwargs.setdefault("port", 0)
    kwargs.setdefault("login_fail_delay", 0.2)
    return SimServer("127.0.0.1", **kwargs).start()  # type: ignore[arg-type]


def json_lines(text: str) -> list[dict]:
    """Every stdout line parsed as JSON (each must be a whole object)."""
    return [json.loads(line) for line in text.splitlines()]


def table_rows(text: str) -> list[list[str]]:
    """A 'simple' table's data rows, split on runs of two or more spaces."""
    lines = text.splitlines()
    assert set(lines[1].replace(" ", "")) == {"-"}
    return [re.split(r"\s{2,}", line.strip()) for line in lines[2:]]


def run_replayed(replay, script, args: Sequence[str], chunking: object = "recorded", *, check: bool = True, **kwargs):
    """Run `ami ARGS` against a replay of ``script``; ``proc.replay_errors`` says what the replay saw.

    With ``check``, the session must have followed the script exactly.
    """
    server = replay(script, chunking=chunking)
    proc = run_ami(args, port=server.port, **kwargs)
    if not server.never_connected():  # (a usage error never connects: nothing to wait for)
        server.wait(5)
    proc.replay_errors = list(server.errors)
    if check:
        assert proc.replay_errors == [], proc.replay_errors
    return proc
