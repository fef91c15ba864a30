"""The commands the matrix tests (faults, secrets, fuzzing) run, and how a run is timed and measured.

* :data:`COMMANDS`: every `ami` command with typical arguments;
* :func:`run_timed`: run `ami` in this process (as ``util.run_ami`` does),
  timed; many may run at once, in threads;
* :func:`run_measured`: run `ami` as a real process and measure its wall
  time and its own peak RSS.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from typing import Sequence

from util import ADMIN, ami_argv, ami_env, run_ami


@dataclass(frozen=True)
class Cmd:
    """A command with typical arguments; ``json`` says whether it has --json."""

    args: tuple[str, ...]
    json: bool = True
    #: Extra seconds a run may take beyond TIMEOUT + LOGOFF_WAIT + MARGIN.
    extra_time: float = 0.0


COMMANDS: dict[str, Cmd] = {
    # Thresholds past the slowest login of a loaded test machine: a fault, not the load, decides the status.
    "login-test": Cmd(("login-test", "-w", "5", "-c", "10")),
    "raw": Cmd(("raw", "Ping")),
    "command": Cmd(("command", "core show version"), json=False),
    "queues": Cmd(("queues",)),
    "channels": Cmd(("channels",)),
    # Ring for at most 1 s, and wait 1 s past it for the outcome.
    "originate": Cmd(
        ("originate", "Local/100@default", "--app", "Wait", "--data", "1", "--timeout", "1", "--grace", "1"),
        extra_time=2.0,
    ),
    # Stream for 2 s (exit 0), printing the events of the login.
    "events": Cmd(("events", "--timeout", "2"), extra_time=2.0),
}

# -- running ami with its peak memory -------------------------------------------------


@dataclass
class Run:
    args: list[str]
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    #: The process's peak RSS; None for a run in this process.
    max_rss_mb: float | None


# The child's peak RSS cannot come from wait4 here: at exec Linux records the
# RSS of the memory the child leaves, which after fork (or vfork) from this
# big test process is this process's.  So a small Python process forks and
# execs `ami`, and reports its child's ru_maxrss: that figure holds only what
# `ami` itself used (plus at most the wrapper's few MB before the exec).
_WRAPPER = """
import os, sys
pid = os.fork()
if pid == 0:
    try:
        os.execv(sys.argv[2], sys.argv[2:])
    finally:
        os._exit(127)
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as fh:
    fh.write(str(usage.ru_maxrss))
code = os.waitstatus_to_exitcode(status)
sys.exit(code if code >= 0 else 128 - code)
"""


def measure_process(
    argv: Sequence[str], env: dict[str, str] | None = None, timeout: float = 30.0, input: bytes = b""
) -> Run:
    """Run ``argv`` (through the wrapper above) and measure its wall time and peak RSS.

    Past ``timeout`` the whole process group (the wrapper and its child) is killed.
    """
    fd, rss_file = tempfile.mkstemp(prefix="ami-rss-")
    os.close(fd)
    started = time.monotonic()
    try:
        proc = subprocess.Popen(
            [sys.executable, "-I", "-S", "-c", _WRAPPER, rss_file, *argv],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,  # its own process group, to kill the child with the wrapper
        )
        try:
            out, err = proc.communicate(input, timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, err = proc.communicate()
        seconds = time.monotonic() - started
        with open(rss_file) as fh:
            rss_kb = int(fh.read() or 0)
    finally:
        os.unlink(rss_file)
    return Run(
        args=list(argv),
        returncode=proc.returncode,
        stdout=out.decode("utf-8", "replace"),
        stderr=err.decode("utf-8", "replace"),
        seconds=seconds,
        max_rss_mb=rss_kb / 1024,  # kilobytes on Linux
    )


def run_measured(
    args: Sequence[str],
    port: int,
    *,
    timeout: float = 30.0,
    env: dict[str, str] | None = None,
    user: dict[str, str] | None = ADMIN,
    input: bytes = b"",
) -> Run:
    """Run `ami ARGS` for real (as util.run_ami does), measuring its time and peak RSS.

    ``Run.args`` holds ARGS (without the program).
    """
    argv = ami_argv()
    if len(argv) == 1:
        argv = [os.path.realpath(argv[0])]
    full_env = ami_env(port, **(user or {}))
    full_env.update(env or {})
    run = measure_process([*argv, *args], full_env, timeout, input)
    run.args = list(args)
    return run


def run_timed(
    args: Sequence[str],
    port: int,
    *,
    timeout: float = 30.0,
    env: dict[str, str] | None = None,
    user: dict[str, str] | None = ADMIN,
    input: bytes = b"",
) -> Run:
    """Run `ami ARGS` in this process (util.run_ami), timed; several may run at once, in threads."""
    started = time.monotonic()
    proc = run_ami(args, port=port, env=env, user=user, input=input, timeout=timeout)
    return Run(list(args), proc.returncode, proc.stdout, proc.stderr, time.monotonic() - started, None)
