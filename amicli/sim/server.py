"""The simulated PBX's AMI server: sockets, sessions, framing, dispatch.

Shapes follow the recordings of a real Asterisk 22 (see the transcripts):
banner without a blank line, lines over 1024 bytes and messages over 128
headers refused, bare LF accepted.  What the server answers is the handler
table it is given (by default :func:`amicli.sim.wiring.default_handlers`);
each handler gets the PBX, the session and the request.
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
from typing import Iterable, Sequence

from ..protocol import Message
from .dialplan import Dialplan
from .events import shutdown_pbx
from .pbx import PBX, Handlers
from .pjsip import settle, unsettle
from .session import Session, response_headers
from .users import DEFAULT_USERS, User
from .wiring import default_dialplan, default_handlers, load_default_state

MAX_CLIENT_LINE = 1024
MAX_CLIENT_HEADERS = 128
LOGIN_FAIL_DELAY = 1.0


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
        handlers: Handlers | None = None,
        dialplan: Dialplan | None = None,
        endpoints: int = 0,
    ) -> None:
        self.pbx = PBX(
            handlers if handlers is not None else default_handlers(asterisk13),
            dialplan if dialplan is not None else default_dialplan(),
            users if users is not None else dict(DEFAULT_USERS),
            asterisk13=asterisk13,
            system_name=system_name,
            login_fail_delay=login_fail_delay,
            on_close=self.close,
        )
        load_default_state(self.pbx, endpoints)
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
            self.pbx.booted_at = None
            unsettled = unsettle(self.pbx.pjsip) if self.pbx.pjsip is not None else []
            timer = threading.Timer(boot_delay, self._boot, (unsettled,))
            timer.daemon = True
            timer.start()

    def _boot(self, unsettled: list) -> None:
        """FullyBooted, then the PJSIP contacts are qualified and the registrations sent, as after a real boot."""
        self.pbx.boot()
        if unsettled or self.pbx.pjsip is not None:
            settle(self.pbx, unsettled)

    # -- what tests and the benchmarks look at ------------------------------

    @property
    def handlers(self) -> Handlers:
        return self.pbx.handlers

    @property
    def banner(self) -> str:
        return self.pbx.banner

    @property
    def started(self) -> float:
        return self.pbx.started

    @property
    def booted(self) -> bool:
        return self.pbx.booted

    @property
    def lock(self) -> threading.RLock:
        """Held while looking at :attr:`sessions`."""
        return self.pbx.sessions.lock  # type: ignore[return-value]

    @property
    def sessions(self) -> set[Session]:
        return self.pbx.sessions.members

    @property
    def time_scale(self) -> float | None:
        return self.pbx.time_scale

    @time_scale.setter
    def time_scale(self, value: float | None) -> None:
        self.pbx.time_scale = value

    def broadcast(self, event_class: str, headers: Sequence[tuple[str, str]]) -> None:
        """Send an event of ``event_class`` to every session that admits it."""
        self.pbx.broadcast(event_class, headers)

    def shutdown_pbx(self, restart: bool = False, close: bool = True) -> None:
        """Stop (or restart) the PBX as Asterisk does: Event: Shutdown to every session, then close them."""
        shutdown_pbx(self.pbx, restart, close)

    # -- life cycle -------------------------------------------------------

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
        self.pbx.sessions.shut_all()
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
        session = Session(sock, peer)
        self.pbx.sessions.add(session)
        try:
            session.write(f"{self.pbx.banner}\r\n".encode())
            for request in read_requests(sock):
                if isinstance(request, str):  # a framing error, already a message
                    _reply_broken(session, request)
                    continue
                self.dispatch(session, request)
                if not session.alive:
                    _close_gently(sock)
                    break
        except OSError:
            pass
        finally:
            session.alive = False
            self.pbx.sessions.discard(session)
            try:
                sock.close()
            except OSError:
                pass

    def dispatch(self, session: Session, request: Message) -> None:
        name = request.get("Action")
        if not name:
            session.error(request, "Missing action in request")
            return
        actions = self.pbx.handlers.actions
        lname = name.lower()
        spec = actions.get(lname)
        if lname in ("login", "challenge", "logoff") and spec is not None:
            spec.handler(self.pbx, session, request)
            return
        if session.user is None:
            session.error(request, "Permission denied")
            return
        if spec is None:
            session.error(
                request, f"Invalid/unknown command: {name}. Use Action: ListCommands to show available commands."
            )
            return
        if spec.perm and not (session.user.write & spec.perm):
            session.error(request, "Permission denied")
            return
        spec.handler(self.pbx, session, request)


def _close_gently(sock: socket.socket, linger: float = 0.2) -> None:
    """The server ends the session (Logoff, a failed login): FIN first, then read what the peer still sends.

    Closing a socket with unread input sends a reset, which may reach the peer
    before it has read the last reply; reading that input first avoids it.
    """
    try:
        sock.shutdown(socket.SHUT_WR)
        sock.settimeout(linger)
        deadline = time.monotonic() + linger
        while time.monotonic() < deadline and sock.recv(65536):
            pass
    except OSError:
        pass


def _reply_broken(session: Session, packed: str) -> None:
    # packed: "<error message>\0<ActionID or empty>"
    message, _, action_id = packed.partition("\0")
    request = Message([("ActionID", action_id)] if action_id else [], "other")
    session.send(response_headers(request, "Error", [("Message", message)]))


def read_requests(sock: socket.socket) -> Iterable[Message | str]:
    """Read client messages with Asterisk's limits.

    Yields a Message per request, or a string ``"error\\0ActionID"`` for a
    message that broke a limit (Asterisk answers it with an error and goes on).
    """
    reader = _RequestReader()
    while True:
        try:
            data = sock.recv(65536)
        except OSError:
            return
        if not data:
            return
        yield from reader.feed(data)


class _RequestReader:
    """Asterisk's framing of client messages, fed the bytes as they come."""

    def __init__(self) -> None:
        self.buf = b""
        self.headers: list[tuple[str, str]] = []
        self.broken: str | None = None
        self.too_long = False

    def feed(self, data: bytes) -> list[Message | str]:
        self.buf += data
        out: list[Message | str] = []
        while True:
            nl = self.buf.find(b"\n")
            if nl < 0:
                if len(self.buf) > MAX_CLIENT_LINE:
                    # Asterisk drops the line and reports it at the end of the message.
                    self.too_long = True
                    self.buf = self.buf[-1:]
                return out
            line = self.buf[:nl].rstrip(b"\r")
            self.buf = self.buf[nl + 1 :]
            message = self._line(line)
            if message is not None:
                out.append(message)

    def _line(self, line: bytes) -> Message | str | None:
        if self.too_long or len(line) > MAX_CLIENT_LINE:
            self.too_long = False
            self.broken = self.broken or "Failed to parse message: line too long"
            return None
        if not line:
            headers, broken = self.headers, self.broken
            self.headers, self.broken = [], None
            if broken:
                action_id = next((v for k, v in headers if k.lower() == "actionid"), "")
                return f"{broken}\0{action_id}"
            return Message(headers, "other") if headers else None
        if len(self.headers) >= MAX_CLIENT_HEADERS:
            self.broken = self.broken or "Too many lines in message or allocation failure"
            return None
        key, sep, value = line.decode("utf-8", "replace").partition(":")
        if sep:
            self.headers.append((key.strip(), value.strip()))
        return None


__all__ = ["SimServer", "read_requests"]
