"""Run `ami ARGS` inside the test process, as the process would run it.

``amicli.cli.run(argv)`` is the whole program but for the interpreter: it
parses ``argv``, maps every error to an exit code and returns it.  The
program reads the standard streams and ``os.environ`` at the moment it uses
them (never at import), so a run here gets its own argv, environment, stdin
and captured stdout and stderr by routing those names, per thread, to the
run's own:

* ``sys.stdin``, ``sys.stdout`` and ``sys.stderr`` become routers that send
  each access to the current thread's run (or to the stream they replaced).
  The run's streams are text files over real temporary files, so code that
  writes to the file descriptor itself (``ami events`` writes its output with
  ``os.write`` on ``sys.stdout.fileno()``) lands in the same capture.
* ``os.environ`` becomes a router of the same kind: the run sees its own
  environment, the test (its sim, its peers) still sees the real one.
* Threads the run starts (the event reader and writer, originate's workers)
  belong to the run: ``threading.Thread.start`` is wrapped once, to pass the
  route on.

Runs may go on in several threads at once (the fault matrix does), each with
its own streams and environment.  What a run cannot show is what only a
process shows: signals, a closed pipe, start-up imports, the installed entry
point, peak memory; those tests run `ami` as a process (``util.run_ami_process``).
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import io
import os
import pty
import subprocess
import sys
import tempfile
import threading
import traceback
import weakref
from collections.abc import Collection, Iterator, MutableMapping
from typing import Sequence

from amicli import cli, redact


class _Terminal:
    """A pseudo-terminal for a run's output: what the run writes to it is read back here."""

    def __init__(self, errors: str) -> None:
        self._leader, follower = pty.openpty()
        # As on a terminal: line-buffered.
        self.file = io.TextIOWrapper(open(follower, "wb"), encoding="utf-8", errors=errors, line_buffering=True)
        self._chunks: list[bytes] = []
        self._reader = threading.Thread(target=self._drain, name="in-process-terminal", daemon=True)
        self._reader.start()

    def _drain(self) -> None:
        while True:
            try:
                chunk = os.read(self._leader, 65536)
            except OSError:  # (EIO: the run's side is closed and all was read)
                return
            if not chunk:
                return
            self._chunks.append(chunk)

    def captured(self) -> bytes:
        """Everything written (the terminal's CRLF line ends back to LF); the terminal is closed."""
        with contextlib.suppress(OSError, ValueError):
            self.file.close()
        self._reader.join(10)
        os.close(self._leader)
        return b"".join(self._chunks).replace(b"\r\n", b"\n")


class _Run:
    """The streams and environment of one in-process run (``terminal``: the outputs on a pseudo-terminal)."""

    def __init__(self, env: dict[str, str], stdin: bytes, terminal: Collection[str] = ()) -> None:
        self.env = env
        in_file = tempfile.TemporaryFile()
        in_file.write(stdin)
        in_file.seek(0)
        self.stdin = io.TextIOWrapper(in_file, encoding="utf-8")
        # As in a process: stdout is strict, stderr escapes what it cannot encode;
        # into a pipe stdout is block-buffered, stderr line-buffered.
        self._terminals: dict[str, _Terminal] = {}
        self.stdout = self._stream("stdout", "strict", False, terminal)
        self.stderr = self._stream("stderr", "backslashreplace", True, terminal)

    def _stream(self, name: str, errors: str, line_buffering: bool, terminal: Collection[str]) -> io.TextIOWrapper:
        """The run's ``name``: a pseudo-terminal when ``terminal`` names it, else a file standing for a pipe."""
        if name in terminal:
            self._terminals[name] = _Terminal(errors)
            return self._terminals[name].file
        return io.TextIOWrapper(
            tempfile.TemporaryFile(), encoding="utf-8", errors=errors, line_buffering=line_buffering
        )

    def captured(self) -> tuple[bytes, bytes]:
        out = []
        for name in ("stdout", "stderr"):
            if name in self._terminals:
                out.append(self._terminals[name].captured())
                continue
            stream = getattr(self, name)
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
            raw = stream.buffer
            raw.seek(0)
            out.append(raw.read())
        return out[0], out[1]

    def close(self) -> None:
        for stream in (self.stdin, self.stdout, self.stderr):
            try:
                stream.close()
            except (OSError, ValueError):
                pass


#: thread -> the run it belongs to.  Threads of the test itself are in no run.
_routes: weakref.WeakKeyDictionary[threading.Thread, _Run] = weakref.WeakKeyDictionary()
_lock = threading.Lock()
_active = 0


def _current() -> _Run | None:
    return _routes.get(threading.current_thread())


class _StreamRouter:
    """Stands for sys.stdin/stdout/stderr: the current run's stream, else the one it replaced."""

    def __init__(self, name: str, original: object) -> None:
        self._name = name
        self._original = original

    def _target(self):
        run = _current()
        return self._original if run is None else getattr(run, self._name)

    def __getattr__(self, attr: str):
        return getattr(self._target(), attr)

    def write(self, text: str) -> int:
        return self._target().write(text)

    def flush(self) -> None:
        self._target().flush()

    def __iter__(self) -> Iterator[str]:
        return iter(self._target())


