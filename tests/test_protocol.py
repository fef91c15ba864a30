"""The pure parser (amicli.protocol) against the recorded Asterisk 22 streams and crafted input."""

from __future__ import annotations

import functools
import re
import time

import pytest
import replay
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from strategies import header_keys, offset

from amicli import protocol
from amicli.errors import ProtocolError
from amicli.protocol import Message, Parser

SETTINGS = settings(max_examples=200, deadline=None)
BANNER = replay.BANNER_22

TRANSCRIPTS = replay.transcript_names() if (replay.find_transcripts_dir() / replay.VERSION_DIR).is_dir() else []
needs_transcripts = pytest.mark.skipif(not TRANSCRIPTS, reason="AMI transcripts not found (set AMI_TRANSCRIPTS)")

# The queue show output of the command transcript, as Asterisk 22 sent it.
QUEUE_SHOW = [
    "empty has 0 calls (max unlimited) in 'leastrecent' strategy (0s holdtime, 0s talktime), "
    "W:0, C:0, A:0, SL:0.0%, SL2:0.0% within 0s",
    "   No Members",
    "   No Callers",
    "",
    "sales has 0 calls (max unlimited) in 'rrmemory' strategy (0s holdtime, 0s talktime), "
    "W:0, C:0, A:0, SL:0.0%, SL2:0.0% within 60s",
    "   Members: ",
    "      Carol (Local/2001@agents/n) (ringinuse enabled) (Not in use) has taken no calls yet (login was 88 secs ago)",
    "   No Callers",
    "",
    "support has 0 calls (max unlimited) in 'ringall' strategy (0s holdtime, 0s talktime), "
    "W:0, C:0, A:0, SL:0.0%, SL2:0.0% within 0s",
    "   Members: ",
    "      Alice (Local/1001@ringonly/n from Local/1001@ringonly) (ringinuse enabled) (Not in use) "
    "has taken no calls yet (login was 88 secs ago)",
    "      Bob (Local/1002@ringonly/n) (ringinuse enabled) (Not in use) has taken no calls yet (login was 88 secs ago)",
    "   No Callers",
    "",
]


# -- helpers ----------------------------------------------------------------


def shape(msg: Message) -> tuple[object, ...]:
    """Everything a Message carries, comparable."""
    return (msg.kind, tuple(msg.headers), msg.raw, msg.text, msg.legacy)


def parse(data: bytes, cuts: list[int] | None = None, parser: Parser | None = None) -> list[Message]:
    """Parse ``data`` fed in pieces cut at ``cuts`` (whole when None)."""
    parser = parser or Parser()
    points = sorted(set(cuts or [])) + [len(data)]
    out: list[Message] = []
    start = 0
    for point in points:
        out.extend(parser.feed(data[start:point]))
        start = point
    return out


def parse_bytewise(data: bytes, parser: Parser | None = None) -> list[Message]:
    parser = parser or Parser()
    out: list[Message] = []
    for i in range(len(data)):
        out.extend(parser.feed(data[i : i + 1]))
    return out


def one(data: bytes) -> Message:
    msgs = parse(BANNER + data)
    assert len(msgs) == 1, msgs
    return msgs[0]


@functools.cache
def stream(name: str) -> bytes:
    if name == "synthetic-asterisk13":
        return replay.server_stream(replay.asterisk13_session())
    return replay.server_stream(replay.load_transcript(name))


@functools.cache
def whole(name: str) -> tuple[tuple[object, ...], ...]:
    return tuple(shape(m) for m in parse(stream(name)))


def by_id(msgs: list[Message], action_id: str) -> list[Message]:
    return [m for m in msgs if m.action_id == action_id]


# -- every transcript: any split gives the same messages --------------------


