"""SIP and IAX2 endpoints, their contacts and outbound registrations, in one typed model.

No click here: :mod:`amicli.commands.endpoints`, the checks and the metrics
drive this.

Where the facts come from:

* PJSIP (Asterisk 12+): ``PJSIPShowEndpoints`` (state, contact list, active
  channels), ``PJSIPShowContacts`` (status and round-trip time of the
  contacts that registered), ``PJSIPShowEndpoint NAME`` (the only place that
  reports the status of a static contact, from an aor's ``contact=``),
  ``PJSIPShowRegistrationsOutbound``.
* chan_sip and chan_iax2 (Asterisk 13 and older): ``SIPpeers``,
  ``IAXpeerlist``, ``SIPshowpeer``, ``SIPshowregistry``, ``IAXregistry``.

A PBX without PJSIP answers ``Invalid/unknown command`` to the PJSIP
actions; the chan_sip/IAX2 actions are tried then.  With neither,
:class:`NoDriver` says so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable, Iterable, Sequence

from .client import Client, Reply
from .errors import ActionError, AmiError, ExitCode

# -- the words the PBX uses -----------------------------------------------------

#: PJSIP contact status words (res_pjsip's contact status labels); ``Removed``
#: appears in ContactStatus events only.
CONTACT_STATUSES = ("Reachable", "Unreachable", "NonQualified", "Unknown", "Removed")
#: chan_sip/chan_iax2 peer status (SIPpeers, IAXpeerlist) -> the contact word used here.
PEER_STATUS_WORDS = {
    "OK": "Reachable",
    "LAGGED": "Lagged",
    "UNREACHABLE": "Unreachable",
    "UNKNOWN": "Unknown",
    "UNMONITORED": "Unmonitored",
}
#: Endpoint states that mean "cannot take a call now": PJSIP device states,
#: and the chan_sip/IAX2 peer words (UNKNOWN: never registered or not yet qualified).
UNAVAILABLE_STATES = frozenset({"unavailable", "invalid", "unreachable", "unknown"})

_PEER_STATUS = re.compile(r"^\s*([A-Za-z]+)\s*(?:\((-?\d+)\s*ms\))?\s*$")
_NO_ADDRESS = frozenset({"", "-none-", "(null)", "(Unspecified)", "0.0.0.0"})


class NoDriver(AmiError):
    """Neither PJSIP nor chan_sip/chan_iax2 answers on this PBX."""

    exit_code = ExitCode.ACTION_FAILED


class NoSuchEndpoint(ActionError):
    """``endpoints show`` named an endpoint the PBX does not know."""


def is_empty_list(reply: Reply) -> bool:
    """PJSIP answers an empty list with an error (``No Contacts found``)."""
    text = reply.message.lower().strip()
    return not reply.ok and text.startswith("no ") and text.endswith("found")


def ok_or_raise(reply: Reply) -> bool:
    """True for a list to read, False for an empty one; raise for any other error."""
    if is_empty_list(reply):
        return False
    reply.raise_for_error()
    return True


def is_unknown_action(reply: Reply) -> bool:
    """The PBX does not know this action (module not loaded, or still booting)."""
    return not reply.ok and "invalid/unknown command" in reply.message.lower()


# -- the model -------------------------------------------------------------------


@dataclass
class Contact:
    """Where an endpoint can be reached, and whether it answers."""

    endpoint: str
    uri: str
    aor: str | None = None
    status: str = "Unknown"
    #: Round-trip time of the last qualify, in microseconds (None: not measured).
    roundtrip_usec: int | None = None
    user_agent: str | None = None
    #: Expiry of a registered contact, in Unix seconds (None: static or unknown).
    expiration: int | None = None

    def as_dict(self) -> dict[str, object]:
        return {
            "Aor": self.aor,
            "Uri": self.uri,
            "Status": self.status,
            "RoundtripUsec": self.roundtrip_usec,
            "UserAgent": self.user_agent,
            "ExpirationTime": self.expiration,
        }


@dataclass
class Endpoint:
    """A PJSIP endpoint, or a chan_sip / chan_iax2 peer."""

    name: str
    technology: str
    #: The PBX's word: the device state for PJSIP (``Not in use``,
    #: ``Unavailable``...), the peer status for chan_sip/IAX2 (``Reachable``,
    #: ``Lagged``, ``Unreachable``, ``Unknown``, ``Unmonitored``).
    state: str
    contacts: list[Contact] = field(default_factory=list)
    active_channels: int | None = None
    aors: list[str] = field(default_factory=list)
    auths: list[str] = field(default_factory=list)
    outbound_auths: list[str] = field(default_factory=list)
    transport: str | None = None
    description: str | None = None

    @property
    def available(self) -> bool:
        """Can take a call: not Unavailable/Invalid (PJSIP), not UNREACHABLE/UNKNOWN (chan_sip, IAX2)."""
        return self.state.lower() not in UNAVAILABLE_STATES

    @property
    def roundtrip_usec(self) -> int | None:
        """The best round-trip time of its contacts."""
        times = [c.roundtrip_usec for c in self.contacts if c.roundtrip_usec is not None]
        return min(times) if times else None

    def as_dict(self) -> dict[str, object]:
        return {
            "Endpoint": self.name,
            "Technology": self.technology,
            "State": self.state,
            "Available": self.available,
            "ActiveChannels": self.active_channels,
            "RoundtripUsec": self.roundtrip_usec,
            "Contacts": [c.as_dict() for c in self.contacts],
            "Aors": self.aors,
            "Auths": self.auths,
            "OutboundAuths": self.outbound_auths,
            "Transport": self.transport,
            "Description": self.description,
        }


# -- small parsers -----------------------------------------------------------------


def to_int(value: str | None) -> int | None:
    """``"12"`` -> 12; empty, ``N/A`` or anything else -> None."""
    if value is None:
        return None
    text = value.strip()
    try:
        return int(text)
    except ValueError:
        try:
            return int(float(text))
        except ValueError:
            return None


def split_list(value: str | None) -> list[str]:
    """``"a,b,"`` -> ``["a", "b"]`` (PJSIP lists end with a comma)."""
    return [item.strip() for item in (value or "").split(",") if item.strip()]


def parse_peer_status(text: str | None) -> tuple[str, int | None]:
    """``"OK (1 ms)"`` -> ``("Reachable", 1000)``; ``"UNREACHABLE"`` -> ``("Unreachable", None)``."""
    m = _PEER_STATUS.match(text or "")
    if m is None:
        return (text or "Unknown").strip() or "Unknown", None
    word = PEER_STATUS_WORDS.get(m.group(1).upper(), m.group(1))
    usec = int(m.group(2)) * 1000 if m.group(2) is not None else None
    return word, usec


def contact_key(aor: str | None, uri: str) -> tuple[str, str]:
    return ((aor or "").lower(), uri)


def fields(msg) -> dict[str, str]:
    """A message's headers as a dict, built once per event (Message.get scans them on every call).

    Header names are taken as Asterisk writes them; where versions differ
    (``Uri``/``URI``, ``Channeltype``/``ChannelType``) both are looked up.
    """
    return dict(msg.headers)


# -- PJSIP -------------------------------------------------------------------------


def endpoint_from_list_event(msg) -> Endpoint:
    """An ``EndpointList`` event -> Endpoint (contacts from ``Contacts: aor/uri,``)."""
    msg = fields(msg)
    name = msg.get("ObjectName") or ""
    contacts = []
    for item in split_list(msg.get("Contacts")):
        aor, _, uri = item.partition("/")
        contacts.append(Contact(endpoint=name, aor=aor, uri=uri) if uri else Contact(endpoint=name, uri=aor))
    return Endpoint(
        name=name,
        technology="PJSIP",
        state=msg.get("DeviceState") or "Unknown",
        contacts=contacts,
        active_channels=to_int(msg.get("ActiveChannels")),
        aors=split_list(msg.get("Aor")),
        auths=split_list(msg.get("Auths")),
        outbound_auths=split_list(msg.get("OutboundAuths")),
        transport=msg.get("Transport") or None,
    )


def contact_from_event(msg) -> Contact:
    """A ``ContactList`` or ``ContactStatusDetail`` event -> Contact."""
    msg = fields(msg)
    aor = msg.get("AOR")
    if aor is None:
        # ContactList: ObjectName is "aor;@hash" (or "aor@@hash" for a static one).
        object_name = msg.get("ObjectName") or ""
        aor = re.split(r";@|@@", object_name, maxsplit=1)[0]
    usec = to_int(msg.get("RoundtripUsec"))
    expiration = to_int(msg.get("ExpirationTime") or msg.get("RegExpire"))
    return Contact(
        endpoint=msg.get("Endpoint") or msg.get("EndpointName") or "",
        uri=msg.get("Uri") or msg.get("URI") or "",
        aor=aor,
        status=msg.get("Status") or "Unknown",
        roundtrip_usec=usec,
        user_agent=msg.get("UserAgent") or None,
        expiration=expiration or None,
    )


def list_events(reply: Reply, name: str) -> Iterable:
    """The list events called ``name`` in a reply."""
    return (msg for msg in reply.events if msg.kind == "event" and msg.name == name)


def _merge_status(endpoint: Endpoint, known: dict[tuple[str, str], Contact]) -> bool:
    """Fill the endpoint's contacts from ``known``; True when one was not there."""
    missing = False
    for index, contact in enumerate(endpoint.contacts):
        found = known.get(contact_key(contact.aor, contact.uri))
        if found is None:
            missing = True
            continue
        found.endpoint = endpoint.name
        endpoint.contacts[index] = found
    return missing


