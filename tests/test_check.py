"""`ami check`: Monitoring Plugins output, codes and ranges, against replays of the recordings.

Range forms are tested at their boundaries on the parser, then through the
CLI against the recorded PBX state, each threshold computed from the
recordings so that it sits exactly on, or one past, the value recorded.
"""

from __future__ import annotations

import functools
import math
import re
import time

import compose as C
import pytest
from util import json_lines, run_ami, run_replayed

from amicli.thresholds import Status, parse_pair, parse_range

OK, WARNING, CRITICAL, UNKNOWN = 0, 1, 2, 3
STATUS_LINE = re.compile(
    r"^AMI (?P<check>[A-Z]+) (?P<status>OK|WARNING|CRITICAL|UNKNOWN) - (?P<text>[^|]*)(\| (?P<perf>.*))?$"
)


def status_line(stdout: str) -> re.Match:
    first = stdout.splitlines()[0]
    m = STATUS_LINE.match(first)
    assert m, first
    return m


def perfdata(stdout: str) -> dict[str, list[str]]:
    perf = status_line(stdout).group("perf") or ""
    out = {}
    for item in re.findall(r"('[^']*'|[^ =]+)=(\S+)", perf):
        out[item[0].strip("'")] = item[1].split(";")
    return out


# -- ranges, at their boundaries ----------------------------------------------------


@pytest.mark.parametrize(
    ("text", "alerts", "quiet"),
    [
        ("10", [-0.001, 10.001, 11], [0, 5, 10]),
        ("10:", [9.999, 0, -1], [10, 10.5, 1e9]),
        ("~:10", [10.001, 11], [10, -1e9, 0]),
        ("10:20", [9.999, 20.001], [10, 15, 20]),
        ("@10:20", [10, 15, 20], [9.999, 20.001]),
        ("0", [1, -1], [0]),
        ("@0", [0], [1]),
    ],
)
def test_range_forms_at_their_boundaries(text, alerts, quiet):
    rng = parse_range(text)
    for value in alerts:
        assert rng.alerts(value), (text, value)
    for value in quiet:
        assert not rng.alerts(value), (text, value)


@pytest.mark.parametrize("bad", ["", "x", "10:5", "1:2:3", "@", "~", "nan", ":x"])
def test_bad_ranges_are_refused(bad):
    with pytest.raises(ValueError):
        parse_range(bad)


def test_pairs():
    pair = parse_pair("5,10")
    assert (pair.status(5), pair.status(6), pair.status(11)) == (Status.OK, Status.WARNING, Status.CRITICAL)
    assert parse_pair("2:,").critical is None and parse_pair(",~:3").warning is None
    assert math.isinf(parse_pair("2:,").warning.end)


@pytest.mark.parametrize(
    "args",
    [
        ["check", "queue", "--waiting", "abc"],
        ["check", "endpoints", "-w", "10:5"],
        ["check", "registrations", "--bogus"],
        ["check", "channels", "-t", "0"],
        ["check", "nosuch"],
    ],
)
def test_usage_errors_are_unknown(args):
    proc = run_ami(args, port=1)
    assert proc.returncode == UNKNOWN
    assert status_line(proc.stdout).group("status") == "UNKNOWN"
    assert "usage" in proc.stdout
    assert proc.stderr == ""


def test_unreachable_pbx_is_critical():
    proc = run_ami(["check", "endpoints"], port=1)
    assert proc.returncode == CRITICAL
    assert status_line(proc.stdout).group("check") == "ENDPOINTS"


# -- endpoints ---------------------------------------------------------------------------


def _unavailable(facts) -> list[str]:
    return [e["ObjectName"] for e in facts["endpoints"] if e["DeviceState"] in ("Unavailable", "Invalid", "Unknown")]


def _run(replay, script_fn, args, chunking="recorded"):
    script, facts = script_fn()
    return run_replayed(replay, script, args, chunking), facts