@needs_transcripts
@pytest.mark.parametrize("name", TRANSCRIPTS + ["synthetic-asterisk13"])
def test_bytewise_equals_whole(name: str) -> None:
    data = stream(name)
    parser = Parser()
    msgs = parse_bytewise(data, parser)
    assert tuple(shape(m) for m in msgs) == whole(name)
    assert parser.buffered == 0
    assert parser.banner is not None and parser.banner.startswith("Asterisk Call Manager/")
    # Nothing is lost: the messages' raw bytes are the stream minus the banner
    # (an empty line between messages is an empty message of its own), and
    # minus the one empty line some errors end with.
    rest = data[data.index(b"\n") + 1 :]
    assert b"".join(m.raw for m in msgs) == re.sub(rb"(Response: Error\r\n(?:[^\r\n]*\r?\n)+?\r?\n)\r\n", rb"\1", rest)


@needs_transcripts
@pytest.mark.parametrize("name", TRANSCRIPTS)
def test_recorded_chunks_equal_whole(name: str) -> None:
    parser = Parser()
    msgs: list[Message] = []
    for chunk in replay.server_chunks(replay.load_transcript(name)):
        msgs.extend(parser.feed(chunk))
    assert tuple(shape(m) for m in msgs) == whole(name)


SPLIT_NAMES = TRANSCRIPTS + ["synthetic-asterisk13"]
#: Above the length of every stream split (one strategy for them all: building
#: one per stream in each example costs more than drawing from it).
CUT_TOP = max(len(stream(name)) for name in SPLIT_NAMES) + 1


@needs_transcripts
@SETTINGS
@given(name=st.sampled_from(SPLIT_NAMES), cuts=st.lists(st.integers(0, CUT_TOP), max_size=60))
def test_random_splits_equal_whole(name: str, cuts: list[int]) -> None:
    raw = stream(name)
    assert tuple(shape(m) for m in parse(raw, [offset(c, CUT_TOP, len(raw)) for c in cuts])) == whole(name)


@needs_transcripts
@pytest.mark.parametrize("name", TRANSCRIPTS)
def test_bare_lf_gives_the_same_headers(name: str) -> None:
    crlf = parse(stream(name))
    lf = parse(stream(name).replace(b"\r\n", b"\n"))
    assert [(m.kind, m.headers) for m in lf] == [(m.kind, m.headers) for m in crlf]


# -- known transcripts ------------------------------------------------------


@needs_transcripts
def test_command_transcript() -> None:
    parser = Parser()
    msgs = parse(stream("command"), parser=parser)
    assert parser.banner == "Asterisk Call Manager/11.0.0"
    assert protocol.banner_version(parser.banner) == "11.0.0"
    assert [m.kind for m in msgs] == ["response"] * 6
    assert [m.name for m in msgs] == ["Success", "Success", "Success", "Success", "Error", "Goodbye"]
    assert [m.action_id for m in msgs] == [f"cap-{n}" for n in range(43, 49)]

    version = by_id(msgs, "cap-44")[0]
    assert version.headers == [
        ("Response", "Success"),
        ("ActionID", "cap-44"),
        ("Message", "Command output follows"),
        ("Output", "Asterisk 22.10.1 built by root @ vm on a x86_64 running Linux on 2026-11-27 10:28:25 UTC"),
    ]
    uptime = by_id(msgs, "cap-45")[0]
    assert uptime.get_all("Output") == ["System uptime: 1 minute, 26 seconds", "Last reload: 1 minute, 26 seconds"]

    queue_show = by_id(msgs, "cap-46")[0]
    # Empty lines stay (``Output: `` with nothing after), indentation and
    # trailing spaces stay, order stays.
    assert queue_show.get_all("Output") == QUEUE_SHOW
    assert queue_show.get_all("output") == QUEUE_SHOW
    assert queue_show.to_dict()["Output"] == QUEUE_SHOW
    assert queue_show.raw.startswith(b"Response: Success\r\nActionID: cap-46\r\n")
    assert queue_show.raw.endswith(b"Output: \r\n\r\n")

    failed = by_id(msgs, "cap-47")[0]
    assert failed.is_error
    assert failed.get_all("Output") == [
        "No such command 'no such command here' (type 'core show help no such' for other possible commands)"
    ]


