"""Calls from a batch file: JSON Lines, or CSV with a header row, read lazily."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from typing import Iterable, Iterator, Mapping

from ..booleans import parse_bool
from .spec import CallSpec, check_variable_name, parse_var


@dataclass
class BadLine:
    """A batch line that cannot be a call; reported and skipped."""

    line: int
    reason: str


#: Batch field names (and their aliases) -> CallSpec attribute.
FIELD_ALIASES = {
    "channel": "channel",
    "exten": "exten",
    "extension": "exten",
    "context": "context",
    "priority": "priority",
    "app": "app",
    "application": "app",
    "data": "data",
    "caller_id": "caller_id",
    "callerid": "caller_id",
    "timeout": "timeout",
    "var": "variables",
    "vars": "variables",
    "variable": "variables",
    "variables": "variables",
    "account": "account",
    "codecs": "codecs",
    "channel_id": "channel_id",
    "channelid": "channel_id",
    "other_channel_id": "other_channel_id",
    "otherchannelid": "other_channel_id",
    "early_media": "early_media",
    "earlymedia": "early_media",
    "server": "server",
}


def _field_name(key: str) -> str:
    canon = key.strip().lower().replace("-", "_")
    if canon not in FIELD_ALIASES:
        known = ", ".join(sorted(set(FIELD_ALIASES.values()) - {"variables"}) + ["var"])
        raise ValueError(f"unknown field {key!r} (known: {known})")
    return FIELD_ALIASES[canon]


def _as_bool(value: object, name: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value)
    truth = parse_bool(text) if text.strip() else False
    if truth is None:
        raise ValueError(f"{name}: expected yes or no, got {value!r}")
    return truth


def _as_seconds(value: object) -> float:
    if isinstance(value, bool):
        raise ValueError("timeout: expected seconds")
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError(f"timeout: expected seconds, got {value!r}") from None


def _as_text(value: object, name: str) -> str:
    if isinstance(value, bool) or value is None or isinstance(value, (dict, list)):
        raise ValueError(f"{name}: expected a string, got {json.dumps(value)}")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


def _variables(value: object) -> list[tuple[str, str]]:
    """``{"A": "1"}``, ``["A=1", ...]`` or ``"A=1"`` -> pairs."""
    if isinstance(value, dict):
        out = []
        for name, val in value.items():
            check_variable_name(str(name))
            out.append((str(name), _as_text(val, f"var {name}")))
        return out
    if isinstance(value, list):
        return [parse_var(_as_text(v, "var")) for v in value]
    if isinstance(value, str):
        return [parse_var(value)] if value else []
    raise ValueError(f"var: expected an object, a list or KEY=VALUE, got {json.dumps(value)}")


@dataclass
class _Fields:
    """One batch record's values, checked and typed."""

    text: dict[str, str] = field(default_factory=dict)
    variables: list[tuple[str, str]] = field(default_factory=list)
    timeout: float | None = None
    early_media: bool | None = None

    def add(self, key: str, raw: object) -> None:
        if key.lower().startswith("var:"):
            # CSV: a column per variable, "var:NAME".
            name = key[4:].strip()
            check_variable_name(name)
            if raw not in (None, ""):
                self.variables.append((name, _as_text(raw, key)))
            return
        name = _field_name(key)
        if raw is None or raw == "":
            return
        if name == "variables":
            self.variables += _variables(raw)
        elif name == "early_media":
            self.early_media = _as_bool(raw, key)
        elif name == "timeout":
            self.timeout = _as_seconds(raw)
        else:
            self.text[name] = _as_text(raw, key)


def spec_from_fields(fields: Mapping[str, object], defaults: CallSpec | None, line: int) -> CallSpec:
    """A CallSpec from one batch record; ``defaults`` (the command line) fills the gaps."""
    record = _Fields()
    for key, raw in fields.items():
        record.add(key, raw)
    values = record.text
    base = defaults or CallSpec(channel="")
    if "exten" in values or "app" in values:
        # The line names its own target: the command line's target (and the
        # data that goes with its app) does not carry over; its context and
        # priority still serve as defaults for an exten.  --data without
        # --app is a default of every line, checked with the line's target.
        exten, app = values.get("exten"), values.get("app")
        context = values.get("context", base.context if exten is not None else None)
        priority = values.get("priority", base.priority if exten is not None else None)
        data = values.get("data", base.data if base.app is None else None)
    else:
        exten, app = base.exten, base.app
        context = values.get("context", base.context)
        priority = values.get("priority", base.priority)
        data = values.get("data", base.data)
    spec = CallSpec(
        channel=values.get("channel", ""),
        exten=exten,
        context=context,
        priority=priority,
        app=app,
        data=data,
        caller_id=values.get("caller_id", base.caller_id),
        timeout=base.timeout if record.timeout is None else record.timeout,
        variables=list(base.variables) + record.variables,
        account=values.get("account", base.account),
        codecs=values.get("codecs", base.codecs),
        channel_id=values.get("channel_id"),
        other_channel_id=values.get("other_channel_id"),
        early_media=base.early_media if record.early_media is None else record.early_media,
        line=line,
        server=values.get("server"),
    )
    if not spec.channel:
        raise ValueError("no channel")
    return spec.check()


