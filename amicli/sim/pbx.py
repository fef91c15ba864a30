"""The simulated PBX's state: what its CLI commands and actions read and change.

Kept small on purpose; the modules for channels, calls and queues add their
state here and register their CLI commands with :meth:`PBX.register_cli`.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from .server import SimServer

VERSION = "22.10.1"
VERSION_13 = "13.38.3"

CliHandler = Callable[["PBX", list[str]], tuple[bool, list[str]]]
CLI: dict[str, CliHandler] = {}


def cli(text: str) -> Callable[[CliHandler], CliHandler]:
    """Register a CLI command (its words, matched as a prefix of the request)."""

    def register(handler: CliHandler) -> CliHandler:
        CLI[text] = handler
        return handler

    return register


def format_duration(seconds: int) -> str:
    """Asterisk's uptime wording: ``1 minute, 26 seconds``."""
    parts = []
    for unit, size in (("year", 31536000), ("week", 604800), ("day", 86400), ("hour", 3600), ("minute", 60)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count} {unit}{'s' if count != 1 else ''}")
    parts.append(f"{seconds} second{'s' if seconds != 1 else ''}")
    return ", ".join(parts)


class PBX:
    """State shared by every session of one simulated PBX."""

    def __init__(self, server: "SimServer") -> None:
        self.server = server
        self.lock = threading.RLock()
        self.channels: dict[str, dict] = {}
        self.queues: dict[str, dict] = {}
        self.calls_processed = 0
        self._stopping = threading.Event()
        self.extensions: dict = {}

    @property
    def version(self) -> str:
        return VERSION_13 if self.server.asterisk13 else VERSION

    @property
    def stopping(self) -> threading.Event:
        return self._stopping

    def stop(self) -> None:
        self._stopping.set()

    def uptime(self) -> int:
        return int(time.time() - self.server.started)

    # -- channels -----------------------------------------------------------
    # A channel is a dict keyed by the CoreShowChannel header names, plus
    # "_created" (epoch seconds) for the Duration.  The call modules create
    # and end channels through these methods so every view stays consistent.

    def next_uniqueid(self) -> str:
        with self.lock:
            self._uid = getattr(self, "_uid", 0) + 1
            return f"{self.server.system_name}-{int(self.server.started)}.{self._uid}"

    def add_channel(self, channel: dict) -> dict:
        """Register a channel (fields as in CoreShowChannel); returns it."""
        channel.setdefault("_created", time.time())
        uid = channel.setdefault("Uniqueid", self.next_uniqueid())
        channel.setdefault("Linkedid", uid)
        for key in ("CallerIDNum", "CallerIDName", "ConnectedLineNum", "ConnectedLineName"):
            channel.setdefault(key, "<unknown>")
        channel.setdefault("Language", "en")
        channel.setdefault("AccountCode", "")
        channel.setdefault("BridgeId", "")
        with self.lock:
            self.channels[channel["Channel"]] = channel
        return channel

    def find_channel(self, name: str) -> dict | None:
        with self.lock:
            return self.channels.get(name)

    def remove_channel(self, name: str) -> dict | None:
        """Forget a channel (the call modules send the Hangup events)."""
        with self.lock:
            channel = self.channels.pop(name, None)
            if channel is not None:
                self.calls_processed += 1
        if channel is not None:
            self._channel_removed(channel)
        return channel

    # -- removal hook (for amicli/sim/calls.py) -------------------------------
    # A channel may carry "_on_remove", a callable run when the channel is
    # removed by anyone (an AMI Hangup, say), outside the lock: the module
    # that placed the call then ends it (the OriginateResponse still owed,
    # the other half) without whoever removed it knowing about calls.

    def _channel_removed(self, channel: dict) -> None:
        hook = channel.get("_on_remove")
        if callable(hook):
            hook(channel)

    def channel_snapshot(self) -> list[dict]:
        """Copies of the channels with Duration filled in, oldest first."""
        now = time.time()
        with self.lock:
            channels = sorted(self.channels.values(), key=lambda c: c["_created"])
            out = []
            for c in channels:
                copy = {k: v for k, v in c.items() if not k.startswith("_")}
                secs = int(now - c["_created"])
                copy["Duration"] = f"{secs // 3600:02d}:{secs % 3600 // 60:02d}:{secs % 60:02d}"
                out.append(copy)
        return out

    def run_cli(self, text: str) -> tuple[bool, list[str]]:
        """Run a CLI command: (succeeded, output lines)."""
        words = text.split()
        if not self.server.booted and words[:1] != ["core"]:
            # Before FullyBooted only the core is loaded: module commands are missing.
            words = ["<not loaded>"] + words
        best = None
        for key in CLI:
            kw = key.split()
            if words[: len(kw)] == kw and (best is None or len(kw) > len(best.split())):
                best = key
        if best is None:
            shown = " ".join(words[:2])
            return False, [f"No such command '{text}' (type 'core show help {shown}' for other possible commands)"]
        return CLI[best](self, words[len(best.split()) :])


@cli("core show version")
def _show_version(pbx: PBX, args: list[str]) -> tuple[bool, list[str]]:
    return True, [f"Asterisk {pbx.version} built by ami-sim @ localhost on a x86_64 running Linux"]


@cli("core show uptime")
def _show_uptime(pbx: PBX, args: list[str]) -> tuple[bool, list[str]]:
    up = format_duration(pbx.uptime())
    return True, [f"System uptime: {up}", f"Last reload: {up}"]


@cli("core show channels")
def _show_channels(pbx: PBX, args: list[str]) -> tuple[bool, list[str]]:
    channels = pbx.channel_snapshot()
    if args[:1] == ["concise"]:
        lines = [
            "!".join(
                [
                    c.get("Channel", ""),
                    c.get("Context", ""),
                    c.get("Exten", ""),
                    c.get("Priority", ""),
                    c.get("ChannelStateDesc", ""),
                    c.get("Application", ""),
                    c.get("ApplicationData", ""),
                    c.get("CallerIDNum", ""),
                    c.get("AccountCode", ""),
                    "",
                    "3",
                    c.get("Duration", ""),
                    c.get("BridgeId", ""),
                    c.get("Uniqueid", ""),
                ]
            )
            for c in channels
        ]
        return True, lines
    lines = [f"{'Channel':<20} {'Location':<20} {'State':<7} Application(Data)"]
    for c in channels:
        location = f"{c.get('Exten', '')}@{c.get('Context', '')}:{c.get('Priority', '')}"
        app = f"{c.get('Application', '')}({c.get('ApplicationData', '')})"
        lines.append(
            f"{c.get('Channel', '')[:20]:<20} {location[:20]:<20} {c.get('ChannelStateDesc', '')[:7]:<7} {app}"
        )
    n = len(channels)
    calls = len({c.get("Linkedid") for c in channels})
    lines += [
        f"{n} active channel{'s' if n != 1 else ''}",
        f"{calls} active call{'s' if calls != 1 else ''}",
        f"{pbx.calls_processed} call{'s' if pbx.calls_processed != 1 else ''} processed",
    ]
    return True, lines