def pjsip_endpoints(client: Client, reply: Reply, detail_static: bool = True) -> list[Endpoint]:
    """Endpoints from a PJSIPShowEndpoints reply, contact status filled in.

    Registered contacts come from one PJSIPShowContacts.  Static contacts are
    not in that list, so ``detail_static`` asks PJSIPShowEndpoint for each
    endpoint that has one (sent at once, read in order).
    """
    endpoints = [endpoint_from_list_event(msg) for msg in list_events(reply, "EndpointList")]
    contacts = client.request_all([[("Action", "PJSIPShowContacts")]])[0]
    known: dict[tuple[str, str], Contact] = {}
    if contacts.ok:
        for msg in list_events(contacts, "ContactList"):
            contact = contact_from_event(msg)
            known[contact_key(contact.aor, contact.uri)] = contact
    need = [ep for ep in endpoints if _merge_status(ep, known)]
    if detail_static and need and (contacts.ok or is_empty_list(contacts)):
        replies = client.request_all([[("Action", "PJSIPShowEndpoint"), ("Endpoint", ep.name)] for ep in need])
        for ep, detail in zip(need, replies, strict=True):
            if detail.ok:
                found = {}
                for msg in list_events(detail, "ContactStatusDetail"):
                    contact = contact_from_event(msg)
                    found[contact_key(contact.aor, contact.uri)] = contact
                _merge_status(ep, found)
    return endpoints


