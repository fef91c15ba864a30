"""Tables for people: the default columns, their titles and the display values of each row.

The library gives rows keyed as Asterisk names things; how a table shows
them (which columns, in what words, times as local times) is decided here.
"""

from __future__ import annotations

import functools
import time

from ..channels import state_name
from ..output import get_field

# -- ami channels ---------------------------------------------------------------

#: The keys of a table row, in the default column order, with their titles.
TABLE_COLUMNS: list[str] = [
    "Channel",
    "State",
    "CallerID",
    "Connected",
    "Location",
    "App",
    "Duration",
    "BridgeId",
    "Uniqueid",
    "Linkedid",
]


TABLE_TITLES: dict[str, str] = {
    "CallerID": "Caller ID",
    "Connected": "Connected line",
    "Location": "Exten@Context:Prio",
    "App": "Application(Data)",
    "BridgeId": "Bridge",
    "Uniqueid": "Unique ID",
    "Linkedid": "Linked ID",
}


def caller_text(num: object, name: object) -> str:
    """``Line <5550100>`` like Asterisk's CLI, or just the number."""
    num_s = "" if num is None else str(num)
    name_s = "" if name is None else str(name)
    if not name_s or name_s == num_s or name_s == "<unknown>":
        return num_s
    if not num_s or num_s == "<unknown>":
        return name_s
    return f"{name_s} <{num_s}>"


def table_row(row: dict[str, object], originals: bool = True) -> dict[str, object]:
    """The display columns for a table, beside every original header (``originals``).

    A column whose source headers are all missing stays empty.  Without
    ``originals`` only the display columns are kept (less memory for a big
    list drawn with the default columns).
    """
    if originals:
        out: dict[str, object] = dict(row)
    else:
        out = {"Channel": row.get("Channel"), "Duration": row.get("Duration")}
    out["State"] = state_name(row)
    cid_num, cid_name = get_field(row, "CallerIDNum", "CallerID"), get_field(row, "CallerIDName")
    out["CallerID"] = caller_text(cid_num, cid_name) if (cid_num is not None or cid_name is not None) else None
    con_num, con_name = get_field(row, "ConnectedLineNum"), get_field(row, "ConnectedLineName")
    out["Connected"] = caller_text(con_num, con_name) if (con_num is not None or con_name is not None) else None
    exten, context, prio = get_field(row, "Exten", "Extension"), get_field(row, "Context"), get_field(row, "Priority")
    if exten is None and context is None and prio is None:
        out["Location"] = None
    else:
        out["Location"] = f"{exten or ''}@{context or ''}:{'' if prio is None else prio}"
    app, data = get_field(row, "Application"), get_field(row, "ApplicationData", "Data")
    out["App"] = f"{app}({data or ''})" if app else None
    out["Uniqueid"] = get_field(row, "Uniqueid")
    out["Linkedid"] = get_field(row, "Linkedid")
    out["BridgeId"] = get_field(row, "BridgeId", "BridgedChannel")
    return out


# -- ami queues -------------------------------------------------------------------

QUEUE_COLUMNS = [
    "Queue",
    "Strategy",
    "Calls",
    "LongestHoldTime",
    "Holdtime",
    "TalkTime",
    "Completed",
    "Abandoned",
    "ServiceLevel",
    "ServicelevelPerf",
    "LoggedIn",
    "Available",
    "PausedMembers",
]


QUEUE_TITLES = {
    "Calls": "Waiting",
    "LongestHoldTime": "Longest wait",
    "Holdtime": "Hold",
    "TalkTime": "Talk",
    "ServiceLevel": "SL",
    "ServicelevelPerf": "SL perf",
    "ServicelevelPerf2": "SL perf2",
    "LoggedIn": "Logged in",
    "PausedMembers": "Paused",
}


MEMBER_COLUMNS = [
    "Queue",
    "Name",
    "Location",
    "StateInterface",
    "StatusText",
    "Paused",
    "PausedReason",
    "Penalty",
    "CallsTaken",
    "LastCall",
    "LastPause",
    "InCall",
    "Membership",
]


MEMBER_TITLES = {
    "Location": "Interface",
    "StateInterface": "State interface",
    "StatusText": "Status",
    "PausedReason": "Reason",
    "CallsTaken": "Calls",
    "LastCall": "Last call",
    "LastPause": "Last pause",
    "LoginTime": "Login",
    "InCall": "In call",
}


CALLER_COLUMNS = ["Queue", "Position", "Channel", "CallerIDNum", "CallerIDName", "Wait", "Priority"]


CALLER_TITLES = {"Position": "Pos", "CallerIDNum": "Caller ID", "CallerIDName": "Caller name", "Wait": "Wait (s)"}


SUMMARY_COLUMNS = ["Queue", "LoggedIn", "Available", "Callers", "HoldTime", "TalkTime", "LongestHoldTime"]


SUMMARY_TITLES = {"LoggedIn": "Logged in", "HoldTime": "Hold", "TalkTime": "Talk", "LongestHoldTime": "Longest wait"}


def local_time(epoch: object) -> object:
    """An epoch number as local time for a table; 0 means never."""
    if isinstance(epoch, bool) or not isinstance(epoch, int):
        return epoch
    if epoch <= 0:
        return "never"
    return _strftime(epoch)


@functools.lru_cache(maxsize=4096)
def _strftime(epoch: int) -> str:
    # Many members share a login time: a big list formats each value once.
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(epoch))


def member_table_row(member: dict[str, object]) -> dict[str, object]:
    """A member with epoch times shown as local times, for a table."""
    out = dict(member)
    for key in ("LastCall", "LastPause", "LoginTime"):
        if key in out:
            out[key] = local_time(out[key])
    if "Name" not in out:
        alias = get_field(member, "MemberName")
        if alias is not None:
            out["Name"] = alias
    if "Location" not in out:
        alias = get_field(member, "Interface")
        if alias is not None:
            out["Location"] = alias
    return out


def caller_table_row(caller: dict[str, object]) -> dict[str, object]:
    out = dict(caller)
    if "CallerIDNum" not in out and "CallerID" in out:
        # Asterisk 1.4 and older said CallerID.
        out["CallerIDNum"] = out["CallerID"]
    return out


def queue_table_row(queue: dict[str, object]) -> dict[str, object]:
    out = {k: v for k, v in queue.items() if k not in ("members", "callers")}
    perf = out.get("ServicelevelPerf")
    if isinstance(perf, float):
        out["ServicelevelPerf"] = f"{perf:.1f}%"
    perf2 = out.get("ServicelevelPerf2")
    if isinstance(perf2, float):
        out["ServicelevelPerf2"] = f"{perf2:.1f}%"
    level = out.get("ServiceLevel")
    if isinstance(level, int):
        out["ServiceLevel"] = f"{level}s"
    return out
