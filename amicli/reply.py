"""An action's identity and its answer: ActionIDs, the Reply that collects it, the error a refusal maps to."""

from __future__ import annotations

import hashlib
import itertools
import os
import secrets
from dataclasses import dataclass, field
from typing import Callable, Sequence

from . import protocol
from .errors import ActionError, ChallengeRefused, PermissionDenied, ProtocolError
from .protocol import Message
from .redact import add_secret

#: Header values never shown in a trace (they hold or derive from the secret).
SECRET_HEADERS = frozenset({"secret", "key"})

Headers = Sequence[tuple[str, str]]
#: ``trace(direction, text)``: direction is ``">>"`` (sent) or ``"<<"`` (received).
Tracer = Callable[[str, str], None]

#: Headerless text one reply may collect (an old server's ``Queues`` answer
#: is a few kB per queue), in bytes.
MAX_REPLY_TEXT = 4 << 20
#: List items one reply may collect, and their bytes in all (as much as one
#: message may hold).  A listing that only counts streams its items and is
#: not bound by these.
MAX_LIST_ITEMS = 100_000
MAX_LIST_BYTES = protocol.MAX_MESSAGE

_action_counter = itertools.count(1)
_process_tag: tuple[int, str] = (0, "")


def new_action_id() -> str:
    """An ActionID unique across processes, hosts and containers.

    A random tag per process (new after a fork): the pid alone repeats in
    every container where ``ami`` runs as PID 1, and another session's
    OriginateResponse carrying our ActionID would be taken for ours.
    """
    global _process_tag
    pid = os.getpid()
    if _process_tag[0] != pid:
        _process_tag = (pid, secrets.token_hex(8))
    return f"ami-{_process_tag[1]}-{next(_action_counter)}"


def reply_deadline(timeout: float) -> float:
    """The longest one whole reply may take, however it trickles: twice ``timeout``."""
    return 2 * timeout


def action_name(action: Headers) -> str:
    return next((v for k, v in action if k.lower() == "action"), "action")


def joined_text(blocks: list[Message]) -> Message:
    """One text message from the blocks the parser split at empty lines.

    Its ``raw`` runs from the first line of text to the last, as received;
    an answer that was only empty lines is an empty message.
    """
    full = [i for i, b in enumerate(blocks) if b.text]
    if not full:
        return Message([], "text", b"", "")
    kept = blocks[full[0] : full[-1] + 1]
    text = "\n\n".join(b.text for b in kept if b.text)
    return Message([], "text", b"".join(b.raw for b in kept), text)


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
    #: Bytes collected so far (text blocks, list items), against the bounds.
    size: int = 0
    #: When set, list items go to this callback instead of ``events``.
    on_item: Callable[[Message], None] | None = None
    #: List items seen (streamed or kept).
    count: int = 0
    #: It did not come in time: the PBX stopped answering (Logoff then waits for no Goodbye).
    timed_out: bool = False

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
        """Every message of the reply, in the order received (an empty text answer shows nothing)."""
        response = self.response
        empty = response is not None and response.kind == "text" and not response.text
        out = [response] if response is not None and not empty else []
        out.extend(self.events)
        if self.complete is not None:
            out.append(self.complete)
        return out

    def add_item(self, msg: Message) -> None:
        """A list item: to ``on_item``, or kept within the bounds (ProtocolError past them)."""
        self.count += 1
        if self.on_item is not None:
            self.on_item(msg)
            return
        self.size += len(msg.raw)
        if self.count > MAX_LIST_ITEMS or self.size > MAX_LIST_BYTES:
            raise ProtocolError(
                f"the list in reply to {action_name(self.action)} passed {MAX_LIST_ITEMS} items "
                f"or {MAX_LIST_BYTES >> 20} MiB: refusing to collect more"
            )
        self.events.append(msg)

    def add_text(self, msg: Message, address: str) -> bool:
        """A headerless block for this reply; True when it is kept (False: an empty line before a login).

        No AMI server answers a login with text: waiting for more would let a
        peer that is not one keep us forever (ProtocolError).  Text is kept
        up to MAX_REPLY_TEXT.
        """
        name = action_name(self.action)
        if name.lower() in ("login", "challenge"):
            if not msg.text:
                return False
            raise ProtocolError(
                f"not an AMI server: {address} answered {name} with text: {msg.text.splitlines()[0][:60]!r}"
            )
        self.size += len(msg.raw)
        if self.size > MAX_REPLY_TEXT:
            raise ProtocolError(
                f"the text in reply to {name} passed {MAX_REPLY_TEXT >> 20} MiB: refusing to collect more"
            )
        self.text_blocks.append(msg)
        return True

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
    # Read from the raw bytes: a list item kept unparsed costs a tenth.
    eventlist = (msg.peek("EventList", exact=True) or "").lower()
    if eventlist in ("complete", "cancelled"):
        return True
    return msg.name.endswith("Complete")


#: How Asterisk's CLI starts the output of a command that failed.
CLI_FAILURES = ("No such command", "Usage: ")


def command_lines(reply: Reply) -> tuple[bool, list[str]]:
    """A CLI command's (succeeded, output lines).

    Both reply formats give the same lines: Asterisk 14+ (``Output:``
    headers) and 13 or older (``Response: Follows`` text).
    """
    resp = reply.response
    if resp is None:
        return False, []
    lines = (resp.text or "").split("\n") if resp.kind == "text" else resp.get_all("Output")
    if resp.is_error:
        if resp.get("Message", "").lower() == "permission denied":
            raise error_for(resp, reply.action)
        return False, lines or [resp.get("Message") or "command failed"]
    # Asterisk 13 says "Response: Follows" even when the command failed.
    first = next((line for line in lines if line.strip()), "")
    return not first.startswith(CLI_FAILURES), lines


def md5_credentials(challenge: Reply, username: str, secret: str, address: str) -> list[tuple[str, str]]:
    """The Login headers for ``--auth md5`` from the Challenge's reply (the key hidden from all output)."""
    if not challenge.ok or not challenge.response or not challenge.response.get("Challenge"):
        why = challenge.message or "no challenge"
        raise ChallengeRefused(f"{address} refused the MD5 challenge ({why})")
    key = hashlib.md5((challenge.response["Challenge"] + secret).encode("utf-8")).hexdigest()
    add_secret(key)
    return [("AuthType", "MD5"), ("Username", username), ("Key", key)]


def login_accepted(reply: Reply) -> bool:
    """``Response: Success`` to the Login itself (text, or another word, is no login)."""
    response = reply.response
    return (
        response is not None and response.kind == "response" and (response.get("Response") or "").lower() == "success"
    )


def with_action_id(headers: Headers) -> tuple[list[tuple[str, str]], str]:
    """The headers, with an ActionID added when they have none, and that ActionID."""
    headers = list(headers)
    action_id = next((v for k, v in headers if k.lower() == "actionid"), None)
    if action_id is None:
        action_id = new_action_id()
        headers.append(("ActionID", action_id))
    return headers, action_id
