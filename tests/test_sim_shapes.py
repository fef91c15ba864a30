"""`ami sim` answers as the recorded Asterisk 22 does, shape for shape.

The recorded client side of each transcript is sent to the sim, byte for
byte; the sim's answers must carry the same messages, in the same order,
with the same header names in the same order and the same values, except for
values that differ from run to run (times, ids, counters).
"""

from __future__ import annotations

import re
import socket
import time

import pytest
from replay import load_transcript, server_stream
from util import start_sim

from amicli.protocol import Parser

# Values that change from one run (or one PBX) to the next.
VOLATILE = {
    "Timestamp",
    "Uptime",
    "LastReload",
    "SystemName",
    "EventTV",
    "SessionID",
    "SessionTV",
    "LocalAddress",
    "RemoteAddress",
    "Challenge",
    "CoreStartupDate",
    "CoreStartupTime",
    "CoreReloadDate",
    "CoreReloadTime",
    "CoreProcessedCalls",
    "CoreCurrentCalls",
}

SCENARIOS = [
    "ping",
    "login-plain-ok",
    "login-plain-events-off",
    "login-bad-secret",
    "login-unknown-user",
    "login-acl-denied",
    "unknown-action",
    "missing-action",
    "permission-denied",
    "action-before-login",
    "long-header",
    "many-headers",
    "lf-only",
    "tls-login",
    "coresettings-corestatus",
    "userevent-action",
    "events-action",
]


def shape(messages, drop_values=()):
    out = []
    for msg in messages:
        out.append([(k, None if k in VOLATILE or k in drop_values else v) for k, v in msg.headers])
    return out


def play_client_side(port: int, steps, wait_close: float = 0.5) -> tuple[list, bool]:
    """Send the recorded client chunks; collect what the sim answers."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    parser = Parser()
    got = []
    closed = False
    # How many messages the recording has after each client step.
    counts, n = [], 0
    rec_parser = Parser()
    for direction, data in steps:
        if direction == "server":
            n += len(rec_parser.feed(data))
        elif direction == "client":
            counts.append(n)
    counts.append(n)
    expected_counts = counts[1:]
    client_chunks = [data for direction, data in steps if direction == "client"]
    for chunk, want in zip(client_chunks, expected_counts, strict=True):
        if closed:
            break
        try:
            sock.sendall(chunk)
        except OSError:
            closed = True
            break
        deadline = time.monotonic() + 3
        while len(got) < want and time.monotonic() < deadline:
            try:
                data = sock.recv(65536)
            except OSError:
                closed = True
                break
            if not data:
                closed = True
                break
            got += parser.feed(data)
    if not closed:
        # Did the sim close the connection after its last answer?
        sock.settimeout(wait_close)
        try:
            closed = sock.recv(65536) == b""
        except OSError:
            closed = False
    sock.close()
    return got, closed


@pytest.fixture(scope="module")
def sim():
    server = start_sim(login_fail_delay=0.05)
    yield server
    server.close()


@pytest.mark.parametrize("name", SCENARIOS)
def test_sim_answers_like_asterisk22(sim, name):
    steps = load_transcript(name)
    # tls-login is the same exchange as on TCP; TLS itself is tested in test_cli.
    recorded = Parser().feed(server_stream(steps))
    got, _ = play_client_side(sim.port, steps)
    # The recorded ActionIDs are the ones the recorded client sent, so they match too.
    assert shape(got) == shape(recorded)


def test_sim_closes_after_failed_login(sim):
    got, closed = play_client_side(sim.port, load_transcript("login-bad-secret"), wait_close=5)
    assert closed
    assert [m.get("Message") for m in got] == ["Authentication failed"]


def test_sim_failed_login_pauses_one_second():
    server = start_sim(login_fail_delay=1.0)
    try:
        started = time.monotonic()
        play_client_side(server.port, load_transcript("login-bad-secret"))
        elapsed = time.monotonic() - started
    finally:
        server.close()
    assert 0.9 <= elapsed < 2.5


def test_sim_md5_login(sim):
    import hashlib

    sock = socket.create_connection(("127.0.0.1", sim.port), timeout=5)
    parser = Parser()
    sock.sendall(b"Action: Challenge\r\nActionID: c1\r\nAuthType: MD5\r\n\r\n")
    msgs = []
    while len(msgs) < 1:
        msgs += parser.feed(sock.recv(4096))
    challenge = msgs[0]["Challenge"]
    assert challenge.isdigit()
    key = hashlib.md5((challenge + "s3cret-Admin").encode()).hexdigest()
    sock.sendall(f"Action: Login\r\nAuthType: MD5\r\nUsername: admin\r\nKey: {key}\r\nActionID: c2\r\n\r\n".encode())
    while len(msgs) < 2:
        msgs += parser.feed(sock.recv(4096))
    assert msgs[1]["Message"] == "Authentication accepted"
    sock.close()


# -- the sim is wired explicitly: each sim its own table, dialplan and state -------


def test_each_sim_has_its_own_dialplan_and_handlers():
    first, second = start_sim(), start_sim()
    try:
        first.pbx.dialplan.add_extension("default", "777", [("Answer", ""), ("Hangup", "")])
        assert first.pbx.dialplan.find("default", "777") is not None
        assert second.pbx.dialplan.find("default", "777") is None
        assert first.handlers is not second.handlers
        del first.handlers.actions["ping"]
        assert _ask(first.port, "Ping")["Response"] == "Error"
        assert _ask(second.port, "Ping")["Response"] == "Success"
    finally:
        first.close()
        second.close()


def _ask(port: int, action: str) -> dict:
    """Log in as admin, send one action, return its response's headers."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    parser = Parser()
    sock.sendall(b"Action: Login\r\nUsername: admin\r\nSecret: s3cret-Admin\r\nEvents: off\r\n\r\n")
    sock.sendall(f"Action: {action}\r\nActionID: q1\r\n\r\n".encode())
    got: list = []
    while not any(m.get("ActionID") == "q1" for m in got):
        got += parser.feed(sock.recv(65536))
    sock.close()
    return dict(next(m for m in got if m.get("ActionID") == "q1").headers)


