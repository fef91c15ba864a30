"""The one fake-peer base: a threaded TCP server on 127.0.0.1, and the wire helpers peers share."""

from __future__ import annotations

import re
import select
import socket
import struct
import threading
import time
from typing import Callable

BANNER = b"Asterisk Call Manager/11.0.0\r\n"
#: The longest a peer keeps a connection open waiting for the client to go.
HOLD_SECONDS = 30.0

# The end of a message (as Asterisk reads it: CRLF or bare LF).
_MESSAGE_END = re.compile(rb"\r?\n\r?\n")


# -- the wire ----------------------------------------------------------------------


def take_message(data: bytes) -> tuple[bytes | None, bytes]:
    """The first complete message in ``data`` (terminator included, or None), and the rest.

    Empty lines before a message are skipped, as Asterisk does.
    """
    pos = 0
    while data.startswith(b"\r\n", pos) or data.startswith(b"\n", pos):
        pos += 2 if data[pos] == 13 else 1
    m = _MESSAGE_END.search(data, pos)
    if m is None:
        return None, data[pos:]
    return data[pos : m.end()], data[m.end() :]


def split_messages(data: bytes) -> tuple[list[bytes], bytes]:
    """Every complete message in ``data`` (terminators included), and the unfinished rest."""
    out: list[bytes] = []
    while True:
        message, data = take_message(data)
        if message is None:
            return out, data
        out.append(message)


def message_headers(message: bytes) -> list[tuple[str, str]]:
    """``Key: Value`` pairs of a message (values stripped)."""
    headers = []
    for raw_line in message.decode("utf-8", "replace").split("\n"):
        line = raw_line.rstrip("\r")
        if not line:
            continue
        key, _, value = line.partition(":")
        headers.append((key.strip(), value.strip()))
    return headers


def header(message: bytes, key: str) -> str | None:
    """The first value of ``key`` in a raw message (case-insensitive), or None."""
    # The same reading as message_headers, stopping at the first match (a
    # peer looks up Action and ActionID, near the top, of every message).
    lower = key.lower()
    for raw_line in message.decode("utf-8", "replace").split("\n"):
        line = raw_line.rstrip("\r")
        if not line:
            continue
        name, _, value = line.partition(":")
        if name.strip().lower() == lower:
            return value.strip()
    return None


def ok_reply(action_id: str | None, *headers: tuple[str, str]) -> bytes:
    """``Response: Success`` with the ActionID (if any) and ``headers``."""
    out = b"Response: Success\r\n"
    if action_id is not None:
        out += b"ActionID: " + action_id.encode() + b"\r\n"
    for key, value in headers:
        out += f"{key}: {value}\r\n".encode()
    return out + b"\r\n"


def goodbye(action_id: str | None) -> bytes:
    """The answer to Logoff."""
    aid = b"ActionID: " + action_id.encode() + b"\r\n" if action_id else b""
    return b"Response: Goodbye\r\n" + aid + b"Message: Thanks for all the fish.\r\n\r\n"


def close_now(conn: socket.socket) -> None:
    """An orderly close (FIN), what a server that exits does."""
    try:
        conn.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    try:
        conn.close()
    except OSError:
        pass


def reset(conn: socket.socket) -> None:
    """Close with SO_LINGER 0: the peer gets a TCP RST, not a FIN."""
    try:
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    try:
        conn.close()
    except OSError:
        pass