# -- chan_sip and chan_iax2 -----------------------------------------------------------


def peer_from_event(msg) -> Endpoint:
    """A ``PeerEntry`` event (SIPpeers, IAXpeerlist) -> Endpoint."""
    msg = fields(msg)
    name = msg.get("ObjectName") or ""
    channel_type = (msg.get("Channeltype") or msg.get("ChannelType") or "SIP").upper()
    technology = "IAX2" if channel_type.startswith("IAX") else channel_type
    word, usec = parse_peer_status(msg.get("Status"))
    address = (msg.get("IPaddress") or "").strip()
    port = (msg.get("IPport") or msg.get("Port") or "").strip()
    contacts = []
    if address not in _NO_ADDRESS:
        uri = f"{address}:{port}" if port and port not in ("0", "(null)") else address
        contacts.append(Contact(endpoint=name, uri=uri, status=word, roundtrip_usec=usec))
    return Endpoint(
        name=name,
        technology=technology,
        state=word,
        contacts=contacts,
        description=msg.get("Description") or None,
    )


def legacy_endpoints(client: Client) -> list[Endpoint]:
    """chan_sip peers then IAX2 peers; NoDriver when the PBX has neither."""
    sip, iax = client.request_all([[("Action", "SIPpeers")], [("Action", "IAXpeerlist")]])
    if is_unknown_action(sip) and is_unknown_action(iax):
        raise NoDriver(
            "this PBX has no SIP or IAX2 channel driver loaded (PJSIP, chan_sip and chan_iax2 "
            "actions are all unknown; try: ami command 'module show like pjsip')"
        )
    endpoints: list[Endpoint] = []
    for reply in (sip, iax):
        if is_unknown_action(reply) or not ok_or_raise(reply):
            continue
        endpoints.extend(peer_from_event(msg) for msg in list_events(reply, "PeerEntry"))
    return endpoints


