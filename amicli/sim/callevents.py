"""The header blocks of a call's events that are more than a snapshot: Hangup, OriginateResponse, Cdr.

Shaped as Asterisk 22 writes them (manager.c, cdr_manager.c; the
``originate-*`` and ``events-call-lifecycle`` transcripts).
"""

from __future__ import annotations

import time

from .callspec import CallRequest
from .channel import CAUSE_TEXT, Channel

CID_PRES = "0 (Presentation Allowed, Not Screened)"
Headers = list[tuple[str, str]]


def hangup(snapshot: Headers, cause: int) -> Headers:
    return [("Event", "Hangup"), *snapshot, ("Cause", str(cause)), ("Cause-txt", CAUSE_TEXT.get(cause, "Unknown"))]


def originate_response(spec: CallRequest, channel: Channel | None, reason: int) -> Headers:
    """OriginateResponse: Success with the originated channel, or Failure with what was asked."""
    headers: Headers = [("Event", "OriginateResponse")]
    if spec.action_id:
        headers.append(("ActionID", spec.action_id))
    name = channel.name if channel is not None else spec.requested
    headers += [("Response", "Success" if channel is not None else "Failure"), ("Channel", name or spec.requested)]
    if spec.app:
        headers += [("Application", spec.app), ("Data", spec.app_data)]
    else:
        headers += [("Context", spec.target_context), ("Exten", spec.target_exten)]
    uniqueid = channel.uniqueid if channel is not None else (spec.channel_id or "<unknown>")
    return [
        *headers,
        ("Reason", str(reason)),
        ("Uniqueid", uniqueid or "<unknown>"),
        ("CallerIDNum", spec.cid_num or "<unknown>"),
        ("CallerIDName", spec.cid_name or "<unknown>"),
    ]


def _stamp(t: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t)) if t else ""


def cdr(spec: CallRequest, channel: Channel, last: tuple[str, str], times: tuple[float, float | None]) -> Headers:
    """The Cdr event of an answered leg; ``last``: its last application and data; ``times``: created, answered."""
    now = time.time()
    created, answered = times
    return [
        ("Event", "Cdr"),
        ("AccountCode", spec.account),
        ("Source", spec.cid_num or ""),
        ("Destination", spec.exten),
        ("DestinationContext", spec.context),
        ("CallerID", f'"{spec.cid_name or ""}" <{spec.cid_num or ""}>'),
        ("Channel", channel.name),
        ("DestinationChannel", ""),
        ("LastApplication", last[0]),
        ("LastData", last[1]),
        ("StartTime", _stamp(created)),
        ("AnswerTime", _stamp(answered)),
        ("EndTime", _stamp(now)),
        ("Duration", str(int(now - created))),
        ("BillableSeconds", str(int(now - answered) if answered else 0)),
        ("Disposition", "ANSWERED"),
        ("AMAFlags", "DOCUMENTATION"),
        ("UniqueID", channel.uniqueid),
        ("UserField", ""),
    ]
