"""How ``ami originate`` shows a call's result: its exit status, its JSON record, its table columns."""

from __future__ import annotations

from typing import Iterable

from ..errors import ExitCode
from ..originate import (
    ANSWERED,
    BUSY,
    CONGESTION,
    DEFAULT_PRIORITY,
    FAILED,
    NO_ANSWER,
    QUEUED,
    REFUSED,
    UNKNOWN,
    BadLine,
    CallResult,
    CallSpec,
    NoCallEvents,
    outcome_for,
)

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


def exit_code(result: CallResult) -> int:
    """The exit status of one call: by its outcome, or by why the PBX refused it."""
    if result.outcome == REFUSED:
        if result.reply is None:
            return int(ExitCode.ACTION_FAILED)
        from ..client import error_for

        return int(error_for(result.reply).exit_code)
    return int(OUTCOME_EXIT[result.outcome])


def record(result: CallResult) -> dict[str, object]:
    """The result as one JSON object.

    Keys are the OriginateResponse's headers as Asterisk sent them (or,
    when there is none, the request's), then derived keys: ``Outcome``,
    ``ReasonText``, ``ExitCode``, ``Seconds``, ``Error``, ``Line``.
    """
    spec = result.spec
    rec: dict[str, object] = {}
    if result.event is not None:
        rec.update(result.event.to_dict())
        if spec.exten is not None and "Priority" not in rec:
            rec["Priority"] = spec.priority or DEFAULT_PRIORITY
    else:
        rec["ActionID"] = result.action_id
        if result.reply is not None:
            rec["Response"] = result.reply.get("Response") or ""
            if result.reply.get("Message") is not None:
                rec["Message"] = result.reply.get("Message")
        rec["Channel"] = spec.channel
        rec.update(spec.target())
    rec["Outcome"] = result.outcome
    if result.event is not None:
        rec["ReasonText"] = outcome_for(result.event.get("Reason"), result.event.get("Response"))[1]
    rec["ExitCode"] = exit_code(result)
    if result.seconds is not None:
        rec["Seconds"] = round(result.seconds, 3)
    if result.error:
        rec["Error"] = result.error
    if spec.line is not None:
        rec["Line"] = spec.line
    return rec


def table_columns(spec: CallSpec, outcome: str) -> list[str]:
    """The columns of the default table for one result."""
    if outcome == QUEUED:
        return ["Outcome", "ActionID", "Channel", "Message"]
    target = ["Application", "Data"] if spec.app is not None else ["Context", "Exten", "Priority"]
    if outcome == UNKNOWN:
        return ["Outcome", "ActionID", "Channel", *target]
    return ["Outcome", "Reason", "ReasonText", "Channel", "Uniqueid", *target, "CallerIDNum", "CallerIDName"]


class BatchStatus:
    """A batch's exit status, kept up to date result by result (the results themselves are not kept)."""

    def __init__(self) -> None:
        self._first: tuple[int, int] | None = None  # (line, code) of the first line that failed
        self._index = 0

    def add(self, item: CallResult | BadLine) -> None:
        failure: tuple[int, int] | None = None
        if isinstance(item, BadLine):
            failure = (item.line, int(ExitCode.USAGE))
        elif (code := exit_code(item)) != ExitCode.OK:
            failure = (item.spec.line if item.spec.line is not None else self._index, code)
        self._index += 1
        if failure is not None and (self._first is None or failure < self._first):
            self._first = failure

    @property
    def code(self) -> int:
        return int(ExitCode.OK) if self._first is None else self._first[1]


def exit_status(results: Iterable[CallResult | BadLine]) -> int:
    """A batch's exit status: that of the first line (in input order) that did not end answered."""
    status = BatchStatus()
    for item in results:
        status.add(item)
    return status.code


def worded(exc: NoCallEvents) -> NoCallEvents:
    """The error with what to do about it, in the command's own terms."""
    message = f"{exc}; use --no-wait to place calls without waiting for the outcome"
    if exc.unplaced:
        message += " (the calls of the lines not yet read were not placed)"
    return NoCallEvents(message, unplaced=exc.unplaced)
