"""chan_sip and chan_iax2 of an Asterisk 13 PBX on the sim (``ami sim --asterisk13``).

Shapes of the recordings in ``asterisk-13.38.3-sip/`` (``sip-peers``,
``sip-registry``, ``iax-peers``, ``driver-detect-13``, ``sip-state-changes``):
SIPpeers, SIPshowregistry, IAXpeers, IAXpeerlist, IAXregistry, IAXnetstats, and
ModuleCheck (which, on either version, tells which channel drivers are
loaded).  ``sim peer NAME reachable|unreachable`` changes a SIP peer's
state and sends its PeerStatus event.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..protocol import Message
from .pbx import PBX
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
#: Modules each version has loaded, of those ModuleCheck is asked about.
LOADED_13 = {"chan_sip", "chan_iax2", "app_queue"}
LOADED_22 = {"res_pjsip", "chan_pjsip", "app_queue"}


def load_sip_peers(pbx: PBX) -> None:
    """Give the PBX the recorded PBX's SIP peers."""
    pbx.sip_peers = {p[0]: SipPeer(*p) for p in SIP_PEERS}


def sip_peers(pbx: PBX) -> dict[str, SipPeer]:
    return pbx.sip_peers


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
        peer.status = "OK (1 ms)" if reachable else "UNREACHABLE"
    headers = [("Event", "PeerStatus"), ("ChannelType", "SIP"), ("Peer", f"SIP/{peer.name}")]
    headers += [("PeerStatus", "Reachable")] if reachable else [("PeerStatus", "Unreachable"), ("Time", "-1")]
    pbx.broadcast("system", headers)
    return True, [f"Peer {peer.name} is now {'Reachable' if reachable else 'Unreachable'}"]


#: (action, handler, write class needed) of an Asterisk 13 PBX
ACTIONS = (
    ("SIPpeers", sip_peers_action, "system,reporting"),
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
