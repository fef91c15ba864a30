"""Placing calls with Originate and learning how each one ended.  No click here.

The outcome of an Originate comes in two steps on Asterisk (see the
``originate-*`` transcripts):

1. ``Async: true`` makes the PBX answer at once, ``Originate successfully
   queued`` (or an error when it refuses the action itself: permission
   denied, invalid channel, extension does not exist...).
2. The outcome follows as an ``OriginateResponse`` event carrying our
   ActionID and a ``Reason`` (Asterisk's AST_CONTROL_* value): 4 answered,
   5 busy, 3 rang without answer, 8 congestion, 1 hung up, 0 anything else.
   Asterisk sends it as a ``call`` event, so only sessions that may read
   ``call`` events (and asked for them) ever get it.

Knowing quickly that the event will never come
-----------------------------------------------
AMI has no action that says what a session may read, so we learn it from the
call itself.  Right after "queued", Asterisk's originate thread requests the
channel, which publishes ``Newchannel`` at once; when the channel cannot be
created, the ``OriginateResponse`` itself is published at once.  Either is a
``call`` event sent before any ringing starts, whatever the ring timeout.  The
session logs in with ``Events: call`` only, so *any* event it receives proves
that call events reach it.  Silence for ``grace`` seconds after the first call
was queued therefore means they never will (the user lacks ``read=call``, or
the events are switched off or filtered): we stop waiting then, long before
the ring timeout, and say so (the call may still ring: hence ``--no-wait``).

A call is never retried here: a retried Originate rings someone twice.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator, Mapping, Sequence

from .client import Client, Reply, error_for, new_action_id
from .errors import AmiError, AmiTimeout, ExitCode
from .protocol import Message, check_value

#: Ring time when none is given (seconds), as Asterisk's own default.
DEFAULT_RING_TIMEOUT = 30.0
#: Extra wait past the ring timeout for the outcome, and the longest wait for
#: the first call event after a call was queued (seconds).
DEFAULT_GRACE = 3.0
DEFAULT_CONTEXT = "default"
DEFAULT_PRIORITY = "1"

#: OriginateResponse ``Reason`` (Asterisk's AST_CONTROL_* values) in words.
REASON_TEXT = {
    0: "failed",
    1: "hangup",
    2: "ring",
    3: "no answer",
    4: "answered",
    5: "busy",
    8: "congestion",
}

# Outcomes, as printed in the ``Outcome`` field.
ANSWERED = "answered"
BUSY = "busy"
NO_ANSWER = "no-answer"
CONGESTION = "congestion"
FAILED = "failed"
REFUSED = "refused"  # the PBX refused the Originate action itself
UNKNOWN = "unknown"  # queued (perhaps), but the outcome never came
QUEUED = "queued"  # --no-wait: the PBX queued the call

#: Exit status of each outcome of a call the PBX accepted.
OUTCOME_EXIT = {
    ANSWERED: ExitCode.OK,
    BUSY: ExitCode.BUSY,
    NO_ANSWER: ExitCode.NO_ANSWER,
    CONGESTION: ExitCode.CONGESTION,
    FAILED: ExitCode.CALL_FAILED,
    UNKNOWN: ExitCode.OUTCOME_UNKNOWN,
    QUEUED: ExitCode.OK,
}

#: Every field a result may hold, for ``--fields``.
RESULT_FIELDS = [
    "Outcome",
    "Response",
    "Reason",
    "ReasonText",
    "Channel",
    "Uniqueid",
    "Context",
    "Exten",
    "Priority",
    "Application",
    "Data",
    "CallerIDNum",
    "CallerIDName",
    "ActionID",
    "Message",
    "Error",
    "ExitCode",
    "Seconds",
    "Line",
    "Event",
    "Privilege",
    "Timestamp",
    "SystemName",
]

# A variable name: what Asterisk takes as one (functions such as CDR(x) included),
# without the characters that would change how the header is split.
_VAR_NAME = re.compile(r"^[A-Za-z0-9_.()\-:]+$")
# Characters that Asterisk's argument splitter gives a meaning to in a value.
_VAR_SPECIAL = re.compile(r'[\\",()\[\]]')


#: The events that carry an Originate's outcome: OriginateResponse since
#: Asterisk 1.6; OriginateSuccess / OriginateFailure before (same headers).
_OUTCOME_EVENTS = ("originateresponse", "originatesuccess", "originatefailure")


class OutcomeUnknown(AmiError):
    """The call was (perhaps) placed, but how it ended is not known."""

    exit_code = ExitCode.OUTCOME_UNKNOWN


class NoCallEvents(OutcomeUnknown):
    """No call event reached the session: the OriginateResponse never will."""


# -- what to call -------------------------------------------------------------


@dataclass
class CallSpec:
    """One call to place: the fields of ``ami originate``'s options."""

    channel: str
    exten: str | None = None
    context: str | None = None
    priority: str | None = None
    app: str | None = None
    data: str | None = None
    caller_id: str | None = None
    timeout: float = DEFAULT_RING_TIMEOUT
    variables: list[tuple[str, str]] = field(default_factory=list)
    account: str | None = None
    codecs: str | None = None
    channel_id: str | None = None
    other_channel_id: str | None = None
    early_media: bool = False
    #: Line number in a batch file (None for a call from the command line).
    line: int | None = None

    def check(self) -> "CallSpec":
        """Raise ValueError (one sentence) when the call cannot be sent as given."""
        if not self.channel:
            raise ValueError("no channel given")
        if (self.exten is None) == (self.app is None):
            raise ValueError("give exactly one target: exten (with context and priority) or app (with data)")
        if self.app is not None:
            if self.context is not None or self.priority is not None:
                raise ValueError("context and priority go with exten, not with app")
            if not self.app:
                raise ValueError("app is empty")
        else:
            if self.data is not None:
                raise ValueError("data goes with app, not with exten")
            if not self.exten:
                raise ValueError("exten is empty")
        if not (isinstance(self.timeout, (int, float)) and math.isfinite(self.timeout) and self.timeout > 0):
            raise ValueError(f"timeout must be a number of seconds above 0, not {self.timeout!r}")
        for name, _ in self.variables:
            check_variable_name(name)
        for key, value in self.headers("x"):
            check_value(key, value)
        return self

    @property
    def ring_timeout(self) -> float:
        return float(self.timeout)

    def target(self) -> list[tuple[str, str]]:
        """The target headers, as the request and the result show them."""
        if self.app is not None:
            return [("Application", self.app), ("Data", self.data or "")]
        return [
            ("Context", self.context or DEFAULT_CONTEXT),
            ("Exten", self.exten or ""),
            ("Priority", self.priority or DEFAULT_PRIORITY),
        ]

    def headers(self, action_id: str, *, run_async: bool = True) -> list[tuple[str, str]]:
        """The Originate action for this call."""
        out: list[tuple[str, str]] = [("Action", "Originate"), ("ActionID", action_id), ("Channel", self.channel)]
        out += self.target()
        out.append(("Timeout", str(max(1, round(float(self.timeout) * 1000)))))
        if self.caller_id:
            out.append(("CallerID", self.caller_id))
        if self.account:
            out.append(("Account", self.account))
        if self.codecs:
            out.append(("Codecs", self.codecs))
        if self.channel_id:
            out.append(("ChannelId", self.channel_id))
        if self.other_channel_id:
            out.append(("OtherChannelId", self.other_channel_id))
        if self.early_media:
            out.append(("EarlyMedia", "true"))
        if run_async:
            out.append(("Async", "true"))
        out += [("Variable", variable_header(name, value)) for name, value in self.variables]
        return out


