"""`ami queues`: the real `ami` process against the sim, the recorded Asterisk 22 and Asterisk 13 shapes.

Every test checks stdout, stderr and the exit code separately.  Recorded
scripts are put together from the transcripts' exchanges (banner, Login,
the action, Logoff), played in the recorded chunks and one byte per read.
"""

from __future__ import annotations

import re
import time

import pytest
from replay import asterisk13_script, client_message, response
from util import json_lines, run_ami, run_replayed, start_sim, table_rows

from amicli.errors import ExitCode
from amicli.sim import queues as simqueues

MONITOR = {"AMI_USER": "monitor", "AMI_SECRET": "m0nitor"}


# -- fixtures -------------------------------------------------------------------


@pytest.fixture
def sim():
    """A fresh sim for tests that change queues."""
    server = start_sim()
    yield server
    server.close()


# -- the sim: listings ---------------------------------------------------------------


def test_queues_table_on_busy_sim(busy):
    proc = run_ami(["queues", "--wide"], port=busy.port)
    assert (proc.returncode, proc.stderr) == (0, "")
    header = proc.stdout.splitlines()[0].split()
    assert header[:4] == ["Queue", "Strategy", "Waiting", "Longest"]
    rows = {r[0]: r for r in table_rows(proc.stdout)}
    assert list(rows) == ["support", "sales", "empty"]
    # support: 1 waiting, waited 5 s, two members logged in, none available (both ringing).
    assert rows["support"][1:3] == ["ringall", "1"] and int(rows["support"][3]) >= 5
    assert rows["support"][-3:] == ["2", "0", "0"]
    assert rows["sales"][1:3] == ["rrmemory", "0"] and "60s" in rows["sales"]
    assert rows["empty"][-3:] == ["0", "0", "0"]


def test_queues_json_is_typed_and_nested(busy):
    proc = run_ami(["queues", "--json"], port=busy.port)
    assert (proc.returncode, proc.stderr) == (0, "")
    queues = json_lines(proc.stdout)
    assert [q["Queue"] for q in queues] == ["support", "sales", "empty"]
    support = queues[0]
    assert support["Calls"] == 1 and support["ServicelevelPerf"] == 0.0 and support["Max"] == 0
    assert (support["LoggedIn"], support["Available"], support["PausedMembers"]) == (2, 0, 0)
    assert support["LongestHoldTime"] >= 5
    assert [m["Name"] for m in support["members"]] == ["Alice", "Bob"]
    assert support["members"][0]["Status"] == 2 and support["members"][0]["StatusText"] == "In use"
    assert support["members"][0]["Paused"] is False
    [caller] = support["callers"]
    assert caller["Channel"] == "Local/300@default-0000000d;2" and caller["Position"] == 1
    assert caller["Wait"] == support["LongestHoldTime"]
    # What the issue asks jq to do: select(.Calls > 0) | .Queue
    assert [q["Queue"] for q in queues if q["Calls"] > 0] == ["support"]
    assert "Event" not in support and "ActionID" not in support


def test_queues_named_and_unknown(busy):
    proc = run_ami(["queues", "SUPPORT", "nope"], port=busy.port)
    assert proc.returncode == ExitCode.ACTION_FAILED
    assert [r[0] for r in table_rows(proc.stdout)] == ["support"]  # names compare without case, as app_queue does
    assert proc.stderr == "ami: error: no such queue: 'nope'\n"

    proc = run_ami(["queues", "nope", "--json"], port=busy.port)
    assert (proc.returncode, proc.stdout, proc.stderr) == (1, "", "ami: error: no such queue: 'nope'\n")


