"""The simulated PBX's AMI server: sockets, sessions, login, dispatch, events.

Shapes follow the recordings of a real Asterisk 22 (see the transcripts):
banner without a blank line, a failed login answered after one second and
then the connection closed, lines over 1024 bytes and messages over 128
headers refused, bare LF accepted, events filtered by the session's read
permission and event mask.

Actions are registered by the modules of this package with :func:`action`;
each handler gets the session and the request message and answers with
:meth:`Session.respond` (or list helpers).
"""

from __future__ import annotations

import hashlib
import random
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable, Sequence

from ..protocol import Message, serialize
from .users import User, permission_mask

BANNER = "Asterisk Call Manager/11.0.0"
BANNER_13 = "Asterisk Call Manager/2.10.6"
MAX_CLIENT_LINE = 1024
MAX_CLIENT_HEADERS = 128
LOGIN_FAIL_DELAY = 1.0

Handler = Callable[["Session", Message], None]


@dataclass
class ActionSpec:
    name: str
    perm: int
    handler: Handler


ACTIONS: dict[str, ActionSpec] = {}


def action(name: str, perm: str = "") -> Callable[[Handler], Handler]:
    """Register a handler for action ``name``; ``perm``: write class needed."""

    def register(handler: Handler) -> Handler:
        ACTIONS[name.lower()] = ActionSpec(name, permission_mask(perm), handler)
        return handler

    return register


class Session:
    """One client connection."""

    def __init__(self, server: "SimServer", sock: socket.socket, peer: tuple) -> None:
        self.server = server
        self.sock = sock
        self.peer = peer
        self.user: User | None = None
        self.challenge: str | None = None
        self.send_events = permission_mask("all")
        self.filters: list[tuple[bool, object]] = []
        self.write_lock = threading.Lock()
        self.alive = True
        self.id = f"0x{random.getrandbits(44):012x}"

    # -- writing ----------------------------------------------------------

    def write(self, data: bytes) -> None:
        if not self.alive:
            return
        with self.write_lock:
            try:
                self.sock.sendall(data)
            except OSError:
                self.alive = False

    def send(self, headers: Sequence[tuple[str, str]]) -> None:
        self.write(serialize(headers))

    def respond(self, request: Message, response: str = "Success", headers: Iterable[tuple[str, str]] = ()) -> None:
        """``Response:``, the request's ActionID (if any), then ``headers``."""
        out = [("Response", response)]
        action_id = request.get("ActionID")
        if action_id is not None:
            out.append(("ActionID", action_id))
        out.extend(headers)
        self.send(out)

    def error(self, request: Message, message: str) -> None:
        self.respond(request, "Error", [("Message", message)])

    def send_list(
        self,
        request: Message,
        items: Iterable[Sequence[tuple[str, str]]],
        message: str,
        complete_event: str,
        complete_extra: Sequence[tuple[str, str]] = (),
    ) -> None:
        """A list action's answer: start, one event per item, Complete."""
        action_id = request.get("ActionID")
        aid = [("ActionID", action_id)] if action_id is not None else []
        self.respond(request, "Success", [("EventList", "start"), ("Message", message)])
        count = 0
        for item in items:
            headers = list(item)
            self.send(headers[:1] + aid + headers[1:])
            count += 1
        self.send(
            [("Event", complete_event), *aid, ("EventList", "Complete"), ("ListItems", str(count)), *complete_extra]
        )

    # -- events -----------------------------------------------------------

    def wants(self, event_class: int, headers: Sequence[tuple[str, str]]) -> bool:
        if self.user is None or not (self.user.read & event_class) or not (self.send_events & event_class):
            return False
        if self.filters:
            return self.server.filters_pass(self.filters, headers)
        return True

    @property
    def logged_in(self) -> bool:
        return self.user is not None