def check_variable_name(name: str) -> None:
    if not name or not _VAR_NAME.match(name):
        raise ValueError(f"invalid variable name {name!r} (letters, digits and _ . ( ) - : only)")


def parse_var(text: str) -> tuple[str, str]:
    """``KEY=VALUE`` -> (KEY, VALUE), split at the first ``=`` (the value may hold more)."""
    name, sep, value = text.partition("=")
    if not sep:
        raise ValueError(f"{text!r}: expected KEY=VALUE")
    name = name.strip()
    check_variable_name(name)
    return name, value


def variable_header(name: str, value: str) -> str:
    """The value of one ``Variable:`` header that sets ``name`` to exactly ``value``.

    Asterisk splits a Variable header at commas into several NAME=VALUE
    pairs (its application-argument splitter), honouring double quotes and
    backslash escapes and removing both.  A value holding any character
    that splitter reacts to, or blanks at either end, is therefore sent
    quoted, with ``\\`` and ``"`` escaped; any other value is sent as is.
    ``=`` needs nothing: the name ends at the first one.
    """
    if _VAR_SPECIAL.search(value) or value != value.strip():
        escaped = value.replace("\\", "\\\\").replace('"', '\\"')
        return f'{name}="{escaped}"'
    return f"{name}={value}"


# -- results ------------------------------------------------------------------


