"""The PBX's event stream: filters, output formats and the reader/writer pipeline.

This is the library behind ``ami events`` (no click here).  The design has
one rule: reading the socket never waits on the output.

* A **reader thread** owns the socket.  It receives 256 KB at a time, splits
  the bytes into messages, filters, formats each *batch* (everything one
  ``recv`` completed) and hands it to a bounded :class:`EventBuffer`.  When
  no client-side filter is active and a received run of bytes holds only
  events in the usual CRLF shape, the batch is that run of bytes itself (a
  "region"): no object is made per event.  The reader also sends the
  keepalive Ping and reconnects.
* A **writer thread** only writes: one ``os.write`` per batch (whole lines
  of at most PIPE_BUF bytes to a pipe), as soon as the batch is queued.
  That is the same as flushing every line for a consumer reading a pipe, at
  a fraction of the system calls; and the two threads never take turns on
  the CPU, the writer being blocked in the kernel or idle.
* When the buffer is full because the consumer is slow, batches are
  dropped and counted; the count is reported on stderr as it happens and at
  exit.  Memory is bounded by the buffer, however many events go by.

JSON fast path
--------------
Each JSON line must equal ``json.dumps(message.to_dict())`` (repeated
headers become lists).  Building a dict per event and encoding it costs
more than everything else together, so an event block of the usual shape is
turned into JSON with a template instead: a compiled regular expression
that checks the block has exactly these header names and captures the
values, and a ``%`` format string of the JSON object.  That is only valid
when every line is ``Key: value`` with no ``:`` in the key, no key repeats,
and no control character needs escaping; those facts depend on the header
*names* only, so they are checked once, when the template is learned from
the first event that has those names.  Anything else takes the general
path (``json.dumps``), so the output is the same either way; the tests
compare the two.
"""

from __future__ import annotations

import json
import os
import random
import re
import select
import stat
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Callable, Iterable, Sequence

from .errors import AmiError, AmiTimeout, AuthError, ConnectionLost
from .protocol import MAX_HEADERS, Message, Parser, decode

#: Bytes read per ``recv``: large enough that a busy stream costs few calls.
RECV_SIZE = 256 * 1024
#: How long the reader waits for the writer to make room before dropping.
#: Far below Asterisk's 100 ms ``writetimeout``, and the kernel's socket
#: buffers hold far more than this much traffic anyway.
FULL_GRACE = 0.05
#: How often the reader wakes up (to notice a stop request, send a Ping).
TICK = 0.05
#: Unfinished bytes kept by the reader before handing them to the parser,
#: which enforces the protocol's size bounds.
MAX_PENDING = 64 * 1024
#: Reconnect backoff: first delay, cap (seconds).
BACKOFF_FIRST = 0.5
BACKOFF_CAP = 30.0
#: Default ``--buffer``: about 6 MB of events in the usual case.
DEFAULT_BUFFER = 10_000

#: Writes to a pipe up to this size are atomic (POSIX).
_PIPE_BUF = getattr(select, "PIPE_BUF", 512)


# ---------------------------------------------------------------------------
# Filters
# ---------------------------------------------------------------------------

_FILTER_SYNTAX = re.compile(r"\s*([A-Za-z0-9_\-.()/]+)\s*(!=|!~|=|~)(.*)\Z", re.DOTALL)


@dataclass(frozen=True)
class HeaderTest:
    """One ``--filter``: ``Key=Value``, ``Key!=Value``, ``Key~REGEX`` or ``Key!~REGEX``.

    The key is matched case-insensitively, values exactly, a regex anywhere
    in the value (``re.search``).  A header that repeats holds when any of
    its values matches; the negations hold when none does, so a missing
    header satisfies ``!=`` and ``!~`` but not ``=`` and ``~``.
    """

    key: str
    op: str
    value: str
    regex: "re.Pattern[str] | None" = None

    def __call__(self, msg: Message) -> bool:
        values = msg.get_all(self.key)
        if self.regex is None:
            found = self.value in values
        else:
            search = self.regex.search
            found = any(search(v) for v in values)
        return not found if self.op.startswith("!") else found

    def __str__(self) -> str:
        return f"{self.key}{self.op}{self.value}"