def test_members_table_and_json(busy):
    proc = run_ami(["queues", "members", "--wide"], port=busy.port)
    assert (proc.returncode, proc.stderr) == (0, "")
    assert proc.stdout.splitlines()[0].split()[:5] == ["Queue", "Name", "Interface", "State", "interface"]
    rows = table_rows(proc.stdout)
    assert [r[:5] for r in rows] == [
        ["support", "Alice", "Local/1001@ringonly/n", "Local/1001@ringonly", "In use"],
        ["support", "Bob", "Local/1002@ringonly/n", "Local/1002@ringonly/n", "In use"],
        ["sales", "Carol", "Local/2001@agents/n", "Local/2001@agents/n", "Not in use"],
    ]
    assert "never" in rows[0] and rows[0][-1] == "static"

    proc = run_ami(["queues", "members", "sales", "--json"], port=busy.port)
    [carol] = json_lines(proc.stdout)
    assert carol["Status"] == 1 and carol["StatusText"] == "Not in use"
    assert carol["LoginTime"] == int(busy.started) and carol["LastCall"] == 0
    assert carol["InCall"] is False and carol["Membership"] == "static"


def test_members_filters(busy):
    proc = run_ami(["queues", "members", "--available", "--json", "--fields", "Name"], port=busy.port)
    assert json_lines(proc.stdout) == [{"Name": "Carol"}]
    proc = run_ami(["queues", "members", "--paused"], port=busy.port)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")


def test_callers_table_and_json(busy):
    proc = run_ami(["queues", "callers", "--wide"], port=busy.port)
    assert (proc.returncode, proc.stderr) == (0, "")
    assert table_rows(proc.stdout) == [
        [
            "support",
            "1",
            "Local/300@default-0000000d;2",
            "5550199",
            "Waiting Caller",
            proc.stdout.splitlines()[2].split()[-2],
            "0",
        ]
    ]
    proc = run_ami(["queues", "callers", "sales", "--json"], port=busy.port)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")


def test_summary(busy):
    proc = run_ami(["queues", "summary", "--json"], port=busy.port)
    assert (proc.returncode, proc.stderr) == (0, "")
    rows = json_lines(proc.stdout)
    assert rows[0] == {
        "Queue": "support",
        "LoggedIn": 2,
        "Available": 0,
        "Callers": 1,
        "HoldTime": 0,
        "TalkTime": 0,
        "LongestHoldTime": rows[0]["LongestHoldTime"],
    }
    assert rows[0]["LongestHoldTime"] >= 5
    proc = run_ami(["queues", "summary", "sales", "nope"], port=busy.port)
    assert proc.returncode == 1 and [r[0] for r in table_rows(proc.stdout)] == ["sales"]
    assert proc.stderr == "ami: error: no such queue: 'nope'\n"


def test_fields_and_bad_fields(busy):
    proc = run_ami(["queues", "--fields", "Queue,Calls", "--no-headers", "--fmt", "plain"], port=busy.port)
    assert proc.stdout.split() == ["support", "1", "sales", "0", "empty", "0"]
    proc = run_ami(["queues", "--fields", "Bogus"], port=busy.port)
    assert proc.returncode == ExitCode.USAGE and proc.stdout == ""
    assert proc.stderr.startswith("ami: error: unknown field 'Bogus'") and proc.stderr.count("\n") == 1


def test_a_queue_named_like_a_subcommand(sim):
    queues = simqueues.queues_of(sim.pbx)
    queues["members"] = simqueues.Queue("members", "ringall")
    # The subcommand wins; -- or `list` reach the queue.
    for args in (["queues", "--json", "--", "members"], ["queues", "list", "members", "--json"]):
        proc = run_ami(args, port=sim.port)
        assert proc.returncode == 0, proc.stderr
        assert [q["Queue"] for q in json_lines(proc.stdout)] == ["members"]
    for args in (
        ["queues", "members", "--json"],
        ["queues", "--json", "members"],
        ["queues", "--fmt", "plain", "--json", "members"],
    ):
        proc = run_ami(args, port=sim.port)  # options before the subcommand are the subcommand's
        assert {m["Queue"] for m in json_lines(proc.stdout)} == {"support", "sales"}
    proc = run_ami(["queues", "members", "members", "--json"], port=sim.port)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")


