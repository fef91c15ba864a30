"""The output formats of the event stream: JSON Lines, raw AMI, one line per event for people."""

from __future__ import annotations

import json
import re
import sys
import time
from typing import Callable

from ..output import escape_c1, visible
from ..protocol import Message, Parser
from ..redact import scrub
from .buffer import Batch, event_region_count


def event_time(msg: Message, received: float) -> float:
    """The PBX's ``Timestamp`` (timestampevents = yes) when present, else ``received``."""
    stamp = msg.get("Timestamp")
    if stamp:
        try:
            return float(stamp)
        except ValueError:
            pass
    return received


# C1 controls in UTF-8 (U+0080-U+009F): escaped too, by the general path.
_C1_UTF8 = re.compile(b"\xc2[\x80-\x9f]")
# ": value" to the end of the line: what stays is the header names.
_VALUES = re.compile(": [^\r]*")
#: A header's value in a template, captured.  Possessive where Python has it
#: (3.11): a value never gives back what it took, and the match skips the
#: bookkeeping that backtracking would need.
_VALUE = ": ([^\r]*+)" if sys.version_info >= (3, 11) else ": ([^\r]*)"
#: Templates learned before the cache starts afresh (hostile event names
#: cannot grow it), and the most kept per key of first characters.
_MAX_TEMPLATES = 2048
_MAX_PER_KEY = 8


#: Parts of a line past which a template builds it with ``str.format``, not a function of its own.
_MAX_COMPILED = 256
#: Headers of new templates learned per second at most.  A template costs about 70 us a
#: header to make (its regex and its function), so this bounds the cost to a tenth of the
#: time; past it (a stream of ever-new event shapes) events take the general path until the
#: next second, when a shape that comes again is learned.
_LEARNED_HEADERS_PER_SECOND = 1500
#: A line builder: the captured values in, the JSON line (without its opening brace) out.
LineBuilder = Callable[..., str]


def _line_builder(parts: list[str | int]) -> LineBuilder:
    """A function of the captured values that joins ``parts`` (text, or the index of a value) into a line.

    An f-string made for the template is the quickest way Python joins
    strings (measured with 17 values: 0.72 us, against 0.97 for ``%`` and
    1.68 for ``str.format``), and the values can go anywhere (a repeated
    header's values are gathered in one list).  The source holds generated
    names only: the text, header names that come from the PBX, is passed in
    as values and never read as code.
    A great many parts get ``str.format`` instead, which costs nothing to
    make.
    """
    if len(parts) > _MAX_COMPILED:
        return "".join(
            p.replace("{", "{{").replace("}", "}}") if isinstance(p, str) else f"{{{p}}}" for p in parts
        ).format
    texts: list[str] = []
    body = []
    for part in parts:
        if isinstance(part, str):
            body.append(f"{{t{len(texts)}}}")
            texts.append(part)
        else:
            body.append(f"{{v{part}}}")
    values = max(p for p in parts if isinstance(p, int)) + 1
    source = (
        f"def make({', '.join(f't{i}' for i in range(len(texts)))}):\n"
        f"    return lambda {', '.join(f'v{i}' for i in range(values))}: f'{''.join(body)}'\n"
    )
    namespace: dict[str, Callable[..., LineBuilder]] = {}
    exec(compile(source, "<json line template>", "exec"), namespace)  # noqa: S102 - generated names only, see above
    return namespace["make"](*texts)


def _line_parts(places: dict[str, list[int]], end: str) -> list[str | int]:
    """The JSON object's parts without its opening brace: text, and the index of each value."""
    parts: list[str | int] = []
    for key, where in places.items():
        parts.append(("," if parts else "") + '"' + key + '":' + ('"' if len(where) == 1 else '["'))
        for n, index in enumerate(where):
            parts.extend(('","', index) if n else (index,))
        parts.append('"' if len(where) == 1 else '"]')
    parts.append(end)
    merged: list[str | int] = []
    for part in parts:  # adjacent texts as one
        if isinstance(part, str) and merged and isinstance(merged[-1], str):
            merged[-1] += part
        else:
            merged.append(part)
    return merged


