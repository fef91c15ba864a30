"""PJSIP on the simulated PBX: endpoints, AORs, contacts, auths, outbound registrations, hints.

The default configuration is that of the recorded PBX (``pbx-conf/pjsip.conf``
of the transcripts, settled state): ``alice`` and ``bob`` registered and
Reachable, ``carol`` never registered, ``doorphone`` with a static contact
not qualified, ``trunk-up`` Registered and Reachable, ``trunk-down``
Rejected and Unreachable.  :func:`add_phones` adds N more registered phones
(for benchmarks).

State changes (:func:`set_contact_status`, :func:`set_registration_status`)
send the events Asterisk 22 sends (``pjsip-state-changes``,
``pjsip-registration-events``): ContactStatus and PeerStatus (class system),
DeviceStateChange and ExtensionStatus (class call), Registry (system).
"""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass, field

from .pbx import PBX, extension_status

#: Contact status words (ContactStatus, ContactList, ContactStatusDetail).
CONTACT_STATUSES = ("Reachable", "Unreachable", "NonQualified", "Unknown")
#: Outbound registration status words.
REGISTRATION_STATUSES = ("Registered", "Unregistered", "Rejected")
#: Device state words: DeviceStateChange's, and the text of EndpointList's DeviceState.
DEVICE_TEXT = {"NOT_INUSE": "Not in use", "INUSE": "In use", "UNAVAILABLE": "Unavailable"}
#: Extension state numbers and texts (ExtensionStatus).
EXTENSION_STATE = {"NOT_INUSE": (0, "Idle"), "INUSE": (1, "InUse"), "UNAVAILABLE": (4, "Unavailable")}


@dataclass
class Contact:
    aor: str
    uri: str
    status: str = "Reachable"
    rtt_usec: int = 500
    #: Registered by the phone (listed by PJSIPShowContacts) rather than configured on the AOR.
    dynamic: bool = True
    user_agent: str = "pjrec-sipua/1.0"
    call_id: str = ""
    expires: int = 0
    qualify_frequency: int = 5
    #: False while a PBX that has just booted has not qualified it yet (NonQualified, yet unavailable).
    qualified: bool = True

    @property
    def hash(self) -> str:
        return hashlib.md5(f"{self.aor}{self.uri}".encode()).hexdigest()

    @property
    def id(self) -> str:
        return f"{self.aor};@{self.hash}" if self.dynamic else f"{self.aor}@@{self.hash}"

    @property
    def via(self) -> tuple[str, str]:
        """(address, port) the contact registered from."""
        host = self.uri.split("@")[-1].split(";")[0].removeprefix("sip:")
        address, _, port = host.partition(":")
        return address, port or "5060"

    @property
    def usable(self) -> bool:
        return self.status == "Reachable" or (self.status == "NonQualified" and self.qualified)


@dataclass
class Aor:
    name: str
    max_contacts: int = 1
    qualify_frequency: int = 5
    minimum_expiration: int = 60
    default_expiration: int = 3600
    remove_existing: bool = True
    contacts: list[Contact] = field(default_factory=list)


@dataclass
class Auth:
    name: str
    username: str
    password: str


@dataclass
class Endpoint:
    name: str
    aor: str
    auth: str = ""
    outbound_auth: str = ""
    callerid: str = "<unknown>"
    context: str = "default"
    from_user: str = ""
    #: ``ip:port`` of an identify section (trunks).
    match: str = ""
    active_channels: int = 0

    @property
    def device(self) -> str:
        return f"PJSIP/{self.name}"

    @property
    def cid_number(self) -> str:
        number = self.callerid.rpartition("<")[2].rstrip(">") if "<" in self.callerid else ""
        return "" if number == "unknown" else number


@dataclass
class Registration:
    name: str
    endpoint: str
    server_uri: str
    client_uri: str
    outbound_auth: str
    status: str = "Registered"
    max_retries: int = 3
    retry_interval: int = 5
    expiration: int = 120
    #: Whether its registrar answers: a re-registration then ends Registered, else Rejected.
    answers: bool = True
    registered_at: float = field(default_factory=time.time)

    @property
    def contact_user(self) -> str:
        return self.client_uri.removeprefix("sip:").partition("@")[0]