def test_sim_modules_form_no_import_cycle_and_share_only_the_wire_format():
    """Imports anywhere in a module count, also inside functions and TYPE_CHECKING blocks."""
    import ast
    from pathlib import Path

    import amicli.sim

    folder = Path(amicli.sim.__file__).parent
    graph: dict[str, set[str]] = {}
    outside: set[str] = set()
    for path in folder.glob("*.py"):
        deps = graph.setdefault(path.stem, set())
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                names = [node.module] if node.module else [a.name for a in node.names]
                deps.update(n.split(".")[0] for n in names)
            elif isinstance(node, ast.ImportFrom) and node.level == 2:
                outside.add(node.module or "")
            elif isinstance(node, (ast.Import, ast.ImportFrom)) and "amicli" in ast.unparse(node):
                outside.add(ast.unparse(node))
    assert outside == {"protocol"}

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        for dep in graph.get(start, ()):
            if dep == goal or (dep not in seen and (seen.add(dep) or reaches(dep, goal, seen))):
                return True
        return False

    assert [m for m in graph if m != "__init__" and reaches(m, m, set())] == []


# -- PJSIP, device and extension states ---------------------------------------------

#: Values that differ from the recorded PBX's by nature: contact hashes and
#: call ids, expiry times, round-trip times, the PBX's name.
PJSIP_VOLATILE = {"RegExpire", "ExpirationTime", "CallID", "CallId", "RoundtripUsec", "RegServer"}


def _mask(value: str) -> str:
    value = re.sub(r"(;@|@@)[0-9a-f]{32}", r"\1HASH", value)
    value = re.sub(r" [0-9a-f]{10} (Avail|Unavail|NonQual|Unknown)( +)\S+$", r" HASH \1\2RTT", value)
    return re.sub(r"\(exp\. \d+s( ago)?\)", "(exp. Ns)", value)


def pjsip_shape(messages, sort_lists: bool = False):
    out = [
        [(k, None if k in VOLATILE or k in PJSIP_VOLATILE else _mask(v)) for k, v in msg.headers] for msg in messages
    ]
    # DeviceStateList's order is the order of a hash table: compare its items as a set.
    return sorted(out, key=repr) if sort_lists else out