def outcome_for(reason: str | None, response: str | None = None) -> tuple[str, str]:
    """(outcome, reason in words) for an OriginateResponse's Reason and Response."""
    try:
        code = int((reason or "").strip())
    except ValueError:
        code = None
    text = REASON_TEXT.get(code, f"reason {reason}") if code is not None else "unknown"
    if code == 4 or (code is None and (response or "").lower() == "success"):
        return ANSWERED, "answered" if code is None else text
    if code == 5:
        return BUSY, text
    if code == 3:
        return NO_ANSWER, text
    if code == 8:
        return CONGESTION, text
    return FAILED, text


@dataclass
class CallResult:
    """How one call ended (or why it was not placed, or that nobody knows)."""

    spec: CallSpec
    action_id: str
    outcome: str
    exit_code: int
    event: Message | None = None
    reply: Message | None = None
    error: str | None = None
    seconds: float | None = None

    @property
    def ok(self) -> bool:
        return self.exit_code == ExitCode.OK

    def record(self) -> dict[str, object]:
        """The result as one JSON object.

        Keys are the OriginateResponse's headers as Asterisk sent them (or,
        when there is none, the request's), then derived keys: ``Outcome``,
        ``ReasonText``, ``ExitCode``, ``Seconds``, ``Error``, ``Line``.
        """
        rec: dict[str, object] = {}
        if self.event is not None:
            rec.update(self.event.to_dict())
            if self.spec.exten is not None and "Priority" not in rec:
                rec["Priority"] = self.spec.priority or DEFAULT_PRIORITY
        else:
            rec["ActionID"] = self.action_id
            if self.reply is not None:
                rec["Response"] = self.reply.get("Response") or ""
                if self.reply.get("Message") is not None:
                    rec["Message"] = self.reply.get("Message")
            rec["Channel"] = self.spec.channel
            rec.update(self.spec.target())
        rec["Outcome"] = self.outcome
        if self.event is not None:
            rec["ReasonText"] = outcome_for(self.event.get("Reason"), self.event.get("Response"))[1]
        rec["ExitCode"] = int(self.exit_code)
        if self.seconds is not None:
            rec["Seconds"] = round(self.seconds, 3)
        if self.error:
            rec["Error"] = self.error
        if self.spec.line is not None:
            rec["Line"] = self.spec.line
        return rec


def table_columns(spec: CallSpec, outcome: str) -> list[str]:
    """The columns of the default table for one result."""
    if outcome == QUEUED:
        return ["Outcome", "ActionID", "Channel", "Message"]
    target = ["Application", "Data"] if spec.app is not None else ["Context", "Exten", "Priority"]
    if outcome == UNKNOWN:
        return ["Outcome", "ActionID", "Channel", *target]
    return ["Outcome", "Reason", "ReasonText", "Channel", "Uniqueid", *target, "CallerIDNum", "CallerIDName"]


# -- batch input --------------------------------------------------------------


@dataclass
class BadLine:
    """A batch line that cannot be a call; reported and skipped."""

    line: int
    reason: str


