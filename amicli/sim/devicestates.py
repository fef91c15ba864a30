"""Device and extension states on the simulated PBX: DeviceStateList, ExtensionStateList, ExtensionState.

Shapes of the recording ``devicestates`` (Asterisk 22.10.1): DeviceStateList
lists the devices whose state changed since boot (the queues' own devices
and the PJSIP endpoints), ExtensionStateList the hints.
"""

from __future__ import annotations

from ..protocol import Message
from . import chan_sip13
from .pbx import PBX, extension_status
from .pjsip import EXTENSION_STATE, Pjsip
from .session import Session


def _devices(pbx: PBX) -> list[tuple[str, str]]:
    """(device, state) of the channel drivers' devices that changed state since boot."""
    pjsip: Pjsip | None = pbx.pjsip
    with pbx.lock:
        if pjsip is not None:
            return list(pjsip.devices.items())
        return chan_sip13.device_list(pbx) if pbx.sip_peers else []


def _hints(pbx: PBX) -> list[tuple[str, str, str, int, str]]:
    """(exten, context, hint, status, text) of every hint."""
    pjsip: Pjsip | None = pbx.pjsip
    with pbx.lock:
        if pjsip is not None:
            return [(e, c, h, *EXTENSION_STATE[pjsip.hint_state(h)]) for e, c, h in pjsip.hints]
        return chan_sip13.hint_list(pbx) if pbx.sip_peers else []


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
    devices = _queue_devices(pbx) + _devices(pbx)
    items = [[("Event", "DeviceStateChange"), ("Device", device), ("State", state)] for device, state in devices]
    session.send_list(request, items, "Device State Changes will follow", "DeviceStateListComplete")


def _status(hint: str, status: int, text: str) -> list[tuple[str, str]]:
    return [("Hint", hint), ("Status", str(status)), ("StatusText", text)]


def extension_state_list(pbx: PBX, session: Session, request: Message) -> None:
    items = [extension_status(*hint) for hint in _hints(pbx)]
    session.send_list(request, items, "Extension Statuses will follow", "ExtensionStateListComplete")


def extension_state(pbx: PBX, session: Session, request: Message) -> None:
    exten = request.get("Exten") or ""
    context = request.get("Context") or "default"
    found = next((h for h in _hints(pbx) if h[0] == exten and h[1] == context), None)
    state = _status(*found[2:]) if found else _status("", -1, "Unknown")
    session.respond(
        request, "Success", [("Message", "Extension Status"), ("Exten", exten), ("Context", context), *state]
    )


#: (action, handler, write class needed)
ACTIONS = (
    ("DeviceStateList", device_state_list, "call,reporting"),
    ("ExtensionStateList", extension_state_list, "call,reporting"),
    ("ExtensionState", extension_state, "call,reporting"),
)
