"""A scripted peer: logs any client in (plain or MD5), then sends what the test chose."""

from __future__ import annotations

import socket
import time
from typing import Callable, Sequence

from peers.base import BANNER, HOLD_SECONDS, FakePeer, close_now, goodbye, header, ok_reply, split_messages

#: ``respond(state, action, action_id)`` -> chunks; ``state`` is a dict per connection.
Responder = Callable[[dict, str, "str | None"], Sequence["bytes | float"]]
#: ``after_login(state)`` -> chunks sent right after the login response.
AfterLogin = Callable[[dict], Sequence["bytes | float"]]


class ScriptPeer(FakePeer):
    """Logs any client in (plain or MD5), then sends what the test chose.

    ``after_login(state)`` gives the chunks sent right after the login
    response; ``respond(state, action, action_id)`` the chunks that answer
    each later action (default: ``Response: Success``).  Each chunk is one
    ``sendall`` (TCP_NODELAY), so a test controls how the stream is split;
    an empty chunk closes the connection there, a float pauses that many
    seconds.  ``Logoff`` gets ``Goodbye``.  Many connections are served, one
    thread each; ``state`` is a fresh dict per connection.
    """

    def __init__(
        self,
        respond: Responder | None = None,
        *,
        after_login: AfterLogin | None = None,
        banner: bytes = BANNER,
    ) -> None:
        self.respond = respond or (lambda state, action, action_id: [ok_reply(action_id)])
        self.after_login = after_login
        self.banner = banner
        super().__init__(name="script-peer")

    def _send(self, conn: socket.socket, chunks: Sequence[bytes | float]) -> bool:
        for chunk in chunks:
            if isinstance(chunk, float):
                time.sleep(chunk)  # a number: pause this many seconds
                continue
            if chunk == b"":
                close_now(conn)  # an empty chunk: the peer hangs up here
                return False
            conn.sendall(chunk)
        return True

    def serve(self, conn: socket.socket) -> None:
        conn.settimeout(HOLD_SECONDS)
        state: dict = {}
        buf = b""
        conn.sendall(self.banner)
        while True:
            data = conn.recv(65536)
            if not data:
                return
            messages, buf = split_messages(buf + data)
            for message in messages:
                action = (header(message, "Action") or "").lower()
                action_id = header(message, "ActionID")
                if action == "challenge":
                    conn.sendall(ok_reply(action_id, ("Challenge", "123456789")))
                elif action == "login":
                    conn.sendall(ok_reply(action_id, ("Message", "Authentication accepted")))
                    if self.after_login is not None and not self._send(conn, self.after_login(state)):
                        return
                elif action == "logoff":
                    conn.sendall(goodbye(action_id))
                    close_now(conn)
                    return
                elif not self._send(conn, self.respond(state, action, action_id)):
                    return