@pytest.mark.parametrize("form", ["at", "below", "above", "inside"])
def test_check_endpoints_ranges_at_the_recorded_count(replay, chunking, form):
    _, facts = C.endpoints_script()
    down = len(_unavailable(facts))
    total = len(facts["endpoints"])
    cases = {
        "at": (["-w", "~:", "-c", str(down)], OK),  # N: alert when > N
        "below": (["-w", "~:", "-c", str(max(down - 1, 0))], CRITICAL if down else OK),
        "above": (["-w", f"~:{down - 1}" if down else "~:-1"], WARNING),
        "inside": (["-w", f"@{down}:{down}", "-c", f"{down + 1}:"], CRITICAL if down + 1 > down else OK),
    }
    args, want = cases[form]
    proc, _ = _run(replay, C.endpoints_script, ["check", "endpoints", *args], chunking)
    assert proc.returncode == want, proc.stdout
    assert proc.stderr == ""
    perf = perfdata(proc.stdout)
    assert perf["unavailable"][0] == str(down)
    assert perf["endpoints"][0] == str(total)
    body = proc.stdout.splitlines()[1:]
    assert len(body) == down
    for name in _unavailable(facts):
        assert any(f"/{name}:" in line for line in body)


def test_check_endpoints_must_be_reachable(replay):
    _, facts = C.endpoints_script()
    up = [e["ObjectName"] for e in facts["endpoints"] if e["ObjectName"] not in _unavailable(facts)]
    down = _unavailable(facts)
    proc, _ = _run(replay, C.endpoints_script, ["check", "endpoints", "-w", "~:", "--must-be-reachable", ",".join(up)])
    assert proc.returncode == OK, proc.stdout
    if down:
        proc, _ = _run(replay, C.endpoints_script, ["check", "endpoints", "-w", "~:", "--must-be-reachable", down[0]])
        assert proc.returncode == CRITICAL
        assert down[0] in proc.stdout.splitlines()[1]
    proc, _ = _run(replay, C.endpoints_script, ["check", "endpoints", "-w", "~:", "--must-be-reachable", "no-such-x"])
    assert proc.returncode == CRITICAL and "no-such-x: no such endpoint" in proc.stdout


def test_check_endpoints_rtt_perfdata(replay, chunking):
    proc, facts = _run(replay, C.endpoints_script, ["check", "endpoints", "-w", "~:"], chunking)
    perf = perfdata(proc.stdout)
    for contact in facts["contacts"]:
        usec = int(contact["RoundtripUsec"])
        assert perf[f"{contact['Endpoint']}_rtt"][0] == f"{usec / 1000:g}ms"


def test_check_endpoints_asterisk13_each_peer_word(replay, chunking):
    proc, facts = _run(replay, C.legacy_endpoints_script, ["check", "endpoints", "-w", "~:", "-c", "0"], chunking)
    down = [p["ObjectName"] for p in facts["peers"] if p["Status"].split(" (")[0] in ("UNREACHABLE", "UNKNOWN")]
    assert proc.returncode == (CRITICAL if down else OK)
    assert perfdata(proc.stdout)["unavailable"][0] == str(len(down))
    for name in down:
        assert any(line.endswith(")") and f"/{name}:" in line for line in proc.stdout.splitlines()[1:])


def test_check_endpoints_no_driver_is_unknown(replay):
    unknown = [("Response", "Error"), ("Message", "Invalid/unknown command: X")]
    script = (
        C.banner_and_login(C.V13)
        + C.recorded_exchange("PJSIPShowEndpoints", C.V13)
        + C.synthetic("SIPpeers", "n1", [unknown])
        + C.synthetic("IAXpeerlist", "n2", [unknown])
        + C.logoff(C.V13)
    )
    proc = run_replayed(replay, script, ["check", "endpoints"])
    assert proc.returncode == UNKNOWN
    assert "no SIP or IAX2 channel driver" in proc.stdout


# -- registrations -----------------------------------------------------------------------


@pytest.mark.parametrize("script_fn", [C.registrations_script, C.legacy_registrations_script], ids=["pjsip", "sip13"])
def test_check_registrations_each_status_word(replay, chunking, script_fn):
    proc, facts = _run(replay, script_fn, ["check", "registrations"], chunking)
    words = [e.get("Status") or e.get("State") for e in facts["registrations"]]
    bad = [w for w in words if w != "Registered"]
    assert proc.returncode == (CRITICAL if bad else OK), proc.stdout
    perf = perfdata(proc.stdout)
    assert perf["not_registered"][0] == str(len(bad))
    assert perf["registered"][0] == str(len(words) - len(bad))
    body = proc.stdout.splitlines()[1:]
    assert sorted(line.rsplit(": ", 1)[1].split(" (")[0] for line in body) == sorted(bad)