#: Batch field names (and their aliases) -> CallSpec attribute.
FIELD_ALIASES = {
    "channel": "channel",
    "exten": "exten",
    "extension": "exten",
    "context": "context",
    "priority": "priority",
    "app": "app",
    "application": "app",
    "data": "data",
    "caller_id": "caller_id",
    "callerid": "caller_id",
    "timeout": "timeout",
    "var": "variables",
    "vars": "variables",
    "variable": "variables",
    "variables": "variables",
    "account": "account",
    "codecs": "codecs",
    "channel_id": "channel_id",
    "channelid": "channel_id",
    "other_channel_id": "other_channel_id",
    "otherchannelid": "other_channel_id",
    "early_media": "early_media",
    "earlymedia": "early_media",
}
_TRUE = {"1", "yes", "true", "on", "y"}
_FALSE = {"0", "no", "false", "off", "n", ""}


def _field_name(key: str) -> str:
    canon = key.strip().lower().replace("-", "_")
    if canon not in FIELD_ALIASES:
        known = ", ".join(sorted(set(FIELD_ALIASES.values()) - {"variables"}) + ["var"])
        raise ValueError(f"unknown field {key!r} (known: {known})")
    return FIELD_ALIASES[canon]


def _as_bool(value: object, name: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"{name}: expected yes or no, got {value!r}")


def _as_text(value: object, name: str) -> str:
    if isinstance(value, bool) or value is None or isinstance(value, (dict, list)):
        raise ValueError(f"{name}: expected a string, got {json.dumps(value)}")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


def _variables(value: object) -> list[tuple[str, str]]:
    """``{"A": "1"}``, ``["A=1", ...]`` or ``"A=1"`` -> pairs."""
    if isinstance(value, dict):
        out = []
        for name, val in value.items():
            check_variable_name(str(name))
            out.append((str(name), _as_text(val, f"var {name}")))
        return out
    if isinstance(value, list):
        return [parse_var(_as_text(v, "var")) for v in value]
    if isinstance(value, str):
        return [parse_var(value)] if value else []
    raise ValueError(f"var: expected an object, a list or KEY=VALUE, got {json.dumps(value)}")


def spec_from_fields(fields: Mapping[str, object], defaults: CallSpec | None, line: int) -> CallSpec:
    """A CallSpec from one batch record; ``defaults`` (the command line) fills the gaps."""
    values: dict[str, object] = {}
    variables: list[tuple[str, str]] = []
    for key, raw in fields.items():
        if key.lower().startswith("var:"):
            # CSV: a column per variable, "var:NAME".
            name = key[4:].strip()
            check_variable_name(name)
            if raw not in (None, ""):
                variables.append((name, _as_text(raw, key)))
            continue
        name = _field_name(key)
        if raw is None or raw == "":
            continue
        if name == "variables":
            variables += _variables(raw)
        elif name == "early_media":
            values[name] = _as_bool(raw, key)
        elif name == "timeout":
            if isinstance(raw, bool):
                raise ValueError("timeout: expected seconds")
            try:
                values[name] = float(raw)  # type: ignore[arg-type]
            except (TypeError, ValueError):
                raise ValueError(f"timeout: expected seconds, got {raw!r}") from None
        else:
            values[name] = _as_text(raw, key)
    base = defaults or CallSpec(channel="")
    if "exten" in values or "app" in values:
        # The line names its own target: the command line's target (and the
        # data that goes with its app) does not carry over; its context and
        # priority still serve as defaults for an exten.  --data without
        # --app is a default of every line, checked with the line's target.
        exten, app = values.get("exten"), values.get("app")
        context = values.get("context", base.context if exten is not None else None)
        priority = values.get("priority", base.priority if exten is not None else None)
        data = values.get("data", base.data if base.app is None else None)
    else:
        exten, app = base.exten, base.app
        context = values.get("context", base.context)
        priority = values.get("priority", base.priority)
        data = values.get("data", base.data)
    spec = CallSpec(
        channel=str(values.get("channel", "")),
        exten=exten,  # type: ignore[arg-type]
        context=context,  # type: ignore[arg-type]
        priority=priority,  # type: ignore[arg-type]
        app=app,  # type: ignore[arg-type]
        data=data,  # type: ignore[arg-type]
        caller_id=values.get("caller_id", base.caller_id),  # type: ignore[arg-type]
        timeout=values.get("timeout", base.timeout),  # type: ignore[arg-type]
        variables=list(base.variables) + variables,
        account=values.get("account", base.account),  # type: ignore[arg-type]
        codecs=values.get("codecs", base.codecs),  # type: ignore[arg-type]
        channel_id=values.get("channel_id"),  # type: ignore[arg-type]
        other_channel_id=values.get("other_channel_id"),  # type: ignore[arg-type]
        early_media=bool(values.get("early_media", base.early_media)),
        line=line,
    )
    if not spec.channel:
        raise ValueError("no channel")
    return spec.check()


