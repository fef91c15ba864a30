"""`ami channels`: the real `ami` process against the sim, the recorded Asterisk 22 and older shapes.

Every test checks stdout, stderr and the exit code separately.  The sim's
channel actions (CoreShowChannels, Hangup, Getvar, Status) are also checked
with the library client over a real socket.
"""

from __future__ import annotations

import re

import pytest
from replay import BANNER_13, client_message, response
from util import json_lines, run_ami, run_replayed, start_sim, table_rows

from amicli.client import Client
from amicli.errors import ExitCode

MONITOR = {"AMI_USER": "monitor", "AMI_SECRET": "m0nitor"}
CALLER = {"AMI_USER": "caller", "AMI_SECRET": "dial-0ut"}

DEMO_CHANNELS = [
    "Local/200@default-0000000a;1",
    "Local/200@default-0000000a;2",
    "Local/200@default-0000000b;1",
    "Local/200@default-0000000b;2",
    "Local/200@default-0000000c;1",
    "Local/200@default-0000000c;2",
    "Local/300@default-0000000d;1",
    "Local/300@default-0000000d;2",
    "Local/1002@ringonly-0000000f;1",
    "Local/1002@ringonly-0000000f;2",
    "Local/1001@ringonly-00000010;1",
    "Local/1001@ringonly-00000010;2",
]


def count(port: int) -> int:
    proc = run_ami(["channels", "--count"], port=port)
    assert proc.returncode == 0, proc.stderr
    return int(proc.stdout)


# -- listing on the sim -------------------------------------------------------------


def test_table(busy):
    proc = run_ami(["channels", "--wide"], port=busy.port)
    assert (proc.returncode, proc.stderr) == (0, "")
    header = proc.stdout.splitlines()[0]
    for title in (
        "Channel",
        "State",
        "Caller ID",
        "Connected line",
        "Exten@Context:Prio",
        "Application(Data)",
        "Duration",
        "Bridge",
        "Unique ID",
        "Linked ID",
    ):
        assert title in header
    rows = table_rows(proc.stdout)
    assert sorted(r[0] for r in rows) == sorted(DEMO_CHANNELS)
    queued = next(r for r in rows if r[0] == "Local/300@default-0000000d;2")
    assert queued[1:6] == [
        "Up",
        "Waiting Caller <5550199>",
        "Waiting Caller <5550199>",
        "300@default:2",
        "Queue(support,,,,600)",
    ]
    assert re.fullmatch(r"00:00:\d\d", queued[6])


def test_json_is_typed(busy):
    proc = run_ami(["channels", "--json"], port=busy.port)
    assert (proc.returncode, proc.stderr) == (0, "")
    channels = json_lines(proc.stdout)
    assert len(channels) == 12
    ringing = next(c for c in channels if c["Channel"] == "Local/1001@ringonly-00000010;1")
    assert ringing["ChannelState"] == 5 and ringing["ChannelStateDesc"] == "Ringing" and ringing["Priority"] == 1
    for c in channels:
        h, m, s = (int(x) for x in c["Duration"].split(":"))
        assert c["DurationSeconds"] == h * 3600 + m * 60 + s
        assert "Event" not in c and "ActionID" not in c


@pytest.mark.parametrize(
    "args, expected",
    [
        (["Local/300*"], 2),
        (["Local/1001@ringonly"], 2),  # no wildcard: a prefix
        (["*;2"], 6),
        (["PJSIP/*"], 0),
        (["--state", "ringing"], 2),
        (["--state", "ring,ringing"], 4),
        (["--state", "Up", "--state", "5"], 10),
        (["Local/1002*", "--state", "ring"], 1),
    ],
)
def test_pattern_state_and_count(busy, args, expected):
    proc = run_ami(["channels", "--count", *args], port=busy.port)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, f"{expected}\n", "")
    proc = run_ami(["channels", "--json", *args], port=busy.port)
    assert len(json_lines(proc.stdout)) == expected


