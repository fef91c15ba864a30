"""The dialplan applications of the sim: what each priority of a Local call does.

Each takes the call, the leg it runs on (1: the originated half, 2: the
dialled half) and its data; True ends the leg.  :data:`APPLICATIONS` is the
set a default dialplan runs.
"""

from __future__ import annotations

from .localcall import LocalCall


def answer(call: LocalCall, leg: int, data: str) -> bool:
    if leg == 2:
        call.answer()
    return False


def ringing(call: LocalCall, leg: int, data: str) -> bool:
    if leg == 2:
        call.ringing()
    return False


def _seconds(data: str) -> float:
    try:
        return max(0.0, float(data.split(",")[0] or 0))
    except ValueError:
        return 0.0


def wait(call: LocalCall, leg: int, data: str) -> bool:
    call.sleep(_seconds(data))
    return False


def busy(call: LocalCall, leg: int, data: str) -> bool:
    if leg == 2 and call.phase == "dialing":
        call.fail("busy")
        return True
    call.sleep(_seconds(data))
    return True


def congestion(call: LocalCall, leg: int, data: str) -> bool:
    if leg == 2 and call.phase == "dialing":
        call.fail("congestion")
        return True
    call.sleep(_seconds(data))
    return True


def forever(call: LocalCall, leg: int, data: str) -> bool:
    call.sleep(None)
    return True


def queue_app(call: LocalCall, leg: int, data: str) -> bool:
    call.join_queue(leg, data.split(",")[0])
    call.sleep(None)
    return True


def user_event_app(call: LocalCall, leg: int, data: str) -> bool:
    name, *pairs = data.split(",")
    extra = []
    for pair in pairs:
        key, sep, value = pair.partition(":")
        if sep and key.strip():
            extra.append((key.strip(), value.strip()))
    call.emit("user", [("Event", "UserEvent"), *call.block(call.leg(leg)), ("UserEvent", name), *extra])
    return False


def hangup(call: LocalCall, leg: int, data: str) -> bool:
    return True


def noop(call: LocalCall, leg: int, data: str) -> bool:
    return False


#: Application name -> what it does.
APPLICATIONS = {
    "Answer": answer,
    "Ringing": ringing,
    "Wait": wait,
    "Busy": busy,
    "Congestion": congestion,
    "Echo": forever,
    "MusicOnHold": forever,
    "Queue": queue_app,
    "UserEvent": user_event_app,
    "Hangup": hangup,
    "NoOp": noop,
    "Playback": noop,
    "Progress": noop,
    "Set": noop,
}