def _decoded_lines(stream: Iterable[bytes]) -> Iterator[tuple[int, str | None]]:
    """(line number, text without its line end), text None when not UTF-8."""
    for number, raw in enumerate(stream, 1):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            yield number, None
            continue
        yield number, text.rstrip("\r\n")


def read_batch(stream: Iterable[bytes], defaults: CallSpec | None = None) -> Iterator[CallSpec | BadLine]:
    """The calls of a batch file: JSON Lines, or CSV with a header row.

    The format is told by the first line that is not blank: ``{`` starts
    JSON Lines.  Read lazily, so calls start before a long stdin ends.
    """
    lines = _decoded_lines(stream)
    first: tuple[int, str | None] | None = None
    for number, text in lines:
        if text is None:
            yield BadLine(number, "not UTF-8 text")
            continue
        if text.strip():
            first = (number, text)
            break
    if first is None:
        return

    def chained() -> Iterator[tuple[int, str | None]]:
        yield first  # type: ignore[misc]
        yield from lines

    if first[1].lstrip().startswith("{"):  # type: ignore[union-attr]
        yield from _read_jsonl(chained(), defaults)
    else:
        yield from _read_csv(chained(), defaults)


def _read_jsonl(lines: Iterable[tuple[int, str | None]], defaults: CallSpec | None) -> Iterator[CallSpec | BadLine]:
    for number, text in lines:
        if text is None:
            yield BadLine(number, "not UTF-8 text")
            continue
        if not text.strip():
            continue
        try:
            obj = json.loads(text)
        except ValueError as exc:
            yield BadLine(number, f"not JSON: {exc.msg} at column {exc.colno}")
            continue
        if not isinstance(obj, dict):
            yield BadLine(number, "expected a JSON object")
            continue
        try:
            yield spec_from_fields(obj, defaults, number)
        except ValueError as exc:
            yield BadLine(number, str(exc))


def _read_csv(lines: Iterable[tuple[int, str | None]], defaults: CallSpec | None) -> Iterator[CallSpec | BadLine]:
    lines = iter(lines)
    header_number, header_text = next(lines)
    try:
        header = _csv_header(header_text or "")
    except csv.Error as exc:
        yield BadLine(header_number, f"CSV header row: {exc}")
        return
    except ValueError as exc:
        # Without a usable header no row can be read: every row is bad.
        for number, text in lines:
            if text is not None and text.strip():
                yield BadLine(number, f"CSV header row (line {header_number}): {exc}")
        return
    for item in _csv_records(lines):
        if isinstance(item, BadLine):
            yield item
            continue
        start, record = item
        try:
            row = next(csv.reader(io.StringIO(record)))
        except (csv.Error, StopIteration) as exc:
            yield BadLine(start, f"not CSV: {exc}")
            continue
        if len(row) != len(header):
            yield BadLine(start, f"{len(row)} values for {len(header)} columns")
            continue
        try:
            yield spec_from_fields(_csv_fields(header, row), defaults, start)
        except ValueError as exc:
            yield BadLine(start, str(exc))


def _csv_header(text: str) -> list[str]:
    """The column names; csv.Error when the row is not CSV, ValueError for an unknown field."""
    header = [h.strip() for h in next(csv.reader([text]))]
    for name in header:
        if not name.lower().startswith("var:"):
            _field_name(name)
    return header


def _csv_records(lines: Iterator[tuple[int, str | None]]) -> Iterator[tuple[int, str] | BadLine]:
    """(number of its first line, text) of each record, blank lines left out.

    csv needs the physical lines (a quoted value may span several); the
    line number reported is that of the record's first line.
    """
    pending: list[str] = []
    start = 0
    for number, text in lines:
        if text is None:
            yield BadLine(number, "not UTF-8 text")
            continue
        if not pending:
            if not text.strip():
                continue
            start = number
        pending.append(text)
        joined = "\n".join(pending)
        if joined.count('"') % 2:  # an open quoted value: the record goes on
            continue
        pending = []
        yield start, joined
    if pending:
        yield BadLine(start, "not CSV: a quoted value is never closed")


def _csv_fields(header: list[str], row: list[str]) -> dict[str, object]:
    """A row as batch fields; the values of every ``var`` column together."""
    fields: dict[str, object] = {}
    var_cells: list[str] = []
    for name, value in zip(header, row, strict=True):
        if _field_name_or_none(name) == "variables":
            if value:
                var_cells.append(value)
        else:
            fields[name] = value
    if var_cells:
        fields["var"] = var_cells
    return fields


def _field_name_or_none(name: str) -> str | None:
    try:
        return _field_name(name)
    except ValueError:
        return None