class JsonFormat:
    """JSON Lines, one object per event, as ``json.dumps(msg.to_dict())``.

    A ``Received`` key (epoch seconds, as a string like ``Timestamp``) is
    added to an event that has no ``Timestamp`` header.  ``format(batch,
    opening)`` begins each object with ``opening`` instead of ``{``: a fleet
    puts its ``Server`` key there, as the first key, at no cost per event.
    """

    def __init__(self) -> None:
        # first 24 characters ("Event: Name...") -> templates: (fullmatch,
        # line builder, needs the time of receipt)
        self._templates: dict[str, list[tuple[Callable[[str], re.Match[str] | None], LineBuilder, bool]]] = {}
        # the same key -> the template that fitted last (tried first), for
        # events with a Timestamp and for those that need the time of receipt.
        self._timed: dict[str, tuple[Callable[[str], re.Match[str] | None], LineBuilder]] = {}
        self._untimed: dict[str, tuple[Callable[[str], re.Match[str] | None], LineBuilder]] = {}
        self._learned = 0
        # Headers that may still be learned in the current second (see _LEARNED_HEADERS_PER_SECOND).
        self._learn_second = 0
        self._learn_budget = _LEARNED_HEADERS_PER_SECOND

    def format(self, batch: Batch, opening: str = "{") -> bytes:
        received = f"{batch.received:.6f}"
        if batch.data is not None:
            text = self._region(batch.data, received, opening)
        else:
            text = self._messages(batch.messages or [], received, opening)
        return text.encode("utf-8", "replace")

    # -- the general path ---------------------------------------------------

    @staticmethod
    def one(msg: Message, received: str) -> str:
        """One event as ``json.dumps`` writes it (the reference for the fast path)."""
        obj = msg.to_dict()
        if msg.get("Timestamp") is None and msg.get("Received") is None:
            obj["Received"] = received
        return escape_c1(json.dumps(obj, ensure_ascii=False, separators=(",", ":")))

    def _dumped(self, msgs: list[Message], received: str, opening: str) -> str:
        """The events among ``msgs`` as :meth:`one` writes them, each opened with ``opening``, a line each."""
        return "".join(opening + self.one(m, received)[1:] + "\n" for m in msgs if m.kind == "event")

    def _messages(self, msgs: list[Message], received: str, opening: str = "{") -> str:
        out: list[str] = []
        run: list[bytes] = []
        for msg in msgs:
            raw = msg.raw
            # Messages of the usual shape go through the fast path together.
            if event_region_count(raw, 1 << 30) == 1:
                run.append(raw)
                continue
            if run:
                out.append(self._region(b"".join(run), received, opening))
                run = []
            out.append(self._dumped([msg], received, opening))
        if run:
            out.append(self._region(b"".join(run), received, opening))
        return "".join(out)

    # -- the fast path --------------------------------------------------------

    def _learn(self, block: str) -> tuple[Callable[[str], re.Match[str] | None], LineBuilder, bool] | None:
        """A template from ``block`` (escaped text), or None when only the general path is right.

        The template's regex captures each value; its builder makes the JSON
        object without its opening brace from the values (already escaped).
        For an event without a time it stops inside ``"Received":"``: the
        time of receipt and ``"}`` are added per batch.
        """
        names = _VALUES.sub(": ", block).split("\r\n")
        keys: list[str] = []
        # key -> the indexes of its values, in header order (dict order is
        # that of first occurrences, as in to_dict).
        places: dict[str, list[int]] = {}
        for index, line in enumerate(names):
            key = line[:-2]
            if line[-2:] != ": " or not key or ":" in key or "\r" in key:
                return None
            keys.append(key)
            places.setdefault(key, []).append(index)
        has_time = any(k.lower() in ("timestamp", "received") for k in places)
        pattern = "\r\n".join(re.escape(k) + _VALUE for k in keys)
        build = _line_builder(_line_parts(places, "}" if has_time else ',"Received":"'))
        return re.compile(pattern).fullmatch, build, not has_time

    def _may_learn(self, block: str) -> bool:
        """Whether a template may be made for ``block`` now (see _LEARNED_HEADERS_PER_SECOND)."""
        second = int(time.monotonic())
        if second != self._learn_second:
            self._learn_second, self._learn_budget = second, _LEARNED_HEADERS_PER_SECOND
        self._learn_budget -= block.count("\r\n") + 1
        return self._learn_budget >= 0

    def _forget_if_full(self) -> None:
        # Bounded memory against a stream of ever-new header names.
        if self._learned >= _MAX_TEMPLATES or len(self._templates) >= _MAX_TEMPLATES:
            self._templates.clear()
            self._timed.clear()
            self._untimed.clear()
            self._learned = 0

    def _region(self, data: bytes, received: str, opening: str = "{") -> str:
        # ``data`` holds no control character but its line ends (see
        # event_region_count); a C1 control to escape sends it down the general path.
        if b"\xc2" in data and _C1_UTF8.search(data):
            # A region holds events and the stray empty lines between them; the
            # parser makes the latter empty text messages, which are not events.
            return self._dumped(Parser(expect_banner=False).feed(data), received, opening)
        text = data.decode("utf-8", "replace")
        # What JSON escapes here, escaped once for the whole region (the general
        # path reads a block again from ``data``).  ``in`` first: it is far
        # quicker than a replace that finds nothing.
        if "\\" in text:
            text = text.replace("\\", "\\\\")
        if '"' in text:
            text = text.replace('"', '\\"')
        blocks = text.split("\r\n\r\n")
        blocks.pop()
        timed = self._timed.get
        untimed = self._untimed.get
        tail = received + '"}'
        raw_blocks: list[list[bytes]] = []  # split once, when a block needs json.dumps
        out: list[str] = []
        append = out.append
        # The hot loop: kept to the fewest steps (this runs for every event).
        for i, block in enumerate(blocks):
            # Templates are looked up by the first characters (the event name,
            # for any name up to 17 characters): cheaper than finding the line end.
            key = block[:24]
            template = timed(key)
            if template is not None and (match := template[0](block)) is not None:
                append(template[1](*match.groups()))
                continue
            template = untimed(key)
            if template is not None and (match := template[0](block)) is not None:
                append(template[1](*match.groups()) + tail)
                continue
            line = self._other(block, key, data, i, received, raw_blocks, opening)
            if line:
                append(line)
        if not out:
            return ""
        # Each line without its opening brace: the join puts the opening there.
        lines = ("\n" + opening).join(out)
        return f"{opening}{lines}\n"

    def _other(
        self,
        block: str,
        key: str,
        data: bytes,
        index: int,
        received: str,
        raw_blocks: list[list[bytes]],
        opening: str,
    ) -> str:
        """A block the last template of its key does not fit: another one, a new one, or json.dumps.

        The line comes without its opening, as a template's do (the region's join puts it there).
        """
        learned = self._templates.get(key, ())
        for template in learned:
            match = template[0](block)
            if match is not None:
                break
        else:
            template = self._learn(block) if self._may_learn(block) else None  # type: ignore[assignment]
            match = template[0](block) if template is not None else None
            if match is not None:
                self._forget_if_full()
                self._learned += 1
                kept = self._templates.setdefault(key, [])
                kept.insert(0, template)
                del kept[_MAX_PER_KEY:]
        if match is None:
            if not raw_blocks:
                raw_blocks.append(data.split(b"\r\n\r\n"))
            raw = raw_blocks[0][index] + b"\r\n\r\n"
            # Several events (rare) come as one line each: the join puts the first opening.
            return self._dumped(Parser(expect_banner=False).feed(raw), received, opening)[len(opening) : -1]
        fullmatch, build, needs_time = template
        line = build(*match.groups())
        if needs_time:
            self._untimed[key] = (fullmatch, build)
            return line + received + '"}'
        self._timed[key] = (fullmatch, build)
        return line


