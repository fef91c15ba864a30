"""The simulated PBX's core actions (login, Ping, Events, Command and friends) and core CLI commands.

Reply shapes, header order and messages are those of the recorded Asterisk 22.
:data:`ACTIONS` and :data:`CLI` list them for the handler table (sim/wiring.py).
"""

from __future__ import annotations

import hashlib
import random
import re
import time

from ..protocol import Message
from .callspec import is_false, is_true
from .channel import Channel
from .pbx import PBX, format_duration
from .session import Session
from .users import CLASSES, permission_mask


def md5_key(challenge: str, secret: str) -> str:
    return hashlib.md5((challenge + secret).encode()).hexdigest()


def challenge(pbx: PBX, session: Session, request: Message) -> None:
    if (request.get("AuthType") or "").lower() != "md5":
        session.error(request, "Must specify AuthType")
        return
    session.challenge = str(random.randint(100000000, 999999999))
    session.respond(request, "Success", [("Challenge", session.challenge)])


def login(pbx: PBX, session: Session, request: Message) -> None:
    if session.logged_in:
        session.respond(request, "Success", [("Message", "Already authenticated")])
        return
    name = request.get("Username") or ""
    user = pbx.users.get(name)
    ok = user is not None and user.allowed_from(session.peer[0])
    if ok and (request.get("AuthType") or "").lower() == "md5":
        ok = bool(session.challenge) and (request.get("Key") or "").lower() == md5_key(session.challenge, user.secret)
    elif ok:
        ok = request.get("Secret") == user.secret
    if not ok:
        # As Asterisk does: a pause against guessing, then the door closes.
        time.sleep(pbx.login_fail_delay)
        session.error(request, "Authentication failed")
        session.alive = False
        return
    events = request.get("Events")
    if events is not None:
        session.send_events = _event_mask(events)
    session.user = user  # last: a broadcast from now on already sees the mask
    session.respond(request, "Success", [("Message", "Authentication accepted")])
    system = permission_mask("system")
    if pbx.booted and session.wants(system, []):
        session.send(pbx.fully_booted_headers())
    security = permission_mask("security")
    if session.wants(security, []):
        local = session.sock.getsockname()
        tv = time.strftime("%Y-%m-%dT%H:%M:%S.000+0000", time.gmtime())
        session.send(
            pbx.event_headers(
                "security",
                [
                    ("Event", "SuccessfulAuth"),
                    ("EventTV", tv),
                    ("Severity", "Informational"),
                    ("Service", "AMI"),
                    ("EventVersion", "1"),
                    ("AccountID", user.name),
                    ("SessionID", session.id),
                    ("LocalAddress", f"IPV4/TCP/{local[0]}/{local[1]}"),
                    ("RemoteAddress", f"IPV4/TCP/{session.peer[0]}/{session.peer[1]}"),
                    ("UsingPassword", "0"),
                    ("SessionTV", tv),
                ],
            )
        )


def _event_mask(text: str) -> int:
    """A Login's or Events' ``EventMask``: yes or no as Asterisk reads them, else class names."""
    if is_false(text):
        return 0
    if is_true(text):
        return permission_mask("all")
    return permission_mask(text.strip().lower())


def logoff(pbx: PBX, session: Session, request: Message) -> None:
    session.respond(request, "Goodbye", [("Message", "Thanks for all the fish.")])
    session.alive = False


def ping(pbx: PBX, session: Session, request: Message) -> None:
    session.respond(request, "Success", [("Ping", "Pong"), ("Timestamp", f"{time.time():.6f}")])


def events(pbx: PBX, session: Session, request: Message) -> None:
    mask = request.get("EventMask")
    if mask is None:
        session.error(request, "Invalid EventMask")
        return
    session.send_events = _event_mask(mask)
    session.respond(request, "Success", [("Events", "On" if session.send_events else "Off")])


def filter_action(pbx: PBX, session: Session, request: Message) -> None:
    operation = (request.get("Operation") or "Add").lower()
    text = request.get("Filter") or ""
    if operation != "add" or not text:
        session.error(request, "Unknown operation" if operation != "add" else "Filter must be specified")
        return
    white = not text.startswith("!")
    try:
        rx = re.compile(text if white else text[1:])
    except re.error:
        session.error(request, "Filter Not Added")
        return
    session.filters.append((white, rx))
    session.respond(request, "Success", [("Message", "Success")])


def command(pbx: PBX, session: Session, request: Message) -> None:
    text = request.get("Command") or ""
    ok, lines = pbx.run_cli(text)
    if pbx.asterisk13:
        # Asterisk 13 and older: raw text, ended by --END COMMAND--.
        head = "Response: Follows\r\nPrivilege: Command\r\n"
        if request.get("ActionID") is not None:
            head += f"ActionID: {request.get('ActionID')}\r\n"
        body = "".join(line + "\n" for line in lines)
        session.write((head + body + "--END COMMAND--\r\n\r\n").encode("utf-8"))
        return
    headers = [("Message", "Command output follows")] + [("Output", line) for line in lines]
    session.respond(request, "Success" if ok else "Error", headers)