def parse_filter(text: str) -> HeaderTest:
    """``"Channel~^PJSIP/"`` -> HeaderTest; ValueError with a reason on bad input."""
    m = _FILTER_SYNTAX.match(text)
    if m is None:
        raise ValueError(f"{text!r}: expected Key=Value, Key!=Value, Key~REGEX or Key!~REGEX")
    key, op, value = m.groups()
    regex = None
    if "~" in op:
        try:
            regex = re.compile(value)
        except re.error as exc:
            raise ValueError(f"{text!r}: bad regular expression: {exc}") from None
    return HeaderTest(key, op, value, regex)


class ServerFilter:
    """Asterisk's ``Filter`` action, done here when the user may not use it.

    Asterisk matches each filter (a regular expression) against the event's
    text, ``Key: Value`` lines in CRLF.  A filter starting with ``!``
    excludes; otherwise it includes.  With include filters an event must
    match one of them, and it must match no exclude filter.
    """

    def __init__(self, patterns: Sequence[str]) -> None:
        self.patterns = list(patterns)
        self.include = [re.compile(p) for p in patterns if not p.startswith("!")]
        self.exclude = [re.compile(p[1:]) for p in patterns if p.startswith("!")]

    def __call__(self, msg: Message) -> bool:
        raw = msg.raw
        if raw.endswith(b"\r\n\r\n"):
            raw = raw[:-2]
        text = decode(raw)
        if self.include and not any(rx.search(text) for rx in self.include):
            return False
        return not any(rx.search(text) for rx in self.exclude)


def check_server_filter(pattern: str) -> None:
    """Raise ValueError when ``pattern`` (``!`` prefix allowed) does not compile."""
    try:
        re.compile(pattern[1:] if pattern.startswith("!") else pattern)
    except re.error as exc:
        raise ValueError(f"{pattern!r}: bad regular expression: {exc}") from None


class EventFilter:
    """Every client-side condition an event must meet.

    ``names``: any of them (case-insensitive); ``tests``: all of them;
    ``server``: the emulated server filter, set when the PBX refused the
    ``Filter`` action.
    """

    def __init__(self, names: Iterable[str] = (), tests: Iterable[HeaderTest] = ()) -> None:
        self.names = frozenset(n.lower() for n in names)
        self.tests = tuple(tests)
        self.server: ServerFilter | None = None

    @property
    def active(self) -> bool:
        return bool(self.names or self.tests or self.server)

    def __call__(self, msg: Message) -> bool:
        if self.names and msg.name.lower() not in self.names:
            return False
        if self.server is not None and not self.server(msg):
            return False
        for test in self.tests:
            if not test(msg):
                return False
        return True


# ---------------------------------------------------------------------------
# Batches and the bounded buffer
# ---------------------------------------------------------------------------


class Batch:
    """Events received together: a region of raw bytes, or a list of messages.

    ``data``: complete event messages exactly as received, each ending in
    CRLF CRLF (see :func:`event_region_count`).  ``received``: epoch seconds
    of the ``recv`` that completed them.
    """

    __slots__ = ("data", "messages", "count", "received", "out")

    def __init__(self, received: float, data: bytes | None = None, messages: list[Message] | None = None,
                 count: int = 0) -> None:
        self.data = data
        self.messages = messages
        self.count = count if data is not None else len(messages or ())
        self.received = received
        #: The batch formatted for the output (set by the reader).
        self.out = b""

    def as_messages(self) -> list[Message]:
        if self.messages is None:
            self.messages = Parser(expect_banner=False).feed(self.data or b"")
            self.data = None
        return self.messages

    def head(self, n: int) -> "Batch":
        """The first ``n`` events."""
        return self.split(n)[0]

    def split(self, n: int) -> "tuple[Batch, Batch]":
        """The first ``n`` events, and the others."""
        if n >= self.count:
            return self, Batch(self.received, messages=[])
        msgs = self.as_messages()
        return Batch(self.received, messages=msgs[:n]), Batch(self.received, messages=msgs[n:])


