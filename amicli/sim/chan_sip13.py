"""chan_sip and chan_iax2 of an Asterisk 13 PBX on the sim (``ami sim --asterisk13``).

Shapes of the recordings in ``asterisk-13.38.3-sip/`` (``sip-peers``,
``sip-peer-detail``, ``sip-registry``, ``iax-peers``, ``driver-detect-13``, ``sip-state-changes``):
SIPpeers, SIPshowpeer, SIPshowregistry, IAXpeers, IAXpeerlist, IAXregistry, IAXnetstats, and
ModuleCheck (which, on either version, tells which channel drivers are
loaded).  ``sim peer NAME reachable|unreachable`` changes a SIP peer's
state and sends its PeerStatus event.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..protocol import Message
from .pbx import PBX, extension_status
from .session import Session


@dataclass
class SipPeer:
    name: str
    port: int
    dynamic: bool
    status: str
    description: str = ""
    registered: bool = True


#: The recorded PBX's sip-13.conf, in its settled state.
SIP_PEERS = (
    ("alice", 5271, True, "OK (1 ms)", "Alice front desk", True),
    ("bob", 5272, True, "OK (1 ms)", "", True),
    ("carol", 0, True, "UNKNOWN", "", False),
    ("doorphone", 5273, False, "Unmonitored", "", True),
    ("trunk-down", 5281, False, "UNREACHABLE", "", True),
    ("trunk-up", 5270, False, "OK (1 ms)", "Upstream carrier", True),
)
#: (host, port, username, refresh, state) of sip-13.conf's register lines.
SIP_REGISTRY = (
    ("127.0.0.1", "5280", "trunk-down", "120", "Request Sent"),
    ("127.0.0.1", "5290", "trunk-up", "105", "Registered"),
)
#: (name, port, dynamic, status, description) of iax-13.conf.
IAX_PEERS = (
    ("iax-hq", "4578", False, "OK (4 ms)", "Head office"),
    ("iax-branch", "4579", False, "UNREACHABLE", ""),
    ("iax-remote", "", True, "UNKNOWN", ""),
)
#: The recorded PBX's [sip-hints], in the order ExtensionStateList gives them.
SIP_HINTS = (
    ("1004", "SIP/doorphone"),
    ("1001", "SIP/alice"),
    ("1002", "SIP/bob"),
    ("1003", "SIP/carol"),
    ("2001", "SIP/trunk-down"),
    ("2000", "SIP/trunk-up"),
    ("3002", "IAX2/iax-remote"),
    ("3000", "IAX2/iax-hq"),
    ("3001", "IAX2/iax-branch"),
    ("1100", "SIP/alice&SIP/bob"),
)
#: Devices whose state changed since boot (DeviceStateList lists only those): the qualified ones.
CHANGED_SINCE_BOOT = ("SIP/trunk-up", "SIP/alice", "SIP/trunk-down", "IAX2/iax-branch", "SIP/bob")
#: Extension state numbers and texts, by device state.
EXTENSION_STATE = {"NOT_INUSE": (0, "Idle"), "UNAVAILABLE": (4, "Unavailable")}
#: Modules each version has loaded, of those ModuleCheck is asked about.
LOADED_13 = {"chan_sip", "chan_iax2", "app_queue"}
LOADED_22 = {"res_pjsip", "chan_pjsip", "app_queue"}


def load_sip_peers(pbx: PBX) -> None:
    """Give the PBX the recorded PBX's SIP peers."""
    pbx.sip_peers = {p[0]: SipPeer(*p) for p in SIP_PEERS}


def sip_peers(pbx: PBX) -> dict[str, SipPeer]:
    return pbx.sip_peers


def device_state(pbx: PBX, device: str) -> str:
    """NOT_INUSE or UNAVAILABLE, from the peer's status (an unreachable or unknown peer is unavailable)."""
    tech, _, name = device.partition("/")
    if tech == "SIP":
        peer = pbx.sip_peers.get(name)
        status = peer.status if peer is not None else "UNKNOWN"
    else:
        status = next((p[3] for p in IAX_PEERS if p[0] == name), "UNKNOWN")
    return "UNAVAILABLE" if status in ("UNREACHABLE", "UNKNOWN") else "NOT_INUSE"


