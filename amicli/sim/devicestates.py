"""Device and extension states on the simulated PBX: DeviceStateList, ExtensionStateList, ExtensionState.

Shapes of the recording ``devicestates`` (Asterisk 22.10.1): DeviceStateList
lists the devices whose state changed since boot (the queues' own devices
and the PJSIP endpoints), ExtensionStateList the hints.
"""

from __future__ import annotations

from ..protocol import Message
from .pbx import PBX
from .pjsip import EXTENSION_STATE, Pjsip
from .session import Session


def _queue_devices(pbx: PBX) -> list[tuple[str, str]]:
    devices = []
    with pbx.lock:
        for queue in pbx.queues.values():
            devices.append((f"Queue:{queue.name}_avail", "INUSE"))
            for member in queue.members:
                state = "INUSE" if member.paused else "NOT_INUSE"
                devices.append((f"Queue:{queue.name}_pause_{member.interface}", state))
    return devices


def device_state_list(pbx: PBX, session: Session, request: Message) -> None:
    if not pbx.booted:
        name = request.get("Action") or ""
        session.error(request, f"Invalid/unknown command: {name}. Use Action: ListCommands to show available commands.")
        return
    devices = _queue_devices(pbx)
    pjsip: Pjsip | None = pbx.pjsip
    if pjsip is not None:
        with pbx.lock:
            devices += list(pjsip.devices.items())
    items = [[("Event", "DeviceStateChange"), ("Device", device), ("State", state)] for device, state in devices]
    session.send_list(request, items, "Device State Changes will follow", "DeviceStateListComplete")


def _hint_status(pjsip: Pjsip, hint: str) -> list[tuple[str, str]]:
    status, text = EXTENSION_STATE[pjsip.hint_state(hint)]
    return [("Hint", hint), ("Status", str(status)), ("StatusText", text)]


def extension_state_list(pbx: PBX, session: Session, request: Message) -> None:
    pjsip: Pjsip | None = pbx.pjsip
    items = []
    if pjsip is not None:
        with pbx.lock:
            for exten, context, hint in pjsip.hints:
                items.append(
                    [("Event", "ExtensionStatus"), ("Exten", exten), ("Context", context), *_hint_status(pjsip, hint)]
                )
    session.send_list(request, items, "Extension Statuses will follow", "ExtensionStateListComplete")


def extension_state(pbx: PBX, session: Session, request: Message) -> None:
    exten = request.get("Exten") or ""
    context = request.get("Context") or "default"
    pjsip: Pjsip | None = pbx.pjsip
    found = None
    if pjsip is not None:
        found = next((h for e, c, h in pjsip.hints if e == exten and c == context), None)
    with pbx.lock:
        state = (
            _hint_status(pjsip, found)
            if pjsip is not None and found
            else [("Hint", ""), ("Status", "-1"), ("StatusText", "Unknown")]
        )
    session.respond(
        request, "Success", [("Message", "Extension Status"), ("Exten", exten), ("Context", context), *state]
    )


#: (action, handler, write class needed)
ACTIONS = (
    ("DeviceStateList", device_state_list, "call,reporting"),
    ("ExtensionStateList", extension_state_list, "call,reporting"),
    ("ExtensionState", extension_state, "call,reporting"),
)