class SimServer:
    """A simulated Asterisk speaking AMI on loopback.

    ``serve_forever()`` runs it in the calling thread; ``start()`` in a
    background thread (for tests).  ``port=0`` picks a free port.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 5038,
        *,
        users: dict[str, User] | None = None,
        tls_cert: str | None = None,
        tls_key: str | None = None,
        boot_delay: float = 0.0,
        asterisk13: bool = False,
        login_fail_delay: float = LOGIN_FAIL_DELAY,
        system_name: str = "pbx-sim",
    ) -> None:
        from . import actions  # noqa: F401 - registers the actions
        from .pbx import PBX
        from .users import DEFAULT_USERS

        self.users = users if users is not None else dict(DEFAULT_USERS)
        self.asterisk13 = asterisk13
        self.banner = BANNER_13 if asterisk13 else BANNER
        self.login_fail_delay = login_fail_delay
        self.system_name = system_name
        self.started = time.time()
        self.booted_at: float | None = None
        self.sessions: set[Session] = set()
        self.lock = threading.RLock()
        self.pbx = PBX(self)
        self.tls_context: ssl.SSLContext | None = None
        if tls_cert:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(tls_cert, tls_key)
            self.tls_context = ctx
        self.listener = socket.create_server((host, port), reuse_port=False, backlog=128)
        self.host, self.port = self.listener.getsockname()[:2]
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        if boot_delay > 0:
            timer = threading.Timer(boot_delay, self._boot)
            timer.daemon = True
            timer.start()
        else:
            self.booted_at = self.started

    # -- life cycle -------------------------------------------------------

    def _boot(self) -> None:
        self.booted_at = time.time()
        self.broadcast("system", self.fully_booted_headers())

    @property
    def booted(self) -> bool:
        return self.booted_at is not None

    def fully_booted_headers(self) -> list[tuple[str, str]]:
        uptime = str(int(time.time() - self.started))
        return [
            ("Event", "FullyBooted"),
            ("Privilege", "system,all"),
            ("Uptime", uptime),
            ("LastReload", uptime),
            ("Status", "Fully Booted"),
        ]

    def start(self) -> "SimServer":
        thread = threading.Thread(target=self.serve_forever, name="ami-sim", daemon=True)
        thread.start()
        self._threads.append(thread)
        return self

    def serve_forever(self) -> None:
        self.listener.settimeout(0.2)
        while not self._stop.is_set():
            try:
                sock, peer = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                if self._stop.is_set():
                    break
                continue
            thread = threading.Thread(target=self._serve_client, args=(sock, peer), daemon=True)
            thread.start()

    def close(self) -> None:
        self._stop.set()
        try:
            self.listener.close()
        except OSError:
            pass
        with self.lock:
            sessions = list(self.sessions)
        for session in sessions:
            session.alive = False
            try:
                session.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self.pbx.stop()

    def __enter__(self) -> "SimServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- one client -------------------------------------------------------

    def _serve_client(self, sock: socket.socket, peer: tuple) -> None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.tls_context is not None:
            try:
                sock.settimeout(10)
                sock = self.tls_context.wrap_socket(sock, server_side=True)
                sock.settimeout(None)
            except (ssl.SSLError, OSError):
                sock.close()
                return
        session = Session(self, sock, peer)
        with self.lock:
            self.sessions.add(session)
        try:
            session.write(f"{self.banner}\r\n".encode())
            for request in read_requests(sock):
                if isinstance(request, str):  # a framing error, already a message
                    self._reply_broken(session, request)
                    continue
                self.dispatch(session, request)
                if not session.alive:
                    break
        except OSError:
            pass
        finally:
            session.alive = False
            with self.lock:
                self.sessions.discard(session)
            try:
                sock.close()
            except OSError:
                pass

    def _reply_broken(self, session: Session, packed: str) -> None:
        # packed: "<error message>\0<ActionID or empty>"
        message, _, action_id = packed.partition("\0")
        headers = [("Response", "Error")]
        if action_id:
            headers.append(("ActionID", action_id))
        headers.append(("Message", message))
        session.send(headers)

    def dispatch(self, session: Session, request: Message) -> None:
        name = request.get("Action")
        if not name:
            session.error(request, "Missing action in request")
            return
        lname = name.lower()
        if lname in ("login", "challenge", "logoff"):
            ACTIONS[lname].handler(session, request)
            return
        if not session.logged_in:
            session.error(request, "Permission denied")
            return
        spec = ACTIONS.get(lname)
        if spec is None:
            session.error(
                request, f"Invalid/unknown command: {name}. Use Action: ListCommands to show available commands."
            )
            return
        if spec.perm and not (session.user.write & spec.perm):
            session.error(request, "Permission denied")
            return
        spec.handler(session, request)

    # -- events -----------------------------------------------------------

    def event_headers(self, event_class: str, headers: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
        """``Event``, ``Privilege``, ``Timestamp`` (timestampevents=yes), the rest."""
        headers = list(headers)
        out = [headers[0], ("Privilege", f"{event_class},all"), ("Timestamp", f"{time.time():.6f}")]
        rest = headers[1:]
        if rest and rest[0][0] == "Privilege":
            rest = rest[1:]
        if not any(k == "SystemName" for k, _ in rest):
            out.append(("SystemName", self.system_name))
        out.extend(rest)
        return out

    def broadcast(self, event_class: str, headers: Sequence[tuple[str, str]], raw: bool = False) -> None:
        """Send an event to every session whose permission and mask admit it."""
        mask = permission_mask(event_class)
        full = list(headers) if raw else self.event_headers(event_class, headers)
        data = serialize(full)
        with self.lock:
            sessions = list(self.sessions)
        for session in sessions:
            if session.wants(mask, full):
                session.write(data)

    def filters_pass(self, filters: list[tuple[bool, object]], headers: Sequence[tuple[str, str]]) -> bool:
        """Asterisk's Filter semantics: any whitelist must match, no blacklist may."""
        text = "".join(f"{k}: {v}\r\n" for k, v in headers)
        whites = [rx for white, rx in filters if white]
        blacks = [rx for white, rx in filters if not white]
        if whites and not any(rx.search(text) for rx in whites):  # type: ignore[attr-defined]
            return False
        return not any(rx.search(text) for rx in blacks)  # type: ignore[attr-defined]