class EventBuffer:
    """A bounded queue of formatted batches between the reader and the writer.

    Capacity counts events, not batches: those waiting and those being
    written.  When a batch does not fit, what the reader does depends on why:

    * the writer is busy (it writes one batch at a time and frees its room
      when done): the reader waits, which is the fastest the stream can go;
    * the writer is stuck in a write because the consumer of the output is
      slow: after :data:`FULL_GRACE` the batch is dropped and its events
      counted, and later batches are dropped at once until the writer frees
      room.  Reading the socket never waits longer on the output.

    The reader never queues a batch larger than the capacity.
    """

    def __init__(self, capacity: int, grace: float = FULL_GRACE) -> None:
        self.capacity = capacity
        self.grace = grace
        self.dropped = 0
        #: When the writer entered the write it is in (monotonic), else None.
        self.writing_since: float | None = None
        self._items: deque[Batch] = deque()
        self._held = 0
        self._cond = threading.Condition()
        self._closed = False
        self._overflowing = False

    def put(self, batch: Batch) -> int:
        """Queue ``batch``; return how many events were dropped (all of it, or none)."""
        n = batch.count
        if n <= 0:
            return 0
        cond = self._cond
        with cond:
            while not self._closed:
                if self._held + n <= self.capacity:
                    self._items.append(batch)
                    self._held += n
                    cond.notify_all()
                    return 0
                since = self.writing_since
                if since is not None and (self._overflowing or time.monotonic() - since >= self.grace):
                    self.dropped += n
                    self._overflowing = True
                    return n
                cond.wait(self.grace / 2)
            return 0  # the stream is ending: nothing more is written

    def drop_if_stuck(self, n: int) -> bool:
        """Count ``n`` events as dropped, without formatting them, when they would be anyway."""
        with self._cond:
            since = self.writing_since
            if self._overflowing and since is not None and self._held + n > self.capacity:
                self.dropped += n
                return True
            return False

    def take(self, timeout: float) -> list[Batch] | None:
        """Every queued batch (waiting up to ``timeout``); None once closed and empty."""
        with self._cond:
            if not self._items:
                if self._closed:
                    return None
                self._cond.wait(timeout)
                if not self._items:
                    return None if self._closed else []
            items = list(self._items)
            self._items.clear()
            return items

    def release(self, n: int) -> None:
        """The writer is done with ``n`` events: their room is free again."""
        with self._cond:
            self._held -= n
            self._overflowing = False
            self._cond.notify_all()

    def close(self) -> None:
        """No more batches will come: the writer drains what is queued, then ends."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def clear(self) -> None:
        with self._cond:
            for batch in self._items:
                self._held -= batch.count
            self._items.clear()
            self._cond.notify_all()


def event_region_count(region: bytes, max_size: int) -> int:
    """How many events ``region`` holds when it is all events of the usual shape, else 0.

    The usual shape is what the parser's fast path sees: CRLF line ends
    only, every message starting with ``Event:``.  Such bytes give exactly
    the messages the parser would give, so they can be formatted without
    making a message object per event.  (One stray empty line before a
    message may remain; the formats hand such a block to the parser.)
    """
    if region[:6] != b"Event:":
        return 0
    n = region.count(b"\r\n\r\n")
    if n != region.count(b"\r\n\r\nEvent:") + 1:
        return 0
    newlines = region.count(b"\n")
    if newlines != region.count(b"\r\n") or newlines > MAX_HEADERS or len(region) > max_size:
        return 0
    return n


# ---------------------------------------------------------------------------
# Output formats
# ---------------------------------------------------------------------------


def event_time(msg: Message, received: float) -> float:
    """The PBX's ``Timestamp`` (timestampevents = yes) when present, else ``received``."""
    stamp = msg.get("Timestamp")
    if stamp:
        try:
            return float(stamp)
        except ValueError:
            pass
    return received


# Control characters JSON must escape, CR and LF aside (they are the framing).
_CONTROL = bytes(c for c in range(32) if c not in (10, 13))
# ": value" to the end of the line: what stays is the header names.
_VALUES = re.compile(": [^\r]*")
_MAX_TEMPLATES = 2048