def _decoded_lines(stream: Iterable[bytes]) -> Iterator[tuple[int, str | None]]:
    """(line number, text without its line end), text None when not UTF-8."""
    for number, raw in enumerate(stream, 1):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            yield number, None
            continue
        yield number, text.rstrip("\r\n")


def read_batch(stream: Iterable[bytes], defaults: CallSpec | None = None) -> Iterator[CallSpec | BadLine]:
    """The calls of a batch file: JSON Lines, or CSV with a header row.

    The format is told by the first line that is not blank: ``{`` starts
    JSON Lines.  Read lazily, so calls start before a long stdin ends.
    """
    lines = _decoded_lines(stream)
    first: tuple[int, str | None] | None = None
    for number, text in lines:
        if text is None:
            yield BadLine(number, "not UTF-8 text")
            continue
        if text.strip():
            first = (number, text)
            break
    if first is None:
        return

    def chained() -> Iterator[tuple[int, str | None]]:
        yield first  # type: ignore[misc]
        yield from lines

    if first[1].lstrip().startswith("{"):  # type: ignore[union-attr]
        yield from _read_jsonl(chained(), defaults)
    else:
        yield from _read_csv(chained(), defaults)


def _read_jsonl(lines: Iterable[tuple[int, str | None]], defaults: CallSpec | None) -> Iterator[CallSpec | BadLine]:
    for number, text in lines:
        if text is None:
            yield BadLine(number, "not UTF-8 text")
            continue
        if not text.strip():
            continue
        try:
            obj = json.loads(text)
        except ValueError as exc:
            yield BadLine(number, f"not JSON: {exc.msg} at column {exc.colno}")
            continue
        if not isinstance(obj, dict):
            yield BadLine(number, "expected a JSON object")
            continue
        try:
            yield spec_from_fields(obj, defaults, number)
        except ValueError as exc:
            yield BadLine(number, str(exc))


def _read_csv(lines: Iterable[tuple[int, str | None]], defaults: CallSpec | None) -> Iterator[CallSpec | BadLine]:
    # csv needs the physical lines (a quoted value may span several); the
    # line number reported is that of the record's first line.
    lines = iter(lines)
    header_number, header_text = next(lines)
    try:
        header = next(csv.reader([header_text or ""]))
    except csv.Error as exc:
        yield BadLine(header_number, f"CSV header row: {exc}")
        return
    header = [h.strip() for h in header]
    try:
        for name in header:
            if not name.lower().startswith("var:"):
                _field_name(name)
    except ValueError as exc:
        # Without a usable header no row can be read: every row is bad.
        for number, text in lines:
            if text is not None and text.strip():
                yield BadLine(number, f"CSV header row (line {header_number}): {exc}")
        return
    pending: list[str] = []
    start = 0
    for number, text in lines:
        if text is None:
            yield BadLine(number, "not UTF-8 text")
            continue
        if not pending:
            if not text.strip():
                continue
            start = number
        pending.append(text)
        joined = "\n".join(pending)
        if joined.count('"') % 2:  # an open quoted value: the record goes on
            continue
        pending = []
        try:
            row = next(csv.reader(io.StringIO(joined)))
        except (csv.Error, StopIteration) as exc:
            yield BadLine(start, f"not CSV: {exc}")
            continue
        if len(row) != len(header):
            yield BadLine(start, f"{len(row)} values for {len(header)} columns")
            continue
        fields: dict[str, object] = {}
        var_cells: list[str] = []
        for name, value in zip(header, row, strict=True):
            if _field_name_or_none(name) == "variables":
                if value:
                    var_cells.append(value)
            else:
                fields[name] = value
        try:
            if var_cells:
                fields["var"] = var_cells
            yield spec_from_fields(fields, defaults, start)
        except ValueError as exc:
            yield BadLine(start, str(exc))
    if pending:
        yield BadLine(start, "not CSV: a quoted value is never closed")


