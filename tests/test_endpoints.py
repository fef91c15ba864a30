"""`ami endpoints` against replays of the recorded PJSIP and chan_sip/IAX2 sessions.

Expected values come from the recordings themselves (compose.py), never from
names written here, so the tests hold for other recordings with other
endpoints and states.
"""

from __future__ import annotations

import json
import os
import re
import select
import signal
import subprocess
import time

import compose as C
import pytest
import replay
from util import ami_argv, ami_env, json_lines, run_ami, run_replayed

from amicli.errors import ExitCode

ADMIN = {"AMI_USER": "admin", "AMI_SECRET": "s3cret-Admin"}


def _status_of(facts: dict, endpoint: str, aor: str, uri: str) -> tuple[str, int | None]:
    """What the recordings say of one contact: (status, round trip in µs)."""
    for c in facts["contacts"]:
        name = re.split(r";@|@@", c["ObjectName"])[0]
        if (name.lower(), c["Uri"]) == (aor.lower(), uri):
            return c["Status"], int(c["RoundtripUsec"]) if c["RoundtripUsec"].isdigit() else None
    detail = facts["details"].get(endpoint)
    if detail is not None:
        for c in C.events_of(detail, "ContactStatusDetail"):
            if (c["AOR"].lower(), c["URI"]) == (aor.lower(), uri):
                return c["Status"], int(c["RoundtripUsec"]) if c["RoundtripUsec"].isdigit() else None
    return "Unknown", None


def test_list_json_is_typed_and_matches_the_recordings(replay, chunking):
    script, facts = C.endpoints_script()
    proc = run_replayed(replay, script, ["endpoints", "--json"], chunking)
    assert proc.returncode == ExitCode.OK, proc.stderr
    assert proc.stderr == ""
    rows = json_lines(proc.stdout)
    assert [r["Endpoint"] for r in rows] == [e["ObjectName"] for e in facts["endpoints"]]
    for row, event in zip(rows, facts["endpoints"], strict=True):
        assert row["State"] == event["DeviceState"]
        assert row["ActiveChannels"] == int(event["ActiveChannels"])
        assert row["Available"] is (event["DeviceState"] not in ("Unavailable", "Invalid", "Unknown"))
        listed = C.endpoint_contacts(event)
        assert [(c["Aor"].lower(), c["Uri"]) for c in row["Contacts"]] == listed
        for contact in row["Contacts"]:
            status, usec = _status_of(facts, row["Endpoint"], contact["Aor"], contact["Uri"])
            assert contact["Status"] == status
            assert contact["RoundtripUsec"] == usec
            assert usec is None or isinstance(contact["RoundtripUsec"], int)


def test_list_table_one_row_per_endpoint(replay, chunking):
    script, facts = C.endpoints_script()
    proc = run_replayed(replay, script, ["endpoints", "--no-headers", "--fmt", "plain", "--fields", "Endpoint,State"],
                        chunking)  # fmt: skip
    assert proc.returncode == ExitCode.OK, proc.stderr
    lines = [re.split(r"\s{2,}", line.strip()) for line in proc.stdout.splitlines()]
    assert lines == [[e["ObjectName"], e["DeviceState"]] for e in facts["endpoints"]]


def test_state_filter_and_count(replay):
    script, facts = C.endpoints_script()
    unavailable = [e for e in facts["endpoints"] if e["DeviceState"] == "Unavailable"]
    proc = run_replayed(replay, script, ["endpoints", "--state", "UNAVAILABLE", "--count"])
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, f"{len(unavailable)}\n", "")


def test_pattern_regex_and_glob(replay):
    script, facts = C.endpoints_script()
    first = facts["endpoints"][0]["ObjectName"]
    proc = run_replayed(replay, script, ["endpoints", f"/^{re.escape(first)}$/", "--json"])
    assert [r["Endpoint"] for r in json_lines(proc.stdout)] == [first]
    script, _ = C.endpoints_script()
    proc = run_replayed(replay, script, ["endpoints", first[:1] + "*", "--json"])
    assert [r["Endpoint"] for r in json_lines(proc.stdout)] == [
        e["ObjectName"] for e in facts["endpoints"] if e["ObjectName"].startswith(first[:1])
    ]


def test_contacts_subcommand(replay, chunking):
    script, facts = C.endpoints_script()
    proc = run_replayed(replay, script, ["endpoints", "contacts", "--json"], chunking)
    assert proc.returncode == ExitCode.OK, proc.stderr
    rows = json_lines(proc.stdout)
    expected = [(e["ObjectName"], uri) for e in facts["endpoints"] for _, uri in C.endpoint_contacts(e)]
    assert [(r["Endpoint"], r["Uri"]) for r in rows] == expected
    for row in rows:
        assert row["Status"] == _status_of(facts, row["Endpoint"], row["Aor"], row["Uri"])[0]


