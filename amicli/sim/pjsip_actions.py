"""PJSIP's AMI actions and CLI commands on the simulated PBX, shaped as Asterisk 22.10.1 answers them.

Recordings: ``pjsip-endpoints``, ``pjsip-endpoint-detail``, ``pjsip-contacts``,
``pjsip-registrations``, ``pjsip-registration-events``, ``pjsip-monitor-user``
and ``core-status`` (the ``pjsip show ...`` text).  ``AuthDetail`` carries the
password in clear text, as Asterisk sends it.

The ``pjsip show ...`` CLI text and the sim's own commands that change
state are in ``pjsip_cli.py``.
"""

from __future__ import annotations

from ..protocol import Message
from .pbx import PBX
from .pjsip import (
    DEVICE_TEXT,
    Aor,
    Auth,
    Contact,
    Endpoint,
    Pjsip,
    Registration,
    reregister,
    set_registration_status,
)
from .pjsip_shapes import ENDPOINT_DETAIL
from .session import Session, action_id_of

Headers = list[tuple[str, str]]


def _pjsip(pbx: PBX, session: Session, request: Message) -> Pjsip | None:
    """The PBX's PJSIP, or None (answered) before FullyBooted, when res_pjsip is not loaded yet."""
    if pbx.booted and pbx.pjsip is not None:
        return pbx.pjsip
    name = request.get("Action") or ""
    session.error(request, f"Invalid/unknown command: {name}. Use Action: ListCommands to show available commands.")
    return None


def _error_lf(session: Session, request: Message, message: str) -> None:
    # res_pjsip ends some messages with a newline of its own, inside the value.
    head = "".join(f"{k}: {v}\r\n" for k, v in [("Response", "Error"), *action_id_of(request)])
    session.write(f"{head}Message: {message}\n\r\n\r\n".encode())


# -- header blocks ------------------------------------------------------------------


def endpoint_list(pjsip: Pjsip, ep: Endpoint) -> Headers:
    aor = pjsip.aors.get(ep.aor)
    contacts = "".join(f"{c.aor}/{c.uri}," for c in aor.contacts) if aor else ""
    return [
        ("Event", "EndpointList"),
        ("ObjectType", "endpoint"),
        ("ObjectName", ep.name),
        ("Transport", ""),
        ("Aor", ep.aor),
        ("Auths", ep.auth),
        ("OutboundAuths", ep.outbound_auth),
        ("Contacts", contacts),
        ("DeviceState", DEVICE_TEXT[pjsip.device_state(ep)]),
        ("ActiveChannels", str(ep.active_channels)),
    ]


def endpoint_detail(pjsip: Pjsip, ep: Endpoint) -> Headers:
    values = {
        "Aors": ep.aor,
        "Context": ep.context,
        "Callerid": ep.callerid,
        "Auth": ep.auth,
        "OutboundAuth": ep.outbound_auth,
        "FromUser": ep.from_user,
        "DeviceState": DEVICE_TEXT[pjsip.device_state(ep)],
        "ActiveChannels": str(ep.active_channels),
    }
    body = [(k, values.get(k, v)) for k, v in ENDPOINT_DETAIL]
    return [("Event", "EndpointDetail"), ("ObjectType", "endpoint"), ("ObjectName", ep.name), *body]


def auth_detail(auth: Auth) -> Headers:
    return [
        ("Event", "AuthDetail"),
        ("ObjectType", "auth"),
        ("ObjectName", auth.name),
        ("OauthSecret", ""),
        ("PasswordDigest", ""),
        ("SupportedAlgorithmsUas", "MD5"),
        ("RefreshToken", ""),
        ("Username", auth.username),
        ("Md5Cred", ""),
        ("Realm", ""),
        ("AuthType", "digest"),
        ("Password", auth.password),
        ("SupportedAlgorithmsUac", "MD5"),
        ("NonceLifetime", "32"),
        ("OauthClientid", ""),
    ]


def _aor_fields(aor: Aor, contacts_header: str = "Contacts") -> Headers:
    return [
        ("ObjectType", "aor"),
        ("ObjectName", aor.name),
        ("MinimumExpiration", str(aor.minimum_expiration)),
        ("DefaultExpiration", str(aor.default_expiration)),
        ("QualifyTimeout", "3.000000"),
        ("Qualify2xxOnly", "false"),
        ("Mailboxes", ""),
        ("SupportPath", "false"),
        ("RemoveUnavailable", "false"),
        ("VoicemailExtension", ""),
        ("MaxContacts", str(aor.max_contacts)),
        ("AuthenticateQualify", "false"),
        (contacts_header, ",".join(f"{c.aor}/{c.uri}" for c in aor.contacts)),
        ("MaximumExpiration", "7200"),
        ("QualifyFrequency", str(aor.qualify_frequency)),
        ("RemoveExisting", "true" if aor.remove_existing else "false"),
        ("OutboundProxy", ""),
    ]


def _rtt(contact: Contact) -> str:
    return str(contact.rtt_usec) if contact.status == "Reachable" else "N/A"