def test_fields(busy):
    proc = run_ami(
        ["channels", "Local/300@default-0000000d;1", "--json", "--fields", "Channel,DurationSeconds"], port=busy.port
    )
    [row] = json_lines(proc.stdout)
    assert set(row) == {"Channel", "DurationSeconds"}
    proc = run_ami(
        ["channels", "*;1", "--fields", "Channel,Language", "--no-headers", "--fmt", "plain"], port=busy.port
    )
    assert all(line.split()[1] == "en" for line in proc.stdout.splitlines())


def test_no_channels():
    server = start_sim()
    try:
        proc = run_ami(["channels"], port=server.port)
        assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")
        proc = run_ami(["channels", "--count"], port=server.port)
        assert (proc.returncode, proc.stdout, proc.stderr) == (0, "0\n", "")
    finally:
        server.close()


@pytest.mark.parametrize(
    "args",
    [
        ["channels", "--state", "bogus"],
        ["channels", "--fields", "Nope"],
        ["channels", "a", "b"],
        ["channels", "hangup"],
        ["channels", "hangup", "X/1", "--match", "x"],
        ["channels", "hangup", "--match", "("],
        ["channels", "hangup", "--cause", "200", "X/1"],
        ["channels", "hangup", "bad\nname"],
    ],
)
def test_usage_errors(busy, args):
    proc = run_ami(args, port=busy.port)
    assert (proc.returncode, proc.stdout) == (ExitCode.USAGE, "")
    assert proc.stderr.startswith("ami: error: ") and proc.stderr.count("\n") == 1


def test_permissions(busy):
    # CoreShowChannels needs write system or reporting; Hangup needs system or call.
    proc = run_ami(["channels", "--count"], port=busy.port, user=MONITOR)
    assert (proc.returncode, proc.stdout) == (0, "12\n")
    proc = run_ami(["channels", "hangup", "Local/200@default-0000000a;2"], port=busy.port, user=MONITOR)
    assert (proc.returncode, proc.stdout) == (ExitCode.AUTH, "")
    assert proc.stderr.startswith("ami: error: Hangup: permission denied")
    proc = run_ami(["channels"], port=busy.port, user=CALLER)
    assert (proc.returncode, proc.stdout) == (ExitCode.AUTH, "")
    assert proc.stderr.startswith("ami: error: CoreShowChannels: permission denied")
    assert count(busy.port) == 12


# -- hanging up on the sim ----------------------------------------------------------------


def test_hangup_named(demo):
    proc = run_ami(["channels", "hangup", "Local/200@default-0000000a;2", "--json"], port=demo.port)
    assert (proc.returncode, proc.stderr) == (0, "")
    assert json_lines(proc.stdout) == [{"Channel": "Local/200@default-0000000a;2"}]
    assert count(demo.port) == 10  # a Local channel takes its other half with it
    proc = run_ami(["channels", "hangup", "Local/200@default-0000000a;2"], port=demo.port)
    assert (proc.returncode, proc.stdout) == (ExitCode.ACTION_FAILED, "")
    assert proc.stderr == (
        "ami: error: no such channel: Local/200@default-0000000a;2 (it is not up, or has already hung up)\n"
    )


def test_hangup_several_one_gone(demo):
    proc = run_ami(
        ["channels", "hangup", "Local/200@default-0000000b;1", "nosuch/channel", "Local/200@default-0000000c;1"],
        port=demo.port,
    )
    assert proc.returncode == ExitCode.ACTION_FAILED
    assert proc.stdout.splitlines() == [
        "Channel",
        "----------------------------",
        "Local/200@default-0000000b;1",
        "Local/200@default-0000000c;1",
    ]
    assert proc.stderr == "ami: error: no such channel: nosuch/channel (it is not up, or has already hung up)\n"
    assert count(demo.port) == 8


