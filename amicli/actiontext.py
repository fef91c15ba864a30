"""Actions as text: checking headers, serialising them for the wire, reading them from AMI syntax."""

from __future__ import annotations

import re
from typing import Iterable, Iterator

#: The longest header line sent (``Key: Value`` and its CRLF), in bytes.
#: Asterisk reads lines into 1,024 bytes; older versions split a longer one
#: and read its rest as a header of its own.
MAX_HEADER_LINE = 1024
# Line and record separators (what str.splitlines() splits on) and NUL:
# none may reach a value, where a server or a log could split at it.
_SEPARATORS = re.compile("[\x00\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")


def check_value(key: str, value: str) -> None:
    """Refuse a header that would break the framing: a separator or NUL inside, or too long a line."""
    if _SEPARATORS.search(key) or ":" in key or not key:
        raise ValueError(f"invalid header name {key!r}")
    found = _SEPARATORS.search(value)
    if found:
        what = "NUL" if found.group() == "\0" else f"a line break (U+{ord(found.group()):04X})"
        raise ValueError(f"header {key!r}: a value cannot contain {what}")
    size = len(key.encode("utf-8", "replace")) + 2 + len(value.encode("utf-8", "replace")) + 2
    if size > MAX_HEADER_LINE:
        raise ValueError(f"header {key!r}: the line would be {size} bytes, over the {MAX_HEADER_LINE} AMI allows")


def serialize(headers: Iterable[tuple[str, str]]) -> bytes:
    """Serialise an action: ``Key: Value`` lines in CRLF, then an empty line."""
    headers = list(headers)
    data = "".join([f"{key}: {value}\r\n" for key, value in headers] + ["\r\n"]).encode("utf-8")
    # One look at the whole action in the usual case (a batch sends thousands):
    # no separator in any name or value, no colon in a name, and the action is
    # shorter than the longest line allowed.  Otherwise each header is checked,
    # which also names the one at fault.
    names = "".join([key or ":" for key, _ in headers])
    values = "".join([value for _, value in headers])
    if len(data) > MAX_HEADER_LINE or ":" in names or _SEPARATORS.search(names) or _SEPARATORS.search(values):
        for key, value in headers:
            check_value(key, value)
    return data


def parse_action_text(text: str) -> Iterator[list[tuple[str, str]]]:
    """Read actions written in AMI syntax, separated by blank lines.

    Lines are ``Key: Value``; ``#`` starts a comment line.  Used by
    ``ami raw -`` to read actions from stdin.
    """
    current: list[tuple[str, str]] = []
    # Only LF (or CRLF) ends a line: str.splitlines() would also split at
    # CR, VT, FF, FS, GS, RS, NEL, U+2028 and U+2029, and a value holding one
    # would become a second header or action.
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    for lineno, raw_line in enumerate(lines, 1):
        line = raw_line[:-1] if raw_line.endswith("\r") else raw_line
        found = _SEPARATORS.search(line)
        if found:
            what = "NUL" if found.group() == "\0" else f"U+{ord(found.group()):04X}, a line or record separator"
            raise ValueError(f"line {lineno}: {what} inside a line (only LF or CRLF end a line)")
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