@dataclass
class Pjsip:
    """The PJSIP configuration and state of one PBX (endpoints in name order)."""

    endpoints: dict[str, Endpoint] = field(default_factory=dict)
    aors: dict[str, Aor] = field(default_factory=dict)
    auths: dict[str, Auth] = field(default_factory=dict)
    registrations: dict[str, Registration] = field(default_factory=dict)
    #: (exten, context, hint) in the order ExtensionStateList gives them.
    hints: list[tuple[str, str, str]] = field(default_factory=list)
    #: Device -> state, for devices whose state changed since boot (DeviceStateList).
    devices: dict[str, str] = field(default_factory=dict)

    def sorted_endpoints(self) -> list[Endpoint]:
        return [self.endpoints[name] for name in sorted(self.endpoints)]

    def device_state(self, endpoint: Endpoint) -> str:
        """NOT_INUSE, INUSE or UNAVAILABLE: unavailable without a usable contact."""
        aor = self.aors.get(endpoint.aor)
        if aor is None or not any(c.usable for c in aor.contacts):
            return "UNAVAILABLE"
        return "INUSE" if endpoint.active_channels else "NOT_INUSE"

    def hint_state(self, hint: str) -> str:
        """The state of a hint of one or more ``PJSIP/name`` devices joined by ``&``."""
        states = []
        for device in hint.split("&"):
            endpoint = self.endpoints.get(device.removeprefix("PJSIP/"))
            states.append(self.device_state(endpoint) if endpoint else "UNAVAILABLE")
        if "INUSE" in states:
            return "INUSE"
        return "UNAVAILABLE" if all(s == "UNAVAILABLE" for s in states) else "NOT_INUSE"

    def find_contact(self, name: str) -> tuple[Endpoint, Contact] | None:
        """A contact by endpoint or AOR name (its first), or by URI."""
        for endpoint in self.sorted_endpoints():
            aor = self.aors.get(endpoint.aor)
            for contact in aor.contacts if aor else ():
                if name in (endpoint.name, contact.aor, contact.uri):
                    return endpoint, contact
        return None


# -- the recorded PBX's configuration ----------------------------------------------


#: Round-trip times of the recorded PBX's qualified contacts, in microseconds.
RECORDED_RTT = {"alice": 443, "bob": 385, "trunk-up": 463}


def _phone(pjsip: Pjsip, name: str, number: str, port: int, registered: bool, expires: int) -> None:
    pjsip.auths[f"{name}-auth"] = Auth(f"{name}-auth", name, f"{name}-Pass{number[-1]}")
    aor = Aor(name, 1, 5, 30 if registered else 60, 60 if registered else 3600)
    if registered:
        call_id = hashlib.md5(name.encode()).hexdigest()[:16] + "@127.0.0.1"
        uri = f"sip:{name}@127.0.0.1:{port}"
        aor.contacts.append(Contact(name, uri, rtt_usec=RECORDED_RTT.get(name, 500), call_id=call_id, expires=expires))
    pjsip.aors[name] = aor
    title = name.capitalize()
    pjsip.endpoints[name] = Endpoint(name, name, auth=f"{name}-auth", callerid=f'"{title} Example" <{number}>')


def _trunk(pjsip: Pjsip, name: str, far_port: int, registrar_port: int, up: bool) -> None:
    auth = f"{name}-auth"
    password = "trunk-Up-Pass" if up else "trunk-Down-Pass"
    pjsip.auths[auth] = Auth(auth, name, password)
    status = "Reachable" if up else "Unreachable"
    contact = Contact(name, f"sip:127.0.0.1:{far_port}", status, RECORDED_RTT.get(name, 0), False, "", "", 0, 0)
    pjsip.aors[name] = Aor(name, 0, 5, 60, 3600, False, [contact])
    pjsip.endpoints[name] = Endpoint(name, name, outbound_auth=auth, from_user=name, match=f"127.0.0.1:{far_port}")
    server = f"sip:127.0.0.1:{registrar_port}"
    pjsip.registrations[f"{name}-reg"] = Registration(
        f"{name}-reg",
        name,
        server,
        f"sip:{name}@127.0.0.1:{registrar_port}",
        auth,
        "Registered" if up else "Rejected",
        max_retries=3 if up else 1,
        answers=up,
    )


