"""A fault-injecting AMI peer: a bad network, a bad server, a hostile one.

:class:`FaultPeer` serves any number of connections at once, each with the
same named fault (see :data:`FAULTS`).  Faults that need a logged-in session
put the peer in front of an in-process :class:`~amicli.sim.SimServer` as a
relay: the sim logs the client in (plain ``Login`` or ``Challenge``/MD5) and
answers every action as a PBX would, and the relay breaks the stream at the
fault's point:

* ``reply`` faults strike at the reply to the client's first action after
  the login (``CoreSettings`` for login-test, ``Ping`` for ``raw Ping``,
  ``QueueStatus``, ``Originate``...).  A session that sends no action after
  the login (``ami events``) is struck in its event stream instead, once it
  has been quiet for :data:`IDLE_TRIGGER` seconds.
* ``session`` faults change every message of an otherwise normal session.
* ``connect``, ``banner`` and ``tls`` faults never reach the sim.
"""

from __future__ import annotations

import functools
import re
import select
import socket
import ssl
import threading
import time
from dataclasses import dataclass

from peers import hostile
from peers.base import BANNER, HOLD_SECONDS, FakePeer, close_now, header, hold_until_closed, reset, split_messages
from peers.certs import server_tls_context

#: Seconds a logged-in session may stay quiet before a reply fault strikes its event stream.
IDLE_TRIGGER = 0.3
#: One byte per this many seconds for the trickle fault.
TRICKLE_INTERVAL = 0.1
#: The size of the newline-free line of the huge-line fault.
HUGE_LINE = 10 * 1024 * 1024
#: Headers in the one message of the many-headers fault.
MANY_HEADERS = 100_000
_FREE_TEXT = re.compile(rb"(?m)^((?:Message|CallerIDName|ConnectedLineName): [^\r\n]*)")


@dataclass(frozen=True)
class Fault:
    """One way a peer can misbehave."""

    name: str
    #: What the peer does, for people (the fault table of docs/reliability.md).
    title: str
    #: ``connect``, ``banner``, ``tls``, ``reply`` or ``session`` (see the module docstring).
    stage: str
    #: Global ``ami`` options the fault needs, ``{cert}`` standing for the peer's certificate file.
    ami_args: tuple[str, ...] = ()


FAULTS: dict[str, Fault] = {
    f.name: f
    for f in (
        Fault("refused", "Connection refused (nothing listens on the port)", "connect"),
        Fault("silent", "Accepts the connection and says nothing", "banner"),
        Fault("http", "Answers with an HTTP response instead of the AMI banner", "banner"),
        Fault("ssh", "Greets with an SSH banner", "banner"),
        Fault("close-after-banner", "Closes right after the AMI banner", "banner"),
        Fault("close-mid-list", "Closes in the middle of a list (after one item, inside the next)", "reply"),
        Fault("close-mid-message", "Closes in the middle of a message (half a reply)", "reply"),
        Fault(
            "close-after-reply",
            "Closes right after the first reply: for originate, after `Originate successfully queued`, "
            "while ami waits for the outcome",
            "reply",
        ),
        Fault("trickle", "Trickles the reply, one byte every 100 ms, without end", "reply"),
        Fault("huge-line", "Sends a 10 MB line with no newline", "reply"),
        Fault("many-headers", "Sends one message with 100,000 headers", "reply"),
        Fault(
            "non-utf8",
            "Puts bytes that are not UTF-8 in header keys and values (otherwise a normal session)",
            "session",
        ),
        Fault("reset", "Resets the connection (TCP RST) at the first action after login", "reply"),
        Fault("tls-plain", "Plain AMI bytes on a --tls connection: the TLS handshake fails", "tls", ("--tls",)),
        Fault(
            "tls-wrong-name",
            "TLS certificate for another name (other.example), signed by a trusted CA",
            "tls",
            ("--tls", "--ca-file", "{cert}"),
        ),
        Fault("tls-untrusted", "TLS certificate nobody vouches for (self-signed, no --ca-file)", "tls", ("--tls",)),
        # Hostile servers (peers/hostile.py).
        Fault(
            "text-flood",
            "Answers with headerless text blocks (no colon), without end, as fast as it can",
            "reply",
            ("--timeout", "4"),
        ),
        Fault("text-trickle", "Answers with a headerless text block every 0.8 s, without end", "reply"),
        Fault(
            "list-flood",
            "Answers with a list that never ends, 1 MB items as fast as it can",
            "reply",
            ("--timeout", "4"),
        ),
        Fault("list-trickle", "Answers with a list that never ends, one item every 0.8 s", "reply"),
        Fault("login-text", "Answers Login with headerless text, and a later Ping with Success", "login"),
        Fault("quoted-secret", "Refuses Login with a Message quoting the secret (with --auth md5: the key)", "login"),
        Fault(
            "forged-reply",
            "Sends, in the segment of the Login reply, a reply forged for the client's next ActionID",
            "session",
        ),
        Fault(
            "control-chars",
            "Puts terminal escapes (clear screen, OSC 0 title, OSC 52 clipboard, C1 U+009B) and a `|` "
            "in values and header names",
            "session",
        ),
        Fault("event-flood", "Floods the session with 5,000 call events a second from the login on", "session"),
        Fault(
            "foreign-outcomes",
            "Sends other sessions' call outcomes (Busy) under ActionIDs like ours (`ami-1-2`, ours with a "
            "character more), with the Login reply and after each Originate",
            "session",
        ),
        Fault(
            "hostile-events",
            "Sends, with the Login reply, 1,000 events with `ChanVariable` twice or three times, then 3,000 "
            "events with names never seen before",
            "session",
        ),
    )
}


