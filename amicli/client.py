"""A small synchronous AMI client: connection, TLS, login, ActionIDs, lists, events.

It knows nothing of the command line.  Bytes flow one way: the socket feeds
:class:`~amicli.protocol.Parser`, whose messages are routed here to the
action waiting for them (by ActionID) or to the event queue.
"""

from __future__ import annotations

import collections
import socket
import time
from contextlib import suppress
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator, Sequence

from . import boot, protocol
from .errors import AmiTimeout, AuthError, ConnectError, ConnectionLost, ProtocolError, UsageError
from .masking import mask_message
from .protocol import Message
from .redact import add_secret
from .reply import Headers as Headers
from .reply import Reply as Reply
from .reply import Tracer as Tracer
from .reply import (
    action_name,
    command_lines,
    is_list_end,
    is_list_start,
    joined_text,
    login_accepted,
    md5_credentials,
    with_action_id,
)
from .reply import error_for as error_for
from .reply import new_action_id as new_action_id
from .reply import redact as redact
from .reply import reply_deadline as reply_deadline
from .tls import tls_wants_read, wrap_tls

DEFAULT_PORT = 5038
DEFAULT_TLS_PORT = 5039
DEFAULT_TIMEOUT = 10.0
RECV_SIZE = 256 * 1024
ItemSink = Callable[[Message], None] | None  # where a list's items go instead of the Reply (None: kept)


@dataclass
class RawRead:
    """What one :meth:`Client.read_region` received.

    ``region``: whole events as received, CRLF-framed and unparsed (their
    number in ``count``), or empty; ``messages``: every other message, parsed,
    in the order received (after those of ``region``).
    """

    region: bytes
    count: int
    messages: list[Message]