def hint_state(pbx: PBX, hint: str) -> str:
    states = [device_state(pbx, device) for device in hint.split("&")]
    return "UNAVAILABLE" if all(s == "UNAVAILABLE" for s in states) else "NOT_INUSE"


def device_list(pbx: PBX) -> list[tuple[str, str]]:
    """(device, state) of the devices DeviceStateList lists."""
    return [(device, device_state(pbx, device)) for device in CHANGED_SINCE_BOOT]


def hint_list(pbx: PBX) -> list[tuple[str, str, str, int, str]]:
    """(exten, context, hint, status, text) of the hints, as ExtensionStateList gives them."""
    return [(exten, "sip-hints", hint, *EXTENSION_STATE[hint_state(pbx, hint)]) for exten, hint in SIP_HINTS]


def _peer_entry(peer: SipPeer) -> list[tuple[str, str]]:
    address = "127.0.0.1" if peer.registered else "-none-"
    return [
        ("Event", "PeerEntry"),
        ("Channeltype", "SIP"),
        ("ObjectName", peer.name),
        ("ChanObjectType", "peer"),
        ("IPaddress", address),
        ("IPport", str(peer.port if peer.registered else 0)),
        ("Dynamic", "yes" if peer.dynamic else "no"),
        ("AutoForcerport", "yes"),
        ("Forcerport", "no"),
        ("AutoComedia", "no"),
        ("Comedia", "no"),
        ("VideoSupport", "no"),
        ("TextSupport", "no"),
        ("ACL", "no"),
        ("Status", peer.status),
        ("RealtimeDevice", "no"),
        ("Description", peer.description),
        ("Accountcode", ""),
    ]


def sip_peers_action(pbx: PBX, session: Session, request: Message) -> None:
    items = [_peer_entry(p) for p in sip_peers(pbx).values()]
    session.send_list(request, items, "Peer status list will follow", "PeerlistComplete")


#: SIPshowpeer's flat reply after Response and ActionID, in chan_sip's order, with alice's values
#: (the recording ``sip-peer-detail``); :func:`_peer_detail` fills in each peer's own.
PEER_DETAIL: tuple[tuple[str, str], ...] = (
    ("Channeltype", "SIP"),
    ("ObjectName", "alice"),
    ("ChanObjectType", "peer"),
    ("SecretExist", "Y"),
    ("RemoteSecretExist", "N"),
    ("MD5SecretExist", "N"),
    ("Context", "default"),
    ("Language", ""),
    ("ToneZone", "<Not set>"),
    ("AMAflags", "Unknown"),
    ("CID-CallingPres", "Presentation Allowed, Not Screened"),
    ("Callgroup", ""),
    ("Pickupgroup", ""),
    ("Named Callgroup", ""),
    ("Named Pickupgroup", ""),
    ("MOHSuggest", ""),
    ("VoiceMailbox", ""),
    ("TransferMode", "open"),
    ("LastMsgsSent", "0"),
    ("Maxforwards", "0"),
    ("Call-limit", "0"),
    ("Busy-level", "0"),
    ("MaxCallBR", "384 kbps"),
    ("Dynamic", "Y"),
    ("Callerid", '"" <>'),
    ("RegExpire", "44 seconds"),
    ("SIP-AuthInsecure", "no"),
    ("SIP-Forcerport", "a"),
    ("SIP-Comedia", "N"),
    ("ACL", "N"),
    ("SIP-CanReinvite", "Y"),
    ("SIP-DirectMedia", "Y"),
    ("SIP-PromiscRedir", "N"),
    ("SIP-UserPhone", "N"),
    ("SIP-VideoSupport", "N"),
    ("SIP-TextSupport", "N"),
    ("SIP-T.38Support", "N"),
    ("SIP-T.38EC", "Unknown"),
    ("SIP-T.38MaxDtgrm", "4294967295"),
    ("SIP-Sess-Timers", "Accept"),
    ("SIP-Sess-Refresh", "uas"),
    ("SIP-Sess-Expires", "1800"),
    ("SIP-Sess-Min", "90"),
    ("SIP-RTP-Engine", "asterisk"),
    ("SIP-Encryption", "N"),
    ("SIP-RTCP-Mux", "N"),
    ("SIP-DTMFmode", "rfc2833"),
    ("ToHost", ""),
    ("Address-IP", "127.0.0.1"),
    ("Address-Port", "5271"),
    ("Default-addr-IP", "(null)"),
    ("Default-addr-port", "0"),
    ("Default-Username", "alice"),
    ("Codecs", "(ulaw|alaw)"),
    ("Status", "OK (1 ms)"),
    ("SIP-Useragent", ""),
    ("Reg-Contact", "sip:alice@127.0.0.1:5271"),
    ("QualifyFreq", "5000 ms"),
    ("Parkinglot", ""),
    ("SIP-Use-Reason-Header", "N"),
    ("Description", "Alice front desk"),
)


