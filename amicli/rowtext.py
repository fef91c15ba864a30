"""Rows as text: field names, unpadded TSV, RFC 4180 CSV, and tables that fit the terminal.

No click here: :class:`~amicli.output.Output` drives this.

A command describes its rows once with a :class:`Schema`: the JSON keys
(Asterisk's names, as ``--json`` prints them), the table's columns (keys of
the table row, some derived) with their titles, and which columns matter
most when the terminal is narrow.  ``--fields`` may name a column by its
title or its key, or any JSON key, without regard to case.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence

from .errors import AmiError, ExitCode


class FieldError(AmiError):
    """``--fields`` named a field that does not exist."""

    exit_code = ExitCode.USAGE


@dataclass
class Schema:
    """What a command's rows hold (see the module docstring)."""

    #: Keys of the JSON rows, as the server names them (and derived ones).
    json_keys: Sequence[str] = ()
    #: Keys of the table row, in display order.
    columns: Sequence[str] = ()
    #: Column key -> title, for the columns whose title differs from the key.
    titles: Mapping[str, str] = field(default_factory=dict)
    #: Column keys from the most to the least useful (default: display order).
    priority: Sequence[str] = ()
    #: The JSON row -> the table row (None: the JSON row is the table row).
    table_row: Callable[[Mapping[str, object]], Mapping[str, object]] | None = None

    def title(self, key: str) -> str:
        return self.titles.get(key, key)

    def valid_names(self) -> list[str]:
        """The names to show in an error: column titles, then JSON keys; no repeats."""
        out: list[str] = []
        seen: set[str] = set()
        for name in [*(self.title(c) for c in self.columns), *self.json_keys]:
            if name.lower() not in seen:
                seen.add(name.lower())
                out.append(name)
        return out

    def resolve(self, name: str, table: bool = False) -> str:
        """The key a ``--fields`` name stands for; FieldError when none.

        A name that is both a JSON key and a column (``Status``: a number in
        JSON, words in the table) means the one of the output at hand.
        """
        return self.candidates(name, table)[0]

    def candidates(self, name: str, table: bool = False) -> tuple[str, ...]:
        """The keys a ``--fields`` name may stand for, :meth:`resolve`'s first.

        A row without the first takes the other: ``Interface`` is the member
        table's title for ``Location`` and the key Asterisk 11 sends instead,
        so a row of either kind has a value for it.
        """
        lowered = name.strip().lower()
        json_key = next((key for key in self.json_keys if key.lower() == lowered), None)
        column = next(
            (key for key in self.columns if key.lower() == lowered or self.title(key).lower() == lowered), None
        )
        found = [key for key in ((column, json_key) if table else (json_key, column)) if key is not None]
        if found:
            return tuple(dict.fromkeys(found))
        raise FieldError(f"unknown field {name!r}; valid fields: {', '.join(self.valid_names())}")

    def full_row(self, row: Mapping[str, object], table_first: bool = False) -> Mapping[str, object]:
        """The JSON row with the table's values beside it.

        Where both have a key, the JSON value wins, or the table's (as
        shown) with ``table_first``.
        """
        if self.table_row is None:
            return row
        if table_first:
            return {**row, **self.table_row(row)}
        return {**self.table_row(row), **row}


def plain_cell(value: object) -> str:
    """A cell for TSV: one line, no tabs."""
    return str(value).replace("\t", " ").replace("\r\n", " ").replace("\n", " ").replace("\r", " ")


def tsv(table: Sequence[Sequence[object]], headers: Sequence[str] | None) -> str:
    """Tab-separated values, no padding, one line per row."""
    lines = ["\t".join(plain_cell(c) for c in row) for row in ([headers] if headers else []) + list(table)]
    return "".join(line + "\n" for line in lines)


def csv_text(table: Sequence[Sequence[object]], headers: Sequence[str] | None) -> str:
    """RFC 4180 CSV (CRLF line ends, quotes where needed), by the csv module."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    if headers:
        writer.writerow(headers)
    writer.writerows([["" if c is None else c for c in row] for row in table])
    return buffer.getvalue()


def _cell_width(value: object) -> int:
    text = str(value)
    return max(len(line) for line in text.split("\n")) if "\n" in text else len(text)


def _overhead(fmt: str) -> tuple[int, int]:
    """(width between two columns, width of the table's edges) in tabulate format ``fmt``."""
    from tabulate import tabulate

    def width(n: int) -> int:
        text = tabulate([["x"] * n], headers=["x"] * n, tablefmt=fmt, disable_numparse=True)
        return max(len(line) for line in text.splitlines())

    one, two = width(1), width(2)
    return two - one - 1, one - 1


def fit_columns(
    table: list[list[object]], headers: Sequence[str], order: Sequence[int], fmt: str, limit: int
) -> list[int]:
    """Indexes of the columns to keep so the table is at most ``limit`` wide.

    ``order`` ranks the column indexes from the most to the least useful; the
    least useful go first, the first one always stays.
    """
    widths = [len(h) for h in headers]
    for row in table:
        for i, cell in enumerate(row):
            w = _cell_width(cell)
            if w > widths[i]:
                widths[i] = w
    between, edges = _overhead(fmt)
    keep = list(order)
    while len(keep) > 1 and sum(widths[i] for i in keep) + between * (len(keep) - 1) + edges > limit:
        keep.pop()
    return sorted(keep)
