"""Output: tables for people, JSON Lines for programs, the same rows for both.

Everything goes to the binary stdout as UTF-8, whatever the locale, so a
value that arrived as bytes that are not UTF-8 (already U+FFFD by then) can
never stop the output.  A JSON line is built whole before it is written, so
stdout never holds half a line.
"""

from __future__ import annotations

import json
import os
import re
import sys
from dataclasses import dataclass, field
from typing import IO, Iterable, Mapping, Sequence

from .redact import scrub
from .rowtext import FieldError, Schema, csv_text, fit_columns, tsv

DEFAULT_FMT = "simple"

__all__ = ["DEFAULT_FMT", "FieldError", "Output", "Schema", "check_fields", "get_field", "json_line", "parse_fields"]


# C0 controls but TAB and LF, DEL, and C1 controls (U+0080-U+009F: U+009B
# alone starts a terminal escape sequence, as ESC [ does).
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]|\r(?!\n)")  # CRLF (CSV) kept
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


def check_fields(wanted: Sequence[str] | None, valid: Sequence[str] | Schema) -> None:
    """Raise FieldError naming the valid fields when one is unknown."""
    schema = valid if isinstance(valid, Schema) else Schema(json_keys=list(valid))
    for name in wanted or ():
        schema.resolve(name)


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


_pick = get_field


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
    #: RFC 4180 CSV instead of a table.
    csv: bool = False
    #: Every column, whatever the terminal's width.
    wide: bool = False
    #: What the rows hold: resolves --fields (titles or JSON keys).
    schema: Schema | None = None

    def write(self, data: bytes) -> None:
        self.stream.write(data)

    def write_text(self, text: str) -> None:
        self.stream.write(visible(scrub(text)).encode("utf-8", "replace"))
        self.stream.flush()

    def emit_json(self, obj: Mapping[str, object], flush: bool = True) -> None:
        """Write one JSON object as one line (restricted to ``--fields``)."""
        if self.fields:
            schema = self.schema or Schema()
            wanted = [_candidates_or_keep(schema, name) for name in self.fields]
            full = schema.full_row(obj)
            obj = {alts[0]: _pick(full, *alts) for alts in wanted}
        self.stream.write(json_line(obj))
        if flush:
            self.stream.flush()

    def flush(self) -> None:
        self.stream.flush()

    def rows(
        self,
        rows: Iterable[Mapping[str, object]],
        columns: Sequence[str] = (),
        *,
        titles: Mapping[str, str] | None = None,
        empty: str | None = None,
        flush: bool = True,
    ) -> int:
        """Write rows as JSON Lines or as one table; return how many.

        ``rows`` are the JSON rows; with a :class:`Schema` the table row is
        derived from each.  Without one, ``columns`` and ``titles`` describe
        the table.  ``empty`` ("no channels") is said on stderr when a
        terminal would otherwise show an empty table.
        """
        schema = self.schema
        if schema is None or (columns and not schema.columns):
            # A command that names its columns here (not in a Schema): they and their titles count too.
            json_keys = schema.json_keys if schema is not None else ()
            schema = Schema(json_keys=json_keys, columns=list(columns), titles=dict(titles or {}))
        # Each field's keys, the likeliest first: a row without it has the other (Schema.candidates).
        wanted = [schema.candidates(name, table=not self.json) for name in self.fields] if self.fields else None
        keys = [alts[0] for alts in wanted] if wanted else None
        if self.json:
            count = 0
            for row in rows:
                if wanted:
                    full = schema.full_row(row)
                    row = {alts[0]: _pick(full, *alts) for alts in wanted}
                self.stream.write(json_line(row))
                count += 1
                if flush:
                    self.stream.flush()
            self.stream.flush()
            return count
        names = keys or list(columns or schema.columns)
        if schema.table_row is not None:
            # The table's values beside the row's own (a "Server" tag, a JSON key in --fields).
            shown = [schema.full_row(row, table_first=True) for row in rows]
        else:
            shown = list(rows)
        lookups = wanted or [(key,) for key in names]
        table = [[_cell(_pick(row, *alts)) for alts in lookups] for row in shown]
        del shown
        if not table:
            # Nothing to show: stdout stays empty; a person at a terminal is told why.
            if empty and _is_tty(self.stream):
                sys.stderr.write(f"ami: {empty}\n")
                sys.stderr.flush()
            return 0
        headers = [schema.title(key) for key in names]
        if not keys and not self.wide and not self.csv and self.fmt != "tsv":
            ranked = [names.index(k) for k in schema.priority if k in names]
            if "Server" in names and names.index("Server") not in ranked:
                ranked.insert(1, names.index("Server"))  # with several PBXs, which one matters
            ranked += [i for i in range(len(names)) if i not in ranked]
            keep = fit_columns(table, headers, ranked, self.fmt, terminal_width())
            if len(keep) < len(names):
                table = [[row[i] for i in keep] for row in table]
                headers = [headers[i] for i in keep]
        self.table(table, headers)
        return len(table)

    def table(self, table: list[list[object]], headers: Sequence[str]) -> None:
        """Draw a table: CSV, unpadded TSV, or tabulate's format (imported only then)."""
        if not table and not self.headers:
            return
        shown = list(headers) if self.headers else None
        if self.csv:
            self.write_text(csv_text(table, shown))
            return
        if self.fmt == "tsv":
            self.write_text(tsv(table, shown))
            return
        from tabulate import tabulate

        text = tabulate(table, headers=shown or (), tablefmt=self.fmt, disable_numparse=True)
        self.write_text(text + "\n")


#: The table width when stdout is not a terminal and COLUMNS is unset.
PIPE_WIDTH = 100


def terminal_width() -> int:
    """``COLUMNS``, else the terminal's width, else :data:`PIPE_WIDTH` when not a terminal."""
    text = os.environ.get("COLUMNS", "").strip()
    if text.isdigit() and int(text) > 0:
        return int(text)
    try:
        if sys.stdout.isatty():
            return os.get_terminal_size(sys.stdout.fileno()).columns
    except (OSError, ValueError):
        pass
    return PIPE_WIDTH


def _candidates_or_keep(schema: Schema, name: str) -> tuple[str, ...]:
    try:
        return schema.candidates(name)
    except FieldError:
        return (name,)


def _is_tty(stream: object) -> bool:
    try:
        return bool(stream.isatty())  # type: ignore[attr-defined]
    except (AttributeError, ValueError):
        return False


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