class _EnvironRouter(MutableMapping):
    """Stands for os.environ: the current run's environment, else the real one."""

    def __init__(self, original: MutableMapping) -> None:
        self._original = original

    def _target(self) -> MutableMapping:
        run = _current()
        return self._original if run is None else run.env

    def __getitem__(self, key: str) -> str:
        return self._target()[key]

    def __setitem__(self, key: str, value: str) -> None:
        self._target()[key] = value

    def __delitem__(self, key: str) -> None:
        del self._target()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._target()))

    def __len__(self) -> int:
        return len(self._target())

    def copy(self) -> dict[str, str]:
        return dict(self._target())


_thread_start = threading.Thread.start


def _start_in_run(self: threading.Thread) -> None:
    run = _current()
    if run is not None:
        _routes[self] = run
    _thread_start(self)


def _enter() -> None:
    """Install the routers (the first of the runs going on at once does)."""
    global _active
    with _lock:
        if _active == 0:
            # pytest swaps the streams between a test's phases: route whatever is there now.
            for name in ("stdin", "stdout", "stderr"):
                setattr(sys, name, _StreamRouter(name, getattr(sys, name)))
            os.environ = _EnvironRouter(os.environ)  # type: ignore[assignment]  # noqa: B003 - routed, not cleared
            threading.Thread.start = _start_in_run  # type: ignore[method-assign]
        _active += 1


def _leave() -> None:
    """Put the real streams and environment back (the last run going on does)."""
    global _active
    with _lock:
        _active -= 1
        if _active == 0:
            for name in ("stdin", "stdout", "stderr"):
                router = getattr(sys, name)
                if isinstance(router, _StreamRouter):
                    setattr(sys, name, router._original)
            if isinstance(os.environ, _EnvironRouter):
                os.environ = os.environ._original  # type: ignore[assignment]  # noqa: B003 - the real one back
            threading.Thread.start = _thread_start  # type: ignore[method-assign]
            # `ami events` freezes what start-up made (gc.freeze): a process
            # ends there, this one goes on.
            gc.unfreeze()
            # So do the secrets the runs learnt to hide (a process forgets
            # them as it ends; a later run's profile name could be one).
            redact._values.clear()


def _main(argv: list[str], run: _Run, result: dict) -> None:
    """What ``amicli.cli.main`` does, but returning the code instead of exiting."""
    try:
        code = cli.run(argv)
        try:
            sys.stdout.flush()
        except (OSError, ValueError):
            pass
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:  # noqa: BLE001 - what the interpreter would print, for the test to see
        run.stderr.write(traceback.format_exc())
        code = 1
    result["code"] = code


class Running:
    """`ami ARGS` going on in this process, in a thread of its own (see :func:`start_in_process`)."""

    def __init__(self, args: Sequence[str], env: dict[str, str], stdin: bytes, terminal: Collection[str] = ()) -> None:
        self.args = ["ami", *args]
        self._run = _Run(dict(env), stdin, terminal)
        self._result: dict = {}
        self._left = False
        self.thread = threading.Thread(
            target=_main, args=(list(args), self._run, self._result), name="ami-in-process", daemon=True
        )
        _routes[self.thread] = self._run
        _enter()
        self.thread.start()

    def interrupt(self) -> None:
        """What Ctrl-C does to the process: KeyboardInterrupt in the run's main thread."""
        if self.thread.is_alive() and self.thread.ident is not None:
            ctypes.pythonapi.PyThreadState_SetAsyncExc(
                ctypes.c_ulong(self.thread.ident), ctypes.py_object(KeyboardInterrupt)
            )

    def wait(self, timeout: float = 30) -> subprocess.CompletedProcess:
        """The finished run, as ``subprocess.run`` gives it (plus ``stdout_bytes``, ``stderr_bytes``).

        Past ``timeout`` raises ``subprocess.TimeoutExpired``; the run goes on (:meth:`interrupt` ends it).
        """
        self.thread.join(timeout)
        if self.thread.is_alive():
            raise subprocess.TimeoutExpired(self.args, timeout)
        if not self._left:
            self._left = True
            _leave()
        out, err = self._run.captured()
        self._run.close()
        proc = subprocess.CompletedProcess(
            self.args, self._result["code"], out.decode("utf-8", "replace"), err.decode("utf-8", "replace")
        )
        proc.stdout_bytes = out
        proc.stderr_bytes = err
        return proc

    def kill(self) -> None:
        """Interrupt the run if it is still going, and wait for it to end."""
        if self.thread.is_alive():
            self.interrupt()
            self.thread.join(10)
        if not self._left and not self.thread.is_alive():
            self._left = True
            _leave()


def start_in_process(args: Sequence[str], env: dict[str, str], stdin: bytes = b"") -> Running:
    """Start `ami ARGS` here, in a thread, with ``env`` as its whole environment and ``stdin`` as its input."""
    return Running(args, env, stdin)


def run_in_process(
    args: Sequence[str], env: dict[str, str], stdin: bytes = b"", timeout: float = 30, terminal: Collection[str] = ()
) -> subprocess.CompletedProcess:
    """Run `ami ARGS` here to its end: what ``subprocess.run`` would give (stdout and stderr as text).

    Also ``stdout_bytes`` and ``stderr_bytes``.  Past ``timeout`` raises
    ``subprocess.TimeoutExpired`` (and interrupts the run).  The streams
    named in ``terminal`` ("stdout", "stderr") are a pseudo-terminal.
    """
    running = Running(args, env, stdin, terminal)
    try:
        return running.wait(timeout)
    except subprocess.TimeoutExpired:
        running.kill()
        raise