def _peer_detail(peer: SipPeer) -> list[tuple[str, str]]:
    registered = peer.dynamic and peer.registered
    values = {
        "ObjectName": peer.name,
        "SecretExist": "Y" if peer.dynamic else "N",
        "Dynamic": "Y" if peer.dynamic else "N",
        "RegExpire": "44 seconds" if registered else "-1 seconds",
        "ToHost": "" if peer.dynamic else "127.0.0.1",
        "Address-IP": "127.0.0.1" if peer.registered else "(null)",
        "Address-Port": str(peer.port),
        "Default-Username": peer.name if peer.dynamic else "",
        "Status": peer.status,
        "Reg-Contact": f"sip:{peer.name}@127.0.0.1:{peer.port}" if registered else "",
        "Description": peer.description,
    }
    return [(k, values.get(k, v)) for k, v in PEER_DETAIL]


def sip_show_peer(pbx: PBX, session: Session, request: Message) -> None:
    """SIPshowpeer: one flat reply of about 60 headers, not a list."""
    name = request.get("Peer") or ""
    if not name:
        session.error(request, "Peer: <name> missing.")
        return
    peer = sip_peers(pbx).get(name)
    if peer is None:
        session.error(request, f"Peer {name} not found.")
        return
    with pbx.lock:
        headers = _peer_detail(peer)
    session.respond(request, "Success", headers)


def sip_show_registry(pbx: PBX, session: Session, request: Message) -> None:
    items = []
    for host, port, user, refresh, state in SIP_REGISTRY:
        when = str(int(pbx.started)) if state == "Registered" else "0"
        items.append(
            [
                ("Event", "RegistryEntry"),
                ("Host", host),
                ("Port", port),
                ("Username", user),
                ("Domain", host),
                ("DomainPort", "5060"),
                ("Refresh", refresh),
                ("State", state),
                ("RegistrationTime", when),
            ]
        )
    session.send_list(request, items, "Registrations will follow", "RegistrationsComplete")


def _iax_entry(name: str, port: str, dynamic: bool, status: str, listed: bool) -> list[tuple[str, str]]:
    address = "127.0.0.1" if port else "(null)"
    if listed:  # IAXpeerlist
        return [
            ("Event", "PeerEntry"),
            ("Channeltype", "IAX"),
            ("ObjectName", name),
            ("ChanObjectType", "peer"),
            ("IPaddress", address),
            ("Mask", "255.255.255.255" if port else "(null)"),
            ("Port", port or "(null)"),
            ("Dynamic", "yes" if dynamic else "no"),
            ("Trunk", "no"),
            ("Encryption", "no"),
            ("Status", status),
        ]
    return [
        ("Event", "PeerEntry"),
        ("Channeltype", "IAX2"),
        ("ObjectName", name),
        ("ChanObjectType", "peer"),
        ("IPaddress", address),
        ("IPport", port or "(null)"),
        ("Dynamic", "yes" if dynamic else "no"),
        ("Trunk", "no"),
        ("Encryption", "no"),
        ("Status", status),
    ]


