"""The AMI wire format: framing, parsing and serialising.  No sockets here.

What the server sends is a banner line, then messages: header lines
``Key: Value`` ended by an empty line.  Lines end in CRLF, but bare LF is
accepted too.  Three shapes need more than that, and are handled here so
that everything above sees plain :class:`Message` objects:

* Asterisk 13 and older answer ``Command`` with ``Response: Follows``, a few
  headers, then the CLI output as raw text (which may itself hold blank lines)
  up to ``--END COMMAND--``.  The text is turned into one ``Output`` header
  per line, the shape Asterisk 14 and later send, so callers see one format.
* Old servers answer some actions (``Queues``) with a block of plain text and
  no headers at all.  Such a block becomes a message of kind ``"text"``.
* A peer that is broken or hostile: lines, messages and header counts are
  bounded, and past a bound :class:`~amicli.errors.ProtocolError` is raised
  instead of buffering without end.

Decoding rule: every line is decoded as UTF-8; bytes that are not valid
UTF-8 become U+FFFD (the replacement character).  Nothing ever raises a
decoding error, and the exact bytes stay available as ``Message.raw``.
"""

from __future__ import annotations

import re

from .actiontext import check_value as check_value
from .actiontext import parse_action_text as parse_action_text
from .actiontext import serialize as serialize
from .errors import ProtocolError
from .message import Message as Message
from .message import _kind_of, _split_header, _split_lines
from .message import decode as decode

#: The longest line accepted from the server (bytes).
MAX_LINE = 1 << 20
#: The largest message accepted from the server (bytes).
MAX_MESSAGE = 16 << 20
#: The most header lines one message may carry.
MAX_HEADERS = 65536
#: The longest banner line accepted before deciding the peer is not AMI.
MAX_BANNER = 512

BANNER_PREFIX = "Asterisk Call Manager"
LEGACY_COMMAND_END = b"--END COMMAND--"

# The end of a message: a line end followed by an empty line.
_END = re.compile(rb"\n\r?\n")
_LEGACY_END = re.compile(rb"--END COMMAND--\r?\n\r?\n")
_LEGACY_START = b"Response: Follows"
_HEADER_KEY = re.compile(rb"[A-Za-z0-9_\-\.\(\)/]+")


def _starts_with_header(data: bytes, end: int) -> bool:
    """Whether the first line of ``data[:end]`` is a header line: a key of header characters, then a colon."""
    colon = data.find(b":", 0, end)
    # (A colon on a later line leaves a line end in the key: no match.)
    return colon >= 0 and _HEADER_KEY.fullmatch(data, 0, colon) is not None


def parse_block(raw: bytes, length: int | None = None) -> Message:
    """Parse one message.

    ``raw`` is the message as received; its first ``length`` bytes (all of
    them when None) are the header lines, without the final line end.  A
    block that does not start with a header is text, split into lines when
    first read (:attr:`Message.text`): a text flood costs no Python step per line.
    """
    end = len(raw) if length is None else length
    if raw.count(b"\n", 0, end) >= MAX_HEADERS:
        raise ProtocolError(f"message with more than {MAX_HEADERS} header lines")
    if not _starts_with_header(raw, end):
        return Message([], "text", raw, None, False, end)
    headers = _split_lines(decode(raw[:end]).split("\n"))
    return Message(headers, _kind_of(headers), raw)


def parse_legacy_command(raw: bytes, length: int) -> Message:
    """Parse an Asterisk <= 13 ``Response: Follows`` reply.

    ``raw[:length]`` runs from ``Response: Follows`` up to (not including)
    ``--END COMMAND--``.  The few headers at the top are read as headers;
    everything after is CLI text, one ``Output`` header per line.
    """
    lines = decode(raw[:length]).split("\n")
    if len(lines) > MAX_HEADERS:
        raise ProtocolError(f"message with more than {MAX_HEADERS} lines")
    headers: list[tuple[str, str]] = []
    i = 0
    # Response, Privilege and ActionID come first (in that order on every
    # version seen); anything else is output, even when it looks like a header.
    known = {"response", "privilege", "actionid"}
    while i < len(lines):
        line = lines[i][:-1] if lines[i].endswith("\r") else lines[i]
        key, value = _split_header(line)
        if key.lower() in known and key.lower() not in {k.lower() for k, _ in headers}:
            headers.append((key, value))
            i += 1
            continue
        break
    out = [ln[:-1] if ln.endswith("\r") else ln for ln in lines[i:]]
    # The output normally ends with a newline before the marker; that final
    # empty piece is not a line of output.
    if out and out[-1] == "":
        out.pop()
    headers.extend(("Output", ln) for ln in out)
    return Message(headers, "response", raw, legacy=True)