def test_check_registrations_warning_only_and_no_match(replay):
    proc, facts = _run(replay, C.registrations_script, ["check", "registrations", "-c", "~:", "-w", "0"])
    bad = [e for e in facts["registrations"] if e["Status"] != "Registered"]
    assert proc.returncode == (WARNING if bad else OK)
    proc, _ = _run(replay, C.registrations_script, ["check", "registrations", "/^$no-such/"])
    assert proc.returncode == UNKNOWN


# -- queue and channels --------------------------------------------------------------------


def _queue_script():
    exchange = C.recorded_exchange("QueueStatus")
    return C.banner_and_login() + exchange + C.logoff(), {
        "queues": C.events_of(exchange, "QueueParams"),
        "entries": C.events_of(exchange, "QueueEntry"),
    }


def test_check_queue_waiting_boundaries(replay, chunking):
    _, facts = _queue_script()
    most = max(int(q["Calls"]) for q in facts["queues"])
    proc, _ = _run(replay, _queue_script, ["check", "queue", "--waiting", f"{most},{most}"], chunking)
    assert proc.returncode == OK, proc.stdout
    proc, _ = _run(replay, _queue_script, ["check", "queue", "-w", f"~:{most - 1}"], chunking)
    assert proc.returncode == WARNING, proc.stdout
    perf = perfdata(proc.stdout)
    for queue in facts["queues"]:
        assert perf[f"{queue['Queue']}_waiting"][0] == queue["Calls"]


def test_check_queue_available_and_unknown_queue(replay):
    proc, facts = _run(replay, _queue_script, ["check", "queue", "--available", "1000:,"])
    assert proc.returncode == WARNING
    assert len(proc.stdout.splitlines()) == 1 + len(facts["queues"])
    proc, _ = _run(replay, _queue_script, ["check", "queue", "--waiting", "1,", "-w", "2"])
    assert proc.returncode == UNKNOWN and proc.stdout.startswith("AMI QUEUE UNKNOWN - usage:")


#: Queue member device states: those the recordings hold, and every one app_queue reports (0 Unknown .. 8 On Hold).
MEMBER_STATUSES = sorted({int(m["Status"]) for m in C.events_of(C.recorded_exchange("QueueStatus"), "QueueMember")}
                         | set(range(9)))  # fmt: skip


@pytest.mark.parametrize("paused", ["0", "1"], ids=["unpaused", "paused"])
@pytest.mark.parametrize("status", MEMBER_STATUSES)
def test_check_queue_available_each_member_status(replay, status, paused):
    # Available, as app_queue counts it: logged in, Not in use or Unknown, not paused.
    params = [("Queue", "q"), ("Max", "0"), ("Strategy", "ringall"), ("Calls", "0"), ("Holdtime", "0"),
              ("TalkTime", "0"), ("Completed", "0"), ("Abandoned", "0"), ("ServiceLevel", "0"),
              ("ServicelevelPerf", "0.0"), ("Weight", "0")]  # fmt: skip
    member = [("Queue", "q"), ("Name", "agent"), ("Location", "PJSIP/agent"), ("StateInterface", "PJSIP/agent"),
              ("Membership", "dynamic"), ("Penalty", "0"), ("CallsTaken", "0"), ("LastCall", "0"),
              ("InCall", "0"), ("Status", str(status)), ("Paused", paused)]  # fmt: skip
    script = (
        C.banner_and_login()
        + C.synthetic_list(
            "QueueStatus",
            "w-qs",
            [[("Event", "QueueParams"), *params], [("Event", "QueueMember"), *member]],
            "QueueStatusComplete",
            "Queue status will follow",
        )
        + C.logoff()
    )
    proc = run_replayed(replay, script, ["check", "queue", "--available", "1:,"])
    available = status in (0, 1) and paused == "0"
    assert proc.returncode == (OK if available else WARNING), proc.stdout
    assert perfdata(proc.stdout)["q_available"][0] == str(int(available))
    if not available:
        assert proc.stdout.splitlines()[1] == "q: 0 agents available (warning range 1:)"


