"""One AMI client connection of the sim, and the set of them that events go to.

A session writes whole messages under its own lock.  While a synchronous
Originate blocks it, its events are held and written after the response,
as Asterisk writes a session's events only between its actions
(``originate-sync-ok``): see :meth:`Session.hold_events`.
"""

from __future__ import annotations

import random
import re
import socket
import threading
import time
from typing import Iterable, Sequence

from ..protocol import Message, serialize
from .users import User, permission_mask

Headers = Sequence[tuple[str, str]]


class Session:
    """One client connection: its socket, its login, its event mask and filters."""

    def __init__(self, sock: socket.socket, peer: tuple) -> None:
        self.sock = sock
        self.peer = peer
        self.user: User | None = None
        self.challenge: str | None = None
        self.send_events = permission_mask("all")
        self.filters: list[tuple[bool, re.Pattern[str]]] = []
        self.write_lock = threading.Lock()
        self.alive = True
        self.id = f"0x{random.getrandbits(44):012x}"
        self._held: list[bytes] | None = None

    # -- writing ----------------------------------------------------------

    def write(self, data: bytes) -> None:
        """Write bytes, or keep them for later while events are held."""
        with self.write_lock:
            if self._held is not None:
                self._held.append(data)
                return
            self._send(data)

    def _send(self, data: bytes) -> None:
        if not self.alive:
            return
        try:
            self.sock.sendall(data)
        except OSError:
            self.alive = False

    def hold_events(self) -> None:
        """From now on keep what is written, until :meth:`release_events`."""
        with self.write_lock:
            if self._held is None:
                self._held = []

    def release_events(self, first: bytes) -> None:
        """Write ``first`` (the action's response), then what was held."""
        with self.write_lock:
            held, self._held = self._held or [], None
            self._send(first + b"".join(held))

    def send(self, headers: Headers) -> None:
        self.write(serialize(headers))

    def respond(self, request: Message, response: str = "Success", headers: Iterable[tuple[str, str]] = ()) -> None:
        """``Response:``, the request's ActionID (if any), then ``headers``."""
        self.send(response_headers(request, response, headers))

    def error(self, request: Message, message: str) -> None:
        self.respond(request, "Error", [("Message", message)])

    def send_list(
        self,
        request: Message,
        items: Iterable[Headers],
        message: str,
        complete_event: str,
        complete_extra: Headers = (),
        action_id_last: bool = False,
        count: int | None = None,
    ) -> None:
        """A list action's answer: start, one event per item, Complete (one write).

        The ActionID goes right after ``Event`` in each item, or last
        (``action_id_last``), as the module that answers writes it.
        ``count``: the ListItems to report, when not the number of items.
        """
        aid = action_id_of(request)
        parts = [serialize(response_headers(request, "Success", [("EventList", "start"), ("Message", message)]))]
        for item in items:
            headers = list(item)
            # The sim's own values, checked by construction: the plain join is much faster
            # than serialize()'s per-value checks on lists of thousands of events.
            block = [*headers, *aid] if action_id_last else headers[:1] + aid + headers[1:]
            parts.append("".join([f"{k}: {v}\r\n" for k, v in block] + ["\r\n"]).encode("utf-8"))
        listed = len(parts) - 1 if count is None else count
        complete = [("Event", complete_event), *aid, ("EventList", "Complete"), ("ListItems", str(listed))]
        parts.append(serialize([*complete, *complete_extra]))
        self.write(b"".join(parts))

    def shut(self) -> None:
        """End the connection (the reading thread then ends the session)."""
        self.alive = False
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    # -- events -----------------------------------------------------------

    def wants(self, event_class: int, headers: Headers) -> bool:
        if self.user is None or not (self.user.read & event_class) or not (self.send_events & event_class):
            return False
        if self.filters:
            return filters_pass(self.filters, headers)
        return True

    @property
    def logged_in(self) -> bool:
        return self.user is not None


def action_id_of(request: Message) -> list[tuple[str, str]]:
    """``[("ActionID", id)]`` when the request carried one, else nothing."""
    action_id = request.get("ActionID")
    return [("ActionID", action_id)] if action_id is not None else []


def response_headers(request: Message, response: str, headers: Iterable[tuple[str, str]] = ()) -> list:
    return [("Response", response), *action_id_of(request), *headers]


def filters_pass(filters: list[tuple[bool, re.Pattern[str]]], headers: Headers) -> bool:
    """Asterisk's Filter semantics: any whitelist must match, no blacklist may."""
    text = "".join(f"{k}: {v}\r\n" for k, v in headers)
    whites = [rx for white, rx in filters if white]
    blacks = [rx for white, rx in filters if not white]
    if whites and not any(rx.search(text) for rx in whites):
        return False
    return not any(rx.search(text) for rx in blacks)


def event_headers(event_class: str, headers: Headers, system_name: str) -> list[tuple[str, str]]:
    """``Event``, ``Privilege``, ``Timestamp`` (timestampevents=yes), ``SystemName``, the rest."""
    headers = list(headers)
    out = [headers[0], ("Privilege", f"{event_class},all"), ("Timestamp", f"{time.time():.6f}")]
    rest = headers[1:]
    if rest and rest[0][0] == "Privilege":
        rest = rest[1:]
    if not any(k == "SystemName" for k, _ in rest):
        out.append(("SystemName", system_name))
    out.extend(rest)
    return out


class Sessions:
    """The connected sessions of one sim: where events go."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.members: set[Session] = set()

    def add(self, session: Session) -> None:
        with self.lock:
            self.members.add(session)

    def discard(self, session: Session) -> None:
        with self.lock:
            self.members.discard(session)

    def snapshot(self) -> list[Session]:
        with self.lock:
            return list(self.members)

    def send_event(self, event_class: str, headers: Headers) -> None:
        """Write a whole event to every session whose permission, mask and filters admit it."""
        mask = permission_mask(event_class)
        data = serialize(headers)
        for session in self.snapshot():
            if session.wants(mask, headers):
                session.write(data)

    def shut_all(self) -> None:
        for session in self.snapshot():
            session.shut()
