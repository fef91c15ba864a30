"""Output: tables for people, JSON Lines for programs, the same rows for both.

Everything goes to the binary stdout as UTF-8, whatever the locale, so a
value that arrived as bytes that are not UTF-8 (already U+FFFD by then) can
never stop the output.  A JSON line is built whole before it is written, so
stdout never holds half a line.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass, field
from typing import IO, Iterable, Mapping, Sequence

from .errors import AmiError, ExitCode
from .redact import scrub

DEFAULT_FMT = "simple"


class FieldError(AmiError):
    """``--fields`` named a field that does not exist."""

    exit_code = ExitCode.USAGE


# C0 controls but TAB and LF, DEL, and C1 controls (U+0080-U+009F: U+009B
# alone starts a terminal escape sequence, as ESC [ does).
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_C1 = re.compile("[\x80-\x9f]")


def _escape(match: re.Match[str]) -> str:
    return f"\\x{ord(match.group()):02x}"


def visible(text: str) -> str:
    """``text`` with control characters shown as ``\\xNN`` (TAB and LF kept).

    Everything a person reads goes through this: what the PBX sends (caller
    ID names come from outside callers) must not drive the terminal.
    """
    return _CONTROL.sub(_escape, text) if _CONTROL.search(text) else text


def escape_c1(text: str) -> str:
    """JSON text with C1 controls escaped (``\\u009b``), as json.dumps does C0 ones."""
    if _C1.search(text):
        return _C1.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
    return text


def json_line(obj: object) -> bytes:
    """One JSON Lines record, newline included (C1 controls escaped as C0 ones are)."""
    text = escape_c1(json.dumps(obj, ensure_ascii=False, separators=(",", ":")))
    return (scrub(text) + "\n").encode("utf-8", "replace")


def parse_fields(text: str | None) -> list[str] | None:
    """``"a, b,c"`` -> ``["a", "b", "c"]``; None or empty -> None."""
    if not text:
        return None
    names = [name.strip() for name in text.split(",") if name.strip()]
    return names or None


def check_fields(wanted: Sequence[str] | None, valid: Sequence[str]) -> None:
    """Raise FieldError naming the valid fields when one is unknown."""
    if not wanted:
        return
    lower = {v.lower() for v in valid}
    for name in wanted:
        if name.lower() not in lower:
            raise FieldError(f"unknown field {name!r}; valid fields: {', '.join(valid)}")


def get_field(row: Mapping[str, object], *names: str) -> object:
    """The first of ``names`` present in ``row`` (case-insensitive), or None.

    AMI header names differ in case between versions (``Uniqueid`` and
    ``UniqueID``), so rows are looked up without regard to it.
    """
    for name in names:
        if name in row:
            return row[name]
    lowered = {k.lower(): v for k, v in row.items()}
    for name in names:
        if name.lower() in lowered:
            return lowered[name.lower()]
    return None


@dataclass
class Output:
    """Where and how a command writes its data.

    ``json``: JSON Lines, one object per row, flushed per line.
    Otherwise a table in the tabulate format ``fmt``.
    """

    json: bool = False
    fmt: str = DEFAULT_FMT
    fields: list[str] | None = None
    headers: bool = True
    stream: IO[bytes] = field(default_factory=lambda: sys.stdout.buffer)

    def write(self, data: bytes) -> None:
        self.stream.write(data)

    def write_text(self, text: str) -> None:
        self.stream.write(visible(scrub(text)).encode("utf-8", "replace"))
        self.stream.flush()

    def emit_json(self, obj: Mapping[str, object], flush: bool = True) -> None:
        """Write one JSON object as one line (restricted to ``--fields``)."""
        if self.fields:
            obj = {name: get_field(obj, name) for name in self.fields}
        self.stream.write(json_line(obj))
        if flush:
            self.stream.flush()

    def flush(self) -> None:
        self.stream.flush()

    def rows(
        self,
        rows: Iterable[Mapping[str, object]],
        columns: Sequence[str],
        *,
        titles: Mapping[str, str] | None = None,
        flush: bool = True,
    ) -> int:
        """Write rows as JSON Lines or as one table; return how many.

        ``columns`` are the keys shown in a table by default (in order);
        JSON shows every key of each row unless ``--fields`` is given.
        ``flush``: each JSON line as it is written (for a consumer that reads
        as rows come); else once at the end (a list fetched whole).
        """
        count = 0
        if self.json:
            for row in rows:
                self.emit_json(row, flush=flush)
                count += 1
            if not flush:
                self.stream.flush()
            return count
        names = list(self.fields or columns)
        table = []
        for row in rows:
            table.append([_cell(get_field(row, name)) for name in names])
            count += 1
        self.table(table, [(titles or {}).get(n, n) for n in names])
        return count

    def table(self, table: list[list[object]], headers: Sequence[str]) -> None:
        """Draw a table with tabulate (imported only when a table is drawn)."""
        from tabulate import tabulate

        if not table and not self.headers:
            return
        text = tabulate(table, headers=list(headers) if self.headers else (), tablefmt=self.fmt, disable_numparse=True)
        self.write_text(text + "\n")


def _cell(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return "\n".join(str(v) for v in value)
    return value


def report(message: str, level: str = "") -> None:
    """One line for people on stderr: ``ami: LEVEL: MESSAGE`` (``ami: MESSAGE`` without a level).

    ``level`` is ``error``, ``warning``, ``note`` or empty.  A stderr that
    is closed or gone is ignored: a note must never end the command.
    """
    # What the PBX said may be quoted in it: no secret, no control character, one line.
    message = visible(scrub(message)).replace("\n", " ").replace("\t", " ")
    line = f"ami: {level}: {message}\n" if level else f"ami: {message}\n"
    try:
        sys.stderr.write(line)
        sys.stderr.flush()
    except (OSError, ValueError):
        pass


def table_formats() -> list[str]:
    """The tabulate format names (for --fmt help and completion)."""
    from tabulate import tabulate_formats

    return list(tabulate_formats)
