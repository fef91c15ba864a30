"""Which events to show: ``--filter`` header tests, the emulated server filter, and both together."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Sequence

from ..posixre import posix_regex
from ..protocol import Message, decode

_FILTER_SYNTAX = re.compile(r"\s*([A-Za-z0-9_\-.()/]+)\s*(!=|!~|=|~)(.*)\Z", re.DOTALL)


@dataclass(frozen=True)
class HeaderTest:
    """One ``--filter``: ``Key=Value``, ``Key!=Value``, ``Key~REGEX`` or ``Key!~REGEX``.

    The key is matched case-insensitively, values exactly, a regex anywhere
    in the value (``re.search``).  A header that repeats holds when any of
    its values matches; the negations hold when none does, so a missing
    header satisfies ``!=`` and ``!~`` but not ``=`` and ``~``.
    """

    key: str
    op: str
    value: str
    regex: "re.Pattern[str] | None" = None

    def __call__(self, msg: Message) -> bool:
        values = msg.get_all(self.key)
        if self.regex is None:
            found = self.value in values
        else:
            search = self.regex.search
            found = any(search(v) for v in values)
        return not found if self.op.startswith("!") else found

    def __str__(self) -> str:
        return f"{self.key}{self.op}{self.value}"


def parse_filter(text: str) -> HeaderTest:
    """``"Channel~^PJSIP/"`` -> HeaderTest; ValueError with a reason on bad input."""
    m = _FILTER_SYNTAX.match(text)
    if m is None:
        raise ValueError(f"{text!r}: expected Key=Value, Key!=Value, Key~REGEX or Key!~REGEX")
    key, op, value = m.groups()
    regex = None
    if "~" in op:
        try:
            regex = re.compile(value)
        except re.error as exc:
            raise ValueError(f"{text!r}: bad regular expression: {exc}") from None
    return HeaderTest(key, op, value, regex)


class ServerFilter:
    """Asterisk's ``Filter`` action, done here when the user may not use it.

    Asterisk matches each filter (a POSIX extended regular expression) against
    the event's text, ``Key: Value`` lines in CRLF.  A filter starting with
    ``!`` excludes; otherwise it includes.  With include filters an event must
    match one of them, and it must match no exclude filter.  The expressions
    are read as POSIX reads them (:mod:`amicli.posixre`), so a filter means
    the same here as on the PBX.
    """

    def __init__(self, patterns: Sequence[str]) -> None:
        self.patterns = list(patterns)
        self.include = [posix_regex(p) for p in patterns if not p.startswith("!")]
        self.exclude = [posix_regex(p[1:]) for p in patterns if p.startswith("!")]

    def __call__(self, msg: Message) -> bool:
        raw = msg.raw
        if raw.endswith(b"\r\n\r\n"):
            raw = raw[:-2]
        text = decode(raw)
        if self.include and not any(rx.search(text) for rx in self.include):
            return False
        return not any(rx.search(text) for rx in self.exclude)


def check_server_filter(pattern: str) -> None:
    """Raise ValueError when ``pattern`` (``!`` prefix allowed) is not a POSIX regular expression."""
    try:
        posix_regex(pattern[1:] if pattern.startswith("!") else pattern)
    except ValueError as exc:
        raise ValueError(f"{pattern!r}: bad regular expression: {exc}") from None


class EventFilter:
    """Every client-side condition an event must meet.

    ``names``: any of them (case-insensitive); ``tests``: all of them;
    ``server``: the emulated server filter, set when the PBX refused the
    ``Filter`` action.
    """

    def __init__(self, names: Iterable[str] = (), tests: Iterable[HeaderTest] = ()) -> None:
        self.names = frozenset(n.lower() for n in names)
        self.tests = tuple(tests)
        self.server: ServerFilter | None = None

    @property
    def active(self) -> bool:
        return bool(self.names or self.tests or self.server)

    def __call__(self, msg: Message) -> bool:
        if self.names and msg.name.lower() not in self.names:
            return False
        if self.server is not None and not self.server(msg):
            return False
        for test in self.tests:
            if not test(msg):
                return False
        return True
