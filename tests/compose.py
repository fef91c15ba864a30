"""Replay scripts put together from recorded exchanges, found by the action they answer.

Tests for commands that send several actions build their script from the
recordings without naming a single endpoint: :func:`recorded_exchange` finds
the exchange that answers an action (and, for ``PJSIPShowEndpoint``, the
endpoint asked about) in whichever recording holds it.  When no recording
holds it, the caller supplies a synthetic exchange.

Expected values are read from the same recordings (:func:`events_of`), so the
tests hold for other recordings of other PBXs.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import replay

V22 = "asterisk-22.10.1"
V13 = "asterisk-13.38.3-sip"

#: The recordings that hold the list and detail actions, per version.
SOURCES = {
    V22: [
        "pjsip-endpoints", "pjsip-contacts", "pjsip-endpoint-detail", "pjsip-registrations",
        "coresettings-corestatus", "busy-coreshowchannels", "coreshowchannels-empty", "queue-members", "queues-idle",
        "core-status", "devicestates", "pjsip-monitor-user",
    ],
    V13: ["sip-peers", "iax-peers", "sip-registry", "sip-peer-detail", "driver-detect-13", "devicestates-13"],
}  # fmt: skip


def load(version: str, name: str) -> list[replay.Step]:
    return list(_load(replay.find_transcripts_dir() / version / f"{name}.jsonl"))


@cache
def _load(path: Path) -> tuple[replay.Step, ...]:
    """A recording's steps, read once per process (the test modules compose the same ones many times)."""
    steps = []
    for line in path.read_text(encoding="utf-8").splitlines():
        entry = json.loads(line) if line.strip() else {}
        if "dir" in entry:
            steps.append((entry["dir"], entry.get("data", "").encode("latin-1")))
    return tuple(steps)


@cache
def _parts(version: str, name: str) -> tuple:
    return tuple(tuple(p) for p in replay.exchanges(load(version, name)))


#: A recorded login as ``ami`` makes it (events on): FullyBooted comes with the
#: reply, as it does for every session that may read ``system`` events on a booted PBX.
LOGINS = {V22: "login-plain-ok", V13: "sip-qualify"}


def banner_and_login(version: str = V22) -> list[replay.Step]:
    parts = _parts(version, LOGINS[version])
    return list(parts[0]) + list(parts[1])


def logoff(version: str = V22) -> list[replay.Step]:
    return list(_parts(version, SOURCES[version][0])[-1])


def _client_headers(exchange) -> list[tuple[str, str]]:
    return replay.message_headers(exchange[0][1])


def recorded_exchange(action: str, version: str = V22, **match: str) -> list[replay.Step] | None:
    """The first recorded exchange answering ``action`` (with headers ``match``), or None."""
    for name in SOURCES[version]:
        try:
            parts = _parts(version, name)
        except FileNotFoundError:
            continue
        for exchange in parts[1:]:
            headers = {k.lower(): v for k, v in _client_headers(exchange)}
            if headers.get("action", "").lower() != action.lower():
                continue
            if all(headers.get(k.lower(), "").lower() == v.lower() for k, v in match.items()):
                return list(exchange)
    return None


def messages_of(exchange: list[replay.Step]) -> list[dict[str, str]]:
    """The server's messages in an exchange, as dicts (first value of each header)."""
    data = replay.server_stream(exchange)
    out = []
    for block in data.replace(b"\r\n", b"\n").split(b"\n\n"):
        headers = {}
        for line in block.decode("latin-1").split("\n"):
            key, sep, value = line.partition(":")
            if sep and key not in headers:
                headers[key] = value.strip()
        if headers:
            out.append(headers)
    return out


def events_of(exchange: list[replay.Step], event: str) -> list[dict[str, str]]:
    return [m for m in messages_of(exchange) if m.get("Event") == event]


def synthetic(action: str, action_id: str, messages: list[list[tuple[str, str]]]) -> list[replay.Step]:
    """An exchange: the client's action, then the server's messages (ActionID added to each)."""
    data = b""
    for headers in messages:
        lines = [f"{k}: {v}\r\n" for k, v in headers]
        lines.insert(1, f"ActionID: {action_id}\r\n")
        data += ("".join(lines) + "\r\n").encode("utf-8")
    return [("client", replay.client_message(action, action_id)), ("server", data)]


def synthetic_list(
    action: str,
    action_id: str,
    items: list[list[tuple[str, str]]],
    complete: str,
    message: str = "Following are Events",
) -> list[replay.Step]:
    """A list exchange: the start reply, the items (each with its Event header), the complete event."""
    return synthetic(
        action,
        action_id,
        [
            [("Response", "Success"), ("EventList", "start"), ("Message", message)],
            *items,
            [("Event", complete), ("EventList", "Complete"), ("ListItems", str(len(items)))],
        ],
    )