class JsonFormat:
    """JSON Lines, one object per event, as ``json.dumps(msg.to_dict())``.

    A ``Received`` key (epoch seconds, as a string like ``Timestamp``) is
    added to an event that has no ``Timestamp`` header.
    """

    def __init__(self) -> None:
        # first 24 characters ("Event: Name...") -> templates: (fullmatch,
        # %-format, needs the time of receipt)
        self._templates: dict[str, list[tuple[Callable[[str], re.Match[str] | None], str, bool]]] = {}
        # the same key -> the template that fitted last (tried first), for
        # events with a Timestamp and for those that need the time of receipt.
        self._timed: dict[str, tuple[Callable[[str], re.Match[str] | None], str]] = {}
        self._untimed: dict[str, tuple[Callable[[str], re.Match[str] | None], str]] = {}
        self._learned = 0

    def format(self, batch: Batch) -> bytes:
        received = f"{batch.received:.6f}"
        if batch.data is not None:
            text = self._region(batch.data, received)
        else:
            text = self._messages(batch.messages or [], received)
        return text.encode("utf-8", "replace")

    # -- the general path ---------------------------------------------------

    @staticmethod
    def one(msg: Message, received: str) -> str:
        """One event as ``json.dumps`` writes it (the reference for the fast path)."""
        obj = msg.to_dict()
        if msg.get("Timestamp") is None and msg.get("Received") is None:
            obj["Received"] = received
        return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))

    def _messages(self, msgs: list[Message], received: str) -> str:
        out: list[str] = []
        run: list[bytes] = []
        for msg in msgs:
            raw = msg.raw
            # Messages of the usual shape go through the fast path together.
            if event_region_count(raw, 1 << 30) == 1:
                run.append(raw)
                continue
            if run:
                out.append(self._region(b"".join(run), received))
                run = []
            out.append(self.one(msg, received) + "\n")
        if run:
            out.append(self._region(b"".join(run), received))
        return "".join(out)

    # -- the fast path --------------------------------------------------------

    def _learn(self, block: str) -> tuple[Callable[[str], re.Match[str] | None], str, bool] | None:
        """A template from ``block`` (escaped text), or None when only the general path is right.

        The template's regex captures each value; its format string is the
        JSON object with ``%s`` for the values (already escaped).  For an
        event without a time it stops inside ``"Received":"``: the time of
        receipt and ``"}`` are added per batch.
        """
        names = _VALUES.sub(": ", block).split("\r\n")
        keys: list[str] = []
        seen: set[str] = set()
        for line in names:
            key = line[:-2]
            if line[-2:] != ": " or not key or ":" in key or "\r" in key or key in seen:
                return None
            seen.add(key)
            keys.append(key)
        has_time = any(k.lower() in ("timestamp", "received") for k in keys)
        pattern = "\r\n".join(re.escape(k) + ": ([^\r]*)" for k in keys)
        body = ",".join('"' + k.replace("%", "%%") + '":"%s"' for k in keys)
        fmt = "{" + body + ("}" if has_time else ',"Received":"')
        if self._learned >= _MAX_TEMPLATES:
            # Bounded memory against a stream of ever-new header names.
            self._templates.clear()
            self._timed.clear()
            self._untimed.clear()
            self._learned = 0
        self._learned += 1
        return re.compile(pattern).fullmatch, fmt, not has_time

    def _region(self, data: bytes, received: str) -> str:
        if len(data.translate(None, _CONTROL)) != len(data):
            # A control character to escape somewhere: the general path.
            msgs = Parser(expect_banner=False).feed(data)
            return "".join(self.one(m, received) + "\n" for m in msgs)
        text = data.decode("utf-8", "replace")
        escape = "\\" in text or '"' in text
        blocks = text.split("\r\n\r\n")
        blocks.pop()
        timed = self._timed.get
        untimed = self._untimed.get
        tail = received + '"}'
        out: list[str] = []
        append = out.append
        # The hot loop: kept to the fewest steps (this runs for every event).
        for i, block in enumerate(blocks):
            if escape and ('"' in block or "\\" in block):
                block = block.replace("\\", "\\\\").replace('"', '\\"')
            # Templates are looked up by the first characters (the event name,
            # for any name up to 17 characters): cheaper than finding the line end.
            key = block[:24]
            template = timed(key)
            if template is not None and (match := template[0](block)) is not None:
                append(template[1] % match.groups())
                continue
            template = untimed(key)
            if template is not None and (match := template[0](block)) is not None:
                append(template[1] % match.groups() + tail)
                continue
            line = self._other(block, key, data, i, received)
            if line:
                append(line)
        if not out:
            return ""
        return "\n".join(out) + "\n"

    def _other(self, block: str, key: str, data: bytes, index: int, received: str) -> str:
        """A block the last template of its key does not fit: another one, a new one, or json.dumps."""
        learned = self._templates.setdefault(key, [])
        for template in learned:
            match = template[0](block)
            if match is not None:
                break
        else:
            template = self._learn(block)  # type: ignore[assignment]
            match = template[0](block) if template is not None else None
            if match is not None:
                learned.insert(0, template)
                del learned[8:]
        if match is None:
            raw = data.split(b"\r\n\r\n")[index] + b"\r\n\r\n"
            msgs = Parser(expect_banner=False).feed(raw)
            return "\n".join(self.one(m, received) for m in msgs if m.kind == "event")
        fullmatch, fmt, needs_time = template
        line = fmt % match.groups()
        if needs_time:
            self._untimed[key] = (fullmatch, fmt)
            return line + received + '"}'
        self._timed[key] = (fullmatch, fmt)
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
        "Event", "Privilege", "Timestamp", "SystemName", "ChannelState", "ChannelStateDesc", "CallerIDNum",
        "CallerIDName", "ConnectedLineNum", "ConnectedLineName", "Language", "AccountCode", "Context", "Exten",
        "Priority", "Uniqueid", "Linkedid", "ActionID", "EventTV", "Severity", "Service", "EventVersion",
        "SessionID", "SessionTV", "LocalAddress", "UsingPassword",
    )
)
_SUMMARY_FIELDS = 5


