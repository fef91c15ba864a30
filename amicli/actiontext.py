"""Actions as text: checking headers, serialising them for the wire, reading them from AMI syntax."""

from __future__ import annotations

from typing import Iterable, Iterator


def check_value(key: str, value: str) -> None:
    """Refuse a header that would break the framing (CR or LF inside)."""
    if "\r" in key or "\n" in key or ":" in key or not key:
        raise ValueError(f"invalid header name {key!r}")
    if "\r" in value or "\n" in value:
        raise ValueError(f"header {key!r}: a value cannot contain a line break")


def serialize(headers: Iterable[tuple[str, str]]) -> bytes:
    """Serialise an action: ``Key: Value`` lines in CRLF, then an empty line."""
    parts = []
    for key, value in headers:
        check_value(key, value)
        parts.append(f"{key}: {value}\r\n")
    parts.append("\r\n")
    return "".join(parts).encode("utf-8")


def parse_action_text(text: str) -> Iterator[list[tuple[str, str]]]:
    """Read actions written in AMI syntax, separated by blank lines.

    Lines are ``Key: Value``; ``#`` starts a comment line.  Used by
    ``ami raw -`` to read actions from stdin.
    """
    current: list[tuple[str, str]] = []
    for lineno, raw_line in enumerate(text.splitlines(), 1):
        line = raw_line.rstrip("\r")
        if not line.strip():
            if current:
                yield current
                current = []
            continue
        if line.lstrip().startswith("#"):
            continue
        key, sep, value = line.partition(":")
        if not sep or not key.strip():
            raise ValueError(f"line {lineno}: expected 'Key: Value', got {line!r}")
        current.append((key.strip(), value[1:] if value.startswith(" ") else value))
    if current:
        yield current