class AmiFormat:
    """The messages exactly as received (``--format ami``)."""

    def format(self, batch: Batch) -> bytes:
        if batch.data is not None:
            return batch.data
        return b"".join(m.raw for m in batch.messages or [])


#: The fields that say what happened, per event (the human format).
KEY_FIELDS: dict[str, tuple[str, ...]] = {
    "Newchannel": ("Channel", "ChannelStateDesc", "CallerIDNum", "Exten", "Context"),
    "Newstate": ("Channel", "ChannelStateDesc", "ConnectedLineNum"),
    "Newexten": ("Channel", "Exten", "Priority", "Application", "AppData"),
    "NewCallerid": ("Channel", "CallerIDNum", "CallerIDName"),
    "Hangup": ("Channel", "Cause", "Cause-txt"),
    "HangupRequest": ("Channel", "Cause"),
    "SoftHangupRequest": ("Channel", "Cause"),
    "DialBegin": ("Channel", "DestChannel", "DialString"),
    "DialState": ("Channel", "DestChannel", "DialStatus"),
    "DialEnd": ("Channel", "DestChannel", "DialStatus"),
    "OriginateResponse": ("Channel", "Response", "Reason", "ActionID"),
    "Cdr": ("Source", "Destination", "Channel", "Disposition", "Duration", "BillableSeconds"),
    "CEL": ("EventName", "Channel", "Application"),
    "BridgeCreate": ("BridgeUniqueid", "BridgeType"),
    "BridgeEnter": ("Channel", "BridgeUniqueid"),
    "BridgeLeave": ("Channel", "BridgeUniqueid"),
    "BridgeDestroy": ("BridgeUniqueid",),
    "LocalBridge": ("LocalOneChannel", "LocalTwoChannel"),
    "DeviceStateChange": ("Device", "State"),
    "ExtensionStatus": ("Exten", "Context", "StatusText"),
    "PeerStatus": ("Peer", "PeerStatus", "Cause"),
    "ContactStatus": ("URI", "ContactStatus", "AOR"),
    "VarSet": ("Channel", "Variable", "Value"),
    "DTMFBegin": ("Channel", "Digit", "Direction"),
    "DTMFEnd": ("Channel", "Digit", "Direction", "DurationMs"),
    "Hold": ("Channel",),
    "Unhold": ("Channel",),
    "MusicOnHoldStart": ("Channel", "Class"),
    "MusicOnHoldStop": ("Channel",),
    "QueueMemberStatus": ("Queue", "MemberName", "Status", "Paused", "InCall"),
    "QueueMemberAdded": ("Queue", "MemberName", "Interface"),
    "QueueMemberRemoved": ("Queue", "MemberName", "Interface"),
    "QueueMemberPause": ("Queue", "MemberName", "Paused", "PausedReason"),
    "QueueCallerJoin": ("Queue", "Channel", "CallerIDNum", "Position", "Count"),
    "QueueCallerLeave": ("Queue", "Channel", "Position", "Count"),
    "QueueCallerAbandon": ("Queue", "Channel", "Position", "HoldTime"),
    "AgentCalled": ("Queue", "Channel", "MemberName", "DestChannel"),
    "AgentConnect": ("Queue", "Channel", "MemberName", "HoldTime", "RingTime"),
    "AgentComplete": ("Queue", "Channel", "MemberName", "HoldTime", "TalkTime", "Reason"),
    "AgentRingNoAnswer": ("Queue", "Channel", "MemberName", "RingTime"),
    "FullyBooted": ("Status", "Uptime"),
    "Shutdown": ("Shutdown", "Restart"),
    "UserEvent": ("UserEvent",),
    "Reload": ("Module", "Status"),
    "SuccessfulAuth": ("AccountID", "RemoteAddress"),
    "InvalidPassword": ("AccountID", "RemoteAddress"),
    "InvalidAccountID": ("AccountID", "RemoteAddress"),
    "ChallengeResponseFailed": ("AccountID", "RemoteAddress"),
    "FailedACL": ("AccountID", "RemoteAddress"),
}