def test_hangup_match_needs_yes_and_dry_run_changes_nothing(demo):
    proc = run_ami(["channels", "hangup", "--match", "^Local/200@"], port=demo.port)
    assert (proc.returncode, proc.stdout) == (ExitCode.USAGE, "")
    assert proc.stderr.startswith("ami: error: 6 channels match '^Local/200@' (Local/200@default-0000000a;1, ")
    assert proc.stderr.endswith("and 1 more); add --yes to hang them all up, or --dry-run to list them\n")

    proc = run_ami(["channels", "hangup", "--match", "^Local/200@", "--dry-run", "--json"], port=demo.port)
    assert proc.returncode == 0
    assert [c["Channel"] for c in json_lines(proc.stdout)] == DEMO_CHANNELS[:6]
    assert proc.stderr == "ami: dry run: 6 channel(s) would be hung up\n"
    assert count(demo.port) == 12

    proc = run_ami(["channels", "hangup", "--match", "^Local/200@.*;2$", "--yes", "--json"], port=demo.port)
    assert (proc.returncode, proc.stderr) == (0, "")
    gone = json_lines(proc.stdout)
    assert [c["Channel"] for c in gone] == DEMO_CHANNELS[1:6:2]
    assert gone[0]["ChannelState"] == 6  # the rows shown are the channels' own
    assert count(demo.port) == 6


def test_hangup_match_one_and_none(demo):
    proc = run_ami(["channels", "hangup", "--match", "0000000d;2$"], port=demo.port)
    assert (proc.returncode, proc.stderr) == (0, "")
    assert table_rows(proc.stdout)[0][0] == "Local/300@default-0000000d;2"
    # The caller left the queue (abandoned), and the member phones that rang for it stopped.
    assert count(demo.port) == 6
    proc = run_ami(["queues", "--json"], port=demo.port)
    support = json_lines(proc.stdout)[0]
    assert (support["Calls"], support["Abandoned"], support["Available"]) == (0, 1, 2)

    proc = run_ami(["channels", "hangup", "--match", "^PJSIP/"], port=demo.port)
    assert (proc.returncode, proc.stdout, proc.stderr) == (1, "", "ami: error: no channel matches '^PJSIP/'\n")


def test_hangup_both_halves_matched(demo):
    # Hanging up ;1 takes ;2 with it: its own Hangup then finds nothing, which is what was wanted.
    proc = run_ami(["channels", "hangup", "--match", "^Local/200@default-0000000a", "--yes"], port=demo.port)
    assert proc.returncode == 0
    assert [r[0] for r in table_rows(proc.stdout)] == ["Local/200@default-0000000a;1"]
    assert proc.stderr == "ami: Local/200@default-0000000a;2 had already hung up\n"


# -- the sim's actions through the library client --------------------------------------------


def test_sim_hangup_events_getvar_and_status(demo):
    with Client("127.0.0.1", demo.port, keep_events=True) as client:
        client.connect()
        client.login("admin", "s3cret-Admin", events="call")
        reply = client.request(
            [("Action", "Getvar"), ("Channel", "Local/300@default-0000000d;2"), ("Variable", "CHANNEL(state)")]
        )
        assert [(k, v) for k, v in reply.response.headers if k != "ActionID"] == [
            ("Response", "Success"),
            ("Variable", "CHANNEL(state)"),
            ("Value", "Up"),
        ]
        reply = client.request(
            [("Action", "Getvar"), ("Channel", "Local/200@default-00000000;1"), ("Variable", "CHANNEL(state)")]
        )
        assert reply.response.get("Message") == "No such channel"

        reply = client.request([("Action", "Status")])
        assert reply.response.get("Message") == "Channel status will follow"
        assert len(reply.events) == 12 and reply.complete.get("Items") == "12"
        assert reply.events[0].headers[:2] == [("Event", "Status"), ("Privilege", "Call")]
        assert reply.events[0].headers[-1][0] == "ActionID"

        reply = client.request([("Action", "Hangup"), ("Channel", r"/^Local\/200@default-.*;2$/")])
        assert reply.response.get("Message") == "Channels hung up will follow"
        assert [m.get("Channel") for m in reply.events] == DEMO_CHANNELS[1:6:2]
        assert [k for k, _ in reply.events[0].headers] == ["Event", "Channel", "ActionID"]
        assert reply.complete.get("Event") == "ChannelsHungupListComplete" and reply.complete.get("ListItems") == "3"

        names = []
        while True:
            event = client.next_event(timeout=1)
            if event is None:
                break
            names.append((event.get("Event"), event.get("Channel") or event.get("Device")))
        assert names[:6] == [
            ("SoftHangupRequest", "Local/200@default-0000000a;2"),
            ("HangupRequest", "Local/200@default-0000000a;1"),
            ("Hangup", "Local/200@default-0000000a;2"),
            ("DeviceStateChange", "Local/200@default"),
            ("Hangup", "Local/200@default-0000000a;1"),
            ("DeviceStateChange", "Local/200@default"),
        ]

        for channel, message in (
            ("", "No channel specified"),
            ("/unclosed", "Regex format invalid, Channel param should be /regex/"),
            ("nosuch/channel", "No such channel"),
        ):
            reply = client.request([("Action", "Hangup"), ("Channel", channel)])
            assert (reply.response.get("Response"), reply.response.get("Message")) == ("Error", message)


