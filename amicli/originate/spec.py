"""What to call: one Originate's fields, checked, and the action that places it."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from ..protocol import check_value

#: Ring time when none is given (seconds), as Asterisk's own default.
DEFAULT_RING_TIMEOUT = 30.0
DEFAULT_CONTEXT = "default"
DEFAULT_PRIORITY = "1"

# A variable name: what Asterisk takes as one (functions such as CDR(x) included),
# without the characters that would change how the header is split.
_VAR_NAME = re.compile(r"^[A-Za-z0-9_.()\-:]+$")
# Characters that Asterisk's argument splitter gives a meaning to in a value.
_VAR_SPECIAL = re.compile(r'[\\",()\[\]]')


@dataclass
class CallSpec:
    """One call to place: the fields of ``ami originate``'s options."""

    channel: str
    exten: str | None = None
    context: str | None = None
    priority: str | None = None
    app: str | None = None
    data: str | None = None
    caller_id: str | None = None
    timeout: float = DEFAULT_RING_TIMEOUT
    variables: list[tuple[str, str]] = field(default_factory=list)
    account: str | None = None
    codecs: str | None = None
    channel_id: str | None = None
    other_channel_id: str | None = None
    early_media: bool = False
    #: Line number in a batch file (None for a call from the command line).
    line: int | None = None
    #: The PBX of a fleet to place the call on (a batch line's ``server``); None: the first.
    server: str | None = None

    def check(self) -> "CallSpec":
        """Raise ValueError (one sentence) when the call cannot be sent as given."""
        if not self.channel:
            raise ValueError("no channel given")
        if (self.exten is None) == (self.app is None):
            raise ValueError("give exactly one target: exten (with context and priority) or app (with data)")
        if self.app is not None:
            if self.context is not None or self.priority is not None:
                raise ValueError("context and priority go with exten, not with app")
            if not self.app:
                raise ValueError("app is empty")
        else:
            if self.data is not None:
                raise ValueError("data goes with app, not with exten")
            if not self.exten:
                raise ValueError("exten is empty")
        if not (isinstance(self.timeout, (int, float)) and math.isfinite(self.timeout) and self.timeout > 0):
            raise ValueError(f"timeout must be a number of seconds above 0, not {self.timeout!r}")
        for name, _ in self.variables:
            check_variable_name(name)
        for key, value in self.headers("x"):
            check_value(key, value)
        return self

    @property
    def ring_timeout(self) -> float:
        return float(self.timeout)

    def target(self) -> list[tuple[str, str]]:
        """The target headers, as the request and the result show them."""
        if self.app is not None:
            return [("Application", self.app), ("Data", self.data or "")]
        return [
            ("Context", self.context or DEFAULT_CONTEXT),
            ("Exten", self.exten or ""),
            ("Priority", self.priority or DEFAULT_PRIORITY),
        ]

    def headers(self, action_id: str, *, run_async: bool = True) -> list[tuple[str, str]]:
        """The Originate action for this call."""
        out: list[tuple[str, str]] = [("Action", "Originate"), ("ActionID", action_id), ("Channel", self.channel)]
        out += self.target()
        out.append(("Timeout", str(max(1, round(float(self.timeout) * 1000)))))
        if self.caller_id:
            out.append(("CallerID", self.caller_id))
        if self.account:
            out.append(("Account", self.account))
        if self.codecs:
            out.append(("Codecs", self.codecs))
        if self.channel_id:
            out.append(("ChannelId", self.channel_id))
        if self.other_channel_id:
            out.append(("OtherChannelId", self.other_channel_id))
        if self.early_media:
            out.append(("EarlyMedia", "true"))
        if run_async:
            out.append(("Async", "true"))
        out += [("Variable", variable_header(name, value)) for name, value in self.variables]
        return out


def check_variable_name(name: str) -> None:
    if not name or not _VAR_NAME.match(name):
        raise ValueError(f"invalid variable name {name!r} (letters, digits and _ . ( ) - : only)")


def parse_var(text: str) -> tuple[str, str]:
    """``KEY=VALUE`` -> (KEY, VALUE), split at the first ``=`` (the value may hold more)."""
    name, sep, value = text.partition("=")
    if not sep:
        raise ValueError(f"{text!r}: expected KEY=VALUE")
    name = name.strip()
    check_variable_name(name)
    return name, value


def variable_header(name: str, value: str) -> str:
    """The value of one ``Variable:`` header that sets ``name`` to exactly ``value``.

    Asterisk splits a Variable header at commas into several NAME=VALUE
    pairs (its application-argument splitter), honouring double quotes and
    backslash escapes and removing both.  A value holding any character
    that splitter reacts to, or blanks at either end, is therefore sent
    quoted, with ``\\`` and ``"`` escaped; any other value is sent as is.
    ``=`` needs nothing: the name ends at the first one.
    """
    if _VAR_SPECIAL.search(value) or value != value.strip():
        escaped = value.replace("\\", "\\\\").replace('"', '\\"')
        return f'{name}="{escaped}"'
    return f"{name}={value}"
