"""The PBX's state in the Prometheus text exposition format (version 0.0.4).

No click here, and no prometheus_client: the format is a few lines of text,
written by :func:`render`.  :func:`collect` reads everything in one session;
each area (core, channels, queues, endpoints, registrations) is a collector
whose failure (module not loaded, permission denied) is reported as
``ami_collector_success{collector="..."} 0`` instead of failing the scrape.

Names follow the Prometheus conventions: ``asterisk_`` prefix, base units
(seconds), ``_total`` for counters, a state as a label on a gauge of 1.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable

from . import endpoints as ep_lib
from . import registrations as reg_lib
from .client import Client
from .errors import ActionError, AmiError, PermissionDenied

Labels = tuple[tuple[str, str], ...]


@dataclass
class Family:
    """One metric family: its name, type, help and samples."""

    name: str
    kind: str
    help: str
    samples: list[tuple[Labels, float]] = field(default_factory=list)

    def add(self, value: float, **labels: object) -> None:
        self.samples.append((tuple((k, str(v)) for k, v in labels.items()), float(value)))


class Registry:
    """The families of one scrape, in the order first used."""

    def __init__(self) -> None:
        self.families: dict[str, Family] = {}

    def family(self, name: str, kind: str, help_text: str) -> Family:
        if name not in self.families:
            self.families[name] = Family(name, kind, help_text)
        return self.families[name]

    def gauge(self, name: str, help_text: str) -> Family:
        return self.family(name, "gauge", help_text)

    def counter(self, name: str, help_text: str) -> Family:
        return self.family(name, "counter", help_text)


# -- the text format ------------------------------------------------------------------


def _escape_label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _value(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def render(registry: Registry) -> str:
    """Every family with at least one sample, as exposition text."""
    out: list[str] = []
    for fam in registry.families.values():
        if not fam.samples:
            continue
        out.append(f"# HELP {fam.name} {_escape_help(fam.help)}")
        out.append(f"# TYPE {fam.name} {fam.kind}")
        for labels, value in fam.samples:
            if labels:
                text = ",".join(f'{k}="{_escape_label(v)}"' for k, v in labels)
                out.append(f"{fam.name}{{{text}}} {_value(value)}")
            else:
                out.append(f"{fam.name} {_value(value)}")
    return "\n".join(out) + "\n"


# -- collectors -------------------------------------------------------------------------


def collect_core(client: Client, reg: Registry) -> None:
    settings, status = client.request_all([[("Action", "CoreSettings")], [("Action", "CoreStatus")]])
    settings.raise_for_error()
    status.raise_for_error()
    s = settings.response
    reg.gauge("asterisk_info", "Asterisk version and system name (always 1).").add(
        1,
        version=(s.get("AsteriskVersion") if s else "") or "",
        ami_version=(s.get("AMIversion") if s else "") or client.version,
        system_name=(s.get("SystemName") if s else "") or "",
    )
    core = status.response
    current = ep_lib.to_int(core.get("CoreCurrentCalls")) if core else None
    processed = ep_lib.to_int(core.get("CoreProcessedCalls")) if core else None
    if current is not None:
        reg.gauge("asterisk_calls", "Calls up now (CoreCurrentCalls).").add(current)
    if processed is not None:
        reg.counter("asterisk_calls_processed_total", "Calls processed since start (CoreProcessedCalls).").add(
            processed
        )


def collect_channels(client: Client, reg: Registry) -> None:
    from .channels import fetch_channels

    reg.gauge("asterisk_channels", "Channels up now (CoreShowChannels).").add(len(fetch_channels(client)))


@dataclass
class _QueueTally:
    """What the metrics need of one queue, counted straight from QueueStatus's events."""

    params: dict[str, str] = field(default_factory=dict)
    by_status: dict[str, int] = field(default_factory=dict)
    paused: int = 0
    available: int = 0
    longest_wait: int = 0


def _tally_queues(events: Iterable) -> dict[str, _QueueTally]:
    """QueueParams / QueueMember / QueueEntry -> a tally per queue (no typed rows: 10,000 members are common)."""
    from .queues import device_state_text

    tallies: dict[str, _QueueTally] = {}
    for msg in events:
        kind = msg.name
        if kind not in ("QueueParams", "QueueMember", "QueueEntry"):
            continue
        headers = dict(msg.headers)
        tally = tallies.setdefault(headers.get("Queue", ""), _QueueTally())
        if kind == "QueueParams":
            tally.params = headers
        elif kind == "QueueEntry":
            tally.longest_wait = max(tally.longest_wait, ep_lib.to_int(headers.get("Wait")) or 0)
        else:
            status = ep_lib.to_int(headers.get("Status"))
            word = device_state_text(status) if status is not None else "Unknown"
            tally.by_status[word] = tally.by_status.get(word, 0) + 1
            is_paused = headers.get("Paused") == "1"
            tally.paused += is_paused
            # As app_queue's QueueSummary: not paused, device Not in use or Unknown.
            tally.available += (not is_paused) and status in (0, 1)
    return tallies