def test_asterisk13_falls_back_to_sip_and_iax_peers(replay, chunking):
    script, facts = C.legacy_endpoints_script()
    proc = run_replayed(replay, script, ["endpoints", "--json"], chunking)
    assert proc.returncode == ExitCode.OK, proc.stderr
    rows = json_lines(proc.stdout)
    assert [r["Endpoint"] for r in rows] == [p["ObjectName"] for p in facts["peers"]]
    words = {"OK": "Reachable", "LAGGED": "Lagged", "UNREACHABLE": "Unreachable", "UNKNOWN": "Unknown"}
    for row, peer in zip(rows, facts["peers"], strict=True):
        word = peer["Status"].split(" (")[0]
        assert row["State"] == words.get(word, word)
        assert row["Technology"] == ("IAX2" if peer["Channeltype"].startswith("IAX") else "SIP")
        ms = re.search(r"\((\d+) ms\)", peer["Status"])
        assert row["RoundtripUsec"] == (int(ms.group(1)) * 1000 if ms else None)
        assert row["Available"] is (word not in ("UNREACHABLE", "UNKNOWN"))


def test_no_sip_driver_at_all_is_a_clear_message(replay):
    unknown = [("Response", "Error"), ("Message", "Invalid/unknown command: X. Use Action: ListCommands")]
    script = (
        C.banner_and_login(C.V13)
        + C.recorded_exchange("PJSIPShowEndpoints", C.V13)
        + C.synthetic("SIPpeers", "n1", [unknown])
        + C.synthetic("IAXpeerlist", "n2", [unknown])
        + C.logoff(C.V13)
    )
    proc = run_replayed(replay, script, ["endpoints"])
    assert proc.returncode == ExitCode.ACTION_FAILED
    assert proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and "no SIP or IAX2 channel driver" in proc.stderr


def test_registrations_pjsip(replay, chunking):
    script, facts = C.registrations_script()
    proc = run_replayed(replay, script, ["endpoints", "registrations", "--json"], chunking)
    assert proc.returncode == ExitCode.OK, proc.stderr
    rows = json_lines(proc.stdout)
    assert [(r["Registration"], r["Status"]) for r in rows] == [
        (e["ObjectName"], e["Status"]) for e in facts["registrations"]
    ]
    assert all(r["Registered"] is (r["Status"] == "Registered") for r in rows)
    assert all(isinstance(r["NextReg"], int) for r in rows)
    assert "Password" not in proc.stdout


def test_registrations_asterisk13(replay, chunking):
    script, facts = C.legacy_registrations_script()
    proc = run_replayed(replay, script, ["endpoints", "registrations", "--json"], chunking)
    assert proc.returncode == ExitCode.OK, proc.stderr
    rows = json_lines(proc.stdout)
    assert [r["Status"] for r in rows] == [e["State"] for e in facts["registrations"]]
    assert [r["ClientUri"] for r in rows] == [e["Username"] for e in facts["registrations"]]


def _detail_script(name: str) -> list:
    return C.banner_and_login() + C.recorded_exchange("PJSIPShowEndpoint", Endpoint=name) + C.logoff()


def _recorded_detail_names() -> list[str]:
    names = []
    for part in C._parts(C.V22, "pjsip-endpoint-detail")[1:]:
        headers = dict(replay.message_headers(part[0][1]))
        if headers.get("Action") == "PJSIPShowEndpoint" and headers.get("Endpoint"):
            exchange = list(part)
            if C.events_of(exchange, "EndpointDetail"):
                names.append(headers["Endpoint"])
    return names


@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
def test_show_masks_every_password(replay, chunking, as_json):
    for name in _recorded_detail_names():
        exchange = C.recorded_exchange("PJSIPShowEndpoint", Endpoint=name)
        passwords = [a["Password"] for a in C.events_of(exchange, "AuthDetail") if a.get("Password")]
        args = ["endpoints", "show", name] + (["--json"] if as_json else [])
        proc = run_replayed(replay, _detail_script(name), args, chunking)
        assert proc.returncode == ExitCode.OK, proc.stderr
        for secret in passwords:
            assert secret not in proc.stdout + proc.stderr
        if as_json:
            (detail,) = json_lines(proc.stdout)
            assert detail["Endpoint"]["ObjectName"] == name
            assert [a["Password"] for a in detail.get("Auths", []) if a.get("Password")] == ["********"] * len(
                passwords
            )
            contacts = C.events_of(exchange, "ContactStatusDetail")
            assert [c["Status"] for c in detail.get("Contacts", [])] == [c["Status"] for c in contacts]
        else:
            assert f"[Endpoint: {name}]" in proc.stdout
            assert proc.stdout.count("********") == len(passwords)