@needs_transcripts
def test_values_containing_colon_space() -> None:
    unknown = by_id(parse(stream("unknown-action")), "cap-20")[0]
    assert unknown["Message"] == (
        "Invalid/unknown command: FooBar. Use Action: ListCommands to show available commands."
    )
    events = parse(stream("events-call-lifecycle"))
    user_event = next(m for m in events if m.name == "UserEvent")
    assert user_event.kind == "event"
    app_data = [m for m in events if m.get("AppData") == "Deploy,Status: done,Build: 42"]
    assert app_data and app_data[0].headers.count(("AppData", "Deploy,Status: done,Build: 42")) == 1
    # ListCommands values start with a second space, which is kept.
    commands = by_id(parse(stream("listcommands")), "cap-37")[0]
    assert commands["AbsoluteTimeout"] == " (Priv: system,call,all)"
    assert commands["BridgeList"] == " (Priv: <none>)"


@needs_transcripts
def test_list_transcript() -> None:
    msgs = parse(stream("busy-coreshowchannels"))
    listed = by_id(msgs, "cap-107")
    assert [m.kind for m in listed] == ["response"] + ["event"] * 13
    assert listed[0]["EventList"] == "start"
    assert [m.name for m in listed[1:-1]] == ["CoreShowChannel"] * 12
    assert listed[-1].name == "CoreShowChannelsComplete"
    assert listed[-1]["EventList"] == "Complete"
    assert listed[-1]["ListItems"] == "12"
    status = by_id(msgs, "cap-108")
    assert [m.name for m in status[1:]] == ["Status"] * 12 + ["StatusComplete"]

    empty = by_id(parse(stream("coreshowchannels-empty")), "cap-34")
    assert [m.name for m in empty] == ["Success", "CoreShowChannelsComplete"]
    assert empty[1]["ListItems"] == "0"


@needs_transcripts
def test_login_transcript_events_follow_response() -> None:
    msgs = parse(stream("login-plain-ok"))
    assert [(m.kind, m.name) for m in msgs] == [
        ("response", "Success"),
        ("event", "FullyBooted"),
        ("event", "SuccessfulAuth"),
        ("response", "Goodbye"),
    ]
    assert msgs[2]["RemoteAddress"] == "IPV4/TCP/127.0.0.1/40498"
    assert msgs[2]["EventTV"] == "2026-11-27T10:33:30.177+0000"


# -- header details ---------------------------------------------------------


def test_repeated_headers_kept_in_order() -> None:
    msg = one(b"Event: VarSet\r\nVariable: a=1\r\nOther: x\r\nVariable: b=2\r\nvariable: c=3\r\n\r\n")
    assert msg.get_all("Variable") == ["a=1", "b=2", "c=3"]
    assert msg.get("Variable") == "a=1"
    assert msg.get("VARIABLE") == "a=1"
    assert msg.headers[1:] == [("Variable", "a=1"), ("Other", "x"), ("Variable", "b=2"), ("variable", "c=3")]
    assert msg.to_dict() == {"Event": "VarSet", "Variable": ["a=1", "b=2"], "Other": "x", "variable": "c=3"}


def test_header_value_spacing() -> None:
    msg = one(b"Response: Success\r\nA:no-space\r\nB:  two\r\nC: \r\nD:\r\nE: x: y: z\r\n\r\n")
    assert msg.headers == [
        ("Response", "Success"),
        ("A", "no-space"),
        ("B", " two"),
        ("C", ""),
        ("D", ""),
        ("E", "x: y: z"),
    ]


def test_one_odd_line_after_many_headers_is_read_at_once() -> None:
    # A line that is not "Key: value" (here a value with a bare CR) sends the
    # headers to the line-by-line path; it must not cost time per header pair.
    headers = b"".join(b"Key%d: value %d\r\n" % (n, n) for n in range(40))
    msg = one(b"Event: Odd\r\n" + headers + b"Tail: a\rb\r\n\r\n")
    started = time.monotonic()
    assert msg.headers[-1] == ("Tail", "a\rb") and msg["Key39"] == "value 39"
    assert len(msg.headers) == 42
    assert time.monotonic() - started < 1.0