class Parser:
    """Incremental parser: feed it bytes as they arrive, get messages out.

    Any split of the same byte stream yields the same messages.  The first
    line of a connection is the banner, available as :attr:`banner` once seen.
    """

    def __init__(
        self,
        expect_banner: bool = True,
        max_line: int = MAX_LINE,
        max_message: int = MAX_MESSAGE,
    ) -> None:
        self._buf = bytearray()
        self._scan = 0  # where to resume looking for a terminator
        self.banner: str | None = None if expect_banner else ""
        self.max_line = max_line
        self.max_message = max_message
        # A message no longer than this cannot break either bound.
        self._small = min(max_line, max_message)
        # Asterisk ends some error responses with one empty line too many
        # (PJSIPShowEndpoint's Message ends in LF; chan_sip 13 adds CRLF):
        # that line is part of the error, not a message of its own.
        self._after_error = False
        self._made_blank = False

    @property
    def buffered(self) -> int:
        """Bytes received but not yet part of a complete message."""
        return len(self._buf)

    def take(self) -> bytes:
        """Remove and return the buffered bytes (to hand the stream to another reader)."""
        data = bytes(self._buf)
        self._buf.clear()
        self._scan = 0
        return data

    def feed(self, data: bytes) -> list[Message]:
        """Add ``data`` and return every message now complete, in order."""
        out = self._feed(data)
        if not out:
            return out
        if self._after_error or self._made_blank:
            self._made_blank = False
            kept = []
            for msg in out:
                if not (self._after_error and msg.kind == "text" and not msg.text):
                    kept.append(msg)
                self._after_error = msg.kind == "response" and msg.raw[:15] == b"Response: Error"
            out = kept
        else:
            self._after_error = out[-1].kind == "response" and out[-1].raw[:15] == b"Response: Error"
        return out

    def _feed(self, data: bytes) -> list[Message]:
        buf = self._buf
        if self.banner is None:
            buf += data
            if not self._take_banner():
                return []
            data = bytes(buf)
            buf.clear()
        blanks: list[Message] = []
        if len(buf) <= 1 and data[:1] in (b"\r", b"\n"):
            # An empty line where a message would start is a message of its
            # own: Asterisk 13 answers IAXnetstats with nothing else.  It is
            # taken as soon as it is complete, as nothing may follow it.
            data = _take_blanks(bytes(buf) + data, blanks)
            self._made_blank = True
            buf.clear()
            if not data:
                return blanks
        # No message can end unless a line end followed by an empty line
        # arrived: then there is nothing to parse yet, only bounds to check.
        # (Feeding byte by byte stays linear this way.)  Such an end's last
        # byte is an LF in ``data``: a search for one byte is the cheapest.
        if b"\n" not in data:
            buf += data
            self._check_bounds()
            return blanks
        probe = bytes(buf[-2:]) + data if buf else data
        if b"\n\r\n" not in probe and b"\n\n" not in probe:
            buf += data
            self._check_bounds()
            return blanks
        if buf:
            data = bytes(buf) + data
            buf.clear()
        # The fast path: CRLF line ends only and no Asterisk 13 command
        # output, which is every Asterisk event stream.  Messages are split
        # in one C call and their headers are parsed only when read.
        newlines = data.count(b"\n")
        if newlines == data.count(b"\r\n") and _LEGACY_START not in data:
            self._scan = 0
            return blanks + self._feed_fast(data, newlines > MAX_HEADERS)
        buf += data
        return blanks + self._feed_slow()

    def _feed_fast(self, data: bytes, count_lines: bool) -> list[Message]:
        pieces = data.split(b"\r\n\r\n")
        self._buf += pieces.pop()
        out: list[Message] = []
        append = out.append
        small = self._small
        for piece in pieces:
            if not piece:
                # Two empty lines in a row between messages.
                append(_blank(b"\r\n"))
                append(_blank(b"\r\n"))
                self._made_blank = True
                continue
            if piece[:2] == b"\r\n":
                piece = _take_blanks(piece, out)
                self._made_blank = True
                if not piece:
                    continue
            raw = piece + b"\r\n\r\n"
            if len(raw) > small:
                self._check_message(raw, 0, len(raw))
            # The header bytes run up to the LF ending the last line (its CR
            # included), as the general path reads them.
            hlen = len(piece) + 1
            if count_lines and piece.count(b"\n") >= MAX_HEADERS:
                raise ProtocolError(f"message with more than {MAX_HEADERS} header lines")
            if piece[:6] == b"Event:":
                append(Message(None, "event", raw, None, False, hlen))
            elif piece[:9] == b"Response:":
                append(Message(None, "response", raw, None, False, hlen))
            else:
                append(parse_block(raw, hlen))
        rest = self._buf
        if rest[:1] in (b"\r", b"\n"):
            left = _take_blanks(bytes(rest), out)
            self._made_blank = True
            rest.clear()
            rest += left
        self._check_bounds()
        return out

    def _feed_slow(self) -> list[Message]:
        buf = self._buf
        out: list[Message] = []
        pos = 0
        end_search = _END.search
        size = len(buf)
        while pos < size:
            # An empty line between messages is an empty message.
            c = buf[pos]
            if c == 10:
                out.append(_blank(b"\n"))
                self._made_blank = True
                pos += 1
                continue
            if c == 13 and pos + 1 < size and buf[pos + 1] == 10:
                out.append(_blank(b"\r\n"))
                self._made_blank = True
                pos += 2
                continue
            if buf.startswith(_LEGACY_START, pos):
                m = _LEGACY_END.search(buf, max(pos, self._scan))
                if m is None:
                    self._scan = max(pos, size - 20)
                    break
                self._check_message(buf, pos, m.end())
                out.append(parse_legacy_command(bytes(buf[pos : m.end()]), m.start() - pos))
                pos = m.end()
                self._scan = 0
                continue
            m = end_search(buf, max(pos, self._scan))
            if m is None:
                # Resume the search where a terminator could still start.
                self._scan = max(pos, size - 2)
                break
            end = m.end()
            if end - pos > self._small:
                self._check_message(buf, pos, end)
            out.append(parse_block(bytes(buf[pos:end]), m.start() - pos))
            pos = end
            self._scan = 0
        if pos:
            del buf[:pos]
            self._scan = max(0, self._scan - pos)
        self._check_bounds()
        return out

    def _take_banner(self) -> bool:
        buf = self._buf
        nl = buf.find(b"\n")
        if nl < 0:
            if len(buf) > MAX_BANNER:
                raise ProtocolError(f"not an AMI server: it sent {len(buf)} bytes and no banner line")
            return False
        line = decode(bytes(buf[:nl])).rstrip("\r")
        del buf[: nl + 1]
        check_banner(line)
        self.banner = line
        return True

    # The same bounds hold for a complete message and for the unfinished one
    # at the end of the buffer, so whether a stream is refused never depends
    # on how it was split into reads.

    def _check_message(self, buf: bytearray | bytes, start: int, end: int) -> None:
        if end - start > self.max_message:
            raise ProtocolError(f"message larger than {self.max_message} bytes")
        # A line is too long when max_line + 1 bytes in a row hold no LF.  From
        # a line's start, the last LF within that many bytes is where the next
        # look starts: the lines before it are shorter.  (Each two looks move
        # on by max_line or more: a C search, not a Python step per line.)
        limit = self.max_line
        pos = start
        while end - pos > limit:
            nl = buf.rfind(b"\n", pos, pos + limit + 1)
            if nl < 0:
                raise ProtocolError(f"line longer than {limit} bytes")
            pos = nl + 1

    def _check_bounds(self) -> None:
        buf = self._buf
        size = len(buf)
        if size > self.max_message:
            raise ProtocolError(f"message larger than {self.max_message} bytes: refusing to buffer more")
        # The unfinished last line runs from after the last LF to the end.
        if size > self.max_line and buf.rfind(b"\n", size - self.max_line - 1) < 0:
            raise ProtocolError(f"line longer than {self.max_line} bytes: refusing to buffer more")


