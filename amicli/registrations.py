"""Outbound registrations (trunks registering to a provider): PJSIP, chan_sip and IAX2.

No click here.  ``PJSIPShowRegistrationsOutbound`` first; a PBX without
PJSIP is asked ``SIPshowregistry`` and ``IAXregistry``.
"""

from __future__ import annotations

from dataclasses import dataclass

from .client import Client
from .endpoints import NoDriver, is_unknown_action, list_events, ok_or_raise, to_int

#: Registration states that count as registered (PJSIP, chan_sip and IAX2 alike).
REGISTERED_STATES = frozenset({"registered"})


@dataclass
class Registration:
    """An outbound registration (a trunk registering to a provider)."""

    name: str
    technology: str
    status: str
    server: str | None = None
    client: str | None = None
    endpoint: str | None = None
    #: Seconds until the next REGISTER (PJSIP ``NextReg``; chan_sip ``Refresh``).
    next_reg: int | None = None
    #: When it last registered, in Unix seconds (chan_sip only).
    registered_at: int | None = None
    expiration: int | None = None

    @property
    def registered(self) -> bool:
        return self.status.lower() in REGISTERED_STATES

    def as_dict(self) -> dict[str, object]:
        return {
            "Registration": self.name,
            "Technology": self.technology,
            "Status": self.status,
            "Registered": self.registered,
            "ServerUri": self.server,
            "ClientUri": self.client,
            "Endpoint": self.endpoint,
            "NextReg": self.next_reg,
            "RegistrationTime": self.registered_at,
            "Expiration": self.expiration,
        }


def registration_from_pjsip(msg) -> Registration:
    return Registration(
        name=msg.get("ObjectName") or "",
        technology="PJSIP",
        status=msg.get("Status") or "Unknown",
        server=msg.get("ServerUri") or None,
        client=msg.get("ClientUri") or None,
        endpoint=msg.get("Endpoint") or None,
        next_reg=to_int(msg.get("NextReg")),
        expiration=to_int(msg.get("Expiration")),
    )


def registration_from_legacy(msg, technology: str) -> Registration:
    """A ``RegistryEntry`` event (SIPshowregistry, IAXregistry) -> Registration."""
    host = msg.get("Host") or ""
    port = msg.get("Port")
    server = f"{host}:{port}" if port and ":" not in host else host
    user = msg.get("Username") or ""
    name = f"{user}@{server}" if user else server
    return Registration(
        name=name,
        technology=technology,
        status=msg.get("State") or "Unknown",
        server=server or None,
        client=user or None,
        next_reg=to_int(msg.get("Refresh")),
        registered_at=to_int(msg.get("RegistrationTime")) or None,
    )


def fetch_registrations(client: Client) -> list[Registration]:
    """Outbound registrations: PJSIP, else chan_sip and IAX2."""
    reply = client.request_booted([("Action", "PJSIPShowRegistrationsOutbound")])
    if not is_unknown_action(reply):
        if not ok_or_raise(reply):
            return []
        return [registration_from_pjsip(m) for m in list_events(reply, "OutboundRegistrationDetail")]
    sip, iax = client.request_all([[("Action", "SIPshowregistry")], [("Action", "IAXregistry")]])
    if is_unknown_action(sip) and is_unknown_action(iax):
        raise NoDriver("this PBX has no SIP or IAX2 channel driver loaded (no registrations to show)")
    out: list[Registration] = []
    for reply, technology in ((sip, "SIP"), (iax, "IAX2")):
        if is_unknown_action(reply) or not ok_or_raise(reply):
            continue
        out.extend(registration_from_legacy(m, technology) for m in list_events(reply, "RegistryEntry"))
    return out