def test_no_queues_at_all(sim):
    simqueues.queues_of(sim.pbx).clear()
    proc = run_ami(["queues"], port=sim.port)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "ami: the PBX has no queues\n")


# -- the sim: acting ---------------------------------------------------------------------


def test_add_pause_unpause_remove_and_refusals(sim):
    port = sim.port
    iface = "Local/3001@agents/n"
    proc = run_ami(["queues", "add", "empty", iface, "--name", "Dave", "--penalty", "1"], port=port)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, f"added {iface} to queue empty\n", "")

    proc = run_ami(["queues", "add", "empty", iface], port=port)
    assert (proc.returncode, proc.stdout) == (ExitCode.ACTION_FAILED, "")
    assert proc.stderr == (
        f"ami: error: {iface} is already a member of queue 'empty' (PBX: Unable to add interface: Already there)\n"
    )

    proc = run_ami(["queues", "pause", iface, "--queue", "empty", "--reason", "lunch"], port=port)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, f"paused {iface} in queue empty (reason: lunch)\n", "")

    proc = run_ami(["queues", "members", "empty", "--json"], port=port)
    [dave] = json_lines(proc.stdout)
    assert (dave["Name"], dave["Membership"], dave["Penalty"], dave["Paused"], dave["PausedReason"]) == (
        "Dave",
        "dynamic",
        1,
        True,
        "lunch",
    )
    assert dave["LastPause"] >= dave["LoginTime"] > 0

    proc = run_ami(["queues", "empty"], port=port)
    assert table_rows(proc.stdout)[0][-3:] == ["1", "0", "1"]  # logged in, available, paused

    proc = run_ami(["queues", "unpause", iface, "--json"], port=port)
    assert proc.returncode == 0
    assert json_lines(proc.stdout) == [{"Response": "Success", "Message": "Interface unpaused successfully"}]
    proc = run_ami(["queues", "members", "empty", "--json"], port=port)
    assert json_lines(proc.stdout)[0]["Paused"] is False

    proc = run_ami(["queues", "remove", "empty", iface], port=port)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, f"removed {iface} from queue empty\n", "")
    proc = run_ami(["queues", "remove", "empty", iface], port=port)
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr == (
        f"ami: error: {iface} is not a member of queue 'empty' (PBX: Unable to remove interface: Not there)\n"
    )


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ["queues", "add", "nope", "PJSIP/1"],
            "no such queue: 'nope' (PBX: Unable to add interface to queue: No such queue)",
        ),
        (
            ["queues", "remove", "nope", "PJSIP/1"],
            "no such queue: 'nope' (PBX: Unable to remove interface from queue: No such queue)",
        ),
        (
            ["queues", "remove", "support", "Local/1001@ringonly/n"],
            "Local/1001@ringonly/n is a static member of queue 'support' (from queues.conf); only dynamic members can "
            "be removed (PBX: Member not dynamic)",
        ),
        (["queues", "pause", "PJSIP/9"], "PJSIP/9 is not a member of any queue (PBX: Interface not found)"),
        (
            ["queues", "unpause", "PJSIP/9", "--queue", "sales"],
            "PJSIP/9 is not a member of queue 'sales' (PBX: Interface not found)",
        ),
    ],
)
def test_refusals_are_one_line_and_exit_1(sim, args, message):
    proc = run_ami(args, port=sim.port)
    assert (proc.returncode, proc.stdout, proc.stderr) == (ExitCode.ACTION_FAILED, "", f"ami: error: {message}\n")