def iax_peers(pbx: PBX, session: Session, request: Message) -> None:
    """IAXpeers: its PeerEntry events carry no ActionID (the Complete does)."""
    session.respond(request, "Success", [("EventList", "start"), ("Message", "Peer status list will follow")])
    for name, port, dynamic, status, description in IAX_PEERS:
        session.send([*_iax_entry(name, port, dynamic, status, False), ("Description", description)])
    aid = [("ActionID", request.get("ActionID") or "")] if request.get("ActionID") is not None else []
    session.send([("Event", "PeerlistComplete"), *aid, ("EventList", "Complete"), ("ListItems", str(len(IAX_PEERS)))])


def iax_peer_list(pbx: PBX, session: Session, request: Message) -> None:
    items = [_iax_entry(name, port, dynamic, status, True) for name, port, dynamic, status, _ in IAX_PEERS]
    session.send_list(request, items, "IAX Peer status list will follow", "PeerlistComplete")


def iax_registry(pbx: PBX, session: Session, request: Message) -> None:
    item = [
        ("Event", "RegistryEntry"),
        ("Host", "127.0.0.1:4580"),
        ("DNSmanager", "N"),
        ("Username", "branch13"),
        ("Perceived", "127.0.0.1:4580"),
        ("Refresh", "60"),
        ("State", "Timeout"),
    ]
    session.send_list(request, [item], "Registrations will follow", "RegistrationsComplete")


def iax_netstats(pbx: PBX, session: Session, request: Message) -> None:
    """IAXnetstats answers with a bare empty line: no Response, no ActionID (iax-peers)."""
    session.write(b"\r\n")


def module_check(pbx: PBX, session: Session, request: Message) -> None:
    module = (request.get("Module") or "").removesuffix(".so")
    if not module:
        session.error(request, "Module not specified")
        return
    if module not in (LOADED_13 if pbx.asterisk13 else LOADED_22):
        session.error(request, "Module not loaded")
        return
    session.respond(request, "Success", [("Version", pbx.version)])


def sim_peer(pbx: PBX, args: list[str]) -> tuple[bool, list[str]]:
    peers = sip_peers(pbx)
    if len(args) != 2 or args[0] not in peers or args[1].lower() not in ("reachable", "unreachable"):
        return False, ["Usage: sim peer <name> reachable|unreachable"]
    peer = peers[args[0]]
    reachable = args[1].lower() == "reachable"
    with pbx.lock:
        before = hint_list(pbx)
        was = device_state(pbx, f"SIP/{peer.name}")
        peer.status = "OK (1 ms)" if reachable else "UNREACHABLE"
        headers = [("Event", "PeerStatus"), ("ChannelType", "SIP"), ("Peer", f"SIP/{peer.name}")]
        headers += [("PeerStatus", "Reachable")] if reachable else [("PeerStatus", "Unreachable"), ("Time", "-1")]
        pbx.broadcast("system", headers)
        state = device_state(pbx, f"SIP/{peer.name}")
        if state != was:
            pbx.broadcast("call", [("Event", "DeviceStateChange"), ("Device", f"SIP/{peer.name}"), ("State", state)])
        for old, new in zip(before, hint_list(pbx), strict=True):
            if old != new:
                pbx.broadcast("call", extension_status(*new))
    return True, [f"Peer {peer.name} is now {'Reachable' if reachable else 'Unreachable'}"]


#: (action, handler, write class needed) of an Asterisk 13 PBX
ACTIONS = (
    ("SIPpeers", sip_peers_action, "system,reporting"),
    ("SIPshowpeer", sip_show_peer, "system,reporting"),
    ("SIPshowregistry", sip_show_registry, "system,reporting"),
    ("IAXpeers", iax_peers, "system,reporting"),
    ("IAXpeerlist", iax_peer_list, "system,reporting"),
    ("IAXregistry", iax_registry, "system,reporting"),
    ("IAXnetstats", iax_netstats, "system,reporting"),
)

#: (the command's words, handler)
CLI = (("sim peer", sim_peer),)

#: Actions of either version.
COMMON_ACTIONS = (("ModuleCheck", module_check, "system"),)
