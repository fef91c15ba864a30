"""The Originate action of the sim: manager.c's checks, then a Local call.

Only ``Local`` is a loaded channel technology: any other (``PJSIP/...``,
``SIP/...``, ``Foo/bar``) fails as a technology that is not loaded does.

* ``Async: true``: ``Originate successfully queued`` at once, then the call's
  events, the outcome in ``OriginateResponse`` (a ``call`` event: sessions
  without read=call or with call events off never see it).
* Without Async the session blocks until the call is answered or fails, then
  answers ``Originate successfully queued`` or ``Originate failed`` (no
  reason); as on Asterisk, the events of that session wait until then.
"""

from __future__ import annotations

import re

from ..protocol import Message, serialize
from .callspec import call_request, is_true, parse_callerid
from .localcall import LocalCall
from .pbx import PBX
from .session import Session, response_headers
from .users import permission_mask

# How often a session blocked in a synchronous Originate looks at the call.
_POLL = 0.25


def _forbidden(session: Session, app: str, data: str) -> str | None:
    """Without write=system, an application that runs commands is refused (manager.c)."""
    user = session.user
    if not app or user is None or user.write & permission_mask("system"):
        return None
    lowered = app.lower()
    if "system" in lowered or "exec" in lowered:
        return "Originate Access Forbidden: Application"
    if "SHELL" in data or "EVAL" in data:
        return "Originate Access Forbidden: Data"
    return None


def _check(pbx: PBX, session: Session, request: Message) -> str | None:
    """manager.c's checks of an Originate, in its order: the error message, or None."""
    channel = request.get("Channel") or ""
    priority = request.get("Priority") or ""
    timeout = request.get("Timeout") or ""
    app = request.get("Application") or ""
    if not channel:
        return "Channel not specified"
    pi = 0
    if priority:
        match = re.match(r"\s*([+-]?\d+)", priority)
        if match is None:
            return "Invalid priority"  # a label: the sim's dialplan has none
        pi = int(match.group(1))
    if timeout and re.match(r"\s*[+-]?\d+", timeout) is None:
        return "Invalid timeout"
    if "/" not in channel:
        return "Invalid channel"
    forbidden = _forbidden(session, app, request.get("Data") or "")
    if forbidden:
        return forbidden
    if pi and pbx.dialplan.find(request.get("Context") or "", request.get("Exten") or "") is None:
        return "Extension does not exist."
    if not is_true(request.get("Async")) and not app and not pi:
        return "Originate with 'Exten' requires 'Context' and 'Priority'"
    return None


def originate(pbx: PBX, session: Session, request: Message) -> None:
    """Originate, with manager.c's checks in its order and its messages."""
    problem = _check(pbx, session, request)
    if problem:
        session.error(request, problem)
        return
    tech, _, dial = (request.get("Channel") or "").partition("/")
    call: LocalCall | None = None
    if tech.lower() == "local":
        lexten, _, lcontext = dial.split("/", 1)[0].partition("@")
        call = LocalCall(pbx, call_request(request, lexten, lcontext or "default"))
    if is_true(request.get("Async")):
        session.respond(request, "Success", [("Message", "Originate successfully queued")])
        if call is not None:
            call.start()
        else:
            # The technology is not loaded: the request fails before any channel exists.
            pbx.broadcast("call", _no_such_technology(request))
        return
    if call is None:
        session.error(request, "Originate failed")
        return
    session.hold_events()
    try:
        call.start()
        while not call.decided.wait(_POLL):
            if pbx.stopping.is_set() or not session.alive:
                break
    finally:
        ok = call.reason == 4
        message = "Originate successfully queued" if ok else "Originate failed"
        session.release_events(
            serialize(response_headers(request, "Success" if ok else "Error", [("Message", message)]))
        )


def _no_such_technology(request: Message) -> list[tuple[str, str]]:
    """originate-async-bad-tech: OriginateResponse Failure, Reason 0, and nothing else."""
    headers: list[tuple[str, str]] = [("Event", "OriginateResponse")]
    if request.get("ActionID"):
        headers.append(("ActionID", request.get("ActionID") or ""))
    headers += [("Response", "Failure"), ("Channel", request.get("Channel") or "")]
    if request.get("Application"):
        headers += [("Application", request.get("Application") or ""), ("Data", request.get("Data") or "")]
    else:
        headers += [("Context", request.get("Context") or ""), ("Exten", request.get("Exten") or "")]
    name, number = parse_callerid(request.get("CallerID") or "")
    return [
        *headers,
        ("Reason", "0"),
        ("Uniqueid", request.get("ChannelId") or "<unknown>"),
        ("CallerIDNum", number or "<unknown>"),
        ("CallerIDName", name or "<unknown>"),
    ]


#: (action, handler, write class needed)
ACTIONS = (("Originate", originate, "originate"),)
