"""A channel of the simulated PBX, and the header blocks Asterisk writes for one."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

#: Channel state numbers and their names (``ast_state2str``).
STATE_DESC = {
    0: "Down",
    1: "Rsrvd",
    2: "OffHook",
    3: "Dialing",
    4: "Ring",
    5: "Ringing",
    6: "Up",
    7: "Busy",
    8: "Dialing Offhook",
    9: "Pre-ring",
}

#: Hangup cause texts (``ast_cause2str``) for the causes worth naming.
CAUSE_TEXT = {
    0: "Unknown",
    1: "Unallocated (unassigned) number",
    16: "Normal Clearing",
    17: "User busy",
    18: "No user responding",
    19: "User alerting, no answer",
    21: "Call Rejected",
    34: "Circuit/channel congestion",
    127: "Interworking, unspecified",
}

#: The channel snapshot block of call events (Newchannel, Hangup, ...), in Asterisk 22's order.
SNAPSHOT_FIELDS = (
    "Channel",
    "ChannelState",
    "ChannelStateDesc",
    "CallerIDNum",
    "CallerIDName",
    "ConnectedLineNum",
    "ConnectedLineName",
    "Language",
    "AccountCode",
    "Context",
    "Exten",
    "Priority",
    "Uniqueid",
    "Linkedid",
)
#: CoreShowChannel headers after Event and ActionID.
CORE_FIELDS = (*SNAPSHOT_FIELDS, "Application", "ApplicationData", "Duration", "BridgeId")


@dataclass
class Channel:
    """One channel: what CoreShowChannel shows of it, plus what the sim needs to run it."""

    name: str
    state: int = 0
    caller_num: str = "<unknown>"
    caller_name: str = "<unknown>"
    connected_num: str = "<unknown>"
    connected_name: str = "<unknown>"
    language: str = "en"
    account_code: str = ""
    context: str = ""
    exten: str = ""
    priority: int = 1
    uniqueid: str = ""
    linkedid: str = ""
    application: str = ""
    application_data: str = ""
    bridge_id: str = ""
    created: float = field(default_factory=time.time)
    #: Channel variables (Originate's ``Variable:``), read by Getvar.
    variables: dict[str, str] = field(default_factory=dict)
    #: Run (outside the PBX lock) when anyone removes the channel: the call
    #: that owns it then ends itself.
    on_remove: Callable[[Channel], None] | None = None
    #: The caller channel a queue member's phone rings for (the demo state).
    ringing_for: str | None = None

    @property
    def state_desc(self) -> str:
        return STATE_DESC.get(self.state, "Unknown")

    @property
    def device(self) -> str:
        """The device: the name without the ``-0000001e;2`` suffix."""
        base = self.name.split(";", 1)[0]
        head, sep, _ = base.rpartition("-")
        return head if sep else base

    def duration(self, now: float | None = None) -> str:
        secs = int((now or time.time()) - self.created)
        return f"{secs // 3600:02d}:{secs % 3600 // 60:02d}:{secs % 60:02d}"

    def field_value(self, header: str) -> str:
        """The value of a CoreShowChannel header."""
        values = {
            "Channel": self.name,
            "ChannelState": str(self.state),
            "ChannelStateDesc": self.state_desc,
            "CallerIDNum": self.caller_num,
            "CallerIDName": self.caller_name,
            "ConnectedLineNum": self.connected_num,
            "ConnectedLineName": self.connected_name,
            "Language": self.language,
            "AccountCode": self.account_code,
            "Context": self.context,
            "Exten": self.exten,
            "Priority": str(self.priority),
            "Uniqueid": self.uniqueid,
            "Linkedid": self.linkedid,
            "Application": self.application,
            "ApplicationData": self.application_data,
            "BridgeId": self.bridge_id,
        }
        if header == "Duration":
            return self.duration()
        return values.get(header, "")

    def snapshot(self, prefix: str = "") -> list[tuple[str, str]]:
        """The snapshot block of call events, its names with ``prefix`` (``Dest``, ``LocalOne``)."""
        return [(prefix + key, self.field_value(key)) for key in SNAPSHOT_FIELDS]

    def core_show(self) -> list[tuple[str, str]]:
        return [("Event", "CoreShowChannel"), *[(k, self.field_value(k)) for k in CORE_FIELDS]]


def local_partner(name: str) -> str | None:
    """``Local/200@default-0000001e;2`` -> ``...;1`` (the other half of a Local channel)."""
    if name.startswith("Local/") and name[-2:] in (";1", ";2"):
        return name[:-1] + ("1" if name.endswith("2") else "2")
    return None
