"""A PBX that is still booting, as the recordings ``booting-*`` show, for tests and the boot benchmark.

:class:`BootPeer` listens on 127.0.0.1 (a free port) and serves any number of
connections, one thread each, on one boot clock that starts when the peer
does:

* the login is accepted at once; ``FullyBooted`` comes with the login reply
  only when the PBX has booted (and only to sessions that may read ``system``
  events), otherwise later, as an ordinary event, at ``boot_after`` seconds;
* ``SuccessfulAuth`` comes after the first action's reply, or not at all;
* until FullyBooted, module actions answer ``Invalid/unknown command``;
  core actions (``CORE_ACTIONS``) answer at once;
* core CLI commands answer "No such command" until ``cli_lag`` seconds after
  FullyBooted (they are registered just after it is published).

``clock_from_first_connection`` starts the boot clock at the first
connection instead (for tests that must see the boot, however slowly `ami`
starts).

The error texts are the recorded ones (Asterisk 22.10.1).
"""

from __future__ import annotations

import re
import select
import socket
import threading
import time

BANNER = b"Asterisk Call Manager/11.0.0\r\n"
#: Manager actions of the core: there as soon as the AMI port is open.
CORE_ACTIONS = frozenset(
    {
        "login",
        "logoff",
        "ping",
        "challenge",
        "events",
        "coresettings",
        "corestatus",
        "coreshowchannels",
        "listcommands",
        "command",
    }
)
VERSION_LINE = "Asterisk 22.10.1 built by root @ vm on a x86_64 running Linux on 2026-12-01 13:36:05 UTC"
_MESSAGE_END = re.compile(rb"\r?\n\r?\n")


def _headers(message: bytes) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in message.decode("latin-1").splitlines():
        key, sep, value = line.partition(":")
        if sep:
            out.setdefault(key.strip().lower(), value.strip())
    return out


def _msg(*pairs: tuple[str, str]) -> bytes:
    return b"".join(f"{k}: {v}\r\n".encode() for k, v in pairs) + b"\r\n"