def test_message_api() -> None:
    msg = one(b"Response: Error\r\nActionID: 7\r\nMessage: Permission denied\r\n\r\n")
    assert msg.kind == "response" and msg.is_error and msg.name == "Error"
    assert msg.action_id == "7"
    assert "message" in msg and "Nope" not in msg and 3 not in msg
    with pytest.raises(KeyError):
        msg["Nope"]
    assert msg.get("Nope", "dflt") == "dflt"
    event = one(b"Event: Hangup\r\nResponse: odd\r\n\r\n")
    assert event.kind == "event" and event.name == "Hangup" and not event.is_error
    other = one(b"Foo: bar\r\n\r\n")
    assert other.kind == "other"
    assert Message.from_pairs([("Event", "X"), ("A", "1")]).raw == b"Event: X\r\nA: 1\r\n\r\n"


def test_non_utf8_becomes_replacement_character() -> None:
    data = b"Event: Newchannel\r\nCallerIDName: Jos\xe9 \xff\xfe\r\nExten: caf\xc3\xa9\r\n\r\n"
    msg = one(data)
    assert msg["CallerIDName"] == "Jos\ufffd \ufffd\ufffd"
    assert msg["Exten"] == "caf\u00e9"
    assert msg.raw == data
    # Split inside a multi-byte sequence: still one message, same decoding.
    assert [shape(m) for m in parse_bytewise(BANNER + data)] == [shape(msg)]


def test_crlf_and_lf_mixed() -> None:
    crlf = one(b"Response: Success\r\nActionID: 1\r\nPing: Pong\r\n\r\n")
    lf = one(b"Response: Success\nActionID: 1\nPing: Pong\n\n")
    mixed = one(b"Response: Success\nActionID: 1\r\nPing: Pong\n\r\n")
    assert crlf.headers == lf.headers == mixed.headers


def test_empty_lines_between_messages_are_empty_messages() -> None:
    data = BANNER + b"\r\n\r\nEvent: A\r\n\r\n\r\n\n\r\nEvent: B\r\n\r\n"
    for msgs in (parse(data), parse_bytewise(data, Parser())):
        assert [(m.kind, m.name, m.text) for m in msgs] == [
            ("text", "", ""),
            ("text", "", ""),
            ("event", "A", None),
            ("text", "", ""),
            ("text", "", ""),
            ("text", "", ""),
            ("event", "B", None),
        ]


def test_the_empty_line_after_an_error_is_part_of_it() -> None:
    # Asterisk 22: PJSIPShowEndpoint's Message ends in LF; chan_sip 13 adds a CRLF.
    for error in (b"Message: Unable to retrieve endpoint x\n\r\n\r\n", b"Message: Peer x not found.\r\n\r\n\r\n"):
        data = BANNER + b"Response: Error\r\nActionID: 1\r\n" + error + b"\r\nResponse: Success\r\n\r\n"
        for msgs in (parse(data), parse_bytewise(data, Parser())):
            assert [m.kind for m in msgs] == ["response", "text", "response"]
        data = data.replace(error + b"\r\n", error)
        for msgs in (parse(data), parse_bytewise(data, Parser())):
            assert [m.kind for m in msgs] == ["response", "response"]


def test_a_lone_empty_line_is_a_message_at_once() -> None:
    # Asterisk 13 answers IAXnetstats with no calls up with "\r\n" alone.
    parser = Parser()
    assert parser.feed(BANNER + b"Response: Success\r\n\r\n")[0].kind == "response"
    assert [(m.kind, m.text) for m in parser.feed(b"\r\n")] == [("text", "")]
    assert parser.feed(b"\r") == [] and [m.text for m in parser.feed(b"\n")] == [""]
    assert parser.buffered == 0


# -- Asterisk 13 shapes -----------------------------------------------------


def legacy(output: bytes, action_id: bytes | None = b"X") -> bytes:
    head = b"Response: Follows\r\nPrivilege: Command\r\n"
    if action_id is not None:
        head += b"ActionID: " + action_id + b"\r\n"
    return head + output + b"--END COMMAND--\r\n\r\n"


