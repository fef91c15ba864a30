"""Replay recorded AMI sessions over a real socket, for tests.

A :class:`ReplayServer` listens on 127.0.0.1 (a free port), accepts one
connection and plays the server side of a script: a recorded transcript from
``ami-transcripts/asterisk-22.10.1/NAME.jsonl`` or a synthetic list of steps.

A script is a list of ``(direction, bytes)`` steps, direction being
``"server"`` (send these bytes), ``"client"`` (wait for the client to send as
many complete AMI messages as the recorded bytes hold) or ``"close"`` (close
the connection; later steps are dropped).

The client is not expected to send the recorded bytes, only the same actions
in the same order: each message it sends is checked for the recorded
``Action`` name (case-insensitive).  A mismatch, or a client that goes quiet,
is recorded in :attr:`ReplayServer.errors` and the connection is closed.

ActionIDs are rewritten: when the client answers a recorded step with
``ActionID: X``, the recorded ActionID of that step maps to ``X`` and every
``ActionID:`` line sent later carries ``X`` instead (a client that sends no
ActionID gets none back, as Asterisk does).

Recorded times are not replayed: steps follow one another at once, in order.
``chunking="recorded"`` sends each recorded chunk with one ``sendall``;
``chunking=N`` sends N bytes at a time with TCP_NODELAY set, and yields after
each piece, so that a client in another process mostly takes each piece
alone.  A client in this process is made sure of one-byte reads on its own
side instead (the ``replay`` fixture of conftest.py, ``chunking=1``): it
reads one byte per recv from recorded sends, and a send and a thread switch
per byte would cost ten times the read itself.
"""

from __future__ import annotations

import functools
import json
import os
import re
import select
import socket
import time
from pathlib import Path
from typing import Sequence, Union

from peers.base import FakePeer, header, split_messages, take_message
from peers.base import message_headers as message_headers  # for the tests that read recorded messages

Step = tuple[str, bytes]
Script = Sequence[Step]
Chunking = Union[str, int]

VERSION_DIR = "asterisk-22.10.1"

# One ActionID line in server output: prefix, value, line end.
_ACTION_ID_LINE = re.compile(rb"^(ActionID:[ \t]*)([^\r\n]*)(\r?\n)", re.MULTILINE | re.IGNORECASE)


# -- transcripts ------------------------------------------------------------


def find_transcripts_dir() -> Path:
    """The ``ami-transcripts`` directory: $AMI_TRANSCRIPTS, else next to the repo, else /work/shared."""
    return _transcripts_dir(os.environ.get("AMI_TRANSCRIPTS"))


@functools.cache
def _transcripts_dir(env: str | None) -> Path:
    if env:
        return Path(env)
    repo = Path(__file__).resolve().parent.parent
    candidates = [repo.parent / "shared" / "ami-transcripts", Path("/work/shared/ami-transcripts")]
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    return candidates[-1]


def transcript_path(name: str, directory: Path | None = None) -> Path:
    base = directory if directory is not None else find_transcripts_dir()
    return base / VERSION_DIR / f"{name}.jsonl"


def transcript_names(directory: Path | None = None) -> list[str]:
    """Every recorded scenario, sorted."""
    base = directory if directory is not None else find_transcripts_dir()
    return sorted(p.stem for p in (base / VERSION_DIR).glob("*.jsonl"))


def load_transcript(name: str, directory: Path | None = None) -> list[Step]:
    """The steps of a recorded scenario (its note line left out)."""
    return list(_steps(name, directory))