def test_permission_denied_for_monitor(sim):
    proc = run_ami(["queues", "members", "--json"], port=sim.port, user=MONITOR)  # QueueStatus needs nothing
    assert proc.returncode == 0 and len(json_lines(proc.stdout)) == 3
    proc = run_ami(["queues", "pause", "Local/2001@agents/n"], port=sim.port, user=MONITOR)
    assert (proc.returncode, proc.stdout) == (ExitCode.AUTH, "")
    assert proc.stderr.startswith("ami: error: QueuePause: permission denied") and proc.stderr.count("\n") == 1


@pytest.mark.parametrize(
    "args",
    [
        ["queues", "add", "empty"],
        ["queues", "add", "", "PJSIP/1"],
        ["queues", "add", "empty", "PJSIP/1\nAction: Hangup"],
        ["queues", "add", "empty", "PJSIP/1", "--penalty", "-1"],
        ["queues", "pause"],
        ["queues", "summary", "--fmt", "nosuchformat"],
    ],
)
def test_usage_errors(sim, args):
    proc = run_ami(args, port=sim.port)
    assert (proc.returncode, proc.stdout) == (ExitCode.USAGE, "")
    assert proc.stderr.startswith("ami: error: ") and proc.stderr.count("\n") == 1


def test_asterisk13_sim_leaves_out_what_13_did_not_send():
    server = start_sim(asterisk13=True)
    try:
        proc = run_ami(["queues", "members", "--json"], port=server.port)
        members = json_lines(proc.stdout)
        assert len(members) == 3
        for member in members:
            assert not {"LoginTime", "Wrapuptime", "LastPause"} & set(member)
            assert member["StatusText"] == "Not in use"
        proc = run_ami(["queues", "members", "sales", "--wide"], port=server.port)
        lines = proc.stdout.splitlines()
        column = lines[0].index("Last pause")
        assert lines[2][column : column + 10].strip() == ""  # absent: empty, not invented
        proc = run_ami(["queues", "--json"], port=server.port)
        assert all("ServicelevelPerf2" not in q for q in json_lines(proc.stdout))
    finally:
        server.close()


def test_asterisk13_sim_sends_the_callers_priority():
    # A live Asterisk 13.38.3 sends Priority in QueueEntry.
    from amicli.sim.channels import populate_demo

    server = start_sim(asterisk13=True)
    try:
        populate_demo(server.pbx)
        callers = json_lines(run_ami(["queues", "callers", "--json"], port=server.port).stdout)
    finally:
        server.close()
    assert callers and all(caller["Priority"] == 0 for caller in callers)


def test_queue_show_cli_on_the_sim(busy):
    proc = run_ami(["command", "queue show support"], port=busy.port)
    assert proc.returncode == 0
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("support has 1 calls (max unlimited) in 'ringall' strategy (0s holdtime, 0s talktime)")
    alice = "      Alice (Local/1001@ringonly/n from Local/1001@ringonly) (ringinuse enabled) (In use)"
    assert lines[2].startswith(alice)
    assert re.fullmatch(r"      1\. Local/300@default-0000000d;2 \(wait: 0:\d\d, prio: 0\)", lines[5])
    proc = run_ami(["command", "queue show nope"], port=busy.port)
    assert proc.stdout == "No such queue: nope.\n"


# -- recorded Asterisk 22 --------------------------------------------------------------


RECORDED_SUPPORT = {
    "Queue": "support",
    "Max": 0,
    "Strategy": "ringall",
    "Calls": 0,
    "Holdtime": 0,
    "TalkTime": 0,
    "Completed": 0,
    "Abandoned": 0,
    "ServiceLevel": 0,
    "ServicelevelPerf": 0.0,
    "ServicelevelPerf2": 0.0,
    "Weight": 0,
    "LongestHoldTime": 0,
    "LoggedIn": 2,
    "Available": 2,
    "PausedMembers": 0,
}
RECORDED_ALICE = {
    "Queue": "support",
    "Name": "Alice",
    "Location": "Local/1001@ringonly/n",
    "StateInterface": "Local/1001@ringonly",
    "Membership": "static",
    "Penalty": 0,
    "CallsTaken": 0,
    "LastCall": 0,
    "LastPause": 0,
    "LoginTime": 1795775545,
    "InCall": False,
    "Status": 1,
    "Paused": False,
    "PausedReason": "",
    "Wrapuptime": 0,
    "StatusText": "Not in use",
}