def _blank(raw: bytes) -> Message:
    """An empty line between messages, as a message of its own."""
    return Message([], "text", raw, "")


def _take_blanks(data: bytes, out: list[Message]) -> bytes:
    """Move the empty lines at the start of ``data`` to ``out``; return the rest."""
    pos = 0
    while True:
        if data.startswith(b"\r\n", pos):
            out.append(_blank(b"\r\n"))
            pos += 2
        elif data.startswith(b"\n", pos):
            out.append(_blank(b"\n"))
            pos += 1
        else:
            return data[pos:]


#: Every byte but the control characters: what deleting them leaves is a region's line ends.
_NOT_CONTROL = bytes(range(32, 256))


def event_region_count(region: bytes, max_size: int) -> int:
    """How many events ``region`` holds when it is all events of the usual shape, else 0.

    The usual shape is what the parser's fast path sees: CRLF line ends
    only, every message starting with ``Event:``, no line or message past
    ``max_size``; and no other control character, so that the formats can
    take its text as it is (JSON escapes those).  Such bytes give exactly
    the messages the parser would give, so they can be forwarded without
    making a message object per event.  (One stray empty line before a
    message may remain; the formats hand such a block to the parser.)
    """
    if region[:6] != b"Event:" or len(region) > max_size:
        return 0
    # One pass finds both a bare CR or LF and any other control character:
    # what is left must be CRLF pairs alone.
    line_ends = region.translate(None, _NOT_CONTROL)
    if line_ends.count(b"\r\n") * 2 != len(line_ends) or len(line_ends) > 2 * MAX_HEADERS:
        return 0
    n = region.count(b"\r\n\r\n")
    if n != region.count(b"\r\n\r\nEvent:") + 1:
        return 0
    return n


def check_banner(line: str) -> str:
    """Return the AMI version from a banner line, or raise ProtocolError."""
    if not line.startswith(BANNER_PREFIX):
        shown = line if len(line) <= 60 else line[:57] + "..."
        raise ProtocolError(f"not an AMI server: it greeted with {shown!r}")
    return banner_version(line)


def banner_version(line: str) -> str:
    """``Asterisk Call Manager/11.0.0`` -> ``11.0.0`` (empty if absent)."""
    _, _, version = line.partition("/")
    return version.strip()


def format_message(msg: Message) -> str:
    """Render a message as AMI text (CRLF-free, for a terminal or a file)."""
    if msg.kind == "text":
        return (msg.text or "") + "\n\n"
    return "".join(f"{k}: {v}\n" for k, v in msg.headers) + "\n"
