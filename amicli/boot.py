"""Waiting for a PBX that is still booting, then asking again.

Asterisk accepts AMI logins before its modules are loaded.  What a session
sees while it boots (recorded on Asterisk 22, see ``main/manager.c`` after
the login reply and ``main/asterisk.c`` at the end of start-up):

* A session that may read ``system`` events gets ``FullyBooted`` in the same
  write as ``Authentication accepted`` when the PBX has booted, so before the
  reply to any later action.  No FullyBooted by the time the first reply
  comes means the PBX is still booting (or the user may not read ``system``
  events: then the error going away is the only sign).
* Until FullyBooted, module actions answer ``Invalid/unknown command``.
* The core CLI commands are registered just *after* FullyBooted is published,
  so ``Command`` can answer "No such command" for a short while after it.
* ``SuccessfulAuth`` (security events) comes with the login reply or a
  little later, on a booting PBX too.  Seen without FullyBooted, it shows
  that the session's events flow, so FullyBooted is only late: the PBX is
  booting.  With neither after a few seconds (a user that may read neither
  class), nothing shows a boot, and the error is final.

So a request that fails in one of these two ways while the PBX may still be
booting is asked again, with a short back-off, until it succeeds or the
session's timeout ends (then :class:`StillBooting`, exit 5).  A failed
request changed nothing on the PBX, so asking again is safe.  When the PBX
booted a while ago, the same failures are final at once.
"""

from __future__ import annotations

import time
from typing import Callable, Protocol, Sequence

from .errors import AmiTimeout
from .protocol import Message
from .reply import Headers, Reply


class Session(Protocol):
    """What the boot wait needs of a session (a :class:`amicli.client.Client`).

    Named here, not imported, so the client can call this module without an
    import circle.
    """

    fully_booted: bool | None
    booted_at: float | None
    saw_auth_event: bool
    watch_boot: bool
    boot_evidence_awaited: bool
    started_at: float
    timeout: float

    def submit(self, headers: Headers, on_item: Callable[[Message], None] | None = None) -> Reply: ...

    def wait(self, reply: Reply, timeout: float | None = None) -> Reply: ...

    def pump(self, deadline: float | None, what: str = "a reply") -> None: ...


#: Seconds after FullyBooted during which "No such command" may still mean booting.
POST_BOOT_GRACE = 3.0
#: Pauses between attempts, in seconds; the last one repeats.
BACKOFF = (0.05, 0.1, 0.2, 0.3, 0.5)
#: How long a failure waits (once a session) for FullyBooted or SuccessfulAuth when neither
#: has come: SuccessfulAuth may never come, and the recorded boots ended 1.2 and 2.0 s after login.
EVIDENCE_WAIT = 3.0


class StillBooting(AmiTimeout):
    """The PBX was still booting when the timeout ended."""


def boot_moment(msg: Message, at_login: bool) -> float:
    """When (``time.monotonic`` clock) the PBX finished booting, from a FullyBooted event.

    One that came with the login carries ``Uptime`` (Asterisk 12 and later):
    the PBX booted at most that long ago.  Without it the PBX booted long
    ago.  One that came later was published just now.
    """
    now = time.monotonic()
    if not at_login:
        return now
    uptime = (msg.get("Uptime") or "").strip()
    if uptime.isdigit():
        return now - int(uptime)
    return float("-inf")


def is_boot_failure(reply: Reply) -> bool:
    """True when ``reply`` failed the way a booting PBX fails."""
    resp = reply.response
    if resp is None or resp.kind != "response" or not resp.is_error:
        return False
    if (resp.get("Message") or "").lower().startswith("invalid/unknown command"):
        return True
    return any(line.startswith("No such command") for line in resp.get_all("Output"))


def may_be_booting(client: Session) -> bool:
    """Whether the PBX may still be booting, as far as this session has seen."""
    if client.fully_booted and client.booted_at is not None:
        return time.monotonic() - client.booted_at < POST_BOOT_GRACE
    # Events flow (SuccessfulAuth came) but FullyBooted has not: still booting.
    return client.saw_auth_event


def request_all(
    client: Session, requests: Sequence[Headers], timeout: float | None = None, on_item=None
) -> list[Reply]:
    """Send every request at once and wait for each reply; ask again while booting.

    Only sessions opened to watch the boot (``client.watch_boot``) wait; the
    wait ends with the session's own timeout, counted from its start.
    """
    # on_item: list items go to it, not kept (a failed request has none to repeat).
    replies = [client.submit(headers, on_item) for headers in requests]
    for reply in replies:
        client.wait(reply, timeout)
    if not client.watch_boot:
        return replies
    deadline = client.started_at + client.timeout
    attempt = 0
    while True:
        failed = [i for i, reply in enumerate(replies) if is_boot_failure(reply)]
        if failed and not client.fully_booted and not client.saw_auth_event and not client.boot_evidence_awaited:
            # SuccessfulAuth comes late or never, FullyBooted at the end of the boot: give them a moment.
            client.boot_evidence_awaited = True
            _await_evidence(client, min(time.monotonic() + EVIDENCE_WAIT, deadline))
        if not failed or not may_be_booting(client):
            return replies
        if time.monotonic() >= deadline:
            raise _still_booting(client, replies[failed[0]])
        _pause(client, BACKOFF[min(attempt, len(BACKOFF) - 1)], deadline)
        attempt += 1
        for i in failed:
            replies[i] = client.submit(requests[i], on_item)
        for i in failed:
            client.wait(replies[i], timeout)


def _pause(client: Session, seconds: float, deadline: float) -> None:
    """Wait ``seconds`` (not past ``deadline``) reading what comes; FullyBooted ends it early."""
    until = min(time.monotonic() + seconds, deadline)
    was_booted = client.fully_booted
    while time.monotonic() < until:
        try:
            client.pump(until, what="FullyBooted")
        except AmiTimeout:
            return
        if client.fully_booted and not was_booted:
            return


def _await_evidence(client: Session, until: float) -> None:
    """Read until FullyBooted or SuccessfulAuth comes, or ``until``."""
    while not (client.fully_booted or client.saw_auth_event) and time.monotonic() < until:
        try:
            client.pump(until, what="FullyBooted")
        except AmiTimeout:
            return


def _still_booting(client: Session, reply: Reply) -> StillBooting:
    name = next((v for k, v in reply.action if k.lower() == "action"), "action")
    resp = reply.response
    detail = ""
    if resp is not None:
        outputs = [line for line in resp.get_all("Output") if line.strip()]
        detail = (outputs[0] if outputs else resp.get("Message") or "").strip()
    if client.fully_booted:
        why = "FullyBooted came only just now"
    else:
        why = "no FullyBooted came; a user without read=system never sees it"
    return StillBooting(f"PBX still booting: {name} still fails after {client.timeout:g} s ({detail}); {why}")