def test_recorded_idle_queues_json(replay, recorded, chunking):
    proc = run_replayed(replay, recorded("queues-idle", 2), ["queues", "--json"], chunking)
    assert (proc.returncode, proc.stderr) == (0, "")
    queues = json_lines(proc.stdout)
    assert [q["Queue"] for q in queues] == ["support", "sales", "empty"]
    support = dict(queues[0])
    members, callers = support.pop("members"), support.pop("callers")
    assert support == RECORDED_SUPPORT
    assert members[0] == RECORDED_ALICE and callers == []
    assert queues[1]["ServiceLevel"] == 60 and queues[2]["members"] == []


def test_recorded_busy_queues_tables(replay, recorded, chunking):
    proc = run_replayed(replay, recorded("busy-queues", 2), ["queues", "--wide"], chunking)
    rows = {r[0]: r for r in table_rows(proc.stdout)}
    assert rows["support"][1:4] == ["ringall", "1", "5"] and rows["support"][-3:] == ["2", "0", "0"]

    proc = run_replayed(replay, recorded("busy-queues", 2), ["queues", "callers", "--json"], chunking)
    assert json_lines(proc.stdout) == [
        {
            "Queue": "support",
            "Position": 1,
            "Channel": "Local/300@default-0000000d;2",
            "Uniqueid": "pbx-test-1795775763.27",
            "CallerIDNum": "5550199",
            "CallerIDName": "Waiting Caller",
            "ConnectedLineNum": "5550199",
            "ConnectedLineName": "Waiting Caller",
            "Wait": 5,
            "Priority": 0,
        }
    ]

    proc = run_replayed(replay, recorded("busy-queues", 2), ["queues", "members", "--wide"], chunking)
    assert [r[4] for r in table_rows(proc.stdout)] == ["In use", "In use", "Not in use"]


def test_recorded_named_and_missing_queue(replay, recorded):
    # Two QueueStatus in flight at once: support, then nope (an empty list).
    proc = run_replayed(replay, recorded("queues-idle", 3, 4), ["queues", "support", "nope", "--json"])
    assert proc.returncode == ExitCode.ACTION_FAILED
    assert [q["Queue"] for q in json_lines(proc.stdout)] == ["support"]
    assert proc.stderr == "ami: error: no such queue: 'nope'\n"


def test_recorded_summary(replay, recorded, chunking):
    proc = run_replayed(replay, recorded("queues-idle", 6), ["queues", "summary", "sales", "--json"], chunking)
    assert json_lines(proc.stdout) == [
        {
            "Queue": "sales",
            "LoggedIn": 1,
            "Available": 1,
            "Callers": 0,
            "HoldTime": 0,
            "TalkTime": 0,
            "LongestHoldTime": 0,
        }
    ]
    proc = run_replayed(replay, recorded("busy-queues", 3), ["queues", "summary"], chunking)
    assert table_rows(proc.stdout)[0] == ["support", "2", "0", "1", "0", "0", "5"]