# Headers that say little in a one-line summary (channel snapshot noise).
_NOISE = frozenset(
    k.lower()
    for k in (
        "Event",
        "Privilege",
        "Timestamp",
        "SystemName",
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
        "ActionID",
        "EventTV",
        "Severity",
        "Service",
        "EventVersion",
        "SessionID",
        "SessionTV",
        "LocalAddress",
        "UsingPassword",
    )
)
_SUMMARY_FIELDS = 5


# A value holding one of these is shown quoted, as JSON.
_NEEDS_QUOTES = re.compile(r'[ "\\\t]')


def _show(value: str) -> str:
    if value and _NEEDS_QUOTES.search(value) is None and value.isprintable():
        return value
    return escape_c1(json.dumps(value, ensure_ascii=False))


#: The last second formatted by :func:`_clock`, and its text (events come many a second).
_last_second: tuple[int, str] = (-1, "")


def _clock(when: float) -> str:
    """``HH:MM:SS.mmm`` of ``when`` in local time."""
    global _last_second
    second = int(when)
    if _last_second[0] != second:
        _last_second = (second, time.strftime("%H:%M:%S", time.localtime(second)))
    return f"{_last_second[1]}.{int(when * 1000) % 1000:03d}"


class TextFormat:
    """One line per event for people: time, event name, the fields that matter."""

    def format(self, batch: Batch) -> bytes:
        received = batch.received
        lines = [self.line(m, received) for m in batch.as_messages()]
        if not lines:
            return b""
        # Names, keys and values come from outside (caller ID names from
        # callers): no control character reaches the terminal as such.
        return (visible(scrub("\n".join(lines))) + "\n").encode("utf-8", "replace")

    @staticmethod
    def line(msg: Message, received: float) -> str:
        name = msg.name or "?"
        fields = KEY_FIELDS.get(name)
        pairs: list[tuple[str, str]] = []
        for key in fields or ("Channel",):
            value = msg.get(key)
            if value is not None:
                pairs.append((key, value))
        if fields is None or name == "UserEvent":
            # Other events, and a UserEvent's own headers: the first few
            # headers that are not channel-snapshot noise.
            shown = {k for k, _ in pairs}
            for key, value in msg.headers:
                if len(pairs) >= _SUMMARY_FIELDS:
                    break
                if key.lower() not in _NOISE and key not in shown:
                    shown.add(key)
                    pairs.append((key, value))
        summary = " ".join([f"{k}={_show(v)}" for k, v in pairs])
        return f"{_clock(event_time(msg, received))} {name:<18} {summary}".rstrip()