class Client:
    """One AMI session over TCP or TLS.

    Use as a context manager: leaving it sends Logoff (also on Ctrl-C) and
    closes the socket.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        tls: bool = False,
        ca_file: str | None = None,
        insecure: bool = False,
        trace: Tracer | None = None,
        keep_events: bool = False,
        max_events: int = 100_000,
        max_line: int = protocol.MAX_LINE,
        max_message: int = protocol.MAX_MESSAGE,
        mask_secrets: bool = False,
    ) -> None:
        self.host = host
        self.port = port or (DEFAULT_TLS_PORT if tls else DEFAULT_PORT)
        self.timeout = timeout
        self.tls = tls
        self.ca_file = ca_file
        self.insecure = insecure
        self.trace = trace
        #: Mask the secrets the PBX sends (AuthDetail's Password) on receipt,
        #: before any trace or caller sees them (the CLI always does).
        self.mask_secrets = mask_secrets
        self.keep_events = keep_events
        self.events: collections.deque[Message] = collections.deque(maxlen=max_events)
        self.sock: socket.socket | None = None
        # One receive buffer, reused: a fresh 256 KiB one per recv costs an mmap and its page faults.
        self._recv_view = memoryview(bytearray(RECV_SIZE))
        self.parser = protocol.Parser(max_line=max_line, max_message=max_message)
        self.banner: str | None = None
        self.logged_in = False
        self.fully_booted: bool | None = None
        #: Set when the session asked for system events to learn of FullyBooted.
        self.watch_boot = False
        #: Whether SuccessfulAuth arrived (the login's events are flowing).
        self.saw_auth_event = False
        self._pending: dict[str, Reply] = {}
        self._fences: dict[str, Reply] = {}
        self._inbox: collections.deque[Message] = collections.deque()
        self.closed = False
        #: FullyBooted's ``Uptime`` and when it came (monotonic), for uptime.
        self.boot_uptime: tuple[str | None, float] | None = None
        #: When the PBX finished booting (``time.monotonic`` clock), from FullyBooted.
        self.booted_at: float | None = None
        #: When the connection was opened (``time.monotonic`` clock).
        self.started_at = time.monotonic()
        # Responses routed since the login: none yet means a FullyBooted came with it.
        self._responses_since_login = 0
        #: Set once a failure has waited for a sign of the boot (amicli.boot).
        self.boot_evidence_awaited = False

    # -- connection -------------------------------------------------------

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def version(self) -> str:
        """The AMI version from the banner (``11.0.0`` on Asterisk 22)."""
        return protocol.banner_version(self.banner or "")

    def connect(self) -> "Client":
        """Connect (and TLS handshake), then read and check the banner."""
        self.started_at = time.monotonic()
        try:
            sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        except TimeoutError:
            raise AmiTimeout(f"connecting to {self.address} timed out after {self.timeout:g} s") from None
        except socket.gaierror as exc:
            raise ConnectError(f"cannot resolve host {self.host!r}: {exc.strerror}") from None
        except ConnectionRefusedError:
            raise ConnectError(f"cannot connect to {self.address}: connection refused") from None
        except OSError as exc:
            raise ConnectError(f"cannot connect to {self.address}: {exc.strerror or exc}") from None
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.tls:
            sock = wrap_tls(sock, self.host, self.address, self.timeout, ca_file=self.ca_file, insecure=self.insecure)
        self.sock = sock
        deadline = time.monotonic() + self.timeout
        try:
            self._read_banner(deadline)
        except BaseException:
            self.close()
            raise
        self.banner = self.parser.banner
        return self

    def _read_banner(self, deadline: float) -> None:
        while self.parser.banner is None:
            try:
                self._inbox.extend(self._read(deadline, what="the AMI banner"))
            except ConnectionLost:
                raise ProtocolError(
                    f"not an AMI server: {self.address} closed the connection without a banner"
                ) from None
            except AmiTimeout:
                # A deadlocked or stopped Asterisk accepts TCP and says nothing: a timeout, not a stranger.
                raise AmiTimeout(
                    f"no AMI banner from {self.address} within {self.timeout:g} s (is the PBX hung?)"
                ) from None

    def _read(self, deadline: float | None, what: str = "a reply") -> list[Message]:
        """One recv from the socket, parsed.  Raises on timeout or close."""
        sock = self.sock
        if sock is None:
            raise ConnectionLost("not connected")
        if deadline is None:
            sock.settimeout(None)
        else:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AmiTimeout(f"no answer from {self.address} within {self.timeout:g} s (waiting for {what})")
            sock.settimeout(remaining)
        try:
            data = self._recv(sock, RECV_SIZE)
        except TimeoutError:
            raise AmiTimeout(f"no answer from {self.address} within {self.timeout:g} s (waiting for {what})") from None
        except ConnectionResetError:
            self.closed = True
            raise ConnectionLost(f"{self.address} reset the connection") from None
        except OSError as exc:
            self.closed = True
            raise ConnectionLost(f"connection to {self.address} failed: {exc.strerror or exc}") from None
        if not data:
            self.closed = True
            raise ConnectionLost(f"{self.address} closed the connection")
        msgs = self.parser.feed(data)
        if self._pending and self.mask_secrets:
            # Secrets come in replies to actions (AuthDetail); an event
            # stream with no action waiting pays nothing for the check.
            msgs = [mask_message(msg) for msg in msgs]
        if self.trace is not None:
            for msg in msgs:
                self.trace("<<", protocol.format_message(msg))
        return msgs

    def _recv(self, sock: socket.socket, size: int) -> bytes:
        """At most ``size`` bytes, and never more than RECV_SIZE as it is now (a test lowers it to 1)."""
        count = sock.recv_into(self._recv_view, min(size, RECV_SIZE))
        return self._recv_view[:count].tobytes()

    def read_region(self, timeout: float, *, raw: bool = True, size: int = RECV_SIZE) -> RawRead | None:
        """One receive for a reader that forwards events without parsing each one.

        At most ``size`` bytes.  With ``raw``, complete events in the usual shape (see
        :func:`protocol.event_region_count`) come back as one region of
        bytes; everything else goes through the session's parser, so any
        split of the stream gives the same messages.  None when nothing
        arrived within ``timeout`` (0: a non-blocking read).  Not traced, not masked (no action waits).
        """
        sock = self.sock
        if sock is None:
            raise ConnectionLost("not connected")
        if sock.gettimeout() != timeout:  # a system call each time otherwise
            sock.settimeout(timeout)
        try:
            data = self._recv(sock, size)
        except (TimeoutError, BlockingIOError):  # the latter with timeout 0: nothing there
            return None
        except OSError as exc:
            if tls_wants_read(exc):  # timeout 0 over TLS: no whole record there yet
                return None
            self.closed = True
            raise ConnectionLost(f"connection to {self.address} lost: {exc.strerror or exc}") from exc
        if not data:
            self.closed = True
            raise ConnectionLost(f"{self.address} closed the connection")
        parser = self.parser
        if parser.buffered:
            data = parser.take() + data
        end = data.rfind(b"\r\n\r\n") + 4  # 3 when there is none: no region
        region = data[:end] if end > 3 and raw else b""
        count = protocol.event_region_count(region, min(parser.max_line, parser.max_message)) if region else 0
        # All else, an unfinished message too, goes to the parser (which bounds it).
        messages = parser.feed(data[end:] if count else data)
        return RawRead(region if count else b"", count, messages)

    def send(self, headers: Headers) -> str:
        """Send one action; return its ActionID (added when missing)."""
        headers, action_id = with_action_id(headers)
        self._sendall(self._encode(headers))
        return action_id

    def _encode(self, headers: list[tuple[str, str]]) -> bytes:
        """The action on the wire (traced); a header that would break the framing is a usage error."""
        try:
            data = protocol.serialize(headers)
        except ValueError as exc:
            raise UsageError(f"{action_name(headers)}: {exc}") from None
        if self.trace is not None:
            self.trace(">>", protocol.format_message(Message(redact(headers))))
        return data

    def _sendall(self, data: bytes) -> None:
        if self.sock is None or self.closed:
            raise ConnectionLost(f"connection to {self.address} is closed")
        try:
            self.sock.settimeout(self.timeout)
            self.sock.sendall(data)
        except TimeoutError:
            raise AmiTimeout(f"{self.address} accepted no data for {self.timeout:g} s") from None
        except OSError as exc:
            self.closed = True
            raise ConnectionLost(f"connection to {self.address} lost: {exc.strerror or exc}") from None

    # -- routing ----------------------------------------------------------

    def _next_message(self, deadline: float | None, what: str) -> Message:
        while not self._inbox:
            self._inbox.extend(self._read(deadline, what))
        return self._inbox.popleft()

    def _route(self, msg: Message) -> None:
        """Hand a message to the action waiting for it, or to the events."""
        if msg.kind == "text":
            self._route_text(msg)
            return
        action_id = msg.action_id
        if action_id is not None:
            if action_id in self._fences:
                owner = self._fences.pop(action_id)
                if owner.response is None:
                    owner.response = joined_text(owner.text_blocks)
                    owner.done = True
                # Otherwise the empty lines were strays before a real response.
                return
            reply = self._pending.get(action_id)
            if reply is not None:
                if msg.kind == "response" and reply.response is None:
                    reply.response = msg
                    reply.is_list = is_list_start(msg)
                    if not reply.is_list:
                        reply.done = True
                    return
                if msg.kind == "event" and reply.is_list:
                    if is_list_end(msg):
                        reply.complete = msg
                        reply.done = True
                    else:
                        reply.add_item(msg)
                    return
        if msg.kind == "response" and self.logged_in:
            self._responses_since_login += 1
        if msg.kind == "event":
            name = msg.name
            if name == "FullyBooted":
                self.fully_booted = True
                self.booted_at = boot.boot_moment(msg, at_login=self._responses_since_login == 0)
                self.boot_uptime = (msg.get("Uptime"), time.monotonic())
            elif name == "SuccessfulAuth":
                self.saw_auth_event = True
            if self.keep_events:
                self.events.append(msg)

    def _route_text(self, msg: Message) -> None:
        # A headerless block (an empty line included: Asterisk 13 answers an
        # empty IAXnetstats with one) answers the oldest action still without
        # a response.  A Ping sent now is answered after the block ends, so
        # its reply marks the end of the text.
        owner = next((r for r in self._pending.values() if r.response is None and not r.done), None)
        if owner is None or not owner.add_text(msg, self.address):
            return
        if owner.fence_id is None:
            owner.fence_id = self.send([("Action", "Ping")])
            self._fences[owner.fence_id] = owner

    def pump(self, deadline: float | None, what: str = "a reply") -> None:
        """Read and route at least one message."""
        self._route(self._next_message(deadline, what))

    # -- actions ----------------------------------------------------------

    def submit(self, headers: Headers, on_item: ItemSink = None) -> Reply:
        """Send an action without waiting; the Reply fills in later (list items to ``on_item``, if given)."""
        return self.submit_all([headers], on_item)[0]

    def submit_all(self, requests: Sequence[Headers], on_item: ItemSink = None) -> list[Reply]:
        """Send actions in one write (a batch wakes the PBX once, not once per action); Replies fill in later."""
        # Whatever arrived before the requests leave cannot answer them.
        while self._inbox:
            self._route(self._inbox.popleft())
        replies: list[tuple[str, Reply]] = []
        wire: list[bytes] = []
        try:
            for request in requests:
                headers, action_id = with_action_id(request)
                replies.append((action_id, Reply(action=headers, on_item=on_item)))
                self._pending[action_id] = replies[-1][1]
                wire.append(self._encode(headers))
            self._sendall(b"".join(wire))
        except BaseException:
            for action_id, _ in replies:
                self._pending.pop(action_id, None)
            raise
        return [reply for _, reply in replies]

    def wait(self, reply: Reply, timeout: float | None = None) -> Reply:
        """Wait for all of ``reply``: ``timeout`` from its last message, :func:`reply_deadline` in all."""
        timeout = self.timeout if timeout is None else timeout
        name, now, seen = action_name(reply.action), time.monotonic(), 0
        action_id = next(v for k, v in reply.action if k.lower() == "actionid")
        final, deadline = now + reply_deadline(timeout), now + timeout
        try:
            while not reply.done:
                try:
                    self.pump(deadline, what=f"the reply to {name}")
                except AmiTimeout:
                    reply.timed_out = True
                    if seen and deadline >= final:
                        raise AmiTimeout(
                            f"the reply to {name} from {self.address} did not end within {reply_deadline(timeout):g} s"
                        ) from None
                    raise
                progress = reply.count + len(reply.text_blocks) + (reply.response is not None)
                if progress != seen:
                    seen = progress
                    deadline = min(time.monotonic() + timeout, final)
        finally:
            if reply.done:
                self._pending.pop(action_id, None)
        return reply

    def request(self, headers: Headers, timeout: float | None = None) -> Reply:
        """Send an action and wait for its whole reply."""
        return self.wait(self.submit(headers), timeout)

    def action(self, name: str, **headers: str | Iterable[str]) -> Reply:
        """``client.action("Ping")``: request, raising when the PBX refuses it."""
        pairs: list[tuple[str, str]] = [("Action", name)]
        for key, value in headers.items():
            if isinstance(value, str):
                pairs.append((key, value))
            else:
                pairs.extend((key, v) for v in value)
        return self.request(pairs).raise_for_error()

    def command(self, cli: str) -> tuple[bool, list[str]]:
        """Run a CLI command (waiting out a boot); return (succeeded, output lines)."""
        return command_lines(self.request_booted([("Action", "Command"), ("Command", cli)]))

    # -- events -----------------------------------------------------------

    def next_event(self, timeout: float | None = None) -> Message | None:
        """The next event, waiting up to ``timeout`` (None: forever); None when the timeout passes."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self.events:
            try:
                self.pump(deadline, what="an event")
            except AmiTimeout:
                return None
        return self.events.popleft()

    def iter_events(self) -> Iterator[Message]:
        """Every event the session receives, until the connection closes."""
        while True:
            while self.events:
                yield self.events.popleft()
            self.pump(None, what="an event")

    # -- login and logoff -------------------------------------------------

    def login(self, username: str, secret: str, *, auth: str = "plain", events: str = "off") -> Reply:
        """Log in (``auth`` is ``md5`` or ``plain``); ``events`` is the event mask.

        It succeeds only on ``Response: Success`` to the Login itself.
        """
        add_secret(secret)
        if auth == "md5":
            challenge = self.request([("Action", "Challenge"), ("AuthType", "MD5")])
            creds = md5_credentials(challenge, username, secret, self.address)
        elif auth == "plain":
            creds = [("Username", username), ("Secret", secret)]
        else:
            raise ValueError(f"unknown auth method {auth!r}")
        try:
            reply = self.request([("Action", "Login"), *creds, ("Events", events)])
        except ConnectionLost as exc:
            raise ConnectionLost(f"login as {username!r}: {exc}") from None
        if not login_accepted(reply):
            raise AuthError(f"login as {username!r} failed: {reply.message or 'refused'}")
        self.logged_in = True
        return reply

    def request_all(
        self, requests: Sequence[Headers], timeout: float | None = None, on_item: ItemSink = None
    ) -> list[Reply]:
        """Send every request at once, wait for each in order; a booting PBX is asked again (:mod:`amicli.boot`)."""
        return boot.request_all(self, requests, timeout, on_item)

    def request_booted(self, headers: Headers, timeout: float | None = None, on_item: ItemSink = None) -> Reply:
        """:meth:`request`, waiting for a booting PBX as :meth:`request_all` does."""
        return self.request_all([headers], timeout, on_item)[0]

    def wait_booted(self, timeout: float | None = None) -> bool:
        """Wait for FullyBooted up to ``timeout``; True when it came."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while not self.fully_booted:
            try:
                self.pump(deadline, what="FullyBooted")
            except (AmiTimeout, ConnectionLost):
                return False
        return True

    def logoff(self, timeout: float = 1.0) -> None:
        """Send Logoff and wait briefly for Goodbye (not after a reply timed out: it would not come); never raises."""
        if not self.logged_in or self.closed or self.sock is None:
            return
        self.logged_in = False
        overdue = any(reply.timed_out for reply in self._pending.values())
        with suppress(ConnectionLost, AmiTimeout, ProtocolError, OSError):
            self.request([("Action", "Logoff")], timeout=0.0 if overdue else min(timeout, self.timeout))

    def close(self) -> None:
        """Log off when logged in, then close the socket."""
        try:
            self.logoff()
        finally:
            if self.sock is not None:
                with suppress(OSError):
                    self.sock.close()
                self.sock = None
            self.closed = True

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