@pytest.mark.parametrize(
    "exchange, args, code, stdout, stderr",
    [
        (
            2,
            ["queues", "add", "empty", "Local/3001@agents/n", "--name", "Dave", "--penalty", "1"],
            0,
            "added Local/3001@agents/n to queue empty\n",
            "",
        ),
        (
            3,
            ["queues", "add", "empty", "Local/3001@agents/n"],
            1,
            "",
            "ami: error: Local/3001@agents/n is already a member of queue 'empty' "
            "(PBX: Unable to add interface: Already there)\n",
        ),
        (
            4,
            ["queues", "pause", "Local/3001@agents/n", "--queue", "empty", "--reason", "lunch"],
            0,
            "paused Local/3001@agents/n in queue empty (reason: lunch)\n",
            "",
        ),
        (6, ["queues", "unpause", "Local/3001@agents/n"], 0, "unpaused Local/3001@agents/n in all its queues\n", ""),
        (
            7,
            ["queues", "remove", "empty", "Local/3001@agents/n"],
            0,
            "removed Local/3001@agents/n from queue empty\n",
            "",
        ),
        (
            8,
            ["queues", "remove", "empty", "Local/3001@agents/n"],
            1,
            "",
            "ami: error: Local/3001@agents/n is not a member of queue 'empty' "
            "(PBX: Unable to remove interface: Not there)\n",
        ),
        (
            9,
            ["queues", "add", "nope", "Local/3001@agents/n"],
            1,
            "",
            "ami: error: no such queue: 'nope' (PBX: Unable to add interface to queue: No such queue)\n",
        ),
    ],
)
def test_recorded_member_changes(replay, recorded, exchange, args, code, stdout, stderr):
    proc = run_replayed(replay, recorded("queue-members", exchange), args)
    assert (proc.returncode, proc.stdout, proc.stderr) == (code, stdout, stderr)


def test_recorded_paused_dynamic_member(replay, recorded, chunking):
    proc = run_replayed(replay, recorded("queue-members", 5), ["queues", "members", "empty", "--json"], chunking)
    [dave] = json_lines(proc.stdout)
    assert dave == {
        "Queue": "empty",
        "Name": "Dave",
        "Location": "Local/3001@agents/n",
        "StateInterface": "Local/3001@agents/n",
        "Membership": "dynamic",
        "Penalty": 1,
        "CallsTaken": 0,
        "LastCall": 0,
        "LastPause": 1795775782,
        "LoginTime": 1795775782,
        "InCall": False,
        "Status": 1,
        "Paused": True,
        "PausedReason": "lunch",
        "Wrapuptime": 0,
        "StatusText": "Not in use",
    }
    proc = run_replayed(replay, recorded("queue-members", 5), ["queues", "empty"], chunking)
    assert table_rows(proc.stdout)[0][-3:] == ["1", "0", "1"]


# -- Asterisk 13 shapes (AMI 2.10): fields missing and extra ---------------------------


def event(*headers: tuple[str, str]) -> bytes:
    return ("".join(f"{k}: {v}\r\n" for k, v in headers) + "\r\n").encode()


def asterisk13(action: str, items: list[bytes], complete: str, message: str) -> list:
    start = response("a", "Success", ("EventList", "start"), ("Message", message))
    end = event(("Event", complete), ("ActionID", "a"), ("EventList", "Complete"), ("ListItems", str(len(items))))
    return asterisk13_script(("client", client_message(action, "a")), ("server", start + b"".join(items) + end))


QUEUE13 = asterisk13(
    "QueueStatus",
    [
        # Asterisk 13: no ServicelevelPerf2; members without LastPause, LoginTime, Wrapuptime; entries with
        # Priority (a live 13.38.3 sends it).  An extra header a later or patched server might add ("Skills")
        # passes through untouched.
        event(
            ("Event", "QueueParams"),
            ("Queue", "sales"),
            ("Max", "0"),
            ("Strategy", "rrmemory"),
            ("Calls", "1"),
            ("Holdtime", "12"),
            ("TalkTime", "40"),
            ("Completed", "3"),
            ("Abandoned", "1"),
            ("ServiceLevel", "60"),
            ("ServicelevelPerf", "66.7"),
            ("Weight", "0"),
            ("ActionID", "a"),
        ),
        event(
            ("Event", "QueueMember"),
            ("Queue", "sales"),
            ("Name", "Carol"),
            ("Location", "SIP/2001"),
            ("StateInterface", "SIP/2001"),
            ("Membership", "static"),
            ("Penalty", "0"),
            ("CallsTaken", "3"),
            ("LastCall", "1620000000"),
            ("InCall", "0"),
            ("Status", "5"),
            ("Paused", "0"),
            ("PausedReason", ""),
            ("Skills", "sales"),
            ("ActionID", "a"),
        ),
        event(
            ("Event", "QueueEntry"),
            ("Queue", "sales"),
            ("Position", "1"),
            ("Channel", "SIP/trunk-0000002a"),
            ("Uniqueid", "1620000100.42"),
            ("CallerIDNum", "5550123"),
            ("CallerIDName", "unknown"),
            ("ConnectedLineNum", "unknown"),
            ("ConnectedLineName", "unknown"),
            ("Wait", "17"),
            ("Priority", "0"),
            ("ActionID", "a"),
        ),
    ],
    "QueueStatusComplete",
    "Queue status will follow",
)