class FieldsFormat:
    """``--fields``: only the named headers (any case), as JSON Lines or one line per event.

    A header the event does not carry is null in JSON and left out of a line.
    """

    def __init__(self, names: list[str], as_json: bool) -> None:
        self.names = names
        self.as_json = as_json

    def _pairs(self, msg: Message) -> list[tuple[str, str | None]]:
        by_lower = {k.lower(): (k, v) for k, v in reversed(msg.headers)}
        return [by_lower.get(name.lower(), (name, None)) for name in self.names]

    def format(self, batch: Batch, opening: str = "{") -> bytes:
        """The batch's lines; JSON objects begin with ``opening`` (a fleet's Server key), as JsonFormat's do."""
        from ..output import json_line

        received = batch.received
        out = []
        opened = opening.encode("utf-8")
        for msg in batch.as_messages():
            pairs = self._pairs(msg)
            if self.as_json:
                if opening != "{":  # a fleet's line begins with its Server: no second Server key
                    pairs = [pair for pair in pairs if pair[0].lower() != "server"]
                out.append(opened + json_line(dict(pairs))[1:] if pairs else opened[:-1] + b"}\n")
                continue
            clock = _clock(event_time(msg, received))
            shown = " ".join(f"{k}={_show(v)}" for k, v in pairs if v is not None)
            out.append(f"{clock} {msg.name or '?':<18} {shown}".rstrip().encode("utf-8", "replace") + b"\n")
        return b"".join(out)


def make_format(name: str) -> JsonFormat | AmiFormat | TextFormat:
    if name == "json":
        return JsonFormat()
    if name == "ami":
        return AmiFormat()
    return TextFormat()
