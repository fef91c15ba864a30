"""An action's identity and its answer: ActionIDs, the Reply that collects it, the error a refusal maps to."""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass, field
from typing import Callable, Sequence

from .errors import ActionError, PermissionDenied
from .protocol import Message

#: Header values never shown in a trace (they hold or derive from the secret).
SECRET_HEADERS = frozenset({"secret", "key"})

Headers = Sequence[tuple[str, str]]
#: ``trace(direction, text)``: direction is ``">>"`` (sent) or ``"<<"`` (received).
Tracer = Callable[[str, str], None]

_action_counter = itertools.count(1)


def new_action_id() -> str:
    """An ActionID unique within this process (and, by the pid, across processes)."""
    return f"ami-{os.getpid()}-{next(_action_counter)}"


def redact(headers: Headers) -> list[tuple[str, str]]:
    """A copy of ``headers`` with secret values replaced, for traces."""
    return [(k, "********" if k.lower() in SECRET_HEADERS else v) for k, v in headers]


@dataclass
class Reply:
    """The whole answer to one action.

    ``response`` is the ``Response:`` message.  For a list action, ``events``
    holds every list item in order and ``complete`` the closing event.  For
    an old server's headerless answer, ``response`` is a message of kind
    ``"text"``.
    """

    action: list[tuple[str, str]]
    response: Message | None = None
    events: list[Message] = field(default_factory=list)
    complete: Message | None = None
    is_list: bool = False
    done: bool = False
    # Headerless text blocks from an old server, and the Ping sent to find
    # where they end.
    text_blocks: list[Message] = field(default_factory=list)
    fence_id: str | None = None

    @property
    def ok(self) -> bool:
        return self.response is not None and not self.response.is_error

    @property
    def message(self) -> str:
        if self.response is None:
            return ""
        return self.response.get("Message", "") or ""

    @property
    def messages(self) -> list[Message]:
        """Every message of the reply, in the order received."""
        out = [self.response] if self.response is not None else []
        out.extend(self.events)
        if self.complete is not None:
            out.append(self.complete)
        return out

    def raise_for_error(self) -> "Reply":
        """Raise the matching exception when the PBX refused the action."""
        if self.response is not None and self.response.is_error:
            raise error_for(self.response, self.action)
        return self


def error_for(response: Message, action: Headers = ()) -> ActionError | PermissionDenied:
    """The exception that says what went wrong with an action."""
    name = next((v for k, v in action if k.lower() == "action"), "action")
    text = response.get("Message") or "error"
    if text.lower() == "permission denied":
        return PermissionDenied(f"{name}: permission denied (check the user's read/write in manager.conf)")
    return ActionError(f"{name}: {text}", response)


def is_list_start(msg: Message) -> bool:
    eventlist = (msg.get("EventList") or "").lower()
    if eventlist == "start":
        return True
    # Servers before EventList was added said "... will follow".
    text = (msg.get("Message") or "").lower()
    return not msg.is_error and text.endswith("will follow")


def is_list_end(msg: Message) -> bool:
    eventlist = (msg.get("EventList") or "").lower()
    if eventlist in ("complete", "cancelled"):
        return True
    return (msg.get("Event") or "").endswith("Complete")