def read_requests(sock: socket.socket) -> Iterable[Message | str]:
    """Read client messages with Asterisk's limits.

    Yields a Message per request, or a string ``"error\\0ActionID"`` for a
    message that broke a limit (Asterisk answers it with an error and goes on).
    """
    buf = b""
    headers: list[tuple[str, str]] = []
    broken: str | None = None
    too_long = False
    while True:
        try:
            data = sock.recv(65536)
        except OSError:
            return
        if not data:
            return
        buf += data
        while True:
            nl = buf.find(b"\n")
            if nl < 0:
                if len(buf) > MAX_CLIENT_LINE:
                    # Asterisk drops the line and reports it at the end of the message.
                    too_long = True
                    buf = buf[-1:]
                break
            line = buf[:nl].rstrip(b"\r")
            buf = buf[nl + 1 :]
            if too_long:
                too_long = False
                broken = broken or "Failed to parse message: line too long"
                continue
            if len(line) > MAX_CLIENT_LINE:
                broken = broken or "Failed to parse message: line too long"
                continue
            if not line:
                if headers or broken:
                    action_id = next((v for k, v in headers if k.lower() == "actionid"), "")
                    if broken:
                        yield f"{broken}\0{action_id}"
                    else:
                        yield Message(headers, "other")
                headers, broken = [], None
                continue
            if len(headers) >= MAX_CLIENT_HEADERS:
                broken = broken or "Too many lines in message or allocation failure"
                continue
            text = line.decode("utf-8", "replace")
            key, sep, value = text.partition(":")
            if sep:
                headers.append((key.strip(), value.strip()))


def md5_key(challenge: str, secret: str) -> str:
    return hashlib.md5((challenge + secret).encode()).hexdigest()


__all__ = ["SimServer", "Session", "action", "ACTIONS", "md5_key", "field"]
