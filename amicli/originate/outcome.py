"""How a call ended: the outcomes and one call's result."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import AmiError, ExitCode
from ..protocol import Message
from .spec import CallSpec

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


class OutcomeUnknown(AmiError):
    """The call was (perhaps) placed, but how it ended is not known."""

    exit_code = ExitCode.OUTCOME_UNKNOWN


class NoCallEvents(OutcomeUnknown):
    """No call event reached the session: the OriginateResponse never will.

    ``unplaced``: calls of the input were left unplaced (and unread).
    """

    def __init__(self, message: str, *, unplaced: bool = False) -> None:
        super().__init__(message)
        self.unplaced = unplaced


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
    """How one call ended (or why it was not placed, or that nobody knows).

    ``reply``: the response to the Originate action when there is no
    outcome event; ``error``: why the outcome is not known, or what the PBX
    said when it refused the action.
    """

    spec: CallSpec
    action_id: str
    outcome: str
    event: Message | None = None
    reply: Message | None = None
    error: str | None = None
    seconds: float | None = None