def test_check_channels(replay, chunking):
    status = C.recorded_exchange("CoreStatus")
    channels = C.recorded_exchange("CoreShowChannels")
    count = len(C.events_of(channels, "CoreShowChannel"))
    calls = C.messages_of(status)[0]["CoreCurrentCalls"]

    def script():
        return C.banner_and_login() + status + channels + C.logoff(), {}

    proc, _ = _run(replay, script, ["check", "channels", "-w", str(count), "--calls", f",{calls}"], chunking)
    assert proc.returncode == OK, proc.stdout
    perf = perfdata(proc.stdout)
    assert perf["channels"][0] == str(count) and perf["calls"][0] == calls
    proc, _ = _run(replay, script, ["check", "channels", "-c", f"@{count}"], chunking)
    assert proc.returncode == CRITICAL


def test_check_login_is_login_test(replay, chunking):
    proc = run_replayed(replay, "login-plain-ok", ["check", "login"], chunking, check=False)
    assert proc.returncode == OK, proc.stdout
    assert proc.stdout.startswith("AMI LOGIN OK - ")


# -- every state word the recordings hold, one at a time ------------------------------------


@functools.cache
def _recorded_messages() -> tuple[dict[str, str], ...]:
    """Every server message of every recording (read once: each test worker collects this module)."""
    root = C.transcripts_root()
    return tuple(
        msg
        for version in (C.V22, C.V13)
        for path in sorted((root / version).glob("*.jsonl"))
        for msg in C.messages_of(C.load(version, path.stem))
    )


def _words(header: str, events: tuple[str, ...]) -> list[str]:
    """Every value of ``header`` in the named events, over every recording."""
    return sorted({msg[header] for msg in _recorded_messages() if msg.get("Event") in events and msg.get(header)})


# Words in Asterisk's source that these recordings may not hold (res_pjsip, chan_sip, chan_iax2, devicestate.c).
SOURCE_REGISTRATION_WORDS = {"Registered", "Unregistered", "Rejected", "Request Sent", "Auth. Sent", "Timeout",
                             "No Authentication", "Failed"}  # fmt: skip
SOURCE_PEER_WORDS = {"OK (12 ms)", "LAGGED (2500 ms)", "UNREACHABLE", "UNKNOWN", "Unmonitored"}
SOURCE_DEVICE_WORDS = {"Not in use", "In use", "Busy", "Invalid", "Unavailable", "Ringing", "Ring+Inuse", "On Hold",
                       "Unknown"}  # fmt: skip
SOURCE_CONTACT_WORDS = {"Reachable", "Unreachable", "NonQualified", "Unknown"}

REGISTRATION_WORDS = sorted(
    set(_words("Status", ("OutboundRegistrationDetail", "Registry")))
    | set(_words("State", ("RegistryEntry",)))
    | SOURCE_REGISTRATION_WORDS
)
PEER_WORDS = sorted(set(_words("Status", ("PeerEntry",))) | SOURCE_PEER_WORDS)
DEVICE_WORDS = sorted(set(_words("DeviceState", ("EndpointList", "EndpointDetail"))) | SOURCE_DEVICE_WORDS)
CONTACT_WORDS = sorted(
    set(_words("Status", ("ContactList", "ContactStatusDetail")))
    | set(_words("ContactStatus", ("ContactStatus",)))
    | SOURCE_CONTACT_WORDS
)


def _list(action: str, item: str, complete: str, rows: list[list[tuple[str, str]]]) -> list:
    return C.synthetic_list(action, f"w-{action}", [[("Event", item), *row] for row in rows], complete, "list follows")