def test_show_secrets_shows_them(replay):
    name = _recorded_detail_names()[0]
    exchange = C.recorded_exchange("PJSIPShowEndpoint", Endpoint=name)
    passwords = [a["Password"] for a in C.events_of(exchange, "AuthDetail") if a.get("Password")]
    proc = run_replayed(replay, _detail_script(name), ["endpoints", "show", name, "--show-secrets", "--json"])
    assert proc.returncode == ExitCode.OK
    for secret in passwords:
        assert secret in proc.stdout


def test_raw_and_debug_trace_mask_passwords_too(replay):
    reg = C.recorded_exchange("PJSIPShowRegistrationsOutbound")
    passwords = [a["Password"] for a in C.events_of(reg, "AuthDetail") if a.get("Password")]
    assert passwords
    for args in (["raw", "PJSIPShowRegistrationsOutbound"], ["raw", "PJSIPShowRegistrationsOutbound", "--json"],
                 ["--debug", "endpoints", "registrations"]):  # fmt: skip
        proc = run_replayed(replay, C.banner_and_login() + reg + C.logoff(), args)
        assert proc.returncode == ExitCode.OK, proc.stderr
        for secret in passwords:
            assert secret not in proc.stdout + proc.stderr
        assert "********" in proc.stdout + proc.stderr


def test_a_secret_header_in_any_case_is_masked(replay, chunking):
    # Asterisk writes Password and MD5Cred; a header in another case is as secret.
    script = (
        C.banner_and_login()
        + C.synthetic_list(
            "PJSIPShowRegistrationsOutbound",
            "u1",
            [[("Event", "AuthDetail"), ("ObjectName", "trunk"), ("PASSWORD", "top-secret-1"), ("md5CRED", "abc123")]],
            "OutboundRegistrationDetailComplete",
        )
        + C.logoff()
    )
    proc = run_replayed(replay, script, ["raw", "PJSIPShowRegistrationsOutbound"], chunking)
    assert proc.returncode == ExitCode.OK, proc.stderr
    assert "top-secret-1" not in proc.stdout + proc.stderr
    assert "abc123" not in proc.stdout + proc.stderr
    assert "PASSWORD: ********" in proc.stdout


def test_show_unknown_endpoint(replay):
    script = C.banner_and_login() + C.recorded_exchange("PJSIPShowEndpoint", Endpoint="nosuch-endpoint") + C.logoff()
    proc = run_replayed(replay, script, ["endpoints", "show", "nosuch-endpoint"])
    assert proc.returncode == ExitCode.ACTION_FAILED
    assert proc.stdout == ""
    assert proc.stderr == "ami: error: no such endpoint: 'nosuch-endpoint'\n"


def test_show_asterisk13_uses_sipshowpeer(replay, chunking):
    exchange = C.recorded_exchange("SIPshowpeer", C.V13)
    if exchange is None:
        pytest.skip("no SIPshowpeer recording")
    peer = dict(C.replay.message_headers(exchange[0][1]))["Peer"]
    script = (
        C.banner_and_login(C.V13)
        + C.synthetic("PJSIPShowEndpoint", "u1", [[("Response", "Error"), ("Message", "Invalid/unknown command")]])
        + exchange
        + C.logoff(C.V13)
    )
    proc = run_replayed(replay, script, ["endpoints", "show", peer, "--json"], chunking)
    assert proc.returncode == ExitCode.OK, proc.stderr
    (detail,) = json_lines(proc.stdout)
    recorded = C.messages_of(exchange)[0]
    assert detail["Endpoint"]["ObjectName"] == recorded["ObjectName"]
    secret = recorded.get("Secret") or ""
    assert not secret or secret not in proc.stdout


# -- watch -----------------------------------------------------------------------------


def _watch_events(name: str, version: str = C.V22) -> list[dict]:
    steps = C.load(version, name)
    return [m for m in C.messages_of(steps) if m.get("Event") in ("ContactStatus", "PeerStatus", "Registry")]


