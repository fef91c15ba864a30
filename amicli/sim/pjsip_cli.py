"""PJSIP's CLI text on the simulated PBX, and the sim's own commands that change PJSIP state.

``pjsip show endpoints``, ``pjsip show contacts`` and ``pjsip show
registrations`` print as Asterisk 22.10.1 does (``core-status``).  The sim's
commands (run them through the Command action, ``ami command``):

* ``sim contact NAME reachable|unreachable|nonqualified|unknown|removed|registered``:
  NAME is an endpoint, an AOR or a contact URI;
* ``sim registration NAME registered|unregistered|rejected``: NAME is an
  outbound registration (``trunk-up-reg``) or its endpoint (``trunk-up``).

Each sends the events Asterisk sends for that change.
"""

from __future__ import annotations

import time

from .pbx import PBX
from .pjsip import (
    CONTACT_STATUSES,
    DEVICE_TEXT,
    REGISTRATION_STATUSES,
    Contact,
    Endpoint,
    Pjsip,
    Registration,
    set_contact_status,
    set_registration_status,
)

RULE = "=" * 90
SHORT_STATUS = {"Reachable": "Avail", "Unreachable": "Unavail", "NonQualified": "NonQual", "Unknown": "Unknown"}
ENDPOINT_HEADER = [
    " Endpoint:  <Endpoint/CID.....................................>  <State.....>  <Channels.>",
    "    I/OAuth:  <AuthId/UserName...........................................................>",
    "        Aor:  <Aor............................................>  <MaxContact>",
    "      Contact:  <Aor/ContactUri..........................> <Hash....> <Status> <RTT(ms)..>",
    "  Transport:  <TransportId........>  <Type>  <cos>  <tos>  <BindAddress..................>",
    "   Identify:  <Identify/Endpoint.........................................................>",
    "        Match:  <criteria.........................>",
    "    Channel:  <ChannelId......................................>  <State.....>  <Time.....>",
    "        Exten: <DialedExten...........>  CLCID: <ConnectedLineCID.......>",
]


def _contact_line(prefix: str, width: int, contact: Contact) -> str:
    rtt = f"{contact.rtt_usec / 1000:.3f}" if contact.status == "Reachable" else "nan"
    status = SHORT_STATUS.get(contact.status, contact.status)
    return f"{prefix}{contact.aor + '/' + contact.uri:<{width}} {contact.hash[:10]} {status:<8} {rtt:>10}"


def _endpoint_block(pjsip: Pjsip, ep: Endpoint) -> list[str]:
    shown = f"{ep.name}/{ep.cid_number}" if ep.cid_number else ep.name
    state = DEVICE_TEXT[pjsip.device_state(ep)]
    lines = [f" Endpoint:  {shown:<51}  {state:<12}  {ep.active_channels} of inf"]
    for label, name in (("     InAuth:  ", ep.auth), ("    OutAuth:  ", ep.outbound_auth)):
        if name in pjsip.auths:
            lines.append(f"{label}{name}/{pjsip.auths[name].username}")
    aor = pjsip.aors.get(ep.aor)
    if aor is not None:
        lines.append(f"        Aor:  {aor.name:<49}  {aor.max_contacts}")
        lines += [_contact_line("      Contact:  ", 42, c) for c in aor.contacts]
    if ep.match:
        lines += [f"   Identify:  {ep.name}-identify/{ep.name}", f"        Match: {ep.match}/32"]
    return [*lines, ""]


def show_endpoints(pbx: PBX, args: list[str]) -> tuple[bool, list[str]]:
    pjsip: Pjsip = pbx.pjsip
    with pbx.lock:
        endpoints = pjsip.sorted_endpoints()
        body = [line for ep in endpoints for line in _endpoint_block(pjsip, ep)]
    return True, ["", *ENDPOINT_HEADER, RULE, "", *body, "", f"Objects found: {len(endpoints)}", ""]


