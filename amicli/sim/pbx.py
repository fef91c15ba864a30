"""The simulated PBX: its state, its AMI users, and where its events go.

Every action handler and CLI command gets the PBX it runs on; nothing in
the sim is process-wide.  What the PBX answers is the handler table it is
given (:class:`Handlers`, built in :mod:`amicli.sim.wiring`); its dialplan
and queues are its own.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from ..protocol import Message
from .channel import Channel
from .dialplan import Dialplan
from .session import Headers, Session, Sessions, event_headers
from .users import User, permission_mask

VERSION = "22.10.1"
VERSION_13 = "13.38.3"
BANNER = "Asterisk Call Manager/11.0.0"
BANNER_13 = "Asterisk Call Manager/2.10.6"

ActionHandler = Callable[["PBX", Session, Message], None]
CliHandler = Callable[["PBX", list[str]], tuple[bool, list[str]]]


@dataclass
class ActionSpec:
    """An AMI action: its name as ListCommands shows it, the write class it needs, its handler."""

    name: str
    perm: int
    handler: ActionHandler


@dataclass
class Handlers:
    """What a PBX answers: AMI actions (by lower-case name) and CLI commands (by their words)."""

    actions: dict[str, ActionSpec] = field(default_factory=dict)
    cli: dict[str, CliHandler] = field(default_factory=dict)

    def add_action(self, name: str, handler: ActionHandler, perm: str = "") -> None:
        self.actions[name.lower()] = ActionSpec(name, permission_mask(perm), handler)

    def add_cli(self, words: str, handler: CliHandler) -> None:
        self.cli[words] = handler


def format_duration(seconds: int) -> str:
    """Asterisk's uptime wording: ``1 minute, 26 seconds``."""
    parts = []
    for unit, size in (("year", 31536000), ("week", 604800), ("day", 86400), ("hour", 3600), ("minute", 60)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count} {unit}{'s' if count != 1 else ''}")
    parts.append(f"{seconds} second{'s' if seconds != 1 else ''}")
    return ", ".join(parts)


def extension_status(exten: str, context: str, hint: str, status: int, text: str) -> list[tuple[str, str]]:
    """The ExtensionStatus event of a hint, as sent on a change and in ExtensionStateList."""
    return [
        ("Event", "ExtensionStatus"),
        ("Exten", exten),
        ("Context", context),
        ("Hint", hint),
        ("Status", str(status)),
        ("StatusText", text),
    ]


class PBX:
    """State shared by every session of one simulated PBX."""

    def __init__(
        self,
        handlers: Handlers,
        dialplan: Dialplan,
        users: dict[str, User],
        *,
        asterisk13: bool = False,
        system_name: str = "pbx-sim",
        login_fail_delay: float = 1.0,
        on_close: Callable[[], None] = lambda: None,
    ) -> None:
        self.handlers = handlers
        self.dialplan = dialplan
        self.users = users
        self.asterisk13 = asterisk13
        self.banner = BANNER_13 if asterisk13 else BANNER
        self.system_name = system_name
        self.login_fail_delay = login_fail_delay
        self.on_close = on_close
        self.lock = threading.RLock()
        self.sessions = Sessions()
        self.started = time.time()
        self.booted_at: float | None = self.started
        self.channels: dict[str, Channel] = {}
        #: Queue name -> queue (see sim/queues.py).
        self.queues: dict[str, Any] = {}
        #: The PJSIP configuration and state (see sim/pjsip.py), when loaded.
        self.pjsip: Any = None
        #: An Asterisk 13's chan_sip peers (see sim/chan_sip13.py), by name.
        self.sip_peers: dict[str, Any] = {}
        self.globals: dict[str, str] = {}
        self.calls_processed = 0
        #: How much faster than real time calls run after the answer (None: AMI_SIM_TIME_SCALE, else 1).
        self.time_scale: float | None = None
        self.stopping = threading.Event()
        self._uid = 0
        self._local = 0

    @property
    def version(self) -> str:
        return VERSION_13 if self.asterisk13 else VERSION

    def uptime(self) -> int:
        return int(time.time() - self.started)

    # -- life cycle ---------------------------------------------------------

    @property
    def booted(self) -> bool:
        return self.booted_at is not None

    def boot(self) -> None:
        """Modules loaded: FullyBooted to every session."""
        self.booted_at = time.time()
        self.broadcast("system", self.fully_booted_headers())

    def fully_booted_headers(self) -> list[tuple[str, str]]:
        uptime = str(self.uptime())
        return [
            ("Event", "FullyBooted"),
            ("Privilege", "system,all"),
            ("Uptime", uptime),
            ("LastReload", uptime),
            ("Status", "Fully Booted"),
        ]

    def stop(self) -> None:
        """Calls and loads in progress end."""
        self.stopping.set()

    def close(self) -> None:
        """Stop listening and end every session (what the server was given to do it)."""
        self.on_close()

    # -- events -------------------------------------------------------------

    def event_headers(self, event_class: str, headers: Headers) -> list[tuple[str, str]]:
        return event_headers(event_class, headers, self.system_name)

    def broadcast(self, event_class: str, headers: Headers) -> None:
        """Send an event of ``event_class`` to every session that admits it."""
        self.sessions.send_event(event_class, self.event_headers(event_class, headers))

    # -- channels -----------------------------------------------------------

    def next_uniqueid(self) -> str:
        with self.lock:
            self._uid += 1
            return f"{self.system_name}-{int(self.started)}.{self._uid}"

    def next_local(self) -> int:
        """The sequence number of the next Local channel pair."""
        with self.lock:
            self._local += 1
            return self._local

    def add_channel(self, channel: Channel) -> Channel:
        """Add a channel (a uniqueid given when it has none); returns it."""
        if not channel.uniqueid:
            channel.uniqueid = self.next_uniqueid()
        if not channel.linkedid:
            channel.linkedid = channel.uniqueid
        with self.lock:
            self.channels[channel.name] = channel
        return channel

    def find_channel(self, name: str) -> Channel | None:
        with self.lock:
            return self.channels.get(name)

    def remove_channel(self, name: str) -> Channel | None:
        """Forget a channel (the caller sends the Hangup events); its ``on_remove`` runs."""
        with self.lock:
            channel = self.channels.pop(name, None)
            if channel is not None:
                self.calls_processed += 1
        if channel is not None and channel.on_remove is not None:
            channel.on_remove(channel)
        return channel

    def channels_by_age(self) -> list[Channel]:
        """The channels, oldest first."""
        with self.lock:
            return sorted(self.channels.values(), key=lambda c: c.created)

    # -- the CLI --------------------------------------------------------------

    def run_cli(self, text: str) -> tuple[bool, list[str]]:
        """Run a CLI command: (succeeded, output lines)."""
        words = text.split()
        if not self.booted and words[:1] != ["core"]:
            # Before FullyBooted only the core is loaded: module commands are missing.
            words = ["<not loaded>"] + words
        best = None
        for key in self.handlers.cli:
            kw = key.split()
            if words[: len(kw)] == kw and (best is None or len(kw) > len(best.split())):
                best = key
        if best is None:
            shown = " ".join(words[:2])
            return False, [f"No such command '{text}' (type 'core show help {shown}' for other possible commands)"]
        return self.handlers.cli[best](self, words[len(best.split()) :])
