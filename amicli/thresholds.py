"""Threshold ranges in the Monitoring Plugins syntax, and plugin results.

A range ``[@]start:end`` alerts when a value lies *outside* start..end
(inclusive), or inside it with a leading ``@``.  ``start`` defaults to 0
and may be ``~`` (minus infinity); an empty ``end`` is plus infinity:

====================  ============================================
``10``                alert if < 0 or > 10
``10:``               alert if < 10
``~:10``              alert if > 10
``10:20``             alert if < 10 or > 20
``@10:20``            alert if >= 10 and <= 20
====================  ============================================
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import IntEnum

from .output import visible
from .redact import scrub


class Status(IntEnum):
    """The exit codes of the Monitoring Plugins API, which monitoring systems read."""

    #: Every value within its thresholds.
    OK = 0
    #: A value past its warning threshold.
    WARNING = 1
    #: A value past its critical threshold; or the PBX unreachable, the login refused, no answer within -t.
    CRITICAL = 2
    #: Usage or configuration error, the module not loaded, or the PBX cannot tell.
    UNKNOWN = 3


@dataclass(frozen=True)
class Range:
    """One threshold range; :meth:`alerts` says whether a value is at fault."""

    start: float = 0.0
    end: float = math.inf
    inside: bool = False
    text: str = ""

    def alerts(self, value: float) -> bool:
        within = self.start <= value <= self.end
        return within if self.inside else not within

    def __str__(self) -> str:
        return self.text


def _number(text: str, what: str, whole: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"bad range {whole!r}: {what} {text!r} is not a number") from None
    if math.isnan(value):
        raise ValueError(f"bad range {whole!r}: {what} is not a number")
    return value


def parse_range(text: str) -> Range:
    """``"10:20"`` -> Range(10, 20); ValueError with a clear message for bad input."""
    whole = text
    body = text.strip()
    if not body:
        raise ValueError("empty range")
    inside = body.startswith("@")
    if inside:
        body = body[1:]
    if ":" in body:
        low, _, high = body.partition(":")
        if ":" in high:
            raise ValueError(f"bad range {whole!r}: more than one ':'")
        start = -math.inf if low.strip() == "~" else (_number(low, "start", whole) if low.strip() else 0.0)
        end = _number(high, "end", whole) if high.strip() else math.inf
    else:
        start, end = 0.0, _number(body, "end", whole)
    if start > end:
        raise ValueError(f"bad range {whole!r}: start {start:g} is greater than end {end:g}")
    return Range(start, end, inside, whole.strip())


@dataclass
class Thresholds:
    """A warning and a critical range (either may be absent)."""

    warning: Range | None = None
    critical: Range | None = None

    def status(self, value: float) -> Status:
        if self.critical is not None and self.critical.alerts(value):
            return Status.CRITICAL
        if self.warning is not None and self.warning.alerts(value):
            return Status.WARNING
        return Status.OK


def parse_pair(text: str) -> Thresholds:
    """``"WARN,CRIT"`` (either part may be empty) -> Thresholds."""
    warn, sep, crit = text.partition(",")
    if "," in crit:
        raise ValueError(f"bad thresholds {text!r}: expected WARN,CRIT")
    return Thresholds(
        parse_range(warn) if warn.strip() else None,
        parse_range(crit) if sep and crit.strip() else None,
    )


# -- performance data ---------------------------------------------------------------


def plugin_text(text: str) -> str:
    """Text for a Monitoring Plugins line, safe for a monitoring system and a terminal.

    What the PBX said is quoted in it (names of endpoints, queues, trunks):
    no secret, no control character, one line, and no ``|``, which would
    start performance data, in the status line and in the long output alike.
    """
    return visible(scrub(text)).replace("\n", " ").replace("\t", " ").replace("|", "\\x7c")


def perf_label(name: str) -> str:
    """A perfdata label, quoted when it holds spaces or other specials."""
    clean = visible(name).replace("'", "").replace("=", "_").replace("|", "_").replace("\n", " ").replace("\t", " ")
    return f"'{clean}'" if any(ch in clean for ch in " \t|,;") or not clean else clean


def plain_number(value: float) -> str:
    """A threshold as given: 0.0005 stays 0.0005 (never 0.000), 2.0 is 2, no exponent."""
    from decimal import Decimal

    text = f"{Decimal(repr(value)):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _num(value: float | None) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return f"{value:g}" if isinstance(value, float) else str(value)


@dataclass
class Perf:
    """``'label'=value[UOM];[warn];[crit];[min];[max]``."""

    label: str
    value: float
    uom: str = ""
    thresholds: Thresholds | None = None
    minimum: float | None = None
    maximum: float | None = None

    def __str__(self) -> str:
        warn = str(self.thresholds.warning or "") if self.thresholds else ""
        crit = str(self.thresholds.critical or "") if self.thresholds else ""
        parts = [f"{perf_label(self.label)}={_num(self.value)}{self.uom}", warn, crit]
        parts += [_num(self.minimum), _num(self.maximum)]
        return ";".join(parts).rstrip(";")


@dataclass
class Result:
    """What a check found: a status, the status line's text, perfdata, long output."""

    check: str
    status: Status = Status.OK
    text: str = ""
    perf: list[Perf] = field(default_factory=list)
    details: list[str] = field(default_factory=list)

    def worsen(self, status: Status) -> None:
        """Keep the worst status seen (UNKNOWN only when nothing is worse than OK)."""
        if status == Status.UNKNOWN:
            if self.status == Status.OK:
                self.status = status
            return
        if self.status == Status.UNKNOWN or status > self.status:
            self.status = status

    def render(self) -> str:
        line = f"AMI {self.check.upper()} {self.status.name} - {plugin_text(self.text)}"
        if self.perf:
            line += " | " + " ".join(str(p) for p in self.perf)
        return "\n".join([line, *(plugin_text(detail) for detail in self.details)]) + "\n"
