"""One AMI message as the client sees it, and the header-line rules it is read by.

Split from :mod:`amicli.protocol` (the framing); everything here is
re-exported there.
"""

from __future__ import annotations

import re
from typing import Iterable, Sequence

from .actiontext import serialize


def decode(data: bytes) -> str:
    """Decode bytes from the wire by the documented rule (UTF-8, U+FFFD)."""
    return data.decode("utf-8", "replace")


class Message:
    """One message from the server: ordered headers, repeats kept.

    ``kind`` is ``"response"``, ``"event"``, ``"text"`` (a headerless block,
    its lines in ``text``) or ``"other"``.  ``raw`` holds the exact bytes
    received, terminator included.

    The parser's fast path leaves ``headers`` unparsed until first read
    (``_hlen`` is then the length of the header bytes in ``raw``): a stream
    reader that only forwards events never pays for splitting their lines.
    A text block's ``text`` is made on first read the same way: an event
    stream drops the text a hostile server floods it with, unread.
    """

    __slots__ = ("_headers", "_hlen", "kind", "raw", "_text", "legacy")

    def __init__(
        self,
        headers: list[tuple[str, str]] | None,
        kind: str = "other",
        raw: bytes = b"",
        text: str | None = None,
        legacy: bool = False,
        hlen: int = -1,
    ) -> None:
        self._headers = headers
        self._hlen = hlen
        self.kind = kind
        self.raw = raw
        self._text = text
        #: True for an Asterisk <= 13 ``Response: Follows`` command reply.
        self.legacy = legacy

    @property
    def headers(self) -> list[tuple[str, str]]:
        """The ``(key, value)`` pairs in order (parsed on first use)."""
        headers = self._headers
        if headers is None:
            headers = self._headers = _split_text(decode(self.raw[: self._hlen]))
        return headers

    @headers.setter
    def headers(self, value: list[tuple[str, str]]) -> None:
        self._headers = value

    @property
    def text(self) -> str | None:
        """A text block's lines, LF-separated (made on first use); None for other messages."""
        text = self._text
        if text is None and self.kind == "text" and self._hlen >= 0:
            # The bytes up to the LF ending the last line, its CR included.
            text = decode(self.raw[: self._hlen]).replace("\r\n", "\n")
            text = self._text = text[:-1] if text.endswith("\r") else text
        return text

    @classmethod
    def from_pairs(cls, pairs: Iterable[tuple[str, str]]) -> "Message":
        headers = list(pairs)
        return cls(headers, _kind_of(headers), serialize(headers))

    def get(self, key: str, default: str | None = None) -> str | None:
        """The first value of ``key`` (case-insensitive), or ``default``."""
        for k, v in self.headers:
            if k == key:
                return v
        lower = key.lower()
        for k, v in self.headers:
            if k.lower() == lower:
                return v
        return default

    def get_all(self, key: str) -> list[str]:
        """Every value of ``key`` (case-insensitive), in order."""
        lower = key.lower()
        return [v for k, v in self.headers if k.lower() == lower]

    def __getitem__(self, key: str) -> str:
        value = self.get(key)
        if value is None:
            raise KeyError(key)
        return value

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.get(key) is not None

    @property
    def name(self) -> str:
        """The event name, or the response word (``Success``, ``Error``...)."""
        if self.kind == "event":
            raw = self.raw
            if self._headers is None and raw[:7] == b"Event: ":
                # Unparsed (CRLF lines): the first line is the Event header.
                return decode(raw[7 : raw.find(b"\r\n")])
            return self.get("Event", "") or ""
        return self.get("Response", "") or ""

    def peek(self, key: str, exact: bool = False) -> str | None:
        """:meth:`get` without parsing the headers, when they are not parsed yet.

        ``exact``: only the key as spelt (Asterisk's own spelling) is looked for.

        A list of 100,000 items is kept as raw bytes this way: its headers,
        parsed, would take ten times the memory.
        """
        if self._headers is not None:
            return self.get(key)
        raw = self.raw[: self._hlen]
        needle = key.encode() + b":"
        at = 0 if raw.startswith(needle) else raw.find(b"\n" + needle) + 1
        if at <= 0 and not raw.startswith(needle):
            if not exact and needle.lower() in raw.lower():
                return self.get(key)  # another spelling of the key
            return None
        start = at + len(needle)
        end = raw.find(b"\n", start)
        value = raw[start : len(raw) if end < 0 else end]
        if value[-1:] == b"\r":
            value = value[:-1]
        if value[:1] == b" ":
            value = value[1:]
        return decode(value)

    @property
    def action_id(self) -> str | None:
        return self.peek("ActionID")

    @property
    def is_error(self) -> bool:
        return self.kind == "response" and (self.get("Response") or "").lower() == "error"

    def to_dict(self) -> dict[str, object]:
        """Headers as a dict; a header that repeats becomes a list."""
        if self.kind == "text":
            return {"Text": self.text or ""}
        headers = self.headers
        d: dict[str, object] = dict(headers)
        if len(d) == len(headers):
            return d
        d = {}
        for k, v in headers:
            if k in d:
                prev = d[k]
                if isinstance(prev, list):
                    prev.append(v)
                else:
                    d[k] = [prev, v]
            else:
                d[k] = v
        return d

    def __repr__(self) -> str:
        return f"Message({self.kind}, {self.headers!r})"


def _kind_of(headers: Sequence[tuple[str, str]]) -> str:
    if headers:
        first = headers[0][0].lower()
        if first == "event":
            return "event"
        if first == "response":
            return "response"
    for k, _ in headers:
        kl = k.lower()
        if kl == "event":
            return "event"
        if kl == "response":
            return "response"
    return "other"


def _split_header(line: str) -> tuple[str, str]:
    key, sep, value = line.partition(":")
    if not sep:
        return "", line
    # Exactly one space follows the colon; more is part of the value
    # (indented CLI output in ``Output:`` headers depends on it).
    if value[:1] == " ":
        value = value[1:]
    return key, value


# Header lines of the usual shape: a key without ':' or a line end, ':' and
# at most one space, a value without CR or LF, then CRLF or LF.  A block whose
# every line fits is split by two C calls; anything else by _split_lines.
# The block's pattern leaves the space to the value: with " ?" each line
# could match two ways, and a block that fails at its end would be tried in
# 2**lines ways before the slow path (seconds for 20 headers).
_USUAL_BLOCK = re.compile(r"(?:[^:\r\n]+:[^\r\n]*\r?\n)+")
_USUAL_LINE = re.compile(r"([^:\r\n]+): ?([^\r\n]*)\r?\n")


def _split_text(text: str) -> list[tuple[str, str]]:
    """Header text (lines joined by LF, a CR may end each, no final LF) -> ``(key, value)`` pairs.

    The same pairs as ``_split_lines(text.split("\\n"))``: when the whole
    block fits the usual shape, each match is exactly one line.
    """
    text += "\n"
    if _USUAL_BLOCK.fullmatch(text) is not None:
        return _USUAL_LINE.findall(text)
    return _split_lines(text[:-1].split("\n"))


def _split_lines(lines: list[str]) -> list[tuple[str, str]]:
    """Header lines (split on LF, a CR may end each) -> ``(key, value)`` pairs.

    The same rule as :func:`_split_header`, inlined: this runs for every
    header of every message whose headers are read.
    """
    out = []
    append = out.append
    for line in lines:
        if line[-1:] == "\r":
            line = line[:-1]
        key, sep, value = line.partition(":")
        if not sep:
            append(("", line))
        elif value[:1] == " ":
            append((key, value[1:]))
        else:
            append((key, value))
    return out