def contact_status_detail(contact: Contact, endpoint: str) -> Headers:
    headers = [("Event", "ContactStatusDetail"), ("AOR", contact.aor), ("URI", contact.uri)]
    if contact.dynamic:
        address, port = contact.via
        headers += [("UserAgent", contact.user_agent), ("RegExpire", str(contact.expires))]
        headers += [("ViaAddress", f"{address}:{port}"), ("CallID", contact.call_id)]
    else:
        headers += [("UserAgent", ""), ("RegExpire", "0")]
    return [
        *headers,
        ("Status", contact.status),
        ("RoundtripUsec", _rtt(contact)),
        ("EndpointName", endpoint),
        ("ID", contact.id),
        ("AuthenticateQualify", "0"),
        ("OutboundProxy", ""),
        ("Path", ""),
        ("QualifyFrequency", str(contact.qualify_frequency)),
        ("QualifyTimeout", "3.000"),
        ("Qualify2xxOnly", "0"),
    ]


def contact_list(contact: Contact, endpoint: str, system_name: str) -> Headers:
    address, port = contact.via
    return [
        ("Event", "ContactList"),
        ("ObjectType", "contact"),
        ("ObjectName", contact.id),
        ("ViaAddr", address),
        ("QualifyTimeout", "3.000000"),
        ("Qualify2xxOnly", "false"),
        ("CallId", contact.call_id),
        ("RegServer", system_name),
        ("PruneOnBoot", "no"),
        ("Path", ""),
        ("Endpoint", endpoint),
        ("ViaPort", port),
        ("AuthenticateQualify", "no"),
        ("Uri", contact.uri),
        ("QualifyFrequency", str(contact.qualify_frequency)),
        ("UserAgent", contact.user_agent),
        ("ExpirationTime", str(contact.expires)),
        ("OutboundProxy", ""),
        ("Status", contact.status),
        ("RoundtripUsec", _rtt(contact)),
    ]


def registration_detail(reg: Registration) -> Headers:
    return [
        ("Event", "OutboundRegistrationDetail"),
        ("ObjectType", "registration"),
        ("ObjectName", reg.name),
        ("MaxRetries", str(reg.max_retries)),
        ("ClientUri", reg.client_uri),
        ("SecurityNegotiation", "no"),
        ("AuthRejectionPermanent", "true"),
        ("ServerUri", reg.server_uri),
        ("MaxRandomInitialDelay", "10"),
        ("SupportPath", "false"),
        ("RetryInterval", str(reg.retry_interval)),
        ("ContactHeaderParams", ""),
        ("Expiration", str(reg.expiration)),
        ("Transport", "transport-udp"),
        ("Line", "true"),
        ("ContactUser", reg.contact_user),
        ("Endpoint", reg.endpoint),
        ("UserAgent", ""),
        ("ForbiddenRetryInterval", "0"),
        ("OutboundAuth", reg.outbound_auth),
        ("OutboundProxy", ""),
        ("FatalRetryInterval", "0"),
        ("SupportOutbound", "no"),
        ("Status", reg.status),
        ("NextReg", "0"),
    ]


# -- the actions ----------------------------------------------------------------------


def show_endpoints(pbx: PBX, session: Session, request: Message) -> None:
    pjsip = _pjsip(pbx, session, request)
    if pjsip is None:
        return
    with pbx.lock:
        items = [endpoint_list(pjsip, ep) for ep in pjsip.sorted_endpoints()]
    message = "A listing of Endpoints follows, presented as EndpointList events"
    session.send_list(request, items, message, "EndpointListComplete")


def _endpoint_items(pjsip: Pjsip, ep: Endpoint) -> list[Headers]:
    items = [endpoint_detail(pjsip, ep)]
    for auth_name in (ep.auth, ep.outbound_auth):
        if auth_name in pjsip.auths:
            items.append([*auth_detail(pjsip.auths[auth_name]), ("EndpointName", ep.name)])
    aor = pjsip.aors.get(ep.aor)
    if aor is not None:
        registered = sum(1 for c in aor.contacts if c.dynamic)
        totals = [("TotalContacts", str(len(aor.contacts))), ("ContactsRegistered", str(registered))]
        items.append([("Event", "AorDetail"), *_aor_fields(aor), *totals, ("EndpointName", ep.name)])
        items += [contact_status_detail(c, ep.name) for c in aor.contacts]
    if ep.match:
        items.append(
            [
                ("Event", "IdentifyDetail"),
                ("ObjectType", "identify"),
                ("ObjectName", f"{ep.name}-identify"),
                ("Match", f"{ep.match}/255.255.255.255"),
                ("MatchRequestUri", ""),
                ("SrvLookups", "true"),
                ("Endpoint", ep.name),
                ("MatchHeader", ""),
                ("EndpointName", ep.name),
            ]
        )
    return items