def core_settings(pbx: PBX, session: Session, request: Message) -> None:
    session.respond(
        request,
        "Success",
        [
            ("AMIversion", pbx.banner.partition("/")[2]),
            ("AsteriskVersion", pbx.version),
            ("SystemName", pbx.system_name),
            ("CoreMaxCalls", "0"),
            ("CoreMaxLoadAvg", "0.000000"),
            ("CoreRunUser", ""),
            ("CoreRunGroup", ""),
            ("CoreMaxFilehandles", "0"),
            ("CoreRealTimeEnabled", "No"),
            ("CoreCDRenabled", "Yes"),
            ("CoreHTTPenabled", "No"),
            ("SoundsSearchCustomDir", "No"),
        ],
    )


def core_status(pbx: PBX, session: Session, request: Message) -> None:
    start = time.localtime(pbx.started)
    with pbx.lock:
        current = len({c.linkedid for c in pbx.channels.values()})
    session.respond(
        request,
        "Success",
        [
            ("CoreStartupDate", time.strftime("%Y-%m-%d", start)),
            ("CoreStartupTime", time.strftime("%H:%M:%S", start)),
            ("CoreReloadDate", time.strftime("%Y-%m-%d", start)),
            ("CoreReloadTime", time.strftime("%H:%M:%S", start)),
            ("CoreCurrentCalls", str(current)),
            ("CoreProcessedCalls", str(pbx.calls_processed)),
        ],
    )


def list_commands(pbx: PBX, session: Session, request: Message) -> None:
    names = sorted((spec.name, spec.perm) for spec in pbx.handlers.actions.values())
    headers = [(name, f" (Priv: {_perm_text(perm)})") for name, perm in names]
    session.respond(request, "Success", headers)


def _perm_text(mask: int) -> str:
    words = [name for name, bit in CLASSES.items() if mask & bit]
    return ",".join(words + ["all"]) if words else "<none>"


def user_event(pbx: PBX, session: Session, request: Message) -> None:
    name = request.get("UserEvent")
    if not name:
        session.error(request, "UserEvent header missing")
        return
    session.respond(request, "Success", [("Message", "Event Sent")])
    extra = [(k, v) for k, v in request.headers if k.lower() not in ("action", "userevent")]
    pbx.broadcast("user", [("Event", "UserEvent"), ("UserEvent", name), *extra])


# -- core CLI commands ------------------------------------------------------------


def show_version(pbx: PBX, args: list[str]) -> tuple[bool, list[str]]:
    return True, [f"Asterisk {pbx.version} built by ami-sim @ localhost on a x86_64 running Linux"]


def show_uptime(pbx: PBX, args: list[str]) -> tuple[bool, list[str]]:
    up = format_duration(pbx.uptime())
    return True, [f"System uptime: {up}", f"Last reload: {up}"]


def _concise(c: Channel) -> str:
    values = [c.name, c.context, c.exten, str(c.priority), c.state_desc, c.application, c.application_data]
    values += [c.caller_num, c.account_code, "", "3", c.duration(), c.bridge_id, c.uniqueid]
    return "!".join(values)


def show_channels(pbx: PBX, args: list[str]) -> tuple[bool, list[str]]:
    channels = pbx.channels_by_age()
    if args[:1] == ["concise"]:
        return True, [_concise(c) for c in channels]
    lines = [f"{'Channel':<20} {'Location':<20} {'State':<7} Application(Data)"]
    for c in channels:
        location = f"{c.exten}@{c.context}:{c.priority}"
        app = f"{c.application}({c.application_data})"
        lines.append(f"{c.name[:20]:<20} {location[:20]:<20} {c.state_desc[:7]:<7} {app}")
    n = len(channels)
    calls = len({c.linkedid for c in channels})
    lines += [
        f"{n} active channel{'s' if n != 1 else ''}",
        f"{calls} active call{'s' if calls != 1 else ''}",
        f"{pbx.calls_processed} call{'s' if pbx.calls_processed != 1 else ''} processed",
    ]
    return True, lines


#: (action, handler, write class needed)
ACTIONS = (
    ("Challenge", challenge, ""),
    ("Login", login, ""),
    ("Logoff", logoff, ""),
    ("Ping", ping, ""),
    ("Events", events, ""),
    ("Filter", filter_action, "system"),
    ("Command", command, "command"),
    ("CoreSettings", core_settings, "system,reporting"),
    ("CoreStatus", core_status, "system,reporting"),
    ("ListCommands", list_commands, ""),
    ("UserEvent", user_event, "user"),
)

#: (the command's words, handler)
CLI = (
    ("core show version", show_version),
    ("core show uptime", show_uptime),
    ("core show channels", show_channels),
)