def hold_until_closed(conn: socket.socket, seconds: float = HOLD_SECONDS) -> None:
    """Keep the connection open, reading and dropping, until the client goes (or ``seconds``)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            conn.settimeout(max(0.01, deadline - time.monotonic()))
            if not conn.recv(65536):
                return
        except (TimeoutError, OSError):
            return


# -- the server --------------------------------------------------------------------


class FakePeer:
    """A TCP server on 127.0.0.1 (a free port) serving each connection in a thread of its own.

    A subclass implements :meth:`serve` (or passes ``handler(peer, conn)``).
    ``listen=False`` binds the port without listening: connecting gets
    "connection refused", and no other test can take the port meanwhile.
    ``max_connections`` stops accepting after that many; with
    ``accept_timeout``, no client within that many seconds is an error.

    ``.port`` is where to point the client; ``.errors`` holds what went wrong
    in the peer itself (a test asserts it is empty); ``.connections`` counts
    the clients accepted.  :meth:`wait` waits for every connection to end,
    :meth:`close` ends them.
    """

    host = "127.0.0.1"

    def __init__(
        self,
        handler: Callable[[FakePeer, socket.socket], None] | None = None,
        *,
        listen: bool = True,
        max_connections: int | None = None,
        accept_timeout: float | None = None,
        backlog: int = 64,
        name: str = "fake-peer",
    ) -> None:
        self.handler = handler
        self.max_connections = max_connections
        self.accept_timeout = accept_timeout
        self.name = name
        self.errors: list[str] = []
        self.connections = 0
        #: Set once a client connected.
        self.connected = threading.Event()
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._threads: list[threading.Thread] = []
        self._stop = threading.Event()
        if listen:
            self.listener = socket.create_server((self.host, 0), backlog=backlog)
        else:
            self.listener = socket.socket()
            self.listener.bind((self.host, 0))
        self.port: int = self.listener.getsockname()[1]
        self._accepter: threading.Thread | None = None
        if listen:
            self._accepter = threading.Thread(target=self._accept_loop, name=name, daemon=True)
            self._accepter.start()

    @property
    def address(self) -> tuple[str, int]:
        return (self.host, self.port)

    # -- what a subclass does -------------------------------------------------

    def serve(self, conn: socket.socket) -> None:
        """Talk to one client (in its own thread); the connection is closed afterwards."""
        if self.handler is None:
            raise NotImplementedError("give a handler or override serve()")
        self.handler(self, conn)

    # -- life cycle -----------------------------------------------------------

    @property
    def finished(self) -> bool:
        """No connection is being served, and no more will be."""
        threads = [self._accepter, *self._threads]
        return not any(t is not None and t.is_alive() for t in threads)

    def wait(self, timeout: float = 5.0) -> bool:
        """Wait for the peer to be done (every connection served, no more to come); True if it is."""
        deadline = time.monotonic() + timeout
        for thread in [self._accepter, *list(self._threads)]:
            if thread is not None:
                thread.join(max(0.0, deadline - time.monotonic()))
        for thread in list(self._threads):
            thread.join(max(0.0, deadline - time.monotonic()))
        return self.finished

    def never_connected(self) -> bool:
        """No client was accepted and none is waiting to be: a client that is done never came."""
        with self._lock:
            if self.connections:
                return False
            try:
                pending, _, _ = select.select([self.listener], [], [], 0)
            except (OSError, ValueError):
                return False
            return not pending

    def close(self) -> None:
        """Stop accepting and close every open connection (safe to call twice)."""
        self._stop.set()
        try:
            # (shutdown wakes the accept loop's select at once; close alone would not)
            self.listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        try:
            self.listener.close()
        except OSError:
            pass
        with self._lock:
            conns = list(self._open)
        for conn in conns:
            close_now(conn)
        if self._accepter is not None and self._accepter is not threading.current_thread():
            self._accepter.join(5.0)

    def __enter__(self):
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def track(self, conn: socket.socket) -> None:
        """Close ``conn`` too on :meth:`close` (a TLS socket wrapped around an accepted one)."""
        with self._lock:
            self._open.add(conn)

    def untrack(self, conn: socket.socket) -> None:
        with self._lock:
            self._open.discard(conn)

    # -- the threads ----------------------------------------------------------

    def _accept_loop(self) -> None:
        deadline = None if self.accept_timeout is None else time.monotonic() + self.accept_timeout
        while not self._stop.is_set():
            if self.max_connections is not None and self.connections >= self.max_connections:
                break
            if deadline is not None and self.connections == 0 and time.monotonic() > deadline:
                self.errors.append("no client connected")
                break
            try:
                ready, _, _ = select.select([self.listener], [], [], 0.05)
                if not ready:
                    continue
                with self._lock:  # accepted and counted at once (see never_connected)
                    conn, _ = self.listener.accept()
                    self.connections += 1
                    self._open.add(conn)
            except (OSError, ValueError):
                return
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.connected.set()
            thread = threading.Thread(target=self._serve_one, args=(conn,), name=f"{self.name}-conn", daemon=True)
            self._threads.append(thread)
            thread.start()
        try:
            self.listener.close()
        except OSError:
            pass

    def _serve_one(self, conn: socket.socket) -> None:
        try:
            self.serve(conn)
        except OSError:
            pass  # the client went: what many tests are about
        except Exception as exc:  # noqa: BLE001 - a bug in the peer must show in the test, not as a closed socket
            self.errors.append(f"{self.name} crashed: {type(exc).__name__}: {exc}")
        finally:
            self.untrack(conn)
            try:
                conn.close()
            except OSError:
                pass
