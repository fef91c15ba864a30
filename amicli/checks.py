"""The checks of ``ami check``: each fills a :class:`~amicli.thresholds.Result` from a session.

No click here.  Every check reads what it needs through the client, judges
it against the thresholds given, and never prints.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

from . import endpoints as ep_lib
from . import registrations as reg_lib
from .client import Client
from .thresholds import Perf, Result, Status, Thresholds


def _judge(result: Result, thresholds: Thresholds, value: float, fault: str) -> None:
    """Apply ``thresholds`` to ``value``; name ``fault`` in the long output when it alerts."""
    status = thresholds.status(value)
    if status != Status.OK:
        result.worsen(status)
        level = "critical" if status == Status.CRITICAL else "warning"
        rng = thresholds.critical if status == Status.CRITICAL else thresholds.warning
        result.details.append(f"{fault} ({level} range {rng})")


# -- queues ------------------------------------------------------------------------


@dataclass
class QueueLimits:
    waiting: Thresholds = field(default_factory=Thresholds)
    longest_wait: Thresholds = field(default_factory=Thresholds)
    available: Thresholds = field(default_factory=Thresholds)
    service_level: Thresholds = field(default_factory=Thresholds)


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def check_queue(client: Client, result: Result, names: Sequence[str], limits: QueueLimits) -> None:
    """Callers waiting, longest wait, available agents and service level, per queue."""
    from .queues import queue_status

    status = queue_status(client, names)
    for name in status.missing:
        result.worsen(Status.UNKNOWN)
        result.details.append(f"{name}: no such queue")
    if not status.queues:
        result.worsen(Status.UNKNOWN)
        result.text = "no queues" if not names else "none of the queues named exists"
        return
    total_waiting = 0
    longest = 0
    for queue in status.queues:
        name = str(queue.get("Queue"))
        waiting = _int(queue.get("Calls"))
        wait = _int(queue.get("LongestHoldTime"))
        available = _int(queue.get("Available"))
        total_waiting += waiting
        longest = max(longest, wait)
        _judge(result, limits.waiting, waiting, f"{name}: {waiting} callers waiting")
        _judge(result, limits.longest_wait, wait, f"{name}: longest wait {wait} s")
        _judge(result, limits.available, available, f"{name}: {available} agents available")
        members = len(queue.get("members") or [])  # type: ignore[arg-type]
        result.perf += [
            Perf(f"{name}_waiting", waiting, "", limits.waiting, 0),
            Perf(f"{name}_longest_wait", wait, "s", limits.longest_wait, 0),
            Perf(f"{name}_available", available, "", limits.available, 0, members),
        ]
        level = queue.get("ServicelevelPerf")
        if isinstance(level, (int, float)) and not isinstance(level, bool):
            _judge(result, limits.service_level, level, f"{name}: service level {level:g}%")
            result.perf.append(Perf(f"{name}_service_level", float(level), "%", limits.service_level, 0, 100))
    count = len(status.queues)
    result.text = (
        f"{count} queue{'s' if count != 1 else ''}, {total_waiting} caller{'s' if total_waiting != 1 else ''} "
        f"waiting, longest wait {longest} s"
    )
    _lead_with_faults(result)


def _lead_with_faults(result: Result) -> None:
    if result.details and result.status != Status.OK:
        result.text = f"{result.details[0]}; {result.text}" if len(result.details) == 1 else result.text


# -- endpoints -----------------------------------------------------------------------


def check_endpoints(
    client: Client,
    result: Result,
    pattern: str | None,
    unavailable: Thresholds,
    must_be_reachable: Sequence[str] = (),
    rtt_ms: Thresholds | None = None,
) -> None:
    """Unavailable endpoints counted against ranges; named ones must be available."""
    everything = ep_lib.fetch_endpoints(client)
    found = ep_lib.select(everything, pattern)
    if not found and not must_be_reachable:
        result.worsen(Status.UNKNOWN)
        result.text = "no endpoint matches" if pattern else "the PBX has no endpoints"
        return
    down = [ep for ep in found if not ep.available]
    for ep in down:
        contacts = ", ".join(f"{c.uri} {c.status}" for c in ep.contacts) or "no contact"
        result.details.append(f"{ep.technology}/{ep.name}: {ep.state} ({contacts})")
    status = unavailable.status(len(down))
    result.worsen(status)
    by_name = {ep.name: ep for ep in everything}
    for name in must_be_reachable:
        ep = by_name.get(name)
        if ep is None:
            result.worsen(Status.CRITICAL)
            result.details.insert(0, f"{name}: no such endpoint (--must-be-reachable)")
        elif not ep.available:
            result.worsen(Status.CRITICAL)
            result.details.insert(0, f"{name}: must be reachable, is {ep.state}")
    result.perf += [
        Perf("endpoints", len(found), "", None, 0),
        Perf("unavailable", len(down), "", unavailable, 0, len(found)),
    ]
    for ep in found:
        usec = ep.roundtrip_usec
        if usec is None:
            continue
        ms = usec / 1000
        if rtt_ms is not None:
            _judge(result, rtt_ms, ms, f"{ep.name}: round trip {ms:g} ms")
        result.perf.append(Perf(f"{ep.name}_rtt", ms, "ms", rtt_ms, 0))
    named = [n for n in must_be_reachable if n in by_name and by_name[n].available]
    result.text = f"{len(found) - len(down)} of {len(found)} endpoints available"
    if down:
        result.text += f", unavailable: {', '.join(ep.name for ep in down[:5])}{' ...' if len(down) > 5 else ''}"
    if named:
        result.text += f"; {len(named)} required reachable"


# -- registrations ---------------------------------------------------------------------


def check_registrations(client: Client, result: Result, pattern: str | None, thresholds: Thresholds) -> None:
    """Outbound registrations that are not Registered, counted against ranges (default: any is CRITICAL)."""
    match = ep_lib.name_matcher(pattern)
    found = [r for r in reg_lib.fetch_registrations(client) if match(r.name)]
    if not found:
        if pattern:
            result.worsen(Status.UNKNOWN)
            result.text = f"no outbound registration matches {pattern!r}"
        else:
            result.text = "no outbound registrations"
        return
    bad = [r for r in found if not r.registered]
    for reg in bad:
        result.details.append(f"{reg.technology}/{reg.name}: {reg.status}" + (f" ({reg.server})" if reg.server else ""))
    result.worsen(thresholds.status(len(bad)))
    result.perf += [
        Perf("registered", len(found) - len(bad), "", None, 0, len(found)),
        Perf("not_registered", len(bad), "", thresholds, 0, len(found)),
    ]
    result.text = f"{len(found) - len(bad)} of {len(found)} registrations Registered"
    if bad:
        result.text += ": " + ", ".join(f"{r.name} {r.status}" for r in bad[:5])


# -- channels ----------------------------------------------------------------------------


def check_channels(client: Client, result: Result, channels: Thresholds, calls: Thresholds) -> None:
    """Active channels and calls against capacity ranges."""
    from .channels import fetch_channels

    replies = client.request_all([[("Action", "CoreStatus")]])
    status = replies[0].raise_for_error().response
    active_calls = ep_lib.to_int(status.get("CoreCurrentCalls") if status is not None else None)
    count = len(fetch_channels(client))
    _judge(result, channels, count, f"{count} active channels")
    result.perf.append(Perf("channels", count, "", channels, 0))
    result.text = f"{count} active channel{'s' if count != 1 else ''}"
    if active_calls is not None:
        _judge(result, calls, active_calls, f"{active_calls} active calls")
        result.perf.append(Perf("calls", active_calls, "", calls, 0))
        result.text += f", {active_calls} call{'s' if active_calls != 1 else ''}"