def endpoint_detail(name: str, version: str = V22) -> list[replay.Step]:
    """PJSIPShowEndpoint NAME: recorded when a recording holds it, else a minimal list with no contact status."""
    found = recorded_exchange("PJSIPShowEndpoint", version, Endpoint=name)
    if found is not None:
        return found
    item = [("Event", "EndpointDetail"), ("ObjectType", "endpoint"), ("ObjectName", name)]
    return synthetic_list("PJSIPShowEndpoint", f"syn-detail-{name}", [item], "EndpointDetailComplete")


def transcripts_root() -> Path:
    return replay.find_transcripts_dir()


# -- whole scripts for the commands ---------------------------------------------------


def contact_key(aor: str, uri: str) -> tuple[str, str]:
    return (aor.lower(), uri)


def registered_contacts(contacts_exchange: list[replay.Step]) -> set[tuple[str, str]]:
    """(aor, uri) of every contact PJSIPShowContacts listed."""
    import re

    out = set()
    for c in events_of(contacts_exchange, "ContactList"):
        out.add(contact_key(re.split(r";@|@@", c.get("ObjectName", ""))[0], c.get("Uri", "")))
    return out


def endpoint_contacts(event: dict[str, str]) -> list[tuple[str, str]]:
    """``Contacts: aor/uri,`` of an EndpointList event -> [(aor, uri)]."""
    out = []
    for item in event.get("Contacts", "").split(","):
        if item.strip():
            aor, _, uri = item.strip().partition("/")
            out.append(contact_key(aor, uri))
    return out


def pjsip_endpoints_steps() -> tuple[list[replay.Step], dict]:
    """PJSIPShowEndpoints, PJSIPShowContacts, then PJSIPShowEndpoint for each endpoint with a static contact.

    Returns the steps and the facts a test checks against: the endpoint
    events, the contact events, and the details used.
    """
    eps = recorded_exchange("PJSIPShowEndpoints")
    con = recorded_exchange("PJSIPShowContacts")
    known = registered_contacts(con)
    listed = events_of(eps, "EndpointList")
    need = [e["ObjectName"] for e in listed if any(c not in known for c in endpoint_contacts(e))]
    details = {name: endpoint_detail(name) for name in need}
    steps = eps + con + [s for name in need for s in details[name]]
    return steps, {"endpoints": listed, "contacts": events_of(con, "ContactList"), "details": details}


def endpoints_script() -> tuple[list[replay.Step], dict]:
    steps, facts = pjsip_endpoints_steps()
    return banner_and_login() + steps + logoff(), facts


def legacy_endpoints_script() -> tuple[list[replay.Step], dict]:
    """Asterisk 13: PJSIPShowEndpoints unknown, then SIPpeers and IAXpeerlist."""
    unknown = recorded_exchange("PJSIPShowEndpoints", V13)
    sip = recorded_exchange("SIPpeers", V13)
    iax = recorded_exchange("IAXpeerlist", V13)
    steps = banner_and_login(V13) + unknown + sip + iax + logoff(V13)
    return steps, {"peers": events_of(sip, "PeerEntry") + events_of(iax, "PeerEntry")}


def registrations_script() -> tuple[list[replay.Step], dict]:
    reg = recorded_exchange("PJSIPShowRegistrationsOutbound")
    return banner_and_login() + reg + logoff(), {"registrations": events_of(reg, "OutboundRegistrationDetail")}


def legacy_registrations_script() -> tuple[list[replay.Step], dict]:
    unknown = recorded_exchange("PJSIPShowRegistrationsOutbound", V13)
    sip = recorded_exchange("SIPshowregistry", V13)
    iax = recorded_exchange("IAXregistry", V13)
    steps = banner_and_login(V13) + unknown + sip + iax + logoff(V13)
    return steps, {"registrations": events_of(sip, "RegistryEntry") + events_of(iax, "RegistryEntry")}


def metrics_script() -> tuple[list[replay.Step], dict]:
    """Everything `ami metrics` asks, in its order."""
    core = recorded_exchange("CoreSettings") + recorded_exchange("CoreStatus")
    channels = recorded_exchange("CoreShowChannels")
    queues = recorded_exchange("QueueStatus")
    ep_steps, facts = pjsip_endpoints_steps()
    reg = recorded_exchange("PJSIPShowRegistrationsOutbound")
    steps = banner_and_login() + core + channels + queues + ep_steps + reg + logoff()
    facts.update(
        registrations=events_of(reg, "OutboundRegistrationDetail"),
        queues=events_of(queues, "QueueParams"),
        members=events_of(queues, "QueueMember"),
        channels=events_of(channels, "CoreShowChannel"),
        status=messages_of(recorded_exchange("CoreStatus"))[0],
    )
    return steps, facts