def show_endpoint(pbx: PBX, session: Session, request: Message) -> None:
    pjsip = _pjsip(pbx, session, request)
    if pjsip is None:
        return
    name = request.get("Endpoint") or ""
    if not name:
        _error_lf(session, request, "PJSIPShowEndpoint requires an endpoint name")
        return
    with pbx.lock:
        ep = pjsip.endpoints.get(name)
        items = _endpoint_items(pjsip, ep) if ep is not None else None
    if items is None:
        _error_lf(session, request, f"Unable to retrieve endpoint {name}")
        return
    message = "Following are Events for each object associated with the Endpoint"
    session.send_list(request, items, message, "EndpointDetailComplete")


def show_contacts(pbx: PBX, session: Session, request: Message) -> None:
    pjsip = _pjsip(pbx, session, request)
    if pjsip is None:
        return
    with pbx.lock:
        items = [
            contact_list(c, ep.name, pbx.system_name)
            for ep in pjsip.sorted_endpoints()
            for c in (pjsip.aors[ep.aor].contacts if ep.aor in pjsip.aors else ())
            if c.dynamic
        ]
    session.send_list(
        request, items, "A listing of Contacts follows, presented as ContactList events", "ContactListComplete"
    )


def show_aors(pbx: PBX, session: Session, request: Message) -> None:
    pjsip = _pjsip(pbx, session, request)
    if pjsip is None:
        return
    with pbx.lock:
        items = [[("Event", "AorList"), *_aor_fields(pjsip.aors[name])] for name in sorted(pjsip.aors)]
    session.send_list(request, items, "A listing of AORs follows, presented as AorList events", "AorListComplete")


def show_registrations_outbound(pbx: PBX, session: Session, request: Message) -> None:
    pjsip = _pjsip(pbx, session, request)
    if pjsip is None:
        return
    items: list[Headers] = []
    with pbx.lock:
        registrations = [pjsip.registrations[name] for name in sorted(pjsip.registrations)]
        for reg in registrations:
            items.append(registration_detail(reg))
            if reg.outbound_auth in pjsip.auths:
                items.append(auth_detail(pjsip.auths[reg.outbound_auth]))
        registered = sum(1 for reg in registrations if reg.status == "Registered")
    extra = [("Registered", str(registered)), ("NotRegistered", str(len(registrations) - registered))]
    message = "Following are Events for each Outbound registration"
    session.send_list(request, items, message, "OutboundRegistrationDetailComplete", extra, count=len(registrations))


def show_registrations_inbound(pbx: PBX, session: Session, request: Message) -> None:
    pjsip = _pjsip(pbx, session, request)
    if pjsip is None:
        return
    items = []
    with pbx.lock:
        for name in sorted(pjsip.aors):
            aor = pjsip.aors[name]
            fields = _aor_fields(aor, "Contact")
            contacts = "".join(f"{c.aor}/{c.uri}," for c in aor.contacts)
            items.append([("Event", "InboundRegistrationDetail"), *fields, ("Contacts", contacts)])
    message = "Following are Events for each Inbound registration"
    session.send_list(request, items, message, "InboundRegistrationDetailComplete")


def show_inbound_contact_statuses(pbx: PBX, session: Session, request: Message) -> None:
    pjsip = _pjsip(pbx, session, request)
    if pjsip is None:
        return
    with pbx.lock:
        items = [
            contact_status_detail(c, ep.name)
            for ep in pjsip.sorted_endpoints()
            for c in (pjsip.aors[ep.aor].contacts if ep.aor in pjsip.aors else ())
            if c.dynamic
        ]
    message = "Following are ContactStatusEvents for each Inbound registration"
    session.send_list(request, items, message, "ContactStatusDetailComplete")


def _registration(pbx: PBX, session: Session, request: Message) -> Registration | None:
    pjsip = _pjsip(pbx, session, request)
    if pjsip is None:
        return None
    name = request.get("Registration") or ""
    if not name:
        session.error(request, "Registration parameter missing.")
        return None
    reg = pjsip.registrations.get(name)
    if reg is None:
        session.error(request, "Unable to retrieve registration entry")
    return reg


def register(pbx: PBX, session: Session, request: Message) -> None:
    reg = _registration(pbx, session, request)
    if reg is not None:
        session.respond(request, "Success", [("Message", "Reregistration sent")])
        reregister(pbx, reg)


def unregister(pbx: PBX, session: Session, request: Message) -> None:
    reg = _registration(pbx, session, request)
    if reg is not None:
        session.respond(request, "Success", [("Message", "Unregistration sent")])
        set_registration_status(pbx, reg, "Unregistered")


#: (action, handler, write class needed)
ACTIONS = (
    ("PJSIPShowEndpoints", show_endpoints, "system"),
    ("PJSIPShowEndpoint", show_endpoint, "system"),
    ("PJSIPShowContacts", show_contacts, "system"),
    ("PJSIPShowAors", show_aors, "system"),
    ("PJSIPShowRegistrationsOutbound", show_registrations_outbound, "system,reporting"),
    ("PJSIPShowRegistrationsInbound", show_registrations_inbound, "system,reporting"),
    ("PJSIPShowRegistrationInboundContactStatuses", show_inbound_contact_statuses, "system,reporting"),
    ("PJSIPRegister", register, "system"),
    ("PJSIPUnregister", unregister, "system"),
)
