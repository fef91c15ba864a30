"""How a call ended: the outcomes, their exit statuses and one call's result."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import AmiError, ExitCode
from ..protocol import Message
from .spec import DEFAULT_PRIORITY, CallSpec

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


class OutcomeUnknown(AmiError):
    """The call was (perhaps) placed, but how it ended is not known."""

    exit_code = ExitCode.OUTCOME_UNKNOWN


class NoCallEvents(OutcomeUnknown):
    """No call event reached the session: the OriginateResponse never will."""


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