def show_contacts(pbx: PBX, args: list[str]) -> tuple[bool, list[str]]:
    pjsip: Pjsip = pbx.pjsip
    header = "  Contact:  <Aor/ContactUri..............................> <Hash....> <Status> <RTT(ms)..>"
    with pbx.lock:
        contacts = [c for name in sorted(pjsip.aors) for c in pjsip.aors[name].contacts]
        body = [_contact_line("  Contact:  ", 46, c) for c in contacts]
    return True, ["", header, RULE, "", *body, "", f"Objects found: {len(contacts)}", ""]


def _expiry(reg: Registration, now: float) -> str:
    if reg.status == "Registered":
        return f"(exp. {max(1, int(reg.registered_at + reg.expiration - now))}s)"
    return f"(exp. {int(now - reg.registered_at)}s ago)"


def show_registrations(pbx: PBX, args: list[str]) -> tuple[bool, list[str]]:
    pjsip: Pjsip = pbx.pjsip
    header = " <Registration/ServerURI..............................>  <Auth....................>  <Status.......>"
    now = time.time()
    with pbx.lock:
        regs = [pjsip.registrations[name] for name in sorted(pjsip.registrations)]
        body = [
            f" {reg.name + '/' + reg.server_uri:<54}  {reg.outbound_auth:<26}  {reg.status:<16}  {_expiry(reg, now)}"
            for reg in regs
        ]
    return True, ["", header, RULE, "", *body, "", f"Objects found: {len(regs)}", ""]


# -- the sim's own CLI commands: change state while it runs -------------------------


def sim_contact(pbx: PBX, args: list[str]) -> tuple[bool, list[str]]:
    words = {s.lower(): s for s in (*CONTACT_STATUSES, "Removed", "Registered")}
    if len(args) != 2 or args[1].lower() not in words or pbx.pjsip is None:
        return False, [f"Usage: sim contact <endpoint|aor|uri> {'|'.join(w.lower() for w in words.values())}"]
    pjsip: Pjsip = pbx.pjsip
    status = words[args[1].lower()]
    found = pjsip.find_contact(args[0])
    if found is None and status == "Registered" and args[0] in pjsip.endpoints:
        ep = pjsip.endpoints[args[0]]
        contact = Contact(ep.aor, f"sip:{ep.name}@127.0.0.1:5060", "NonQualified", call_id=f"{ep.name}@127.0.0.1")
        set_contact_status(pbx, ep, contact, "NonQualified")
        set_contact_status(pbx, ep, contact, "Reachable")
        return True, [f"Contact {contact.aor}/{contact.uri} is now Reachable"]
    if found is None:
        return False, [f"No contact for '{args[0]}'"]
    ep, contact = found
    if status == "Registered":
        status = "Reachable"
    set_contact_status(pbx, ep, contact, status)
    return True, [f"Contact {contact.aor}/{contact.uri} is now {status}"]


def sim_registration(pbx: PBX, args: list[str]) -> tuple[bool, list[str]]:
    words = {s.lower(): s for s in REGISTRATION_STATUSES}
    if len(args) != 2 or args[1].lower() not in words or pbx.pjsip is None:
        return False, ["Usage: sim registration <name> registered|unregistered|rejected"]
    pjsip: Pjsip = pbx.pjsip
    reg = pjsip.registrations.get(args[0]) or pjsip.registrations.get(f"{args[0]}-reg")
    if reg is None:
        return False, [f"No outbound registration '{args[0]}'"]
    status = words[args[1].lower()]
    reg.answers = status == "Registered"
    set_registration_status(pbx, reg, status)
    return True, [f"Registration {reg.name} is now {status}"]


#: (the command's words, handler)
CLI = (
    ("pjsip show endpoints", show_endpoints),
    ("pjsip show contacts", show_contacts),
    ("pjsip show registrations", show_registrations),
    ("sim contact", sim_contact),
    ("sim registration", sim_registration),
)