def _watched(script: list, count: int, chunking: object) -> list[dict]:
    """``ami endpoints watch --json`` against a replay of ``script``: ``count`` records, then Ctrl-C (exit 0)."""
    server = replay.ReplayServer(script, chunking=chunking)
    proc = subprocess.Popen([*ami_argv(), "endpoints", "watch", "--json"], env=ami_env(server.port, **ADMIN),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    try:
        lines = _read_lines(proc, count, timeout=20)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(10) == ExitCode.OK
        assert proc.stderr.read().strip() == b""  # (a newline after ^C, no message)
        server.wait(5)
        assert server.errors == []
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        server.close()
    return [json.loads(line) for line in lines]


@pytest.mark.parametrize(("version", "name"), [(C.V22, "pjsip-state-changes"), (C.V13, "sip-state-changes")])
def test_watch_prints_each_change_and_ctrl_c_exits_0(chunking, version, name):
    expected = _watch_events(name, version)
    assert expected
    records = _watched(C.load(version, name), len(expected), chunking)
    assert [r["Event"] for r in records] == [e["Event"] for e in expected]
    for record, event in zip(records, expected, strict=True):
        want = event.get("ContactStatus") or event.get("PeerStatus") or event.get("Status")
        assert record["Status"] == want


def test_watch_prints_the_recorded_registry_events_of_asterisk13(chunking):
    # chan_sip's outbound registrations change state as Registry events (the recording
    # waits for trunk-down's attempt to time out, then reloads chan_sip).
    recorded = b"".join(data for direction, data in C.load(C.V13, "sip-registry-events") if direction == "server")
    registry = [m + b"\r\n\r\n" for m in recorded.split(b"\r\n\r\n") if m.startswith(b"Event: Registry\r\n")]
    assert len(registry) >= 2
    script = C.banner_and_login(C.V13) + [("server", b"".join(registry))] + C.logoff(C.V13)
    records = _watched(script, len(registry), chunking)
    events = [dict(replay.message_headers(raw)) for raw in registry]
    assert [r["Event"] for r in records] == ["Registry"] * len(registry)
    assert [(r["Registration"], r["Domain"], r["Status"]) for r in records] == [
        (e["Username"], e["Domain"], e["Status"]) for e in events
    ]
    assert {r["Technology"] for r in records} == {"SIP"}


def _read_lines(proc: subprocess.Popen, count: int, timeout: float) -> list[str]:
    buf = b""
    deadline = time.monotonic() + timeout
    fd = proc.stdout.fileno()
    while buf.count(b"\n") < count and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            buf += chunk
    return buf.decode().splitlines()[:count]


def test_endpoints_needs_no_pbx_for_help():
    proc = run_ami(["endpoints", "--help"])
    assert proc.returncode == 0 and "registrations" in proc.stdout


# -- a read-only user (manager.conf's monitor) -----------------------------------------------


def _monitor(action: str) -> list:
    for part in C._parts(C.V22, "pjsip-monitor-user")[1:]:
        if dict(replay.message_headers(part[0][1])).get("Action") == action:
            return list(part)
    raise LookupError(action)


def _monitor_script(*actions: str) -> list:
    parts = C._parts(C.V22, "pjsip-monitor-user")
    return list(parts[0]) + list(parts[1]) + [s for a in actions for s in _monitor(a)] + list(parts[-1])


def test_read_only_user_is_told_permission_denied(replay, chunking):
    proc = run_replayed(replay, _monitor_script("PJSIPShowEndpoints"), ["endpoints"], chunking)
    assert proc.returncode == ExitCode.AUTH
    assert proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and "permission denied" in proc.stderr


def test_read_only_user_check_is_unknown(replay):
    proc = run_replayed(replay, _monitor_script("PJSIPShowEndpoints"), ["check", "endpoints"])
    assert proc.returncode == 3
    assert proc.stdout.startswith("AMI ENDPOINTS UNKNOWN - ") and "permission denied" in proc.stdout


def test_read_only_user_gets_registrations_with_passwords_masked(replay, chunking):
    exchange = _monitor("PJSIPShowRegistrationsOutbound")
    passwords = [a["Password"] for a in C.events_of(exchange, "AuthDetail") if a.get("Password")]
    script = _monitor_script("PJSIPShowRegistrationsOutbound")
    for args in (["endpoints", "registrations", "--json"], ["raw", "PJSIPShowRegistrationsOutbound"]):
        proc = run_replayed(replay, script, args, chunking)
        assert proc.returncode == ExitCode.OK, proc.stderr
        for secret in passwords:
            assert secret not in proc.stdout + proc.stderr
