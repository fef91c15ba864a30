"""Fan-out: one command over many PBXs at once, their answers merged.

A fleet is a list of :class:`~amicli.config.Settings`, one per PBX.
:class:`FleetRun` runs a function per PBX on a pool of at most ``fanout``
threads (each PBX its own session and its own timeout) and yields the
answers as they come, or in the order the PBXs were named (``ordered``).
A PBX that fails gets one line on stderr naming it, and the others go on.
The exit code follows :func:`fleet_exit_code`.

One PBX is not a fleet: its function runs in the calling thread and its
errors propagate unchanged, so a single PBX behaves exactly as it always
did (no ``Server`` key, the same messages and exit codes).
"""

from __future__ import annotations

from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import IO, Callable, Iterator, Mapping, Sequence, TypeVar

from .errors import AmiError, ExitCode, SomeServersFailed
from .output import report

T = TypeVar("T")

#: The key (JSON) and first column (tables, CSV) that says which PBX a row came from.
SERVER_KEY = "Server"
DEFAULT_FANOUT = 16


def fleet_exit_code(codes: Sequence[int]) -> int:
    """The exit code of a fleet from each PBX's own code.

    One PBX: its code.  All succeeded: 0.  All failed the same way: that
    code.  Otherwise (some failed, or they failed differently): 9.
    """
    if len(codes) == 1:
        return int(codes[0])
    failed = {int(code) for code in codes if code}
    if not failed:
        return ExitCode.OK
    if len(failed) == 1 and all(codes):
        return failed.pop()
    return SomeServersFailed.exit_code


class FleetRun:
    """Ask every PBX of ``members`` (a list of Settings) the same thing, ``fanout`` at a time.

    ``json_out`` (an Output) is where ``errors_as_rows`` writes a failed
    PBX as ``{"Server": ..., "Error": ..., "ExitCode": ...}``.
    """

    def __init__(
        self,
        members: Sequence[object],
        *,
        fanout: int = DEFAULT_FANOUT,
        ordered: bool = False,
        errors_as_rows: bool = False,
        json_out: object = None,
        err: IO[str] | None = None,
    ) -> None:
        if not members:
            raise ValueError("a fleet needs at least one PBX")
        self.members = list(members)
        self.fanout = max(1, fanout)
        self.ordered = ordered
        self.errors_as_rows = errors_as_rows
        self.json_out = json_out
        self.err = err
        self.codes = [int(ExitCode.OK)] * len(self.members)
        self._index = {id(member): n for n, member in enumerate(self.members)}

    @property
    def many(self) -> bool:
        """Whether several PBXs were named (rows then carry ``Server``)."""
        return len(self.members) > 1

    @staticmethod
    def label(member: object) -> str:
        return member.label  # type: ignore[attr-defined]

    # -- rows ----------------------------------------------------------------

    def tag(self, member: object, row: Mapping[str, object]) -> Mapping[str, object]:
        """``row`` with ``Server`` as its first key, when several PBXs were named."""
        if not self.many:
            return row
        tagged: dict[str, object] = {SERVER_KEY: self.label(member)}
        tagged.update(row)
        return tagged

    def columns(self, columns: Sequence[str]) -> list[str]:
        """Table columns, ``Server`` first when several PBXs were named."""
        return [SERVER_KEY, *columns] if self.many else list(columns)

    # -- failures --------------------------------------------------------------

    def note(self, member: object, message: str, *, single: str = "") -> None:
        """One stderr line naming the PBX (``ami: pbx2: ...``); ``ami: {single}...`` for one PBX."""
        where = f"{self.label(member)}: " if self.many else single
        if self.err is None:
            report(f"{where}{message}")
            return
        self.err.write(f"ami: {where}{message}\n")
        self.err.flush()

    def fail(self, member: object, message: str, code: int) -> None:
        """``member`` failed: one stderr line, its code kept, and a JSON row if asked for."""
        self.mark(member, code)
        self.note(member, message, single="error: ")
        if self.errors_as_rows and self.json_out is not None and getattr(self.json_out, "json", False):
            row = {SERVER_KEY: self.label(member), "Error": message, "ExitCode": int(code)}
            self.json_out.emit_json(row)  # type: ignore[attr-defined]

    def mark(self, member: object, code: int) -> None:
        """Keep ``code`` as what ``member`` came to (the worst non-zero one wins)."""
        index = self._index[id(member)]
        if code and not self.codes[index]:
            self.codes[index] = int(code)

    def exit_code(self) -> int:
        return fleet_exit_code(self.codes)

    # -- running ---------------------------------------------------------------

    def answers(
        self, work: Callable[[object], T], members: Sequence[object] | None = None
    ) -> Iterator[tuple[object, T]]:
        """Run ``work(member)`` for every PBX (or those of ``members``); yield ``(member, result)`` for each success.

        Results come as each PBX answers, or in the order named when
        ``ordered``.  An AmiError from one PBX is reported by :meth:`fail`;
        with one PBX it propagates, as it always has.
        """
        if not self.many:
            member = self.members[0]
            yield member, work(member)
            return
        asked = self.members if members is None else list(members)
        if not asked:
            return
        pool = ThreadPoolExecutor(max_workers=min(self.fanout, len(asked)), thread_name_prefix="ami-fleet")
        try:
            futures = {pool.submit(work, member): n for n, member in enumerate(asked)}
            pending = set(futures)
            done_early: dict[int, Future] = {}
            next_index = 0
            while pending:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                ready = sorted(futures[f] for f in finished) if not self.ordered else []
                for future in finished:
                    done_early[futures[future]] = future
                if self.ordered:
                    while next_index in done_early:
                        ready.append(next_index)
                        next_index += 1
                for n in ready:
                    yield from self._settle(asked[n], done_early.pop(n))
        finally:
            # Ctrl-C or a reader that stopped: PBXs not yet asked are not asked.
            pool.shutdown(wait=False, cancel_futures=True)

    def _settle(self, member: object, future: Future) -> Iterator[tuple[object, T]]:
        try:
            result = future.result()
        except AmiError as exc:
            self.fail(member, str(exc), exc.exit_code)
            return
        yield member, result


class MergedRows:
    """Rows from every PBX as one output: JSON Lines as each PBX answers, or one table at the end."""

    def __init__(
        self, run: FleetRun, out: object, columns: Sequence[str], titles: Mapping[str, str] | None = None
    ) -> None:
        self.run = run
        self.out = out
        self.columns = run.columns(columns)
        self.titles = titles
        self.table: list[Mapping[str, object]] = []
        self.count = 0

    def add(self, member: object, rows: Sequence[Mapping[str, object]]) -> None:
        self.count += len(rows)
        if getattr(self.out, "json", False):
            for row in rows:
                self.out.emit_json(self.run.tag(member, row), flush=False)  # type: ignore[attr-defined]
            self.out.flush()  # type: ignore[attr-defined]
        else:
            self.table.extend(self.run.tag(member, row) for row in rows)

    def finish(self, empty: str | None = None) -> None:
        """Draw the table (when there is a row to show).

        With no row at all and no PBX failed, ``empty`` ("no channels") is
        said on stderr when stdout is a terminal (see Output.rows).
        """
        if self.table:
            self.out.rows(self.table, self.columns, titles=self.titles)  # type: ignore[attr-defined]
            self.table = []
        elif empty and not self.count and not any(self.run.codes):
            self.out.rows([], self.columns, titles=self.titles, empty=empty)  # type: ignore[attr-defined]