def test_legacy_command_with_blank_line_inside() -> None:
    output = b"line one\n\n   indented: with colon\nlast\n"
    msg = one(legacy(output))
    assert msg.kind == "response" and msg.legacy and not msg.is_error
    assert msg.headers == [
        ("Response", "Follows"),
        ("Privilege", "Command"),
        ("ActionID", "X"),
        ("Output", "line one"),
        ("Output", ""),
        ("Output", "   indented: with colon"),
        ("Output", "last"),
    ]
    assert msg.raw == legacy(output)


def test_legacy_command_not_ending_in_newline() -> None:
    msg = one(legacy(b"first\nno newline at the end"))
    assert msg.get_all("Output") == ["first", "no newline at the end"]
    msg = one(legacy(b"only text"))
    assert msg.get_all("Output") == ["only text"]


def test_legacy_command_header_looking_output_and_no_action_id() -> None:
    msg = one(legacy(b"Response: not a header\nPrivilege: neither\n", action_id=None))
    assert msg.headers == [
        ("Response", "Follows"),
        ("Privilege", "Command"),
        ("Output", "Response: not a header"),
        ("Output", "Privilege: neither"),
    ]


def test_legacy_command_empty_output() -> None:
    msg = one(legacy(b""))
    assert msg.get_all("Output") == []


@needs_transcripts
def test_legacy_command_gives_the_asterisk22_lines() -> None:
    text = ("\n".join(QUEUE_SHOW) + "\n").encode()
    msg = one(legacy(text, b"cap-46"))
    modern = by_id(parse(stream("command")), "cap-46")[0]
    assert msg.get_all("Output") == modern.get_all("Output") == QUEUE_SHOW


def test_legacy_command_in_any_split_followed_by_messages() -> None:
    data = BANNER + legacy(b"a\r\n\r\nb\n\n") + b"Event: After\r\n\r\n" + legacy(b"c") + b"Response: Success\r\n\r\n"
    expected = [shape(m) for m in parse(data)]
    assert [m.get_all("Output") for m in parse(data)] == [["a", "", "b", ""], [], ["c"], []]
    assert [shape(m) for m in parse_bytewise(data)] == expected
    for cut in range(len(data)):
        assert [shape(m) for m in parse(data, [cut])] == expected


def test_headerless_text_block() -> None:
    block = replay.headerless_text_reply(replay.ASTERISK13_QUEUES_TEXT)
    msgs = parse(BANNER + block + b"Response: Success\r\nActionID: f\r\n\r\n")
    texts = [m for m in msgs if m.kind == "text" and m.text]
    assert len(texts) == 2  # one block per queue: blank lines end a block
    assert texts[0].text == (
        "sales has 0 calls (max unlimited) in 'rrmemory' strategy (0s holdtime, 0s talktime), "
        "W:0, C:0, A:0, SL:0.0% within 60s\n"
        "   Members: \n"
        "      Carol (Local/2001@agents/n) (ringinuse enabled) (Not in use) has taken no calls yet\n"
        "   No Callers"
    )
    assert texts[1].text is not None and texts[1].text.endswith("   No Members\n   No Callers")
    assert texts[0].headers == [] and texts[0].to_dict() == {"Text": texts[0].text}
    assert msgs[-1].kind == "response" and msgs[-1].action_id == "f"
    assert protocol.format_message(texts[0]).endswith("No Callers\n\n")
    assert [shape(m) for m in parse_bytewise(BANNER + block) if m.text] == [shape(m) for m in texts]


def test_no_queues_text() -> None:
    msg, *blanks = parse(BANNER + b"No queues.\r\n\r\n\r\n\r\n")
    assert msg.kind == "text" and msg.text == "No queues."
    assert [(m.kind, m.text) for m in blanks] == [("text", ""), ("text", "")]


# -- bounds -----------------------------------------------------------------


def test_line_longer_than_max_line_is_refused_with_bounded_buffering() -> None:
    parser = Parser(max_line=1000)
    parser.feed(BANNER + b"Event: Long\r\nValue: ")
    with pytest.raises(ProtocolError, match="line longer"):
        for _ in range(10_000):
            parser.feed(b"x" * 100)
            assert parser.buffered <= 1000 + 100 + len(b"Event: Long\r\n")