@pytest.mark.parametrize(
    "name",
    ["pjsip-endpoints", "pjsip-endpoint-detail", "pjsip-contacts", "pjsip-registrations", "core-status"],
)
def test_sim_answers_pjsip_like_asterisk22(sim, name):
    steps = load_transcript(name)
    recorded = Parser().feed(server_stream(steps))
    got, _ = play_client_side(sim.port, steps)
    assert pjsip_shape(got) == pjsip_shape(recorded)


@pytest.mark.parametrize("name", ["devicestates", "pjsip-monitor-user"])
def test_sim_answers_device_states_like_asterisk22(sim, name):
    steps = load_transcript(name)
    recorded = Parser().feed(server_stream(steps))
    got, _ = play_client_side(sim.port, steps)
    assert pjsip_shape(got, sort_lists=True) == pjsip_shape(recorded, sort_lists=True)
    # The endpoints' device states are the recorded ones.
    states = {m.get("Device"): m.get("State") for m in got if m.get("Device", "").startswith("PJSIP/")}
    assert states == {m.get("Device"): m.get("State") for m in recorded if m.get("Device", "").startswith("PJSIP/")}


def test_auth_detail_carries_the_password_in_clear_text_as_asterisk_does(sim):
    got = _ask_list(sim.port, "PJSIPShowRegistrationsOutbound")
    assert [m.get("Password") for m in got if m.get("Event") == "AuthDetail"] == ["trunk-Down-Pass", "trunk-Up-Pass"]


def test_endpoint_errors_end_with_the_newline_asterisk_puts_in_the_value(sim):
    steps = load_transcript("pjsip-endpoint-detail")
    raw = _raw_answers(sim.port, steps)
    assert b"Message: Unable to retrieve endpoint nosuch-endpoint\n\r\n\r\n" in raw
    assert b"Message: PJSIPShowEndpoint requires an endpoint name\n\r\n\r\n" in raw


def _raw_answers(port: int, steps) -> bytes:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    for direction, data in steps:
        if direction == "client":
            sock.sendall(data)
    data = b""
    sock.settimeout(2)
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except OSError:
        pass
    sock.close()
    return data


