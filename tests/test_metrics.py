"""`ami metrics`: the exposition text parses with prometheus_client's parser and says what the recordings say."""

from __future__ import annotations

import re
import signal
import subprocess
import time
import urllib.request

import compose as C
import pytest
from util import ami_argv, ami_env, run_ami, run_replayed

prometheus = pytest.importorskip("prometheus_client.parser")

ADMIN = {"AMI_USER": "admin", "AMI_SECRET": "s3cret-Admin"}
NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")


def parse(text: str) -> dict[str, list]:
    """Family name -> samples, through prometheus_client's own parser."""
    return {fam.name: fam.samples for fam in prometheus.text_string_to_metric_families(text)}


def value(families: dict, name: str, **labels: str) -> float:
    matches = [
        s.value
        for fam in families.values()
        for s in fam
        if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
    ]
    assert len(matches) == 1, (name, labels, matches)
    return matches[0]


def check_against_recordings(text: str, facts: dict) -> None:
    families = parse(text)
    for name in families:
        assert NAME.match(name) and name.startswith(("asterisk_", "ami_")), name
    assert value(families, "asterisk_up") == 1
    assert value(families, "asterisk_channels") == len(facts["channels"])
    assert value(families, "asterisk_calls") == int(facts["status"]["CoreCurrentCalls"])
    for queue in facts["queues"]:
        assert value(families, "asterisk_queue_callers", queue=queue["Queue"]) == int(queue["Calls"])
        assert value(families, "asterisk_queue_calls_completed_total", queue=queue["Queue"]) == int(queue["Completed"])
        assert value(families, "asterisk_queue_calls_abandoned_total", queue=queue["Queue"]) == int(queue["Abandoned"])
        members = [m for m in facts["members"] if m["Queue"] == queue["Queue"]]
        counted = sum(s.value for s in families["asterisk_queue_members"] if s.labels["queue"] == queue["Queue"])
        assert counted == len(members)
        paused = sum(1 for m in members if m["Paused"] == "1")
        assert value(families, "asterisk_queue_members_paused", queue=queue["Queue"]) == paused
    for event in facts["endpoints"]:
        name = event["ObjectName"]
        assert value(families, "asterisk_endpoint_state", endpoint=name, state=event["DeviceState"]) == 1
        want = 0 if event["DeviceState"] in ("Unavailable", "Invalid", "Unknown") else 1
        assert value(families, "asterisk_endpoint_available", endpoint=name) == want
    for contact in facts["contacts"]:
        rtt = value(families, "asterisk_contact_roundtrip_seconds", endpoint=contact["Endpoint"], uri=contact["Uri"])
        assert rtt == pytest.approx(int(contact["RoundtripUsec"]) / 1e6)
        assert value(families, "asterisk_contact_status", uri=contact["Uri"], status=contact["Status"]) == 1
    for reg in facts["registrations"]:
        registered = value(families, "asterisk_registration_registered", registration=reg["ObjectName"])
        assert registered == (1 if reg["Status"] == "Registered" else 0)
        assert (
            value(families, "asterisk_registration_status", registration=reg["ObjectName"], status=reg["Status"]) == 1
        )
    assert all(s.value == 1 for s in families["ami_collector_success"])


def test_metrics_parse_and_match_the_recordings(replay, chunking):
    script, facts = C.metrics_script()
    proc = run_replayed(replay, script, ["metrics"], chunking)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    check_against_recordings(proc.stdout, facts)


def test_metrics_when_the_pbx_is_down():
    proc = run_ami(["metrics"], port=1)
    assert proc.returncode == 3
    assert value(parse(proc.stdout), "asterisk_up") == 0
    assert proc.stderr.startswith("ami: error: ")


def test_metrics_module_missing_marks_the_collector(replay):
    script, _ = C.metrics_script()
    # Asterisk 13's answer to PJSIP actions, then no chan_sip/IAX2 either.
    unknown = [("Response", "Error"), ("Message", "Invalid/unknown command: X")]
    parts = C.replay.exchanges(script)
    steps = []
    for part in parts:
        action = dict(C.replay.message_headers(part[0][1])).get("Action", "") if part and part[0][0] == "client" else ""
        if action in ("PJSIPShowEndpoints", "PJSIPShowRegistrationsOutbound"):
            steps += C.synthetic(action, f"u-{action}", [unknown])
            steps += C.synthetic("SIPpeers" if "Endpoints" in action else "SIPshowregistry", "u2", [unknown])
            steps += C.synthetic("IAXpeerlist" if "Endpoints" in action else "IAXregistry", "u3", [unknown])
        elif action in ("PJSIPShowContacts", "PJSIPShowEndpoint"):
            continue
        else:
            steps += part
    proc = run_replayed(replay, steps, ["metrics"])
    assert proc.returncode == 0, proc.stderr
    families = parse(proc.stdout)
    success = {s.labels["collector"]: s.value for s in families["ami_collector_success"]}
    assert success == {"core": 1, "channels": 1, "queues": 1, "endpoints": 0, "registrations": 0}


def test_listen_is_scraped_over_http(replay):
    script, facts = C.metrics_script()
    server = replay(script)
    proc = subprocess.Popen(
        [*ami_argv(), "metrics", "--listen", "127.0.0.1:0"],
        env=ami_env(server.port, **ADMIN),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        line = proc.stderr.readline().decode()
        port = int(re.search(r"http://127\.0\.0\.1:(\d+)/metrics", line).group(1))
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=20) as response:
            assert response.status == 200
            assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
            text = response.read().decode()
        check_against_recordings(text, facts)
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/nothing", timeout=5)
        assert info.value.code == 404
        server.wait(5)
        assert server.errors == []
        proc.send_signal(signal.SIGINT)
        proc.wait(10)
        assert proc.returncode == 0
        assert proc.stdout.read() == b""
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_listen_scrape_with_the_pbx_down_says_up_0():
    proc = subprocess.Popen(
        [*ami_argv(), "--timeout", "2", "metrics", "--listen", "127.0.0.1:0"],
        env=ami_env(1, **ADMIN),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        port = int(re.search(r":(\d+)/metrics", proc.stderr.readline().decode()).group(1))
        started = time.monotonic()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=20) as response:
            families = parse(response.read().decode())
        assert value(families, "asterisk_up") == 0
        assert time.monotonic() - started < 10
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(10)


def test_bad_listen_address_is_a_usage_error():
    proc = run_ami(["metrics", "--listen", "nonsense"])
    assert proc.returncode == 2
    assert proc.stdout == "" and proc.stderr.startswith("ami: error:")


def test_a_collector_the_user_may_not_read_is_marked_not_fatal(replay):
    parts = C._parts(C.V22, "pjsip-monitor-user")

    def monitor(action):
        return next(list(p) for p in parts[1:] if dict(C.replay.message_headers(p[0][1])).get("Action") == action)

    script = (
        list(parts[0])
        + list(parts[1])
        + C.recorded_exchange("CoreSettings")
        + C.recorded_exchange("CoreStatus")
        + C.recorded_exchange("CoreShowChannels")
        + C.recorded_exchange("QueueStatus")
        + monitor("PJSIPShowEndpoints")
        + monitor("PJSIPShowRegistrationsOutbound")
        + list(parts[-1])
    )
    proc = run_replayed(replay, script, ["metrics"])
    assert proc.returncode == 0, proc.stderr
    families = parse(proc.stdout)
    assert value(families, "asterisk_up") == 1
    success = {s.labels["collector"]: s.value for s in families["ami_collector_success"]}
    assert success == {"core": 1, "channels": 1, "queues": 1, "endpoints": 0, "registrations": 1}