def test_default_max_line() -> None:
    parser = Parser()
    parser.feed(BANNER)
    chunk = b"y" * 65536
    fed = 0
    with pytest.raises(ProtocolError):
        while fed < 4 * protocol.MAX_LINE:
            parser.feed(chunk)
            fed += len(chunk)
    assert fed <= protocol.MAX_LINE + len(chunk)


def test_line_within_bound_is_accepted() -> None:
    parser = Parser(max_line=1000)
    value = b"v" * 900
    data = BANNER + b"Event: Long\r\nValue: " + value + b"\r\n\r\n"
    msgs = parse_bytewise(data, parser)
    assert msgs[0]["Value"] == value.decode()


@settings(max_examples=100, deadline=None)
@given(lengths=st.lists(st.integers(0, 16), min_size=1, max_size=60))
def test_a_whole_message_is_refused_exactly_when_a_line_is_too_long(lengths: list[int]) -> None:
    # Lines of 4-20 bytes (CR counted, LF not) against max_line=16, in one
    # read: the message is checked whole, wherever its long line is.
    data = b"Event: E\r\n" + b"".join(b"K: " + b"v" * n + b"\r\n" for n in lengths) + b"\r\n"
    parser = Parser(max_line=16)
    parser.feed(BANNER)
    if max(lengths) + 4 > 16:
        with pytest.raises(ProtocolError, match="line longer than 16 bytes"):
            parser.feed(data)
    else:
        assert [len(m.headers) for m in parser.feed(data)] == [1 + len(lengths)]


def test_message_larger_than_max_message_is_refused() -> None:
    parser = Parser(max_message=10_000)
    parser.feed(BANNER + b"Event: Big\r\n")
    with pytest.raises(ProtocolError, match="message larger"):
        for _ in range(10_000):
            parser.feed(b"Key: value\r\n")
            assert parser.buffered <= 10_000 + 12 + 12


def test_default_max_message() -> None:
    parser = Parser()
    parser.feed(BANNER)
    chunk = b"Output: " + b"z" * 1000 + b"\r\n"
    block = chunk * 1024  # ~1 MB of lines, no message end
    fed = 0
    with pytest.raises(ProtocolError, match="message larger"):
        while fed < 2 * protocol.MAX_MESSAGE:
            parser.feed(block)
            fed += len(block)
    assert fed <= protocol.MAX_MESSAGE + len(block)


def test_too_many_headers() -> None:
    ok = b"Event: Many\r\n" + b"H: v\r\n" * (protocol.MAX_HEADERS - 1) + b"\r\n"
    assert len(one(ok).headers) == protocol.MAX_HEADERS
    too_many = b"Event: Many\r\n" + b"H: v\r\n" * protocol.MAX_HEADERS + b"\r\n"
    with pytest.raises(ProtocolError, match="header lines"):
        parse(BANNER + too_many)
    legacy_many = legacy(b"x\n" * (protocol.MAX_HEADERS + 1))
    with pytest.raises(ProtocolError):
        parse(BANNER + legacy_many)


def test_legacy_command_without_end_is_bounded() -> None:
    parser = Parser(max_message=5000)
    parser.feed(BANNER + b"Response: Follows\r\nPrivilege: Command\r\n")
    with pytest.raises(ProtocolError):
        for _ in range(1000):
            parser.feed(b"some output\n\n")


@pytest.mark.parametrize(
    ("data", "bounds", "cut"),
    [
        # A 1500-byte line against max_line=1000.
        (b"Event: Long\r\nValue: " + b"x" * 1493 + b"\r\n\r\n", {"max_line": 1000}, 1200),
        # An 18 kB message against max_message=10000.
        (b"Event: Big\r\n" + b"K: v\r\n" * 3000 + b"\r\n", {"max_message": 10_000}, 10_050),
    ],
    ids=["line", "message"],
)
def test_bounds_do_not_depend_on_the_split(data: bytes, bounds: dict[str, int], cut: int) -> None:
    def outcome(cuts: list[int]) -> str:
        try:
            parse(BANNER + data, cuts, Parser(**bounds))
        except ProtocolError:
            return "refused"
        return "accepted"

    # Fed whole it is accepted; cut in two reads it is refused.
    assert outcome([]) == outcome([len(BANNER) + cut])