def default_pjsip(now: float | None = None) -> Pjsip:
    """The recorded PBX's PJSIP configuration, in its settled state."""
    expires = int((now or time.time()) + 60)
    pjsip = Pjsip()
    _phone(pjsip, "alice", "1001", 5071, True, expires)
    _phone(pjsip, "bob", "1002", 5072, True, expires)
    _phone(pjsip, "carol", "1003", 0, False, 0)
    door = Contact("doorphone", "sip:doorphone@127.0.0.1:5073", "NonQualified", 0, False, "", "", 0, 0)
    pjsip.aors["doorphone"] = Aor("doorphone", 0, 0, 60, 3600, False, [door])
    pjsip.endpoints["doorphone"] = Endpoint("doorphone", "doorphone")
    _trunk(pjsip, "trunk-up", 5070, 5090, True)
    _trunk(pjsip, "trunk-down", 5081, 5080, False)
    hints = [("1004", "doorphone"), ("1001", "alice"), ("1002", "bob"), ("1003", "carol"), ("2001", "trunk-down")]
    hints += [("2000", "trunk-up")]
    pjsip.hints = [(exten, "pjsip-hints", f"PJSIP/{name}") for exten, name in hints]
    pjsip.hints.append(("1100", "pjsip-hints", "PJSIP/alice&PJSIP/bob"))
    for endpoint in pjsip.sorted_endpoints():
        pjsip.devices[endpoint.device] = pjsip.device_state(endpoint)
    return pjsip


def add_phones(pjsip: Pjsip, count: int, now: float | None = None) -> None:
    """Add ``count`` registered, Reachable phones ``phone00001``... (extensions from 100001 on)."""
    expires = int((now or time.time()) + 60)
    for n in range(1, count + 1):
        name = f"phone{n:05d}"
        port = 10000 + n % 50000
        pjsip.auths[f"{name}-auth"] = Auth(f"{name}-auth", name, f"{name}-Secret")
        contact = Contact(
            name,
            f"sip:{name}@127.0.0.1:{port}",
            "Reachable",
            300 + n % 900,
            True,
            "sim-phone/1.0",
            f"{name}@127.0.0.1",
            expires,
        )
        pjsip.aors[name] = Aor(name, 1, 5, 30, 60, True, [contact])
        endpoint = Endpoint(name, name, auth=f"{name}-auth", callerid=f'"Phone {n}" <{100000 + n}>')
        pjsip.endpoints[name] = endpoint
        pjsip.devices[endpoint.device] = "NOT_INUSE"


def load_default_pjsip(pbx: PBX, phones: int = 0) -> None:
    pjsip = default_pjsip(pbx.started)
    if phones:
        add_phones(pjsip, phones, pbx.started)
    pbx.pjsip = pjsip


# -- state changes and their events ------------------------------------------------


def _device_events(pbx: PBX, endpoint: Endpoint, before: dict[str, str]) -> None:
    """DeviceStateChange and ExtensionStatus for what changed state."""
    pjsip: Pjsip = pbx.pjsip
    state = pjsip.device_state(endpoint)
    if state != pjsip.devices.get(endpoint.device):
        pjsip.devices[endpoint.device] = state
        pbx.broadcast("call", [("Event", "DeviceStateChange"), ("Device", endpoint.device), ("State", state)])
    for exten, context, hint in pjsip.hints:
        now = pjsip.hint_state(hint)
        if now != before.get(hint):
            pbx.broadcast("call", extension_status(exten, context, hint, *EXTENSION_STATE[now]))


def contact_status_event(contact: Contact, endpoint: Endpoint, status: str, rtt: int) -> list[tuple[str, str]]:
    return [
        ("Event", "ContactStatus"),
        ("URI", contact.uri),
        ("ContactStatus", status),
        ("AOR", contact.aor),
        ("EndpointName", endpoint.name),
        ("RoundtripUsec", str(rtt)),
    ]


