"""Channels up now (``CoreShowChannels``) and hanging them up (``Hangup``).

No click here: the command in :mod:`amicli.commands.channels` drives this.

A channel is a dict built from one ``CoreShowChannel`` event:

* keys are the AMI header names exactly as the server sent them (Asterisk 22
  says ``Exten`` and ``Uniqueid``; Asterisk 11 said ``Extension`` and
  ``UniqueID``: whatever came is what is kept);
* numbers become JSON numbers (``ChannelState``, ``Priority``); a value that
  does not parse stays the string it was;
* a field the server did not send is absent, never invented;
* derived values get keys of their own beside the original
  (``DurationSeconds`` beside ``Duration``).
"""

from __future__ import annotations

import fnmatch
import re
from typing import Iterable, Iterator, Sequence

from .client import Client, Reply
from .errors import ActionError
from .output import get_field
from .protocol import Message

#: ``ChannelState`` numbers as Asterisk names them (``ast_state2str``).
CHANNEL_STATES: dict[int, str] = {
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

#: Headers whose values are integers (lower-cased names).
INT_FIELDS = frozenset({"channelstate", "priority"})
#: Headers that describe the AMI exchange, not the channel.
SKIP_FIELDS = frozenset({"Event", "ActionID"})


#: Every header of CoreShowChannel on Asterisk 11 to 22, and the derived keys:
#: what ``--fields`` accepts.
KNOWN_FIELDS: list[str] = [
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
    "Extension",
    "Priority",
    "Uniqueid",
    "Linkedid",
    "Application",
    "ApplicationData",
    "Duration",
    "DurationSeconds",
    "BridgeId",
    "BridgedChannel",
    "BridgedUniqueID",
]


# -- typed rows ---------------------------------------------------------------


def parse_duration(text: str) -> int | None:
    """``"01:02:03"`` -> 3723; ``"42"`` -> 42; anything else -> None.

    Asterisk prints hours without a bound (``"123:00:00"``), so the fields
    are read from the right.
    """
    parts = text.strip().split(":")
    if not parts or len(parts) > 3:
        return None
    total = 0
    for part in parts:
        if not part.isdigit():
            return None
        total = total * 60 + int(part)
    return total


def _as_int(value: object) -> object:
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            return value
    return value


def channel_from_event(msg: Message) -> dict[str, object]:
    """One ``CoreShowChannel`` event -> a typed channel dict."""
    headers = msg.headers
    # dict() runs at C speed; this runs for every channel of a big list.
    row: dict[str, object] = dict(headers)
    if len(row) != len(headers):
        # A repeated header (never seen in this event) keeps every value.
        row = {}
        for key, value in headers:
            if key in row:
                prev = row[key]
                row[key] = [*prev, value] if isinstance(prev, list) else [prev, value]
            else:
                row[key] = value
    for key in SKIP_FIELDS:
        row.pop(key, None)
    typed = 0
    for key in ("ChannelState", "Priority"):
        if key in row:
            row[key] = _as_int(row[key])
            typed += 1
    if typed < 2:
        # An older server may spell them in another case.
        for key in row:
            if key.lower() in INT_FIELDS:
                row[key] = _as_int(row[key])
    duration = row.get("Duration")
    if isinstance(duration, str) and "DurationSeconds" not in row:
        seconds = parse_duration(duration)
        if seconds is not None:
            row["DurationSeconds"] = seconds
    return row


def state_name(row: dict[str, object]) -> str:
    """The state in words: ``ChannelStateDesc``, else decoded ``ChannelState``."""
    desc = get_field(row, "ChannelStateDesc")
    if isinstance(desc, str) and desc:
        return desc
    state = get_field(row, "ChannelState")
    if isinstance(state, int):
        return CHANNEL_STATES.get(state, f"Unknown ({state})")
    return "" if state is None else str(state)


def state_number(row: dict[str, object]) -> int | None:
    state = get_field(row, "ChannelState")
    if isinstance(state, int):
        return state
    desc = get_field(row, "ChannelStateDesc")
    if isinstance(desc, str):
        return STATE_BY_NAME.get(normalise_state(desc))
    return None


def normalise_state(text: str) -> str:
    """``"Dialing Offhook"``, ``"dialing-offhook"`` -> ``"dialing-offhook"``."""
    return "-".join(text.strip().lower().replace("_", " ").replace("-", " ").split())


STATE_BY_NAME: dict[str, int] = {normalise_state(name): number for number, name in CHANNEL_STATES.items()}


# -- fetching and filtering ---------------------------------------------------


def fetch_channels(client: Client) -> list[dict[str, object]]:
    """Every channel up now, in the server's order, as typed dicts."""
    reply = client.request_booted([("Action", "CoreShowChannels")]).raise_for_error()
    return list(convert_events(reply, "CoreShowChannel", channel_from_event))


def count_channels(client: Client, pattern: str | None = None, states: Sequence[int] = ()) -> int:
    """How many channels match, counted as the list streams in (no channel is kept)."""
    match = glob_matcher(pattern)
    wanted = set(states)
    matched = 0

    def see(msg: Message) -> None:
        nonlocal matched
        if msg.name != "CoreShowChannel":
            return
        name = msg.peek("Channel")
        if name is None or not match(name):
            return
        if wanted and state_number(channel_from_event(msg)) not in wanted:
            return
        matched += 1

    client.request_booted([("Action", "CoreShowChannels")], on_item=see).raise_for_error()
    return matched


def convert_events(reply: Reply, event: str, convert) -> Iterator[dict[str, object]]:
    """``convert`` each list event named ``event``, dropping each message once converted.

    A big list is then never held twice (messages and rows) in memory.
    """
    events = reply.events
    reply.events = []
    for index, msg in enumerate(events):
        events[index] = None  # type: ignore[call-overload]
        if msg.get("Event") == event:
            yield convert(msg)


def glob_matcher(pattern: str | None):
    """A predicate on channel names for a shell-style glob.

    A pattern without wildcards matches the names that start with it, so
    ``PJSIP/1001`` finds ``PJSIP/1001-0000002a``.
    """
    if not pattern:
        return lambda name: True
    if not any(ch in pattern for ch in "*?["):
        return lambda name: name.startswith(pattern)
    rx = re.compile(fnmatch.translate(pattern))
    return lambda name: rx.match(name) is not None


def filter_channels(
    channels: Iterable[dict[str, object]],
    pattern: str | None = None,
    states: Sequence[int] = (),
) -> list[dict[str, object]]:
    """The channels whose name matches ``pattern`` and state is one of ``states``."""
    match = glob_matcher(pattern)
    wanted = set(states)
    out = []
    for row in channels:
        name = row.get("Channel")
        if not isinstance(name, str) or not match(name):
            continue
        if wanted and state_number(row) not in wanted:
            continue
        out.append(row)
    return out


def parse_state(text: str) -> int:
    """``up`` / ``Ringing`` / ``6`` -> the state number; ValueError otherwise."""
    if text.strip().isdigit():
        number = int(text)
        if number in CHANNEL_STATES:
            return number
    key = normalise_state(text)
    if key in STATE_BY_NAME:
        return STATE_BY_NAME[key]
    raise ValueError(f"unknown channel state {text!r}; valid: {', '.join(STATE_BY_NAME)} (or their numbers 0-9)")


# -- hanging up ---------------------------------------------------------------


class NoSuchChannel(ActionError):
    """The channel to act on is not up (any more)."""


def hangup_request(channel: str, cause: int | None = None) -> list[tuple[str, str]]:
    headers = [("Action", "Hangup"), ("Channel", channel)]
    if cause is not None:
        headers.append(("Cause", str(cause)))
    return headers


def hangup_result(channel: str, reply: Reply) -> list[str]:
    """The names hung up by one Hangup reply; raises when the PBX refused.

    A ``/regex/`` channel is answered with a list of ``ChannelHungup``
    events (Asterisk 13 and later); a plain name with one response.
    """
    response = reply.response
    if response is not None and response.is_error:
        text = response.get("Message") or "error"
        if text.lower() == "no such channel":
            raise NoSuchChannel(f"no such channel: {channel} (it is not up, or has already hung up)", response)
        reply.raise_for_error()
    if reply.is_list:
        return [msg.get("Channel") or "" for msg in reply.events if (msg.get("Event") or "") == "ChannelHungup"]
    return [channel]


def hangup(client: Client, channel: str, cause: int | None = None) -> list[str]:
    """Hang up one channel (or a ``/regex/``); the names hung up."""
    return hangup_result(channel, client.request(hangup_request(channel, cause)))


def hangup_many(
    client: Client, channels: Sequence[str], cause: int | None = None
) -> list[tuple[str, list[str] | Exception]]:
    """Hang up several channels, every request in flight at once.

    Returns ``(channel, names hung up | the exception)`` in the given order,
    so one channel that is gone does not stop the others.
    """
    replies = [(name, client.submit(hangup_request(name, cause))) for name in channels]
    out: list[tuple[str, list[str] | Exception]] = []
    for name, reply in replies:
        client.wait(reply)
        try:
            out.append((name, hangup_result(name, reply)))
        except ActionError as exc:
            out.append((name, exc))
    return out