def collect_queues(client: Client, reg: Registry) -> None:
    callers = reg.gauge("asterisk_queue_callers", "Callers waiting in the queue.")
    longest = reg.gauge("asterisk_queue_longest_wait_seconds", "How long the longest-waiting caller has waited.")
    members = reg.gauge("asterisk_queue_members", "Queue members by device status.")
    paused = reg.gauge("asterisk_queue_members_paused", "Queue members paused.")
    available = reg.gauge("asterisk_queue_members_available", "Queue members logged in, not in use and not paused.")
    completed = reg.counter("asterisk_queue_calls_completed_total", "Calls answered by the queue since reset.")
    abandoned = reg.counter("asterisk_queue_calls_abandoned_total", "Calls abandoned in the queue since reset.")
    level = reg.gauge("asterisk_queue_service_level_ratio", "Calls answered within the service level, 0 to 1.")
    reply = client.request_booted([("Action", "QueueStatus")]).raise_for_error()
    for name, tally in _tally_queues(reply.events).items():
        params = tally.params
        callers.add(ep_lib.to_int(params.get("Calls")) or 0, queue=name)
        longest.add(tally.longest_wait, queue=name)
        for word, count in tally.by_status.items():
            members.add(count, queue=name, status=word)
        paused.add(tally.paused, queue=name)
        available.add(tally.available, queue=name)
        completed.add(ep_lib.to_int(params.get("Completed")) or 0, queue=name)
        abandoned.add(ep_lib.to_int(params.get("Abandoned")) or 0, queue=name)
        try:
            level.add(float(params["ServicelevelPerf"]) / 100, queue=name)
        except (KeyError, ValueError):
            pass


def collect_endpoints(client: Client, reg: Registry) -> None:
    up = reg.gauge("asterisk_endpoint_available", "1 when the endpoint can take a call (not Unavailable/Unreachable).")
    state = reg.gauge("asterisk_endpoint_state", "The endpoint's state, as a label (always 1).")
    active = reg.gauge("asterisk_endpoint_active_channels", "Channels up on the endpoint (PJSIP).")
    contact_status = reg.gauge("asterisk_contact_status", "The contact's status, as a label (always 1).")
    rtt = reg.gauge("asterisk_contact_roundtrip_seconds", "Round-trip time of the contact's last qualify.")
    for ep in ep_lib.fetch_endpoints(client):
        labels = {"endpoint": ep.name, "technology": ep.technology}
        up.add(1 if ep.available else 0, **labels)
        state.add(1, **labels, state=ep.state)
        if ep.active_channels is not None:
            active.add(ep.active_channels, **labels)
        for contact in ep.contacts:
            where = {**labels, "aor": contact.aor or "", "uri": contact.uri}
            contact_status.add(1, **where, status=contact.status)
            if contact.roundtrip_usec is not None:
                rtt.add(contact.roundtrip_usec / 1e6, **where)


def collect_registrations(client: Client, reg: Registry) -> None:
    registered = reg.gauge("asterisk_registration_registered", "1 when the outbound registration is Registered.")
    status = reg.gauge("asterisk_registration_status", "The outbound registration's status, as a label (always 1).")
    for item in reg_lib.fetch_registrations(client):
        labels = {"registration": item.name, "technology": item.technology}
        registered.add(1 if item.registered else 0, **labels)
        status.add(1, **labels, status=item.status)


COLLECTORS: list[tuple[str, Callable[[Client, Registry], None]]] = [
    ("core", collect_core),
    ("channels", collect_channels),
    ("queues", collect_queues),
    ("endpoints", collect_endpoints),
    ("registrations", collect_registrations),
]


def uptime_seconds(client: Client) -> float | None:
    """Seconds since Asterisk started, from the login's FullyBooted (None: not seen)."""
    seen = client.boot_uptime
    if seen is None or not (seen[0] or "").strip().isdigit():
        return None
    return int(seen[0]) + round(time.monotonic() - seen[1], 3)


def collect(client: Client, started: float | None = None) -> Registry:
    """Everything, in one session; a collector the PBX refuses is marked failed, not fatal."""
    started = time.monotonic() if started is None else started
    reg = Registry()
    reg.gauge("asterisk_up", "1 when the PBX answered on AMI and the login worked.").add(1)
    uptime = uptime_seconds(client)
    if uptime is not None:
        reg.gauge("asterisk_uptime_seconds", "Seconds since Asterisk started (from FullyBooted).").add(uptime)
    success = reg.gauge("ami_collector_success", "1 when the collector read its part of the PBX's state.")
    for name, collector in COLLECTORS:
        try:
            collector(client, reg)
        except (ActionError, PermissionDenied, ep_lib.NoDriver):
            # Not loaded, or not for this user: the rest of the scrape still counts.
            success.add(0, collector=name)
        else:
            success.add(1, collector=name)
    reg.gauge("ami_scrape_duration_seconds", "How long reading the PBX's state took.").add(
        round(time.monotonic() - started, 6)
    )
    return reg


def down(error: AmiError | None = None) -> Registry:
    """What a scrape says when the PBX cannot be reached or refuses the login."""
    reg = Registry()
    reg.gauge("asterisk_up", "1 when the PBX answered on AMI and the login worked.").add(0)
    return reg


def families_text(families: Iterable[Family]) -> str:
    reg = Registry()
    for fam in families:
        reg.families[fam.name] = fam
    return render(reg)