# -- banner -----------------------------------------------------------------


@pytest.mark.parametrize(
    "greeting",
    [
        b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n",
        b"SSH-2.0-OpenSSH_9.2\r\n",
        b"220 smtp.example.org ESMTP Postfix\r\n",
        b"\r\n",
        b"Response: Success\r\n\r\n",
        b"asterisk call manager/11.0.0\r\n",
    ],
)
def test_non_ami_banner_is_refused(greeting: bytes) -> None:
    with pytest.raises(ProtocolError, match="not an AMI server"):
        Parser().feed(greeting)
    with pytest.raises(ProtocolError, match="not an AMI server"):
        parse_bytewise(greeting)


def test_endless_banner_is_refused() -> None:
    parser = Parser()
    with pytest.raises(ProtocolError, match="no banner line"):
        for _ in range(100):
            parser.feed(b"\x00" * 64)
    assert parser.buffered <= protocol.MAX_BANNER + 64


def test_banner_split_and_followed_by_messages() -> None:
    parser = Parser()
    assert parser.feed(b"Asterisk Call Man") == []
    assert parser.banner is None
    msgs = parser.feed(b"ager/2.10.4\nResponse: Success\r\n\r\n")
    assert parser.banner == "Asterisk Call Manager/2.10.4"
    assert [m.name for m in msgs] == ["Success"]
    assert protocol.check_banner("Asterisk Call Manager/11.0.0") == "11.0.0"
    assert protocol.banner_version("Asterisk Call Manager") == ""
    no_banner = Parser(expect_banner=False)
    assert [m.name for m in no_banner.feed(b"Event: X\r\n\r\n")] == ["X"]


# -- hostile input (hypothesis) ---------------------------------------------

PARSERS = st.sampled_from([(protocol.MAX_LINE, protocol.MAX_MESSAGE), (64, 512), (8, 4096)])
# Bytes that make AMI-ish structure likely, mixed with anything at all.
AMI_BYTES = st.lists(
    st.one_of(
        st.binary(max_size=20),
        st.sampled_from(
            [
                b"\r\n",
                b"\n",
                b"\r",
                b": ",
                b"Response: Follows\r\n",
                b"--END COMMAND--\r\n\r\n",
                b"Event: X\r\n",
                b"\r\n\r\n",
                b"\xff\xfe",
                b"\xc3",
            ]
        ),
    ),
    max_size=40,
).map(b"".join)


@SETTINGS
@given(payload=AMI_BYTES, bounds=PARSERS, cuts=st.lists(st.integers(0, 2000), max_size=10))
def test_arbitrary_bytes_raise_only_protocol_error(payload: bytes, bounds: tuple[int, int], cuts: list[int]) -> None:
    parser = Parser(max_line=bounds[0], max_message=bounds[1])
    try:
        msgs = parse(BANNER + payload, [c for c in cuts if c <= len(BANNER) + len(payload)], parser)
    except ProtocolError:
        return
    for msg in msgs:
        assert msg.kind in ("response", "event", "text", "other")
        for key, value in msg.headers:
            assert isinstance(key, str) and isinstance(value, str)
        protocol.format_message(msg)
        msg.to_dict()


@SETTINGS
@given(payload=AMI_BYTES, cuts=st.lists(st.integers(0, 2000), max_size=10))
def test_arbitrary_bytes_same_result_in_any_split(payload: bytes, cuts: list[int]) -> None:
    data = BANNER + payload
    try:
        expected = [shape(m) for m in parse(data)]
    except ProtocolError:
        return
    assert [shape(m) for m in parse(data, [c for c in cuts if c <= len(data)])] == expected