def mangle(message: bytes) -> bytes:
    """The non-utf8 fault: invalid UTF-8 in a new header's key and value, and in free-text values.

    A header ``X-Bad\\xff\\xfeKey: caf\\xe9 ...`` goes in as the second line;
    ``Message``, ``CallerIDName`` and ``ConnectedLineName`` values get
    invalid bytes appended.  Everything the client needs (Response, Event,
    ActionID, EventList) stays intact.
    """
    nl = message.find(b"\n")
    if nl < 0:
        return message
    bad = b"X-Bad\xff\xfeKey: caf\xe9 \xc3\x28 \xed\xa0\x80 \xf0\x28\x8c\xbc end\r\n"
    out = message[: nl + 1] + bad + message[nl + 1 :]
    return _FREE_TEXT.sub(lambda m: m.group(1) + b" \xff\xfe\xc0", out)


@functools.lru_cache(maxsize=1)
def many_headers_body() -> bytes:
    """100,000 header lines (made once: every connection sends the same)."""
    return b"".join(b"X-Header-%d: %d\r\n" % (i, i) for i in range(MANY_HEADERS))


# -- the fault peer --------------------------------------------------------------


class FaultPeer(FakePeer):
    """A peer that misbehaves as ``fault`` says, on every connection.

    ``backend_port``: the sim that logs clients in and answers for the
    faults that need a session.  ``certs``: from :func:`peers.certs.make_certs`,
    for the TLS faults.  ``.port`` is where to point ``ami``; :meth:`ami_args`
    the global options the fault needs.
    """

    def __init__(
        self,
        fault: str,
        *,
        backend_port: int | None = None,
        certs: dict[str, tuple[str, str]] | None = None,
    ) -> None:
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r} (known: {', '.join(FAULTS)})")
        self.fault = FAULTS[fault]
        self.backend_port = backend_port
        self.certs = certs or {}
        if self.fault.stage in ("reply", "session", "login") or fault in ("tls-wrong-name", "tls-untrusted"):
            if backend_port is None:
                raise ValueError(f"fault {fault!r} needs a backend sim (backend_port)")
        self.tls_context: ssl.SSLContext | None = None
        if fault == "tls-wrong-name":
            self.tls_context = server_tls_context(*self.certs["other"])
        elif fault == "tls-untrusted":
            self.tls_context = server_tls_context(*self.certs["good"])
        #: Login actions relayed, and every byte clients sent through the relay.
        self.logins = 0
        self.from_clients = bytearray()
        # Refused: bound but not listening, so connecting gets RST.
        super().__init__(listen=self.fault.stage != "connect", backlog=256, name=f"fault-{fault}")

    def ami_args(self) -> list[str]:
        cert = self.certs.get("other", ("",))[0]
        return [arg.replace("{cert}", cert) for arg in self.fault.ami_args]

    # -- the faults before any AMI ---------------------------------------

    def serve(self, conn: socket.socket) -> None:
        name = self.fault.name
        if name == "silent":
            hold_until_closed(conn)
        elif name == "http":
            conn.sendall(
                b"HTTP/1.1 400 Bad Request\r\nServer: nginx\r\nContent-Type: text/html\r\n"
                b"Content-Length: 0\r\nConnection: close\r\n\r\n"
            )
            close_now(conn)
        elif name == "ssh":
            conn.sendall(b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n")
            hold_until_closed(conn)
        elif name == "close-after-banner":
            conn.sendall(BANNER)
            close_now(conn)
        elif name == "tls-plain":
            # A plain AMI server where the client expects TLS: the banner is
            # what the client's handshake reads.
            conn.sendall(BANNER)
            hold_until_closed(conn)
        elif self.tls_context is not None:
            conn.settimeout(10)
            try:
                tls = self.tls_context.wrap_socket(conn, server_side=True)
            except (ssl.SSLError, OSError):
                return  # the client refused the certificate, as it should
            tls.settimeout(None)
            self.track(tls)
            try:
                Relay(self, tls).run()
            finally:
                self.untrack(tls)
        else:
            Relay(self, conn).run()


class _Closed(Exception):
    """The relay is done with this connection."""


class Relay:
    """One client connection relayed to the backend sim, with the fault applied."""

    def __init__(self, peer: FaultPeer, conn: socket.socket) -> None:
        self.peer = peer
        self.fault = peer.fault.name
        self.conn = conn
        self.backend = socket.create_connection(("127.0.0.1", peer.backend_port or 0), timeout=5)
        self.backend.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.client_buf = b""
        self.server_buf = b""
        self.banner_seen = False
        self.login_id: str | None = None
        self.logged_in_at: float | None = None
        self.struck = False
        self.target_id: str | None = None  # the ActionID of the first action after login
        self.target_is_list = False
        self.send_lock = threading.Lock()  # the event flood sends from a thread of its own
        self.login_answered = False

    def run(self) -> None:
        try:
            self._loop()
        except _Closed:
            pass
        finally:
            try:
                self.backend.close()
            except OSError:
                pass

    def _loop(self) -> None:
        socks = [self.conn, self.backend]
        while True:
            pending = isinstance(self.conn, ssl.SSLSocket) and self.conn.pending()
            try:
                readable = [self.conn] if pending else select.select(socks, [], [], 0.05)[0]
            except ValueError:
                raise _Closed from None  # the peer was closed, its connections with it (fd -1)
            if self.conn in readable:
                data = self.conn.recv(65536)
                if not data:
                    raise _Closed
                self._from_client(data)
            if self.backend in readable:
                data = self.backend.recv(65536)
                if not data:
                    close_now(self.conn)
                    raise _Closed
                self._from_server(data)
            if (
                not self.struck
                and self.logged_in_at is not None
                and time.monotonic() - self.logged_in_at > IDLE_TRIGGER
                and self.peer.fault.stage == "reply"
            ):
                # A session that asks nothing after the login: strike its event stream.
                self.struck = True
                self._strike(None)

    # -- client to sim ----------------------------------------------------

    def _from_client(self, data: bytes) -> None:
        with self.peer._lock:
            self.peer.from_clients += data
        messages, self.client_buf = split_messages(self.client_buf + data)
        for message in messages:
            action = (header(message, "Action") or "").lower()
            action_id = header(message, "ActionID")
            if self.login_answered and action == "ping":
                hostile.answer_ping(self.conn, action_id)
                continue
            if action == "login":
                self.login_id = action_id
                with self.peer._lock:
                    self.peer.logins += 1
                secret = header(message, "Secret") or header(message, "Key")
                if hostile.at_login(self.fault, self.conn, message, action_id, secret):
                    self.login_answered = True
                    continue
            elif (
                self.logged_in_at is not None
                and not self.struck
                and action not in ("login", "challenge", "logoff")
                and self.peer.fault.stage == "reply"
            ):
                self.struck = True
                self.target_id = action_id
                if self._strike(action_id):
                    continue  # the fault answers instead of the sim
            self.backend.sendall(message)
            if self.fault == "foreign-outcomes" and action == "originate" and action_id:
                self._to_client(hostile.foreign_outcomes(action_id))

    # -- sim to client ----------------------------------------------------

    def _from_server(self, data: bytes) -> None:
        if not self.banner_seen:
            data = self.server_buf + data
            nl = data.find(b"\n")
            if nl < 0:
                self.server_buf = data
                return
            self.banner_seen = True
            self._to_client(data[: nl + 1])
            self.server_buf, data = b"", data[nl + 1 :]
        messages, self.server_buf = split_messages(self.server_buf + data)
        for message in messages:
            action_id = header(message, "ActionID")
            if (
                self.logged_in_at is None
                and self.login_id is not None
                and action_id == self.login_id
                and (header(message, "Response") or "").lower() == "success"
            ):
                self.logged_in_at = time.monotonic()
                if self.fault == "forged-reply":
                    message += hostile.forged(self.login_id)
                elif self.fault == "foreign-outcomes":
                    message += hostile.foreign_outcomes(self.login_id)
                elif self.fault == "hostile-events":
                    message += hostile.hostile_events()
                elif self.fault == "event-flood":
                    threading.Thread(target=self._flood, daemon=True).start()
            if self.fault == "non-utf8":
                message = mangle(message)
            elif self.fault == "control-chars":
                message = hostile.with_escapes(message)
            self._to_client(message)
            if self.fault == "close-after-reply" and self.target_id is not None and action_id == self.target_id:
                if header(message, "Response") is not None:
                    self.target_is_list = (header(message, "EventList") or "").lower() == "start"
                    done = not self.target_is_list
                else:
                    done = (header(message, "EventList") or "").lower() in ("complete", "cancelled")
                if done:
                    close_now(self.conn)
                    raise _Closed

    def _to_client(self, data: bytes) -> None:
        with self.send_lock:
            self.conn.sendall(data)

    def _flood(self) -> None:
        stop = time.monotonic() + HOLD_SECONDS
        burst = hostile.flood_burst()
        try:
            while time.monotonic() < stop:
                with self.send_lock:
                    self.conn.sendall(burst)
                time.sleep(0.01)
        except OSError:
            pass  # the client went

    # -- the faults after login -------------------------------------------

    def _strike(self, action_id: str | None) -> bool:
        """Apply the fault at the first action (or, with None, the quiet event stream).

        Returns True when the fault answered, so the action must not reach the sim.
        """
        aid = b"" if action_id is None else b"ActionID: " + action_id.encode() + b"\r\n"
        if action_id is None:
            head = b"Event: Newchannel\r\nPrivilege: call,all\r\n"
        else:
            head = b"Response: Success\r\n" + aid
        conn = self.conn
        fault = self.fault
        if fault == "close-mid-list":
            item = (
                b"Event: CoreShowChannel\r\n" + aid + b"Channel: PJSIP/1001-00000001\r\nChannelState: 6\r\n"
                b"ChannelStateDesc: Up\r\nCallerIDNum: 1001\r\nUniqueid: 1700000000.1\r\n\r\n"
            )
            start = b"" if action_id is None else head + b"EventList: start\r\nMessage: Channels will follow\r\n\r\n"
            conn.sendall(start + item + item[: len(item) // 2])
            close_now(conn)
            raise _Closed
        if fault == "close-mid-message":
            conn.sendall(head + b"Message: Channels will f")
            close_now(conn)
            raise _Closed
        if fault == "close-after-reply":
            if action_id is None:
                close_now(conn)
                raise _Closed
            return False  # the sim answers; the relay closes after its reply
        if fault == "trickle":
            stream = head + b"Message: " + b"x" * 100_000
            for byte in stream:
                conn.sendall(bytes((byte,)))
                time.sleep(TRICKLE_INTERVAL)
            raise _Closed
        if fault == "huge-line":
            conn.sendall(head + b"Data: ")
            chunk = b"x" * 65536
            for _ in range(HUGE_LINE // len(chunk)):
                conn.sendall(chunk)
            hold_until_closed(conn)
            raise _Closed
        if fault == "many-headers":
            conn.sendall(head + many_headers_body() + b"\r\n")
            hold_until_closed(conn)
            raise _Closed
        if fault == "reset":
            reset(conn)
            raise _Closed
        answered = hostile.strike(fault, conn, action_id)
        if answered is not None:
            return answered
        return False