def _show(value: str) -> str:
    if value and not any(c in value for c in ' "\\\t') and value.isprintable():
        return value
    return json.dumps(value, ensure_ascii=False)


class TextFormat:
    """One line per event for people: time, event name, the fields that matter."""

    def format(self, batch: Batch) -> bytes:
        received = batch.received
        lines = [self.line(m, received) for m in batch.as_messages()]
        return ("\n".join(lines) + "\n").encode("utf-8", "replace") if lines else b""

    @staticmethod
    def line(msg: Message, received: float) -> str:
        when = event_time(msg, received)
        clock = time.strftime("%H:%M:%S", time.localtime(when)) + f".{int(when * 1000) % 1000:03d}"
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
        summary = " ".join(f"{k}={_show(v)}" for k, v in pairs)
        return f"{clock} {name:<18} {summary}".rstrip()


def make_format(name: str) -> JsonFormat | AmiFormat | TextFormat:
    if name == "json":
        return JsonFormat()
    if name == "ami":
        return AmiFormat()
    return TextFormat()


# ---------------------------------------------------------------------------
# The stream
# ---------------------------------------------------------------------------


class StreamCut(Exception):
    """The connection ended (closed, dead, or the PBX shut down)."""

    def __init__(self, reason: str, error: AmiError) -> None:
        super().__init__(reason)
        self.reason = reason
        self.error = error


#: connect() -> a logged-in client, ready to stream, and the events it already received.
Connector = Callable[[], "tuple[object, list[Message]]"]


@dataclass
class StreamOptions:
    fmt: str = "text"
    count: int | None = None
    duration: float | None = None
    buffer: int = DEFAULT_BUFFER
    reconnect: bool = False
    keepalive: float | None = None


@dataclass
class StreamResult:
    """How the stream ended: ``reason`` is count, timeout, pipe, interrupted or error."""

    reason: str
    written: int
    dropped: int
    error: BaseException | None = None



def backoff_delays(first: float = BACKOFF_FIRST, cap: float = BACKOFF_CAP) -> Iterable[float]:
    """Capped exponential backoff with jitter: each delay in [d/2, d], d doubling up to ``cap``."""
    delay = first
    while True:
        yield random.uniform(delay / 2, delay)
        delay = min(cap, delay * 2)


def _clock() -> str:
    return time.strftime("%H:%M:%S")