def _field_name_or_none(name: str) -> str | None:
    try:
        return _field_name(name)
    except ValueError:
        return None


# -- running calls ------------------------------------------------------------


@dataclass
class _InFlight:
    spec: CallSpec
    action_id: str
    reply: Reply
    sent_at: float
    queued_at: float | None = None


def run_calls(
    client: Client,
    items: Iterable[CallSpec | BadLine],
    *,
    parallel: int = 1,
    grace: float = DEFAULT_GRACE,
    wait: bool = True,
    clock: Callable[[], float] = time.monotonic,
) -> Iterator[CallResult | BadLine]:
    """Place the calls, at most ``parallel`` in flight, and yield each result as it ends.

    ``client`` is logged in; with ``wait`` it must keep events
    (``keep_events=True``) and receive ``call`` events.  Bad lines pass
    through in their place.  Without ``wait``, a call's result is its
    queuing (``queued``).  Raises :class:`NoCallEvents` (after yielding the
    calls in flight as ``unknown``) when the session turns out to receive no
    call events; the calls not yet placed are then never placed.  Nothing is
    ever sent twice.
    """
    if parallel < 1:
        raise ValueError("parallel must be at least 1")
    source = iter(items)
    inflight: dict[str, _InFlight] = {}
    exhausted = False
    events_seen = False
    first_queued: float | None = None

    def finish(flight: _InFlight, outcome: str, code: int, **kw: object) -> CallResult:
        inflight.pop(flight.action_id, None)
        since = flight.queued_at if flight.queued_at is not None else flight.sent_at
        return CallResult(flight.spec, flight.action_id, outcome, code, seconds=clock() - since, **kw)  # type: ignore[arg-type]

    while True:
        took_input = False
        while not exhausted and len(inflight) < parallel:
            took_input = True
            item = next(source, None)
            if item is None:
                exhausted = True
                break
            if isinstance(item, BadLine):
                yield item
                continue
            action_id = new_action_id()
            try:
                reply = client.submit(item.headers(action_id))
            except AmiError as exc:
                # Sent in part, or not at all: nobody can tell whether it rings.
                lost = _InFlight(item, action_id, Reply(action=[]), clock())
                yield from _lost(finish, [*inflight.values(), lost], exc)
            inflight[action_id] = _InFlight(item, action_id, reply, clock())
        if not inflight:
            return
        if took_input:
            # Reading the input may have blocked (a slow stdin): take in what
            # the PBX sent meanwhile before judging any deadline.
            try:
                _drain(client)
            except AmiError as exc:
                yield from _lost(finish, list(inflight.values()), exc)

        ready: list[CallResult] = []
        now = clock()
        # 1. Replies to the Originate actions: queued, or refused.
        for flight in list(inflight.values()):
            if flight.queued_at is None and flight.reply.done:
                client.wait(flight.reply, 0)  # forget it on the client's side
                if not flight.reply.ok:
                    exc = error_for(flight.reply.response, flight.reply.action) if flight.reply.response else None
                    code = exc.exit_code if exc is not None else ExitCode.ACTION_FAILED
                    ready.append(finish(flight, REFUSED, code, reply=flight.reply.response, error=str(exc or "")))
                    continue
                flight.queued_at = now
                if first_queued is None:
                    first_queued = now
                if not wait:
                    ready.append(finish(flight, QUEUED, ExitCode.OK, reply=flight.reply.response))
        # 2. Events: any at all proves call events reach us; ours end calls.
        while client.events:
            msg = client.events.popleft()
            is_outcome = (msg.get("Event") or "").lower() in _OUTCOME_EVENTS
            events_seen = events_seen or is_outcome or _is_call_event(msg)
            if not is_outcome:
                continue
            flight = inflight.get(msg.action_id or "")
            if flight is None:
                continue
            response = msg.get("Response") or ("Success" if msg.name.lower() == "originatesuccess" else None)
            outcome, _ = outcome_for(msg.get("Reason"), response)
            ready.append(finish(flight, outcome, OUTCOME_EXIT[outcome], event=msg))
        # 3. Deadlines.
        for flight in list(inflight.values()):
            if flight.queued_at is None:
                if now >= flight.sent_at + client.timeout:
                    ready.append(
                        finish(
                            flight,
                            UNKNOWN,
                            ExitCode.OUTCOME_UNKNOWN,
                            error=f"no reply to Originate from {client.address} within {client.timeout:g} s "
                            "(the call may ring)",
                        )
                    )
            elif now >= flight.queued_at + flight.spec.ring_timeout + grace:
                ready.append(
                    finish(
                        flight,
                        UNKNOWN,
                        ExitCode.OUTCOME_UNKNOWN,
                        error=f"no OriginateResponse within {flight.spec.ring_timeout:g} s ring timeout "
                        f"+ {grace:g} s grace (the call may have rung)",
                    )
                )
        if wait and not events_seen and first_queued is not None and now >= first_queued + grace and inflight:
            message = (
                f"no call events reached this session within {grace:g} s of the call being queued, so its "
                "outcome cannot be known: the AMI user needs read=call (or read=all) in manager.conf, with "
                "no eventfilter hiding call events. The call may ring anyway: do not retry it blindly; "
                "use --no-wait to place calls without waiting for the outcome"
            )
            yield from ready
            for flight in list(inflight.values()):
                yield finish(flight, UNKNOWN, ExitCode.OUTCOME_UNKNOWN, error="no call events on this session")
            if not exhausted:
                # Not read on: the input may be an endless pipe.
                message += " (the calls of the lines not yet read were not placed)"
            raise NoCallEvents(message)
        if ready:
            yield from ready
            continue

        # Nothing ready: read until the nearest deadline.
        deadlines = []
        for flight in inflight.values():
            if flight.queued_at is None:
                deadlines.append(flight.sent_at + client.timeout)
            elif wait:
                deadlines.append(flight.queued_at + flight.spec.ring_timeout + grace)
        if wait and not events_seen and first_queued is not None:
            deadlines.append(first_queued + grace)
        deadline = min(deadlines) if deadlines else clock() + client.timeout
        try:
            client.pump(_wall_deadline(deadline, clock), what="the outcome of Originate")
        except AmiTimeout:
            pass
        except AmiError as exc:
            yield from _lost(finish, list(inflight.values()), exc)