# -- what the commands call ------------------------------------------------------------


def fetch_endpoints(client: Client, detail_static: bool = True) -> list[Endpoint]:
    """Every endpoint the PBX has, PJSIP first, else chan_sip and IAX2."""
    reply = client.request_booted([("Action", "PJSIPShowEndpoints")])
    if is_unknown_action(reply):
        return legacy_endpoints(client)
    if not ok_or_raise(reply):
        return []
    return pjsip_endpoints(client, reply, detail_static)


def fetch_contacts(client: Client) -> list[Contact]:
    """Every contact of every endpoint, with its status."""
    return [c for ep in fetch_endpoints(client) for c in ep.contacts]


# -- one endpoint in detail ----------------------------------------------------------------

#: PJSIPShowEndpoint's events -> the section they go to.
DETAIL_SECTIONS = {
    "EndpointDetail": "Endpoint",
    "AorDetail": "Aors",
    "AuthDetail": "Auths",
    "ContactStatusDetail": "Contacts",
    "TransportDetail": "Transports",
    "IdentifyDetail": "Identifies",
}
_SKIP = frozenset({"event", "actionid"})


def typed_value(value: str) -> object:
    """Digits become numbers; everything else stays the string it was."""
    text = value.strip()
    if text and (text.isdigit() or (text[0] == "-" and text[1:].isdigit())):
        return int(text)
    return value


def headers_dict(msg) -> dict[str, object]:
    return {k: typed_value(v) for k, v in msg.headers if k.lower() not in _SKIP}


def fetch_detail(client: Client, name: str) -> dict[str, object]:
    """One endpoint: ``{"Endpoint": {...}, "Aors": [...], "Auths": [...], "Contacts": [...], ...}``."""
    reply = client.request_booted([("Action", "PJSIPShowEndpoint"), ("Endpoint", name)])
    if is_unknown_action(reply):
        return legacy_detail(client, name)
    if not reply.ok:
        if "unable to retrieve" in reply.message.lower():
            raise NoSuchEndpoint(f"no such endpoint: {name!r}", reply.response)
        reply.raise_for_error()
    detail: dict[str, object] = {"Technology": "PJSIP"}
    for msg in reply.events:
        section = DETAIL_SECTIONS.get(msg.get("Event") or "", msg.get("Event") or "Other")
        row = headers_dict(msg)
        if section == "Endpoint":
            detail["Endpoint"] = row
        else:
            detail.setdefault(section, []).append(row)  # type: ignore[union-attr]
    return detail


def legacy_detail(client: Client, name: str) -> dict[str, object]:
    """SIPshowpeer: one flat reply, as the ``Endpoint`` section."""
    reply = client.request([("Action", "SIPshowpeer"), ("Peer", name)])
    if is_unknown_action(reply):
        raise NoDriver("this PBX has neither PJSIP nor chan_sip loaded (no endpoint detail to show)")
    if not reply.ok:
        if "not found" in reply.message.lower():
            raise NoSuchEndpoint(f"no such endpoint: {name!r}", reply.response)
        reply.raise_for_error()
    row = headers_dict(reply.response)
    row.pop("Response", None)
    return {"Technology": "SIP", "Endpoint": row}


# -- selecting -----------------------------------------------------------------------------


def name_matcher(pattern: str | None) -> Callable[[str], bool]:
    """A glob (``trunk-*``), a ``/regex/`` (searched), or an exact name; None matches all."""
    if not pattern:
        return lambda name: True
    if len(pattern) >= 2 and pattern.startswith("/") and pattern.endswith("/"):
        rx = re.compile(pattern[1:-1])
        return lambda name: rx.search(name) is not None
    import fnmatch

    glob = re.compile(fnmatch.translate(pattern))
    return lambda name: glob.match(name) is not None


def select(endpoints: Sequence[Endpoint], pattern: str | None = None, states: Sequence[str] = ()) -> list[Endpoint]:
    """The endpoints whose name matches and whose state (or a contact's status) is one of ``states``."""
    match = name_matcher(pattern)
    wanted = {s.lower() for s in states}
    out = []
    for ep in endpoints:
        if not match(ep.name):
            continue
        if wanted and ep.state.lower() not in wanted and not any(c.status.lower() in wanted for c in ep.contacts):
            continue
        out.append(ep)
    return out