@pytest.mark.parametrize("word", REGISTRATION_WORDS)
def test_check_registrations_each_recorded_word(replay, word):
    row = [("ObjectType", "registration"), ("ObjectName", "reg-x"), ("ServerUri", "sip:x"), ("Status", word)]
    script = (
        C.banner_and_login()
        + _list(
            "PJSIPShowRegistrationsOutbound", "OutboundRegistrationDetail", "OutboundRegistrationDetailComplete", [row]
        )  # fmt: skip
        + C.logoff()
    )
    proc = run_replayed(replay, script, ["check", "registrations"])
    assert proc.returncode == (OK if word == "Registered" else CRITICAL), proc.stdout
    if word != "Registered":
        assert proc.stdout.splitlines()[1] == f"PJSIP/reg-x: {word} (sip:x)"


@pytest.mark.parametrize("word", PEER_WORDS)
def test_check_endpoints_each_recorded_peer_status(replay, word):
    row = [("Channeltype", "SIP"), ("ObjectName", "peer-x"), ("IPaddress", "10.0.0.1"), ("IPport", "5060"),
           ("Status", word)]  # fmt: skip
    script = (
        C.banner_and_login(C.V13)
        + C.recorded_exchange("PJSIPShowEndpoints", C.V13)
        + _list("SIPpeers", "PeerEntry", "PeerlistComplete", [row])
        + _list("IAXpeerlist", "PeerEntry", "PeerlistComplete", [])
        + C.logoff(C.V13)
    )
    proc = run_replayed(replay, script, ["check", "endpoints", "-w", "~:", "-c", "0"])
    down = word.split(" (")[0].upper() in ("UNREACHABLE", "UNKNOWN")
    assert proc.returncode == (CRITICAL if down else OK), proc.stdout


@pytest.mark.parametrize("word", DEVICE_WORDS)
def test_check_endpoints_each_recorded_device_state(replay, word):
    row = [("ObjectType", "endpoint"), ("ObjectName", "ep-x"), ("Aor", "ep-x"), ("Contacts", ""),
           ("DeviceState", word), ("ActiveChannels", "0")]  # fmt: skip
    script = (
        C.banner_and_login()
        + _list("PJSIPShowEndpoints", "EndpointList", "EndpointListComplete", [row])
        + _list("PJSIPShowContacts", "ContactList", "ContactListComplete", [])
        + C.logoff()
    )
    proc = run_replayed(replay, script, ["check", "endpoints", "-w", "~:", "-c", "0"])
    assert proc.returncode == (CRITICAL if word in ("Unavailable", "Invalid", "Unknown") else OK), proc.stdout


@pytest.mark.parametrize("word", CONTACT_WORDS)
def test_endpoints_state_filter_each_recorded_contact_status(replay, word):
    endpoint = [("ObjectType", "endpoint"), ("ObjectName", "ep-x"), ("Aor", "ep-x"),
                ("Contacts", "ep-x/sip:ep-x@10.0.0.1,"), ("DeviceState", "Not in use")]  # fmt: skip
    contact = [("ObjectType", "contact"), ("ObjectName", "ep-x;@abc"), ("Endpoint", "ep-x"),
               ("Uri", "sip:ep-x@10.0.0.1"), ("Status", word), ("RoundtripUsec", "0")]  # fmt: skip
    script = (
        C.banner_and_login()
        + _list("PJSIPShowEndpoints", "EndpointList", "EndpointListComplete", [endpoint])
        + _list("PJSIPShowContacts", "ContactList", "ContactListComplete", [contact])
        + C.logoff()
    )
    proc = run_replayed(replay, script, ["endpoints", "contacts", "--state", word.lower(), "--json"])
    assert proc.returncode == OK, proc.stderr
    assert [r["Status"] for r in json_lines(proc.stdout)] == [word]


def test_t_bounds_the_whole_check(replay):
    # The PBX takes the action and never answers.
    script = C.banner_and_login() + [("client", C.replay.client_message("PJSIPShowEndpoints", "x"))]
    started = time.monotonic()
    proc = run_replayed(replay, script, ["check", "endpoints", "-t", "0.5"], check=False)
    assert time.monotonic() - started < 8
    assert proc.returncode == CRITICAL
    assert proc.stdout.startswith("AMI ENDPOINTS CRITICAL - ") and "0.5 s" in proc.stdout
    assert proc.stderr == ""