# -- recorded Asterisk 22 ----------------------------------------------------------------------


def test_recorded_busy_channels_json(replay, recorded, chunking):
    proc = run_replayed(replay, recorded("busy-coreshowchannels", 2), ["channels", "--json"], chunking)
    assert (proc.returncode, proc.stderr) == (0, "")
    channels = json_lines(proc.stdout)
    assert len(channels) == 12
    assert channels[0] == {
        "Channel": "Local/200@default-0000000c;2",
        "ChannelState": 6,
        "ChannelStateDesc": "Up",
        "CallerIDNum": "5550100",
        "CallerIDName": "Line",
        "ConnectedLineNum": "5550100",
        "ConnectedLineName": "Line",
        "Language": "en",
        "AccountCode": "",
        "Context": "default",
        "Exten": "200",
        "Priority": 2,
        "Uniqueid": "pbx-test-1795775763.25",
        "Linkedid": "pbx-test-1795775763.24",
        "Application": "Wait",
        "ApplicationData": "600",
        "Duration": "00:00:04",
        "BridgeId": "",
        "DurationSeconds": 4,
    }
    assert [c["ChannelStateDesc"] for c in channels].count("Ringing") == 2


def test_recorded_busy_channels_table_and_filters(replay, recorded, chunking):
    proc = run_replayed(replay, recorded("busy-coreshowchannels", 2), ["channels", "*ringonly*", "--wide"], chunking)
    rows = table_rows(proc.stdout)
    assert [r[:2] for r in rows] == [
        ["Local/1002@ringonly-0000000f;2", "Ring"],
        ["Local/1002@ringonly-0000000f;1", "Ringing"],
        ["Local/1001@ringonly-00000010;2", "Ring"],
        ["Local/1001@ringonly-00000010;1", "Ringing"],
    ]
    assert rows[1][4:7] == ["300@ringonly:1", "AppQueue((Outgoing Line))", "00:00:03"]
    proc = run_replayed(
        replay, recorded("busy-coreshowchannels", 2), ["channels", "--count", "--state", "up"], chunking
    )
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "8\n", "")


def test_recorded_no_channels(replay, recorded):
    proc = run_replayed(replay, recorded("coreshowchannels-empty", 2), ["channels"])
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")
    proc = run_replayed(replay, recorded("coreshowchannels-empty", 2), ["channels", "--count"])
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "0\n", "")


def test_recorded_hangup_of_a_missing_channel(replay, recorded, chunking):
    proc = run_replayed(replay, recorded("hangup-getvar", 4), ["channels", "hangup", "nosuch/channel"], chunking)
    assert (proc.returncode, proc.stdout) == (ExitCode.ACTION_FAILED, "")
    assert proc.stderr == "ami: error: no such channel: nosuch/channel (it is not up, or has already hung up)\n"


def test_recorded_hangup_by_server_regex(replay, recorded, chunking):
    # A /regex/ name goes to the PBX as is; its list of ChannelHungup events is what was hung up.
    proc = run_replayed(
        replay, recorded("hangup-getvar", 5), ["channels", "hangup", r"/^Local\/200@default-.*;2$/", "--json"], chunking
    )
    assert (proc.returncode, proc.stderr) == (0, "")
    assert json_lines(proc.stdout) == [{"Channel": "Local/200@default-0000001e;2"}]