@SETTINGS
@given(garbage=AMI_BYTES, cuts=st.lists(st.integers(0, 2000), max_size=10))
def test_message_after_garbage_is_parsed(garbage: bytes, cuts: list[int]) -> None:
    # Garbage that opens an Asterisk 13 command reply legitimately swallows
    # what follows up to --END COMMAND--; anything else ends at the blank line.
    assume(b"Response: Follows" not in garbage)
    good = b"Response: Success\r\nActionID: after-garbage\r\nMessage: Pong: yes\r\n\r\n"
    data = BANNER + garbage + b"\r\n\r\n" + good
    msgs = parse(data, [c for c in cuts if c <= len(data)])
    assert msgs[-1].headers == [("Response", "Success"), ("ActionID", "after-garbage"), ("Message", "Pong: yes")]
    assert msgs[-1].raw == good


# -- serialising ------------------------------------------------------------


def test_serialize() -> None:
    data = protocol.serialize([("Action", "Originate"), ("Variable", "a=1"), ("Variable", "b=2"), ("Data", "")])
    assert data == b"Action: Originate\r\nVariable: a=1\r\nVariable: b=2\r\nData: \r\n\r\n"
    assert protocol.serialize([("Action", "Command"), ("Command", "say caf\u00e9")]).endswith(b"caf\xc3\xa9\r\n\r\n")
    parsed = Parser(expect_banner=False).feed(data)
    assert parsed[0].headers == [("Action", "Originate"), ("Variable", "a=1"), ("Variable", "b=2"), ("Data", "")]


@pytest.mark.parametrize("value", ["a\r\nAction: Hangup", "a\nb", "a\rb", "\n", "trailing\r"])
def test_serialize_refuses_line_breaks_in_values(value: str) -> None:
    with pytest.raises(ValueError, match="line break"):
        protocol.serialize([("Action", "Command"), ("Command", value)])


@pytest.mark.parametrize("key", ["", "Bad:Key", "Bad\nKey", "Bad\rKey"])
def test_serialize_refuses_bad_keys(key: str) -> None:
    with pytest.raises(ValueError, match="header name"):
        protocol.serialize([(key, "x")])


@SETTINGS
@given(
    headers=st.lists(
        st.tuples(
            header_keys(15),
            st.text(
                st.characters(
                    blacklist_categories=["Cs"], blacklist_characters="\r\n\x00\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
                ),
                max_size=30,
            ),
        ),
        min_size=1,
        max_size=8,
    )
)
def test_serialize_round_trip(headers: list[tuple[str, str]]) -> None:
    # A value's first space is the separator's; serialise adds exactly one.
    # (``Response: Follows`` first would open an Asterisk 13 command reply.)
    assume(not (headers[0][0] == "Response" and headers[0][1].startswith("Follows")))
    msgs = Parser(expect_banner=False).feed(protocol.serialize(headers))
    assert len(msgs) == 1
    assert msgs[0].headers == headers


def test_parse_action_text() -> None:
    text = (
        "# a comment\n"
        "Action: Ping\n"
        "\n"
        "\n"
        "Action: Originate\r\n"
        "  # indented comment\n"
        "Channel: Local/100@default\n"
        "Variable: a=1\n"
        "Variable: b=2\n"
        "Data:no-space\n"
        "Empty:\n"
        "Colon: a: b\n"
        "\n"
        "Action: Logoff"
    )
    assert list(protocol.parse_action_text(text)) == [
        [("Action", "Ping")],
        [
            ("Action", "Originate"),
            ("Channel", "Local/100@default"),
            ("Variable", "a=1"),
            ("Variable", "b=2"),
            ("Data", "no-space"),
            ("Empty", ""),
            ("Colon", "a: b"),
        ],
        [("Action", "Logoff")],
    ]
    assert list(protocol.parse_action_text("")) == []
    assert list(protocol.parse_action_text("\n# only comments\n\n")) == []


@pytest.mark.parametrize("bad", ["Action: Ping\nno colon here\n", ": value\n", "Action: Ping\n  : x\n"])
def test_parse_action_text_errors(bad: str) -> None:
    with pytest.raises(ValueError, match="line 2|line 1"):
        list(protocol.parse_action_text(bad))


def test_format_message() -> None:
    msg = one(b"Response: Success\r\nActionID: 1\r\n\r\n")
    assert protocol.format_message(msg) == "Response: Success\nActionID: 1\n\n"