def test_a_pbx_that_stopped_answering_gets_logoff_without_a_wait(replay):
    # After a reply timed out, Goodbye would not come either: Logoff is sent,
    # not waited for, so -t 1 is about 1 s in all (it was 1 s more).
    script = C.banner_and_login() + [("client", C.replay.client_message("PJSIPShowEndpoints", "x"))]
    server = replay(script)
    started = time.monotonic()
    proc = run_ami(["check", "endpoints", "-t", "1"], port=server.port)
    elapsed = time.monotonic() - started
    server.wait(5)
    assert proc.returncode == CRITICAL and "1 s" in proc.stdout
    assert 1.0 <= elapsed < 1.8
    assert server.actions()[-1] == "Logoff"


# -- names from a hostile PBX ----------------------------------------------------------------

#: Clear screen, OSC 52 (set the clipboard), C1 CSI, and a `|` that would start fake perfdata.
HOSTILE = "ev\x1b[2Jil\x1b]52;c;cm0=\x07\x9b6n | fake=1;;;"
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _hostile_pbx(state, action, action_id):
    name = HOSTILE
    lists = {
        "pjsipshowendpoints": ([[("Event", "EndpointList"), ("ObjectType", "endpoint"), ("ObjectName", name),
                                 ("Aor", name), ("Contacts", f"{name}/sip:{name}@10.0.0.1,"),
                                 ("DeviceState", "Unavailable"), ("ActiveChannels", "0")]], "EndpointListComplete"),
        "pjsipshowcontacts": ([[("Event", "ContactList"), ("ObjectType", "contact"), ("ObjectName", f"{name};@a"),
                                ("Endpoint", name), ("Aor", name), ("Uri", f"sip:{name}@10.0.0.1"),
                                ("Status", "Unreachable"), ("RoundtripUsec", "1500")]], "ContactListComplete"),
        "pjsipshowregistrationsoutbound": ([[("Event", "OutboundRegistrationDetail"), ("ObjectName", name),
                                             ("ServerUri", f"sip:{name}"), ("Status", f"Rejected {name}")]],
                                           "OutboundRegistrationDetailComplete"),
        "queuestatus": ([[("Event", "QueueParams"), ("Queue", name), ("Calls", "5"), ("Holdtime", "0"),
                          ("Completed", "0"), ("Abandoned", "0"), ("ServicelevelPerf", "0.0")]],
                        "QueueStatusComplete"),
    }  # fmt: skip
    if action in lists:
        items, complete = lists[action]
        return [C.synthetic_list(action, action_id, items, complete, "list follows")[-1][1]]  # the server's bytes
    from peers.base import ok_reply

    return [ok_reply(action_id)]


@pytest.mark.parametrize(
    "args",
    [["endpoints"], ["registrations"], ["queue", "-w", "1"]],
    ids=["endpoints", "registrations", "queue"],
)
@pytest.mark.parametrize("fleet", [False, True], ids=["one-pbx", "fleet"])
def test_names_from_the_pbx_drive_no_terminal_and_fake_no_perfdata(tmp_path, args, fleet):
    from peers.script import ScriptPeer

    with ScriptPeer(_hostile_pbx) as peer:
        if fleet:
            config = tmp_path / "config"
            config.write_text(
                "[fleet]\ninclude = p1, p2\n" + "".join(f"[p{n}]\nhost = 127.0.0.1\nport = {peer.port}\n" for n in "12")
            )
            config.chmod(0o600)
            proc = run_ami(["--profile", "fleet", "check", *args], env={"AMI_CONFIG": str(config)})
        else:
            proc = run_ami(["check", *args], port=peer.port)
    assert proc.returncode in (WARNING, CRITICAL), proc.stdout
    assert proc.stderr == ""
    # Nothing raw for a terminal; one `|` in all (the status line's own), so the
    # long output starts no perfdata either.
    assert not CONTROL.search(proc.stdout), proc.stdout
    assert proc.stdout.count("|") == 1, proc.stdout
    assert "fake=1" not in perfdata(proc.stdout)
    assert "ev\\x1b[2Jil\\x1b]52;c;cm0=\\x07\\x9b6n \\x7c fake=1;;;" in proc.stdout