@functools.cache  # (the recordings do not change while the tests run; parametrizing reads them often)
def _steps(name: str, directory: Path | None) -> tuple[Step, ...]:
    steps: list[Step] = []
    with open(transcript_path(name, directory), encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            entry = json.loads(line)
            if "dir" not in entry:
                continue
            steps.append((entry["dir"], entry.get("data", "").encode("latin-1")))
    return tuple(steps)


def transcript_note(name: str, directory: Path | None = None) -> str:
    with open(transcript_path(name, directory), encoding="utf-8") as fh:
        first = json.loads(fh.readline())
    return str(first.get("note", ""))


def exchanges(steps: Script) -> list[list[Step]]:
    """``[banner steps, exchange 1, exchange 2, ...]``.

    An exchange is one client step and the server (or close) steps after it,
    so scripts can be put together from recorded pieces.
    """
    parts: list[list[Step]] = [[]]
    for step in steps:
        if step[0] == "client":
            parts.append([])
        parts[-1].append(step)
    return parts


def server_stream(steps: Script) -> bytes:
    """Everything the server sent, concatenated."""
    return b"".join(data for direction, data in steps if direction == "server")


def server_chunks(steps: Script) -> list[bytes]:
    return [data for direction, data in steps if direction == "server"]


# -- ActionID rewriting -----------------------------------------------------


def rewrite_action_ids(chunks: Sequence[bytes], mapping: dict[bytes, bytes | None]) -> list[bytes]:
    """Apply ``mapping`` (recorded id -> client id, None: drop the line) to ActionID lines.

    The chunks are rewritten as one stream, so a line split across chunks is
    still found; the chunk boundaries move with the text around them.
    """
    if not mapping:
        return list(chunks)
    data = b"".join(chunks)
    edits: list[tuple[int, int, bytes]] = []
    for m in _ACTION_ID_LINE.finditer(data):
        recorded = m.group(2).strip()
        if recorded not in mapping:
            continue
        actual = mapping[recorded]
        replacement = b"" if actual is None else m.group(1) + actual + m.group(3)
        edits.append((m.start(), m.end(), replacement))
    if not edits:
        return list(chunks)
    # Rebuild the stream, and map each old chunk boundary to its new place.
    pieces: list[bytes] = []
    cursor = 0
    for start, end, replacement in edits:
        pieces.append(data[cursor:start])
        pieces.append(replacement)
        cursor = end
    pieces.append(data[cursor:])
    new_data = b"".join(pieces)

    def moved(offset: int) -> int:
        shift = 0
        for start, end, replacement in edits:
            if end <= offset:
                shift += len(replacement) - (end - start)
            elif start < offset:
                # A boundary inside a rewritten line moves to its end.
                return start + shift + len(replacement)
            else:
                break
        return offset + shift

    out: list[bytes] = []
    old_end = 0
    new_start = 0
    for chunk in chunks:
        old_end += len(chunk)
        new_end = moved(old_end)
        out.append(new_data[new_start:new_end])
        new_start = new_end
    return out


# -- the server -------------------------------------------------------------


class ReplayServer(FakePeer):
    """Play the server side of ``script`` to one client on 127.0.0.1.

    ``script`` is a transcript name or a list of steps.  The server starts at
    once; connect to ``("127.0.0.1", server.port)``.  After the test, read
    :attr:`received` (each client message, as bytes) and :attr:`errors`
    (empty when the client followed the script), then :meth:`close`.
    """

    def __init__(
        self,
        script: str | Script,
        *,
        chunking: Chunking = "recorded",
        transcripts_dir: Path | None = None,
        step_timeout: float = 5.0,
        end_timeout: float = 3.0,
        accept_timeout: float = 10.0,
    ) -> None:
        if isinstance(script, str):
            name = script
            self.steps: list[Step] = load_transcript(script, transcripts_dir)
        else:
            name = "<script>"
            self.steps = [(d, bytes(b)) for d, b in script]
        if chunking != "recorded" and not (isinstance(chunking, int) and chunking >= 1):
            raise ValueError(f"chunking must be 'recorded' or a positive int, not {chunking!r}")
        self.chunking = chunking
        self.step_timeout = step_timeout
        self.end_timeout = end_timeout
        #: Every complete message the client sent, in order.
        self.received: list[bytes] = []
        #: Recorded ActionID -> the client's (None: the client sent none).
        self.id_map: dict[bytes, bytes | None] = {}
        #: Every byte sent to the client.
        self.sent = bytearray()
        self._inbuf = b""
        super().__init__(max_connections=1, accept_timeout=accept_timeout, backlog=1, name=f"replay-{name}")
        #: What went wrong (the client left the script, went quiet...): FakePeer.errors.
        self.name = name

    def actions(self) -> list[str | None]:
        """The Action name of every message received."""
        return [header(m, "Action") for m in self.received]

    def __repr__(self) -> str:
        return f"ReplayServer({self.name!r}, port={self.port}, chunking={self.chunking!r})"

    def serve(self, conn: socket.socket) -> None:
        if self._play(conn):
            self._drain_until_close(conn)

    def _play(self, conn: socket.socket) -> bool:
        """Run the script; False when the connection was closed on the way."""
        steps = self.steps
        i = 0
        while i < len(steps):
            if self._stop.is_set():
                return False
            direction, data = steps[i]
            if direction == "server":
                run = []
                while i < len(steps) and steps[i][0] == "server":
                    run.append(steps[i][1])
                    i += 1
                for chunk in rewrite_action_ids(run, self.id_map):
                    if not self._send(conn, chunk):
                        return False
                continue
            if direction == "client":
                expected, _ = split_messages(data)
                if not expected and data.strip():
                    expected = [data]
                for recorded in expected:
                    if not self._expect(conn, recorded):
                        return False
                i += 1
                continue
            if direction == "close":
                self._close_now(conn)
                return False
            self.errors.append(f"unknown step direction {direction!r}")
            return False
        return True

    def _send(self, conn: socket.socket, chunk: bytes) -> bool:
        try:
            if self.chunking == "recorded":
                conn.sendall(chunk)
            else:
                size = int(self.chunking)
                for k in range(0, len(chunk), size):
                    conn.sendall(chunk[k : k + size])
                    # Let the client read before the next piece, so the pieces stay apart.
                    time.sleep(0)
        except OSError as exc:
            # A client that has sent Logoff may close without waiting for
            # Goodbye (its wait is bounded); a slow one-byte replay on a busy
            # machine can outlast that wait.  Anything else is a client fault.
            self._close_now(conn)
            if not any((header(m, "Action") or "").lower() == "logoff" for m in self.received):
                self.errors.append(f"sending to the client failed: {exc}")
            return False
        self.sent += chunk
        return True

    def _read_message(self, conn: socket.socket, deadline: float) -> bytes | None:
        """The client's next complete message; None on close, stop or timeout."""
        while True:
            message, self._inbuf = take_message(self._inbuf)
            if message is not None:
                self.received.append(message)
                return message
            if self._stop.is_set() or time.monotonic() > deadline:
                return None
            ready, _, _ = select.select([conn], [], [], 0.05)
            if not ready:
                continue
            try:
                data = conn.recv(65536)
            except OSError:
                data = b""
            if not data:
                return None
            self._inbuf += data

    def _expect(self, conn: socket.socket, recorded: bytes) -> bool:
        want = header(recorded, "Action")
        message = self._read_message(conn, time.monotonic() + self.step_timeout)
        if message is None:
            if not self._stop.is_set():
                self.errors.append(f"expected Action {want!r} from the client, got nothing (closed or timed out)")
            self._close_now(conn)
            return False
        got = header(message, "Action")
        if (got or "").lower() != (want or "").lower() or (got is None) != (want is None):
            self.errors.append(f"expected Action {want!r} from the client, got {got!r}")
            self._close_now(conn)
            return False
        recorded_id = header(recorded, "ActionID")
        if recorded_id is not None:
            actual = header(message, "ActionID")
            self.id_map[recorded_id.encode("utf-8")] = None if actual is None else actual.encode("utf-8")
        return True

    def _close_now(self, conn: socket.socket) -> None:
        # Read what the client already sent, so closing does not turn into a
        # reset that could destroy data still on its way to the client.
        try:
            conn.setblocking(False)
            while True:
                data = conn.recv(65536)
                if not data:
                    break
                self._inbuf += data
        except OSError:
            pass
        messages, _ = split_messages(self._inbuf)
        self.received.extend(messages)
        self._inbuf = b""
        try:
            conn.close()
        except OSError:
            pass

    def _drain_until_close(self, conn: socket.socket) -> None:
        """The script is over: wait for the client to close (anything it sends is an error)."""
        deadline = time.monotonic() + self.end_timeout
        while True:
            message = self._read_message(conn, deadline)
            if message is None:
                return
            self.errors.append(f"client sent {header(message, 'Action')!r} after the end of the script")


# -- synthetic scripts ------------------------------------------------------


def client_message(action: str | None, action_id: str | None = None, *extra: tuple[str, str]) -> bytes:
    """An action as a client would send it (only Action and ActionID matter to the replay)."""
    lines = []
    if action is not None:
        lines.append(f"Action: {action}\r\n")
    if action_id is not None:
        lines.append(f"ActionID: {action_id}\r\n")
    lines.extend(f"{k}: {v}\r\n" for k, v in extra)
    return ("".join(lines) + "\r\n").encode("utf-8")


def response(action_id: str | None, response_word: str = "Success", *extra: tuple[str, str]) -> bytes:
    """A ``Response:`` message, headers in Asterisk's order."""
    lines = [f"Response: {response_word}\r\n"]
    if action_id is not None:
        lines.append(f"ActionID: {action_id}\r\n")
    lines.extend(f"{k}: {v}\r\n" for k, v in extra)
    return ("".join(lines) + "\r\n").encode("utf-8")


def legacy_command_reply(output: str, action_id: str | None) -> bytes:
    """An Asterisk <= 13 Command reply: raw CLI text up to ``--END COMMAND--``."""
    head = "Response: Follows\r\nPrivilege: Command\r\n"
    if action_id is not None:
        head += f"ActionID: {action_id}\r\n"
    return (head + output + "--END COMMAND--\r\n\r\n").encode("utf-8")


def headerless_text_reply(text: str) -> bytes:
    """An old-server text answer (``Queues``): the lines in CRLF, then ``\\r\\n\\r\\n``."""
    return (text.replace("\n", "\r\n") + "\r\n\r\n").encode("utf-8")


BANNER_13 = b"Asterisk Call Manager/2.10.4\r\n"
BANNER_22 = b"Asterisk Call Manager/11.0.0\r\n"

#: CLI text of ``queue show`` on Asterisk 13: a blank line between queues, indented members.
ASTERISK13_COMMAND_OUTPUT = (
    "sales has 0 calls (max unlimited) in 'rrmemory' strategy (0s holdtime, 0s talktime), "
    "W:0, C:0, A:0, SL:0.0% within 60s\n"
    "   Members: \n"
    "      Carol (Local/2001@agents/n) (ringinuse enabled) (Not in use) has taken no calls yet\n"
    "   No Callers\n"
    "\n"
    "support has 0 calls (max unlimited) in 'ringall' strategy (0s holdtime, 0s talktime), "
    "W:0, C:0, A:0, SL:0.0% within 0s\n"
    "   No Members\n"
    "   No Callers\n"
    "\n"
)

#: What ``Action: Queues`` answers on Asterisk 13 (before the CRLF conversion): every
#: queue is followed by an empty line, and the reply then ends with an empty line.
ASTERISK13_QUEUES_TEXT = (
    "sales has 0 calls (max unlimited) in 'rrmemory' strategy (0s holdtime, 0s talktime), "
    "W:0, C:0, A:0, SL:0.0% within 60s\n"
    "   Members: \n"
    "      Carol (Local/2001@agents/n) (ringinuse enabled) (Not in use) has taken no calls yet\n"
    "   No Callers\n"
    "\n"
    "support has 0 calls (max unlimited) in 'ringall' strategy (0s holdtime, 0s talktime), "
    "W:0, C:0, A:0, SL:0.0% within 0s\n"
    "   No Members\n"
    "   No Callers\n"
    "\n"
)


def asterisk13_script(*middle: Step) -> list[Step]:
    """An Asterisk 13 session: its banner and a plain login, ``middle``, then Logoff and Goodbye."""
    return [
        ("server", BANNER_13),
        ("client", client_message("Login", "l")),
        ("server", response("l", "Success", ("Message", "Authentication accepted"))),
        *middle,
        ("client", client_message("Logoff", "o")),
        ("server", response("o", "Goodbye", ("Message", "Thanks for all the fish."))),
        ("close", b""),
    ]


def asterisk13_session(
    command_output: str = ASTERISK13_COMMAND_OUTPUT,
    queues_text: str = ASTERISK13_QUEUES_TEXT,
    *,
    ping_after: bool = True,
) -> list[Step]:
    """An Asterisk 13 session for a client that does, in order:

    plain Login; ``Command``; ``Queues`` (answered with headerless text, after
    which the client sends a ``Ping`` to find the end of the text); another
    ``Ping`` when ``ping_after``; ``Logoff``.
    """
    steps: list[Step] = [
        ("server", BANNER_13),
        ("client", client_message("Login", "a13-login", ("Username", "admin"), ("Secret", "x"))),
        ("server", response("a13-login", "Success", ("Message", "Authentication accepted"))),
        ("client", client_message("Command", "a13-cmd", ("Command", "queue show"))),
        ("server", legacy_command_reply(command_output, "a13-cmd")),
        ("client", client_message("Queues", "a13-queues")),
        ("server", headerless_text_reply(queues_text)),
        ("client", client_message("Ping", "a13-fence")),
        ("server", response("a13-fence", "Success", ("Ping", "Pong"), ("Timestamp", "1700000000.000000"))),
    ]
    if ping_after:
        steps += [
            ("client", client_message("Ping", "a13-ping")),
            ("server", response("a13-ping", "Success", ("Ping", "Pong"), ("Timestamp", "1700000001.000000"))),
        ]
    steps += [
        ("client", client_message("Logoff", "a13-logoff")),
        ("server", response("a13-logoff", "Goodbye", ("Message", "Thanks for all the fish."))),
        ("close", b""),
    ]
    return steps
