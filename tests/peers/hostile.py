"""The hostile faults of the fault peer (peers/faults.py): what a server that means harm sends.

Each function is called by :class:`peers.faults.Relay` at its point of the
session and returns whether it answered for the sim (the client's message
then goes no further).  They are kept here so the fault peer stays about
the network and the framing.
"""

from __future__ import annotations

import socket
import time

#: A text block (no colon: not a header) of the text faults: 64 KB, so the
#: text bound (4 MiB) is passed in 65 blocks, fast on any machine.
TEXT_BLOCK = b"garbage without a colon\r\n" * 2600 + b"\r\n"
#: Seconds between the items of the trickling faults (less than --timeout 1,
#: so every item is progress, and the reply must still end).
TRICKLE_EVERY = 0.8
#: The value of one list item of the list flood: about 1 MB, so the byte
#: bound (16 MiB) is passed in 17 items, fast on any machine.
BIG_VALUE = b"x" * 1_000_000
#: What the control-characters fault puts in values: clear the screen, set
#: the window title (OSC 0), set the clipboard (OSC 52), C1 CSI (U+009B), and
#: a `|` that would start fake perfdata in a Monitoring Plugins line.
ESCAPES = b"\x1b[2J\x1b]0;owned\x07\x1b]52;c;cm0gLXJmIH4=\x07\xc2\x9b6n | owned=1;;;"
#: The pause between the bursts of a flood (64 KB of text, 1 MB of list
#: items): the bounds are still passed within a second, and the peer leaves
#: the CPU to the clients it tests.
FLOOD_PAUSE = 0.005
#: Events per second of the event flood.
FLOOD_RATE = 5000


def _item(action_id: bytes, value: bytes = b"1001") -> bytes:
    aid = b"ActionID: " + action_id + b"\r\n" if action_id else b""
    return b"Event: CoreShowChannel\r\n" + aid + b"Channel: PJSIP/" + value + b"-00000001\r\nChannelState: 6\r\n\r\n"


def strike(fault: str, conn: socket.socket, action_id: str | None) -> bool | None:
    """The reply faults: answer the first action after the login (None: the quiet event stream).

    Returns None for a fault this module does not know.  The text and list
    faults never end: they run until the client goes (a send fails).
    """
    aid = action_id.encode() if action_id is not None else b""
    if fault == "text-flood":
        while True:
            conn.sendall(TEXT_BLOCK * 4)
            time.sleep(FLOOD_PAUSE)
    if fault == "text-trickle":
        while True:
            conn.sendall(TEXT_BLOCK)
            time.sleep(TRICKLE_EVERY)
    if fault in ("list-flood", "list-trickle"):
        if action_id is not None:
            start = b"Response: Success\r\nActionID: " + aid + b"\r\nEventList: start\r\n"
            conn.sendall(start + b"Message: Channels will follow\r\n\r\n")
        elif fault == "list-flood":
            # An event stream has no list to bound: a thousand events, then quiet.
            conn.sendall(_item(b"") * 1000)
            return True
        while True:
            if fault == "list-flood":
                conn.sendall(_item(aid, BIG_VALUE))
                time.sleep(FLOOD_PAUSE)
            else:
                conn.sendall(_item(aid))
                time.sleep(TRICKLE_EVERY)
    return None


def at_login(fault: str, conn: socket.socket, message: bytes, action_id: str | None, secret: str | None) -> bool:
    """The login faults: answer the client's Login instead of the sim."""
    aid = b"ActionID: " + action_id.encode() + b"\r\n" if action_id else b""
    if fault == "login-text":
        # Text where the Login's reply should be; then a Ping (a client's
        # way to find the end of text) would be answered.
        conn.sendall(b"garbage without a colon\r\n\r\n")
        return True
    if fault == "quoted-secret":
        quoted = (secret or "").encode()
        conn.sendall(
            b"Response: Error\r\n" + aid + b"Message: Authentication failed for secret '" + quoted + b"'\r\n\r\n"
        )
        return True
    return False


def answer_ping(conn: socket.socket, action_id: str | None) -> None:
    aid = b"ActionID: " + action_id.encode() + b"\r\n" if action_id else b""
    conn.sendall(b"Response: Success\r\n" + aid + b"Ping: Pong\r\n\r\n")


def next_action_id(action_id: str) -> str:
    """The ActionID a client numbering its actions would use next (``ami-TAG-7`` -> ``ami-TAG-8``)."""
    head, _, number = action_id.rpartition("-")
    return f"{head}-{int(number) + 1}" if number.isdigit() else action_id + "-next"


def forged(login_id: str) -> bytes:
    """A reply forged for the client's next action, sent with the Login reply."""
    aid = next_action_id(login_id).encode()
    return (
        b"Response: Success\r\nActionID: " + aid + b"\r\nPing: FORGED\r\nAsteriskVersion: FORGED\r\n"
        b"Message: FORGED\r\n\r\n"
    )


def with_escapes(message: bytes) -> bytes:
    """Terminal escapes and a `|` in the free-text values of a message, and in a header name."""
    for key in (b"Message: ", b"CallerIDName: ", b"ConnectedLineName: ", b"Output: "):
        message = message.replace(key, key + ESCAPES)
    nl = message.find(b"\n")
    if nl < 0:
        return message
    return message[: nl + 1] + b"X-\x1b[31mRed\xc2\x9b: " + ESCAPES + b"\r\n" + message[nl + 1 :]


def flood_burst() -> bytes:
    """A hundredth of a second of the event flood."""
    return (
        b"Event: Newexten\r\nPrivilege: dialplan,all\r\nChannel: PJSIP/9-00000009\r\nExten: 9\r\n"
        b"Context: default\r\nPriority: 1\r\nApplication: Wait\r\nAppData: 1\r\n\r\n"
    ) * (FLOOD_RATE // 100)


#: Events of the hostile-events fault with new names (past the JSON template cache's bound, 2,048).
NEW_EVENT_NAMES = 3000


def foreign_outcomes(action_id: str) -> bytes:
    """Other sessions' call outcomes, all Busy, under ActionIDs like ``action_id`` but not it.

    ``ami-1-2`` is what every ``ami`` running as PID 1 in a container once
    sent; the others differ from ours by a character.
    """
    head, _, number = action_id.rpartition("-")
    others = ("ami-1-2", "ami-1-3", f"{head}x-{number}", f"{action_id}0", f"x{action_id}")
    return b"".join(
        b"Event: OriginateResponse\r\nPrivilege: call,all\r\nActionID: " + other.encode() + b"\r\n"
        b"Response: Failure\r\nChannel: Local/100@default\r\nContext: default\r\nExten: 100\r\n"
        b"Reason: 5\r\nUniqueid: <null>\r\nCallerIDNum: <unknown>\r\nCallerIDName: <unknown>\r\n\r\n"
        for other in others
    )


def hostile_events() -> bytes:
    """Events with a header repeated (``ChanVariable``, as ``channelvars`` with two or three
    variables makes Asterisk send it), then events with names never seen before."""
    repeated = b"".join(
        b"Event: Newexten\r\nPrivilege: dialplan,all\r\nChannel: PJSIP/9-00000009\r\n"
        + b"".join(b"ChanVariable: VAR%d=%d\r\n" % (n, i) for n in range(2 + i % 2))
        + b"Exten: 9\r\n\r\n"
        for i in range(1000)
    )
    new_names = b"".join(
        b"Event: Hostile%05d\r\nPrivilege: user,all\r\nKey%05d: v\r\n\r\n" % (i, i) for i in range(NEW_EVENT_NAMES)
    )
    return repeated + new_names