class EventStream:
    """Run the reader and writer threads until count, timeout, pipe close, error or Ctrl-C.

    ``connect`` opens a logged-in session (used again to reconnect);
    ``client`` and ``early`` are the first session and the events it got
    while being set up.  Notes for people go to ``err``.
    """

    def __init__(
        self,
        connect: Connector,
        client: object,
        early: list[Message],
        options: StreamOptions,
        event_filter: EventFilter,
        *,
        out_fd: int | None = None,
        err: object = None,
        early_filter: Callable[[Message], bool] | None = None,
    ) -> None:
        self.connect = connect
        self.client = client
        self.options = options
        self.filter = event_filter
        self.early_filter = early_filter
        self.out_fd = sys.stdout.fileno() if out_fd is None else out_fd
        self.err = err if err is not None else sys.stderr
        self.formatter = make_format(options.fmt)
        self.buffer = EventBuffer(options.buffer)
        self.written = 0
        #: Events formatted and queued (not dropped): --count stops the reader there.
        self.queued = 0
        self.error: BaseException | None = None
        self.pipe_closed = False
        self.count_reached = False
        self._stop = threading.Event()
        self._writer_stop = threading.Event()
        self.finished = threading.Event()
        self._reader = threading.Thread(target=self._read_loop, name="ami-events-reader", daemon=True)
        self._writer = threading.Thread(target=self._write_loop, name="ami-events-writer", daemon=True)
        self._dropped_reported = 0
        self._queue_early(early, time.time())

    # -- notes ------------------------------------------------------------

    def note(self, text: str) -> None:
        try:
            self.err.write(f"ami: {text}\n")  # type: ignore[attr-defined]
            self.err.flush()  # type: ignore[attr-defined]
        except (OSError, ValueError):
            pass

    def report_drops(self, final: bool = False) -> None:
        dropped = self.buffer.dropped
        if final:
            if dropped:
                self.note(
                    f"warning: {dropped} event{'s' if dropped != 1 else ''} dropped in all: the output did not keep "
                    f"up with the PBX (a --buffer of {self.options.buffer} events was full)"
                )
            return
        new = dropped - self._dropped_reported
        if new > 0:
            self._dropped_reported = dropped
            self.note(f"warning: output too slow: {new} events dropped ({dropped} so far)")

    # -- running ------------------------------------------------------------

    def run(self) -> StreamResult:
        """Stream until the end; Ctrl-C ends it with reason ``interrupted``."""
        duration = self.options.duration
        deadline = None if duration is None else time.monotonic() + duration
        timed_out = False
        self._writer.start()
        self._reader.start()
        try:
            while not self.finished.wait(1.0 if deadline is None else max(0.0, min(1.0, deadline - time.monotonic()))):
                self.report_drops()
                if deadline is not None and time.monotonic() >= deadline:
                    timed_out = True
                    break
        except KeyboardInterrupt:
            self._shutdown(drain=False)
            self.report_drops(final=True)
            return StreamResult("interrupted", self.written, self.buffer.dropped)
        if self.pipe_closed:
            reason = "pipe"
        elif self.count_reached:
            reason = "count"
        elif timed_out:
            reason = "timeout"
        else:
            reason = "error"
        # Events already received are still written (within a short time)
        # when the stream ends by timeout or by a lost connection.
        self._shutdown(drain=reason in ("timeout", "error"))
        if self.pipe_closed:
            reason = "pipe"
        elif self.count_reached:
            reason = "count"
        if reason != "pipe":
            self.report_drops(final=True)
        return StreamResult(reason, self.written, self.buffer.dropped, self.error)

    @property
    def reader_alive(self) -> bool:
        return self._reader.is_alive()

    def _shutdown(self, drain: bool) -> None:
        self._stop.set()
        if not drain:
            self._writer_stop.set()
            self.buffer.clear()
        self.buffer.close()
        self._reader.join(1.0)
        self._writer.join(2.0 if drain else 0.5)
        self._writer_stop.set()

    # -- the reader ---------------------------------------------------------

    def _queue_early(self, early: list[Message], received: float) -> None:
        keep = [
            m for m in early
            if m.kind == "event" and (self.early_filter is None or self.early_filter(m)) and self.filter(m)
        ]
        if keep:
            self._emit(Batch(received, messages=keep))

    def _emit(self, batch: Batch) -> None:
        """Format ``batch`` and queue it for the writer (in parts no larger than the buffer).

        The reader formats: the writer only writes, so the two threads do
        not take turns on the CPU, and a slow output still costs the reader
        nothing more than a dropped batch.
        """
        count = self.options.count
        if count is not None and batch.count > count - self.queued:
            batch = batch.head(max(0, count - self.queued))
        capacity = self.buffer.capacity
        while batch.count:
            part, batch = batch.split(capacity) if batch.count > capacity else (batch, Batch(0.0, messages=[]))
            if self.buffer.drop_if_stuck(part.count):
                continue
            part.out = self.formatter.format(part)
            self.queued += part.count - self.buffer.put(part)

    def _read_loop(self) -> None:
        try:
            while not self._stop.is_set():
                try:
                    self._pump(self.client)
                    return
                except StreamCut as cut:
                    self._close_quietly(self.client)
                    if not self.options.reconnect or self._stop.is_set():
                        self.error = cut.error
                        return
                    client = self._reconnect(cut.reason)
                    if client is None:
                        return
                    self.client = client
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            self.error = exc
        finally:
            # The writer drains what is queued, then ends the stream.
            self.buffer.close()

    @staticmethod
    def _close_quietly(client: object) -> None:
        client.closed = True  # type: ignore[attr-defined]
        try:
            client.close()  # type: ignore[attr-defined]
        except Exception:  # noqa: BLE001 - the connection is already gone
            pass

    def _reconnect(self, reason: str) -> object | None:
        self.note(f"warning: stream cut at {_clock()}: {reason}; reconnecting")
        started = time.monotonic()
        attempts = 0
        for delay in backoff_delays():
            if self._stop.wait(delay):
                return None
            attempts += 1
            try:
                client, early = self.connect()
            except AuthError:
                raise
            except AmiError:
                continue
            gap = time.monotonic() - started
            self.note(
                f"stream resumed at {_clock()} after {gap:.1f} s "
                f"({attempts} attempt{'s' if attempts != 1 else ''}); events in between are lost"
            )
            self._queue_early(early, time.time())
            return client
        return None  # pragma: no cover - the generator never ends

    def _pump(self, client) -> None:  # noqa: C901 - one loop, kept together for speed
        """Read until asked to stop; raise StreamCut when the connection ends."""
        sock = client.sock
        parser: Parser = client.parser
        pending = parser.take()
        max_size = min(parser.max_line, parser.max_message)
        event_filter = self.filter
        keepalive = self.options.keepalive
        dead_after = client.timeout
        address = client.address
        stop = self._stop
        recv = sock.recv
        sock.settimeout(TICK)
        emit = self._emit
        count = self.options.count
        now = time.monotonic()
        next_ping = now + keepalive if keepalive else float("inf")
        ping_sent: float | None = None
        try:
            while not stop.is_set():
                if count is not None and self.queued >= count:
                    return  # all the events wanted are read
                try:
                    data = recv(RECV_SIZE)
                except TimeoutError:
                    data = None
                except OSError as exc:
                    raise StreamCut(
                        f"connection to {address} failed: {getattr(exc, 'strerror', None) or exc}",
                        ConnectionLost(f"connection to {address} lost: {getattr(exc, 'strerror', None) or exc}"),
                    ) from None
                if data == b"":
                    raise StreamCut(
                        f"{address} closed the connection", ConnectionLost(f"{address} closed the connection")
                    )
                now = time.monotonic()
                if data:
                    ping_sent = None
                    received = time.time()
                    shutdown = None
                    msgs = None
                    if parser.buffered == 0:
                        data = pending + data if pending else data
                        end = data.rfind(b"\r\n\r\n")
                        if end < 0:
                            pending = data
                            if len(pending) > MAX_PENDING or _lf_framed(pending):
                                msgs = parser.feed(pending)
                                pending = b""
                        else:
                            end += 4
                            region = data[:end]
                            pending = data[end:]
                            n = 0 if event_filter.active else event_region_count(region, max_size)
                            if n and b"Event: Shutdown\r\n" in region:
                                n = 0
                            if n:
                                emit(Batch(received, data=region, count=n))
                            else:
                                msgs = parser.feed(region)
                            if _lf_framed(pending):
                                # A message ended by bare LF after the last CRLF CRLF: the
                                # parser has it now, not when the next CRLF CRLF comes.
                                msgs = (msgs or []) + parser.feed(pending)
                                pending = b""
                    else:
                        msgs = parser.feed(pending + data if pending else data)
                        pending = b""
                    if msgs:
                        keep = []
                        for msg in msgs:
                            if msg.kind != "event":
                                continue
                            if event_filter(msg):
                                keep.append(msg)
                            if msg.name == "Shutdown":
                                shutdown = msg
                        if keep:
                            emit(Batch(received, messages=keep))
                    if shutdown is not None:
                        what = ", ".join(f"{k}: {shutdown.get(k)}" for k in ("Shutdown", "Restart") if shutdown.get(k))
                        reason = f"the PBX is shutting down ({what})" if what else "the PBX is shutting down"
                        raise StreamCut(reason, ConnectionLost(f"{reason}; {address} ended the session"))
                if keepalive:
                    if ping_sent is not None and now - ping_sent > dead_after:
                        message = (
                            f"no answer from {address} to the keepalive Ping within {dead_after:g} s: "
                            "the connection is dead"
                        )
                        raise StreamCut(message, AmiTimeout(message))
                    if now >= next_ping:
                        try:
                            client.send([("Action", "Ping")])
                        except AmiError as exc:
                            raise StreamCut(str(exc), exc) from None
                        finally:
                            sock.settimeout(TICK)
                        if ping_sent is None:
                            ping_sent = now
                        next_ping = now + keepalive
        finally:
            # Hand the unread bytes back, so the Logoff reply is read in step.
            if pending:
                try:
                    parser.feed(pending)
                except AmiError:
                    pass

    # -- the writer ---------------------------------------------------------

    def _write_loop(self) -> None:
        buffer = self.buffer
        count = self.options.count
        fd = self.out_fd
        try:
            mode = os.fstat(fd).st_mode
        except OSError:
            mode = 0
        # A pipe or socket is written in whole lines of at most PIPE_BUF bytes:
        # such writes are atomic, so a consumer never sees half a line, even
        # when ami is interrupted while the consumer is not reading.
        piecewise = stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)
        try:
            while not self._writer_stop.is_set():
                batches = buffer.take(TICK)
                if batches is None:
                    return
                for batch in batches:
                    if self._writer_stop.is_set():
                        buffer.release(batch.count)
                        continue
                    data = batch.out
                    if data:
                        buffer.writing_since = time.monotonic()
                        try:
                            if piecewise:
                                _write_lines(fd, data, self._writer_stop)
                            else:
                                _write_all(fd, data)
                        finally:
                            buffer.writing_since = None
                    self.written += batch.count
                    buffer.release(batch.count)
                    if count is not None and self.written >= count:
                        self.count_reached = True
                        return
        except BrokenPipeError:
            self.pipe_closed = True
        except OSError as exc:
            if self.error is None:
                self.error = AmiError(f"cannot write the output: {exc.strerror or exc}")
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            if self.error is None:
                self.error = exc
        finally:
            self.finished.set()


def _lf_framed(data: bytes) -> bool:
    """Whether ``data`` may end a message with bare LF line ends (which the parser accepts)."""
    return b"\n\n" in data or b"\n\r\n" in data


def _write_lines(fd: int, data: bytes, stop: threading.Event) -> None:
    """Write ``data`` in pieces of whole lines, each at most PIPE_BUF bytes when it can be.

    Stops between two pieces when ``stop`` is set.  A single line longer
    than PIPE_BUF goes out alone (it cannot be atomic).
    """
    view = memoryview(data)
    size = len(data)
    start = 0
    while start < size:
        if stop.is_set():
            return
        end = start + _PIPE_BUF
        if end >= size:
            end = size
        else:
            newline = data.rfind(b"\n", start, end)
            if newline >= 0:
                end = newline + 1
            else:
                newline = data.find(b"\n", end)
                end = size if newline < 0 else newline + 1
        _write_all(fd, view[start:end])
        start = end


def _write_all(fd: int, data: bytes) -> None:
    """Write everything (a pipe may take it in parts; a non-blocking fd is waited on)."""
    view = memoryview(data)
    while view:
        try:
            written = os.write(fd, view)
        except BlockingIOError:
            select.select([], [fd], [])
            continue
        view = view[written:]