def set_contact_status(pbx: PBX, endpoint: Endpoint, contact: Contact, status: str) -> None:
    """Mark a contact Reachable, Unreachable, NonQualified or Unknown, or ``Removed`` (gone), with the events."""
    pjsip: Pjsip = pbx.pjsip
    with pbx.lock:
        before = {hint: pjsip.hint_state(hint) for _, _, hint in pjsip.hints}
        was_usable = pjsip.device_state(endpoint) != "UNAVAILABLE"
        aor = pjsip.aors[contact.aor]
        if status == "Removed":
            if contact in aor.contacts:
                aor.contacts.remove(contact)
        else:
            if contact not in aor.contacts:
                aor.contacts.append(contact)
            contact.status = status
            contact.qualified = True
            if status == "Reachable" and not contact.rtt_usec:
                contact.rtt_usec = 500
        usable = pjsip.device_state(endpoint) != "UNAVAILABLE"
        if usable != was_usable:
            peer = "Reachable" if usable else "Unreachable"
            pbx.broadcast(
                "system",
                [("Event", "PeerStatus"), ("ChannelType", "PJSIP"), ("Peer", endpoint.device), ("PeerStatus", peer)],
            )
        rtt = contact.rtt_usec if status == "Reachable" else 0
        pbx.broadcast("system", contact_status_event(contact, endpoint, status, rtt))
        _device_events(pbx, endpoint, before)


def registry_event(registration: Registration) -> list[tuple[str, str]]:
    return [
        ("Event", "Registry"),
        ("ChannelType", "PJSIP"),
        ("Username", registration.client_uri),
        ("Domain", registration.server_uri),
        ("Status", registration.status),
    ]


def set_registration_status(pbx: PBX, registration: Registration, status: str) -> None:
    """Set an outbound registration's status, with its Registry event."""
    with pbx.lock:
        registration.status = status
        if status == "Registered":
            registration.registered_at = time.time()
        pbx.broadcast("system", registry_event(registration))


def reregister(pbx: PBX, registration: Registration, delay: float = 0.5) -> None:
    """PJSIPRegister: Unregistered at once, then Registered (or Rejected when its registrar never answers)."""
    set_registration_status(pbx, registration, "Unregistered")
    final = "Registered" if registration.answers else "Rejected"
    _later(delay, set_registration_status, pbx, registration, final)


def _later(delay: float, func, *args: object) -> None:
    timer = threading.Timer(delay, func, args)
    timer.daemon = True
    timer.start()


# -- a PBX that has just booted ---------------------------------------------------------


def unsettle(pjsip: Pjsip) -> list[tuple[Endpoint, Contact, str]]:
    """The state just after boot (``pjsip-boot-states``): qualified contacts not qualified yet, registrations not sent.

    Returns what each such contact becomes once qualified, for :func:`settle`.
    """
    later = []
    for endpoint in pjsip.sorted_endpoints():
        aor = pjsip.aors.get(endpoint.aor)
        if aor is None or not aor.qualify_frequency:
            continue
        for contact in aor.contacts:
            later.append((endpoint, contact, contact.status))
            contact.status, contact.qualified = "NonQualified", False
        pjsip.devices[endpoint.device] = pjsip.device_state(endpoint)
    for registration in pjsip.registrations.values():
        registration.status = "Unregistered"
    return later


def settle(pbx: PBX, later: list[tuple[Endpoint, Contact, str]], pace: float = 0.3) -> threading.Thread:
    """After boot: contacts qualified one by one, then the registrations answered (or not), with the events."""

    def run() -> None:
        for endpoint, contact, status in later:
            if pbx.stopping.wait(pace):
                return
            set_contact_status(pbx, endpoint, contact, status)
        for registration in sorted(pbx.pjsip.registrations.values(), key=lambda r: not r.answers):
            if pbx.stopping.wait(pace):
                return
            set_registration_status(pbx, registration, "Registered" if registration.answers else "Rejected")

    thread = threading.Thread(target=run, name="ami-sim-settle", daemon=True)
    thread.start()
    return thread


def start_flapping(pbx: PBX, name: str = "bob", period: float = 10.0) -> threading.Thread:
    """For the demo: ``name``'s contact goes Unreachable for half of every ``period``, then Reachable again."""

    def flap() -> None:
        while not pbx.stopping.wait(period / 2):
            found = pbx.pjsip.find_contact(name) if pbx.pjsip else None
            if found is None:
                continue
            endpoint, contact = found
            status = "Unreachable" if contact.status == "Reachable" else "Reachable"
            set_contact_status(pbx, endpoint, contact, status)

    thread = threading.Thread(target=flap, name="ami-sim-flap", daemon=True)
    thread.start()
    return thread
