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

from .batch import FIELD_ALIASES, BadLine, read_batch, spec_from_fields
from .outcome import (
    ANSWERED,
    BUSY,
    CONGESTION,
    FAILED,
    NO_ANSWER,
    QUEUED,
    REASON_TEXT,
    REFUSED,
    UNKNOWN,
    CallResult,
    NoCallEvents,
    OutcomeUnknown,
    outcome_for,
)
from .runner import DEFAULT_GRACE, run_calls
from .spec import (
    DEFAULT_CONTEXT,
    DEFAULT_PRIORITY,
    DEFAULT_RING_TIMEOUT,
    CallSpec,
    check_variable_name,
    parse_var,
    variable_header,
)

__all__ = [
    "ANSWERED",
    "BUSY",
    "CONGESTION",
    "DEFAULT_CONTEXT",
    "DEFAULT_GRACE",
    "DEFAULT_PRIORITY",
    "DEFAULT_RING_TIMEOUT",
    "FAILED",
    "FIELD_ALIASES",
    "NO_ANSWER",
    "QUEUED",
    "REASON_TEXT",
    "REFUSED",
    "UNKNOWN",
    "BadLine",
    "CallResult",
    "CallSpec",
    "NoCallEvents",
    "OutcomeUnknown",
    "check_variable_name",
    "outcome_for",
    "parse_var",
    "read_batch",
    "run_calls",
    "spec_from_fields",
    "variable_header",
]