class EventSession:
    """A logged-in admin session with events on, over a real socket."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.parser = Parser()
        self.messages: list = []
        self.sock.sendall(b"Action: Login\r\nUsername: admin\r\nSecret: s3cret-Admin\r\nEvents: on\r\n\r\n")
        self.wait(lambda m: m.get("Message") == "Authentication accepted")

    def send(self, text: str) -> None:
        self.sock.sendall(text.replace("\n", "\r\n").encode() + b"\r\n")

    def wait(self, predicate, timeout: float = 5):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = next((m for m in self.messages if predicate(m)), None)
            if found is not None:
                return found
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                self.messages += self.parser.feed(self.sock.recv(65536))
            except TimeoutError:
                break
        raise AssertionError("not seen: " + repr([m.headers for m in self.messages[-5:]]))

    def events(self, name: str) -> list:
        return [m for m in self.messages if m.get("Event") == name]

    def close(self) -> None:
        self.sock.close()


def recorded_event_shapes(name: str) -> dict[str, list[str]]:
    """Event name -> its header names in the recording (each event's first occurrence)."""
    shapes: dict[str, list[str]] = {}
    for msg in Parser().feed(server_stream(load_transcript(name))):
        if msg.get("Event"):
            shapes.setdefault(msg.get("Event"), [k for k, _ in msg.headers])
    return shapes


def _names(msg) -> list[str]:
    return [k for k, _ in msg.headers]


def test_contact_state_changes_send_asterisks_events():
    shapes = recorded_event_shapes("pjsip-state-changes")
    server = start_sim()
    watcher = EventSession(server.port)
    try:
        watcher.send("Action: Command\nCommand: sim contact bob unreachable\nActionID: c1\n")
        watcher.wait(lambda m: m.get("ActionID") == "c1")
        got = {
            e: watcher.events(e)[-1] for e in ("PeerStatus", "ContactStatus", "DeviceStateChange", "ExtensionStatus")
        }
        for event, msg in got.items():
            assert _names(msg) == shapes[event], event
        assert got["PeerStatus"]["PeerStatus"] == "Unreachable" and got["PeerStatus"]["Peer"] == "PJSIP/bob"
        assert (got["ContactStatus"]["ContactStatus"], got["ContactStatus"]["RoundtripUsec"]) == ("Unreachable", "0")
        assert got["DeviceStateChange"]["State"] == "UNAVAILABLE"
        # Hint 1002 is bob's alone; 1100 (alice&bob) stays Idle while alice is reachable.
        assert [(m["Exten"], m["Status"], m["StatusText"]) for m in watcher.events("ExtensionStatus")] == [
            ("1002", "4", "Unavailable")
        ]
        endpoints = _ask_list(server.port, "PJSIPShowEndpoints")
        bob = next(m for m in endpoints if m.get("ObjectName") == "bob")
        assert bob["DeviceState"] == "Unavailable"

        watcher.messages.clear()
        watcher.send("Action: Command\nCommand: sim contact bob reachable\nActionID: c2\n")
        watcher.wait(lambda m: m.get("Event") == "ContactStatus" and m.get("ContactStatus") == "Reachable")
        watcher.wait(lambda m: m.get("Event") == "DeviceStateChange" and m.get("State") == "NOT_INUSE")
        assert watcher.events("PeerStatus")[-1]["PeerStatus"] == "Reachable"
        assert int(watcher.events("ContactStatus")[-1]["RoundtripUsec"]) > 0

        watcher.messages.clear()
        watcher.send("Action: Command\nCommand: sim contact alice removed\nActionID: c3\n")
        removed = watcher.wait(lambda m: m.get("Event") == "ContactStatus")
        assert removed["ContactStatus"] == "Removed" and _names(removed) == shapes["ContactStatus"]
        contacts = _ask_list(server.port, "PJSIPShowContacts")
        assert [m["Endpoint"] for m in contacts if m.get("Event") == "ContactList"] == ["bob"]
        watcher.send("Action: Command\nCommand: sim contact alice registered\nActionID: c4\n")
        watcher.wait(lambda m: m.get("Event") == "ContactStatus" and m.get("ContactStatus") == "Reachable")
        assert [m["ContactStatus"] for m in watcher.events("ContactStatus")] == ["Removed", "NonQualified", "Reachable"]
    finally:
        watcher.close()
        server.close()


def test_registration_changes_send_registry_events():
    shapes = recorded_event_shapes("pjsip-registration-events")
    server = start_sim()
    watcher = EventSession(server.port)
    try:
        watcher.send("Action: Command\nCommand: sim registration trunk-up rejected\nActionID: r1\n")
        event = watcher.wait(lambda m: m.get("Event") == "Registry")
        assert _names(event) == shapes["Registry"]
        assert (event["Username"], event["Domain"], event["Status"]) == (
            "sip:trunk-up@127.0.0.1:5090",
            "sip:127.0.0.1:5090",
            "Rejected",
        )
        regs = _ask_list(server.port, "PJSIPShowRegistrationsOutbound")
        assert [m["Status"] for m in regs if m.get("Event") == "OutboundRegistrationDetail"] == ["Rejected", "Rejected"]
        assert regs[-1]["Registered"] == "0" and regs[-1]["NotRegistered"] == "2" and regs[-1]["ListItems"] == "2"
        # PJSIPRegister, as recorded: Unregistered at once, then the outcome.
        watcher.messages.clear()
        watcher.send("Action: Command\nCommand: sim registration trunk-up registered\nActionID: r2\n")
        watcher.wait(lambda m: m.get("Event") == "Registry" and m.get("Status") == "Registered")
        watcher.messages.clear()
        watcher.send("Action: PJSIPRegister\nRegistration: trunk-up-reg\nActionID: r3\n")
        reply = watcher.wait(lambda m: m.get("ActionID") == "r3")
        assert reply["Message"] == "Reregistration sent"
        watcher.wait(lambda m: m.get("Event") == "Registry" and m.get("Status") == "Registered")
        assert [m["Status"] for m in watcher.events("Registry")] == ["Unregistered", "Registered"]
        watcher.send("Action: PJSIPUnregister\nRegistration: nosuch-reg\nActionID: r4\n")
        assert watcher.wait(lambda m: m.get("ActionID") == "r4")["Message"] == "Unable to retrieve registration entry"
    finally:
        watcher.close()
        server.close()


def test_sim_commands_explain_their_usage(sim):
    got = _ask_command(sim.port, "sim contact alice sideways")
    assert got["Response"] == "Error" and got["Output"].startswith("Usage: sim contact")
    got = _ask_command(sim.port, "sim contact nobody unreachable")
    assert got["Response"] == "Error" and got["Output"] == "No contact for 'nobody'"


def test_many_endpoints_for_benchmarks():
    server = start_sim(endpoints=2000)
    try:
        started = time.monotonic()
        got = _ask_list(server.port, "PJSIPShowEndpoints")
        elapsed = time.monotonic() - started
    finally:
        server.close()
    listed = [m for m in got if m.get("Event") == "EndpointList"]
    assert len(listed) == 2006 and got[-1]["ListItems"] == "2006"
    assert listed[-1]["ObjectName"] == "trunk-up" and listed[0]["ObjectName"] == "alice"
    assert elapsed < 5


def test_asterisk13_has_no_pjsip():
    server = start_sim(asterisk13=True)
    try:
        got = _ask(server.port, "PJSIPShowEndpoints")
    finally:
        server.close()
    assert got["Message"].startswith("Invalid/unknown command: PJSIPShowEndpoints.")


def _ask_list(port: int, action: str) -> list:
    """Log in as admin, send a list action, return its events up to the Complete one."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    parser = Parser()
    sock.sendall(b"Action: Login\r\nUsername: admin\r\nSecret: s3cret-Admin\r\nEvents: off\r\n\r\n")
    sock.sendall(f"Action: {action}\r\nActionID: l1\r\n\r\n".encode())
    got: list = []
    while not any(m.get("ActionID") == "l1" and m.get("EventList") == "Complete" for m in got):
        got += parser.feed(sock.recv(65536))
    sock.close()
    return [m for m in got if m.get("ActionID") == "l1"]


def _ask_command(port: int, command: str):
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    parser = Parser()
    sock.sendall(b"Action: Login\r\nUsername: admin\r\nSecret: s3cret-Admin\r\nEvents: off\r\n\r\n")
    sock.sendall(f"Action: Command\r\nCommand: {command}\r\nActionID: k1\r\n\r\n".encode())
    got: list = []
    while not any(m.get("ActionID") == "k1" for m in got):
        got += parser.feed(sock.recv(65536))
    sock.close()
    return next(m for m in got if m.get("ActionID") == "k1")


# -- an Asterisk 13 with chan_sip and chan_iax2 (--asterisk13) ------------------------


def load_transcript_13(name: str) -> list:
    import json

    from replay import find_transcripts_dir

    path = find_transcripts_dir() / "asterisk-13.38.3-sip" / f"{name}.jsonl"
    steps = []
    for line in path.read_text(encoding="utf-8").splitlines():
        entry = json.loads(line) if line.strip() else {}
        if "dir" in entry:
            steps.append((entry["dir"], entry.get("data", "").encode("latin-1")))
    return steps


@pytest.fixture(scope="module")
def sim13():
    server = start_sim(asterisk13=True, login_fail_delay=0.05)
    yield server
    server.close()


@pytest.mark.parametrize(
    "name", ["sip-peers", "sip-peer-detail", "sip-registry", "iax-peers", "driver-detect-13", "devicestates-13"]
)
def test_sim_answers_like_asterisk13(sim13, name):
    steps = load_transcript_13(name)
    recorded = Parser().feed(server_stream(steps))
    got, _ = play_client_side(sim13.port, steps)
    # ListCommands lists what each PBX has loaded: the sim has fewer modules.
    got = [m for m in got if m.get("ActionID") != "cap-7"] if name == "driver-detect-13" else got
    recorded = [m for m in recorded if m.get("ActionID") != "cap-7"] if name == "driver-detect-13" else recorded
    drop = {"RegistrationTime"}
    in_any_order = name == "devicestates-13"  # DeviceStateList: a hash table's order
    assert [[(k, None if k in drop else v) for k, v in m] for m in pjsip_shape(got, in_any_order)] == [
        [(k, None if k in drop else v) for k, v in m] for m in pjsip_shape(recorded, in_any_order)
    ]


def test_sip_peer_state_change_on_asterisk13(sim13):
    shapes: dict[str, list[str]] = {}
    for msg in Parser().feed(server_stream(load_transcript_13("sip-state-changes"))):
        if msg.get("Event") == "PeerStatus":
            shapes.setdefault(msg.get("PeerStatus"), [k for k, _ in msg.headers])
    watcher = EventSession(sim13.port)
    try:
        for word, status in (("unreachable", "Unreachable"), ("reachable", "Reachable")):
            watcher.send(f"Action: Command\nCommand: sim peer bob {word}\nActionID: p-{word}\n")
            event = watcher.wait(lambda m, s=status: m.get("Event") == "PeerStatus" and m.get("PeerStatus") == s)
            assert _names(event) == shapes[status] and event["Peer"] == "SIP/bob"
            change = watcher.wait(lambda m: m.get("Event") == "ExtensionStatus" and m.get("Exten") == "1002")
            assert change["StatusText"] == ("Idle" if status == "Reachable" else "Unavailable")
            watcher.messages.clear()
        peers = _ask_list(sim13.port, "SIPpeers")
        assert next(m for m in peers if m.get("ObjectName") == "bob")["Status"] == "OK (1 ms)"
    finally:
        watcher.close()


def test_demo_flaps_a_contact():
    from amicli.sim.pjsip import start_flapping

    server = start_sim()
    watcher = EventSession(server.port)
    try:
        start_flapping(server.pbx, "bob", period=0.2)
        watcher.wait(lambda m: m.get("Event") == "ContactStatus" and m.get("ContactStatus") == "Unreachable")
        watcher.wait(lambda m: m.get("Event") == "ContactStatus" and m.get("ContactStatus") == "Reachable")
        assert {m["AOR"] for m in watcher.events("ContactStatus")} == {"bob"}
    finally:
        watcher.close()
        server.close()


def test_after_boot_contacts_are_qualified_and_registrations_sent():
    """As pjsip-boot-states: just after FullyBooted nothing is qualified or registered yet; then it settles."""
    shapes = recorded_event_shapes("pjsip-boot-states")
    server = start_sim(boot_delay=0.3)
    watcher = EventSession(server.port)
    try:
        watcher.send("Action: PJSIPShowEndpoints\nActionID: b0\n")
        early = watcher.wait(lambda m: m.get("ActionID") == "b0")
        assert early["Message"].startswith("Invalid/unknown command")  # res_pjsip is not loaded yet
        watcher.wait(lambda m: m.get("Event") == "FullyBooted")
        regs = _ask_list(server.port, "PJSIPShowRegistrationsOutbound")
        assert (regs[-1]["Registered"], regs[-1]["NotRegistered"]) == ("0", "2")
        assert [m["Status"] for m in regs if m.get("Event") == "OutboundRegistrationDetail"] == ["Unregistered"] * 2
        registry = watcher.wait(lambda m: m.get("Event") == "Registry" and m.get("Status") == "Registered")
        assert _names(registry) == shapes["Registry"]
        statuses = {(m["AOR"], m["ContactStatus"]) for m in watcher.events("ContactStatus")}
        assert statuses == {
            ("alice", "Reachable"),
            ("bob", "Reachable"),
            ("trunk-up", "Reachable"),
            ("trunk-down", "Unreachable"),
        }
        assert all(_names(m) == shapes["ContactStatus"] for m in watcher.events("ContactStatus"))
        peers = {m["Peer"]: m["PeerStatus"] for m in watcher.events("PeerStatus")}
        assert peers == {"PJSIP/alice": "Reachable", "PJSIP/bob": "Reachable", "PJSIP/trunk-up": "Reachable"}
        assert all(_names(m) == shapes["PeerStatus"] for m in watcher.events("PeerStatus"))
    finally:
        watcher.close()
        server.close()
