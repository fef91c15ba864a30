"""The simulated PBX's core actions: login, Ping, Events, Command and friends.

Reply shapes, header order and messages are those of the recorded Asterisk 22.
"""

from __future__ import annotations

import random
import re
import time

from ..protocol import Message
from .pbx import CLI  # noqa: F401 - CLI commands register on import
from .server import ACTIONS, Session, action, md5_key
from .users import permission_mask


@action("Challenge")
def challenge(session: Session, request: Message) -> None:
    if (request.get("AuthType") or "").lower() != "md5":
        session.error(request, "Must specify AuthType")
        return
    session.challenge = str(random.randint(100000000, 999999999))
    session.respond(request, "Success", [("Challenge", session.challenge)])


@action("Login")
def login(session: Session, request: Message) -> None:
    server = session.server
    if session.logged_in:
        session.respond(request, "Success", [("Message", "Already authenticated")])
        return
    name = request.get("Username") or ""
    user = server.users.get(name)
    ok = user is not None and user.allowed_from(session.peer[0])
    if ok and (request.get("AuthType") or "").lower() == "md5":
        ok = bool(session.challenge) and (request.get("Key") or "").lower() == md5_key(session.challenge, user.secret)
    elif ok:
        ok = request.get("Secret") == user.secret
    if not ok:
        # As Asterisk does: a pause against guessing, then the door closes.
        time.sleep(server.login_fail_delay)
        session.error(request, "Authentication failed")
        session.alive = False
        return
    session.user = user
    events = request.get("Events")
    if events is not None:
        session.send_events = _event_mask(events)
    session.respond(request, "Success", [("Message", "Authentication accepted")])
    system = permission_mask("system")
    if server.booted and session.wants(system, []):
        session.send(server.fully_booted_headers())
    security = permission_mask("security")
    if session.wants(security, []):
        local = session.sock.getsockname()
        tv = time.strftime("%Y-%m-%dT%H:%M:%S.000+0000", time.gmtime())
        session.send(
            server.event_headers(
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
    lowered = text.strip().lower()
    if lowered in ("off", "no", "false", "0"):
        return 0
    if lowered in ("on", "yes", "true", "1", "all"):
        return permission_mask("all")
    return permission_mask(lowered)


@action("Logoff")
def logoff(session: Session, request: Message) -> None:
    session.respond(request, "Goodbye", [("Message", "Thanks for all the fish.")])
    session.alive = False


@action("Ping")
def ping(session: Session, request: Message) -> None:
    session.respond(request, "Success", [("Ping", "Pong"), ("Timestamp", f"{time.time():.6f}")])


@action("Events")
def events(session: Session, request: Message) -> None:
    mask = request.get("EventMask")
    if mask is None:
        session.error(request, "Invalid EventMask")
        return
    session.send_events = _event_mask(mask)
    session.respond(request, "Success", [("Events", "On" if session.send_events else "Off")])


@action("Filter", "system")
def filter_action(session: Session, request: Message) -> None:
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


@action("Command", "command")
def command(session: Session, request: Message) -> None:
    text = request.get("Command") or ""
    ok, lines = session.server.pbx.run_cli(text)
    if session.server.asterisk13:
        # Asterisk 13 and older: raw text, ended by --END COMMAND--.
        head = "Response: Follows\r\nPrivilege: Command\r\n"
        if request.get("ActionID") is not None:
            head += f"ActionID: {request.get('ActionID')}\r\n"
        body = "".join(line + "\n" for line in lines)
        session.write((head + body + "--END COMMAND--\r\n\r\n").encode("utf-8"))
        return
    headers = [("Message", "Command output follows")] + [("Output", line) for line in lines]
    session.respond(request, "Success" if ok else "Error", headers)


@action("CoreSettings", "system,reporting")
def core_settings(session: Session, request: Message) -> None:
    pbx = session.server.pbx
    session.respond(
        request,
        "Success",
        [
            ("AMIversion", session.server.banner.partition("/")[2]),
            ("AsteriskVersion", pbx.version),
            ("SystemName", session.server.system_name),
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


@action("CoreStatus", "system,reporting")
def core_status(session: Session, request: Message) -> None:
    pbx = session.server.pbx
    start = time.localtime(session.server.started)
    with pbx.lock:
        current = len({c.get("Linkedid") for c in pbx.channels.values()})
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


@action("ListCommands")
def list_commands(session: Session, request: Message) -> None:
    names = sorted((spec.name, spec.perm) for spec in ACTIONS.values())
    headers = [(name, f" (Priv: {_perm_text(perm)})") for name, perm in names]
    session.respond(request, "Success", headers)


def _perm_text(mask: int) -> str:
    from .users import CLASSES

    words = [name for name, bit in CLASSES.items() if mask & bit]
    return ",".join(words + ["all"]) if words else "<none>"


@action("UserEvent", "user")
def user_event(session: Session, request: Message) -> None:
    name = request.get("UserEvent")
    if not name:
        session.error(request, "UserEvent header missing")
        return
    session.respond(request, "Success", [("Message", "Event Sent")])
    extra = [(k, v) for k, v in request.headers if k.lower() not in ("action", "userevent")]
    session.server.broadcast("user", [("Event", "UserEvent"), ("UserEvent", name), *extra])

from . import channels, queues  # noqa: E402,F401 - queue and channel actions register on import
from . import events as _events  # noqa: E402,F401 - Shutdown, core stop/restart, SimLoad register on import
from .calls import originate as _originate  # noqa: E402,F401 - Originate and the dialplan register on import