def _lost(finish: Callable[..., CallResult], flights: list[_InFlight], exc: AmiError) -> Iterator[CallResult]:
    """The session broke with calls sent: report each as unknown, then raise.

    Once an Originate has left, a lost connection, a timeout or a broken
    stream says nothing about the call: it may ring.  So the exit status is
    OUTCOME_UNKNOWN, never CONNECT, which a script could take as safe to retry.
    """
    for flight in flights:
        yield finish(flight, UNKNOWN, ExitCode.OUTCOME_UNKNOWN, error=str(exc))
    raise OutcomeUnknown(f"{exc}; the call may ring: do not retry it blindly") from exc


def _is_call_event(msg: Message) -> bool:
    """An event of class ``call`` (``Privilege: call,all``): proof that call events reach us."""
    privilege = (msg.get("Privilege") or "").lower().replace(" ", "")
    return "call" in privilege.split(",")


def _drain(client: Client) -> None:
    """Route every message already received or arriving within a millisecond."""
    while True:
        try:
            client.pump(time.monotonic() + 0.001, what="pending messages")
        except AmiTimeout:
            return


def _wall_deadline(deadline: float, clock: Callable[[], float]) -> float:
    """A deadline on ``clock`` as one on time.monotonic (what the client uses)."""
    if clock is time.monotonic:
        return deadline
    return time.monotonic() + max(0.0, deadline - clock())


def exit_status(results: Sequence[CallResult | BadLine]) -> int:
    """A batch's exit status: that of the first line (in input order) that did not end answered."""
    failures: list[tuple[int, int]] = []
    for index, item in enumerate(results):
        if isinstance(item, BadLine):
            failures.append((item.line, int(ExitCode.USAGE)))
        elif not item.ok:
            failures.append((item.spec.line if item.spec.line is not None else index, int(item.exit_code)))
    if not failures:
        return int(ExitCode.OK)
    return min(failures)[1]