# -- older servers: fields missing, extra, spelled otherwise --------------------------------------


def event(*headers: tuple[str, str]) -> bytes:
    return ("".join(f"{k}: {v}\r\n" for k, v in headers) + "\r\n").encode()


OLD_CHANNEL = event(
    # Asterisk 11's CoreShowChannel: UniqueID, Extension, CallerIDnum; BridgedChannel instead of BridgeId;
    # no Linkedid, no Language.
    ("Event", "CoreShowChannel"),
    ("ActionID", "a"),
    ("Channel", "SIP/1001-00000001"),
    ("UniqueID", "1400000000.1"),
    ("Context", "default"),
    ("Extension", "200"),
    ("Priority", "1"),
    ("ChannelState", "6"),
    ("ChannelStateDesc", "Up"),
    ("Application", "Dial"),
    ("ApplicationData", "SIP/1002,30"),
    ("CallerIDnum", "1001"),
    ("CallerIDname", "Alice"),
    ("ConnectedLineNum", "1002"),
    ("ConnectedLineName", "Bob"),
    ("Duration", "01:01:05"),
    ("AccountCode", ""),
    ("BridgedChannel", "SIP/1002-00000002"),
    ("BridgedUniqueID", "1400000000.2"),
)
OLD_RINGING = event(
    # A minimal event: only the name and the state number.
    ("Event", "CoreShowChannel"),
    ("ActionID", "a"),
    ("Channel", "DAHDI/1-1"),
    ("ChannelState", "5"),
)


def old_server(*items: bytes) -> list:
    start = response("a", "Success", ("EventList", "start"), ("Message", "Channels will follow"))
    end = event(
        ("Event", "CoreShowChannelsComplete"),
        ("EventList", "Complete"),
        ("ListItems", str(len(items))),
        ("ActionID", "a"),
    )
    return [
        ("server", BANNER_13),
        ("client", client_message("Login", "l")),
        ("server", response("l", "Success", ("Message", "Authentication accepted"))),
        ("client", client_message("CoreShowChannels", "a")),
        ("server", start + b"".join(items) + end),
        ("client", client_message("Logoff", "o")),
        ("server", response("o", "Goodbye", ("Message", "Thanks for all the fish."))),
        ("close", b""),
    ]


def test_old_server_json_keeps_what_was_sent(replay, chunking):
    proc = run_replayed(replay, old_server(OLD_CHANNEL, OLD_RINGING), ["channels", "--json"], chunking)
    assert (proc.returncode, proc.stderr) == (0, "")
    first, second = json_lines(proc.stdout)
    assert first["UniqueID"] == "1400000000.1" and first["Extension"] == "200" and first["CallerIDnum"] == "1001"
    assert first["BridgedChannel"] == "SIP/1002-00000002" and first["Priority"] == 1 and first["ChannelState"] == 6
    assert first["DurationSeconds"] == 3665
    assert not {"Linkedid", "BridgeId", "Uniqueid", "Exten", "Language"} & set(first)
    assert second == {"Channel": "DAHDI/1-1", "ChannelState": 5}


def test_old_server_table(replay):
    # TSV: every column, cells without padding, as many cells on every line.
    proc = run_replayed(replay, old_server(OLD_CHANNEL, OLD_RINGING), ["channels", "--fmt", "tsv"])
    rows = [line.split("\t") for line in proc.stdout.splitlines()]
    assert all(cell == cell.strip() for row in rows for cell in row)
    assert {len(row) for row in rows} == {10}
    assert rows[1][:9] == [
        "SIP/1001-00000001",
        "Up",
        "Alice <1001>",
        "Bob <1002>",
        "200@default:1",
        "Dial(SIP/1002,30)",
        "01:01:05",
        "SIP/1002-00000002",
        "1400000000.1",
    ]
    assert rows[2] == ["DAHDI/1-1", "Ringing", *[""] * 8]  # the state decoded from its number; the rest empty
    proc = run_replayed(replay, old_server(OLD_CHANNEL, OLD_RINGING), ["channels", "--count", "--state", "ringing"])
    assert proc.stdout == "1\n"