class BootPeer:
    """A booting Asterisk 22 (see the module docstring)."""

    def __init__(
        self,
        boot_after: float = 1.0,
        cli_lag: float = 0.1,
        *,
        system_reader: bool = True,
        auth_event: bool = True,
        core_actions: frozenset[str] = CORE_ACTIONS,
        clock_from_first_connection: bool = False,
    ) -> None:
        self.boot_after, self.cli_lag = boot_after, cli_lag
        self._clock_pending = clock_from_first_connection
        self._start_clock()
        self.system_reader = system_reader
        self.auth_event = auth_event
        self.core_actions = core_actions
        #: Action names received, in order, across every connection.
        self.actions: list[str] = []
        self.listener = socket.create_server(("127.0.0.1", 0), backlog=64)
        self.port = self.listener.getsockname()[1]
        self._stop = threading.Event()
        threading.Thread(target=self._accept_loop, name="boot-peer", daemon=True).start()

    def _start_clock(self) -> None:
        now = time.monotonic()
        # A negative boot_after: the PBX booted that long ago.
        self.started = now - max(0.0, -self.boot_after)
        self.boot_at = now + self.boot_after
        self.cli_at = self.boot_at + self.cli_lag

    def close(self) -> None:
        self._stop.set()
        try:
            self.listener.close()
        except OSError:
            pass

    def __enter__(self) -> "BootPeer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _accept_loop(self) -> None:
        self.listener.settimeout(0.2)
        while not self._stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if self._clock_pending:
                # The boot starts with the first connection: a slow client start-up cannot skip it.
                self._clock_pending = False
                self._start_clock()
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    # -- one session -----------------------------------------------------------

    def _serve(self, conn: socket.socket) -> None:
        state = {"events": False, "booted_sent": False, "auth_sent": not self.auth_event, "replies": 0}
        try:
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn.sendall(BANNER)
            buffer = b""
            while not self._stop.is_set():
                self._maybe_boot(conn, state)
                wait = max(0.0, self.boot_at - time.monotonic()) if not state["booted_sent"] else 0.5
                ready, _, _ = select.select([conn], [], [], min(max(wait, 0.01), 0.5))
                if not ready:
                    continue
                data = conn.recv(65536)
                if not data:
                    return
                buffer += data
                while (match := _MESSAGE_END.search(buffer)) is not None:
                    message, buffer = buffer[: match.start()], buffer[match.end() :]
                    if message.strip() and not self._answer(conn, _headers(message), state):
                        return
        except OSError:
            return
        finally:
            conn.close()

    def _maybe_boot(self, conn: socket.socket, state: dict) -> None:
        if state["events"] and not state["booted_sent"] and time.monotonic() >= self.boot_at:
            state["booted_sent"] = True
            if self.system_reader:
                uptime = str(int(time.monotonic() - self.started))
                conn.sendall(
                    _msg(
                        ("Event", "FullyBooted"),
                        ("Privilege", "system,all"),
                        ("Status", "Fully Booted"),
                        ("Uptime", uptime),
                        ("LastReload", uptime),
                    )
                )

    def _answer(self, conn: socket.socket, request: dict[str, str], state: dict) -> bool:
        action = request.get("action", "")
        self.actions.append(action)
        aid = ("ActionID", request.get("actionid", ""))
        name = action.lower()
        if name == "login":
            state["events"] = request.get("events", "on").lower() not in ("off", "no", "0", "false")
            out = _msg(("Response", "Success"), aid, ("Message", "Authentication accepted"))
            if state["events"] and time.monotonic() >= self.boot_at:
                state["booted_sent"] = True
                if self.system_reader:
                    uptime = str(int(time.monotonic() - self.started))
                    out += _msg(
                        ("Event", "FullyBooted"),
                        ("Privilege", "system,all"),
                        ("Uptime", uptime),
                        ("LastReload", uptime),
                        ("Status", "Fully Booted"),
                    )
            conn.sendall(out)
            return True
        if name == "logoff":
            conn.sendall(_msg(("Response", "Goodbye"), aid, ("Message", "Thanks for all the fish.")))
            return False
        booted = time.monotonic() >= self.boot_at
        if name not in self.core_actions and not booted:
            out = _msg(
                ("Response", "Error"),
                aid,
                ("Message", f"Invalid/unknown command: {action}. Use Action: ListCommands to show available commands."),
            )
        else:
            out = self._reply(action, request, aid)
        state["replies"] += 1
        if state["events"] and not state["auth_sent"]:
            state["auth_sent"] = True
            out += _msg(
                ("Event", "SuccessfulAuth"), ("Privilege", "security,all"), ("Service", "AMI"), ("AccountID", "admin")
            )
        conn.sendall(out)
        return True

    def _reply(self, action: str, request: dict[str, str], aid: tuple[str, str]) -> bytes:
        name = action.lower()
        if name == "command":
            cli = request.get("command", "")
            if cli == "core show version" and time.monotonic() >= self.cli_at:
                return _msg(
                    ("Response", "Success"), aid, ("Message", "Command output follows"), ("Output", VERSION_LINE)
                )
            return _msg(
                ("Response", "Error"),
                aid,
                ("Message", "Command output follows"),
                (
                    "Output",
                    f"No such command '{cli}' (type 'core show help {cli.split(' ')[0]}' for other possible commands)",
                ),
            )
        if name == "ping":
            return _msg(("Response", "Success"), aid, ("Ping", "Pong"), ("Timestamp", f"{time.time():.6f}"))
        if name == "coresettings":
            return _msg(("Response", "Success"), aid, ("AMIversion", "11.0.0"), ("AsteriskVersion", "22.10.1"))
        if name == "coreshowchannels":
            return (
                _msg(("Response", "Success"), aid, ("EventList", "start"), ("Message", "Channels will follow"))
                + _msg(
                    ("Event", "CoreShowChannel"),
                    aid,
                    ("Channel", "PJSIP/alice-00000001"),
                    ("ChannelState", "6"),
                    ("ChannelStateDesc", "Up"),
                    ("CallerIDNum", "1001"),
                    ("Context", "default"),
                    ("Exten", "200"),
                    ("Priority", "2"),
                    ("Uniqueid", "1796135128.1"),
                    ("Linkedid", "1796135128.1"),
                    ("Application", "Wait"),
                    ("ApplicationData", "600"),
                    ("Duration", "00:00:05"),
                )
                + _msg(("Event", "CoreShowChannelsComplete"), aid, ("EventList", "Complete"), ("ListItems", "1"))
            )
        if name == "queuestatus":
            return (
                _msg(("Response", "Success"), aid, ("EventList", "start"), ("Message", "Queue status will follow"))
                + _msg(
                    ("Event", "QueueParams"),
                    ("Queue", "support"),
                    ("Max", "0"),
                    ("Strategy", "ringall"),
                    ("Calls", "0"),
                    ("Holdtime", "0"),
                    ("TalkTime", "0"),
                    ("Completed", "0"),
                    ("Abandoned", "0"),
                    ("ServiceLevel", "0"),
                    ("ServicelevelPerf", "0.0"),
                    ("ServicelevelPerf2", "0.0"),
                    ("Weight", "0"),
                    aid,
                )
                + _msg(("Event", "QueueStatusComplete"), aid, ("EventList", "Complete"), ("ListItems", "1"))
            )
        if name == "queuesummary":
            return (
                _msg(("Response", "Success"), aid, ("EventList", "start"), ("Message", "Queue summary will follow"))
                + _msg(
                    ("Event", "QueueSummary"),
                    ("Queue", "support"),
                    ("LoggedIn", "0"),
                    ("Available", "0"),
                    ("Callers", "0"),
                    ("HoldTime", "0"),
                    ("TalkTime", "0"),
                    ("LongestHoldTime", "0"),
                    aid,
                )
                + _msg(("Event", "QueueSummaryComplete"), aid, ("EventList", "Complete"), ("ListItems", "1"))
            )
        return _msg(
            ("Response", "Error"),
            aid,
            ("Message", f"Invalid/unknown command: {action}. Use Action: ListCommands to show available commands."),
        )