def test_asterisk13_queue_status_json(replay, chunking):
    proc = run_replayed(replay, QUEUE13, ["queues", "--json"], chunking)
    assert (proc.returncode, proc.stderr) == (0, "")
    [sales] = json_lines(proc.stdout)
    assert "ServicelevelPerf2" not in sales and sales["ServicelevelPerf"] == 66.7
    assert (sales["LoggedIn"], sales["Available"], sales["LongestHoldTime"]) == (0, 0, 17)  # Carol is Unavailable
    [carol] = sales["members"]
    assert not {"LastPause", "LoginTime", "Wrapuptime"} & set(carol)
    assert carol["Skills"] == "sales" and carol["StatusText"] == "Unavailable" and carol["LastCall"] == 1620000000
    [caller] = sales["callers"]
    assert caller["Priority"] == 0 and caller["Wait"] == 17


def test_asterisk13_queue_status_tables(replay):
    proc = run_replayed(replay, QUEUE13, ["queues", "members", "--wide"])
    lines = proc.stdout.splitlines()
    assert "Unavailable" in lines[2]
    column = lines[0].index("Last pause")
    assert lines[2][column : column + 10].strip() == ""
    proc = run_replayed(replay, QUEUE13, ["queues", "callers", "--fmt", "tsv"])
    rows = [line.split("\t") for line in proc.stdout.splitlines()]
    assert rows[0][-1] == "Priority"
    # No cell is padded (a field the server did not send is an empty cell: Last pause, above).
    assert rows[1] == ["sales", "1", "SIP/trunk-0000002a", "5550123", "unknown", "17", "0"]


# -- a PBX still booting ----------------------------------------------------------------------


def test_booting_pbx_is_waited_for():
    # app_queue is not loaded before FullyBooted: QueueStatus is an unknown action until then.  The session saw
    # SuccessfulAuth without FullyBooted, so `ami` waits for FullyBooted and asks once more.
    server = start_sim(boot_delay=0.8)
    try:
        started = time.monotonic()
        proc = run_ami(["queues", "--json"], port=server.port)
        assert (proc.returncode, proc.stderr) == (0, "")
        assert [q["Queue"] for q in json_lines(proc.stdout)] == ["support", "sales", "empty"]
        assert time.monotonic() - started >= 0.5
    finally:
        server.close()


def test_booting_pbx_past_the_timeout():
    # Still booting when --timeout ends: a timeout (5), said as such, never "is app_queue loaded?".
    server = start_sim(boot_delay=5)
    try:
        proc = run_ami(["--timeout", "0.5", "queues", "add", "sales", "PJSIP/1"], port=server.port)
        assert (proc.returncode, proc.stdout) == (ExitCode.TIMEOUT, "")
        assert proc.stderr.startswith("ami: error: PBX still booting: QueueAdd still fails after 0.5 s (")
        assert "app_queue" not in proc.stderr
        assert proc.stderr.count("\n") == 1
    finally:
        server.close()
