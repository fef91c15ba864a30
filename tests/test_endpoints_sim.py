"""`ami endpoints`, `ami check` and `ami metrics` against `ami sim`, changing its state while it runs.

The sim's PJSIP endpoints, contacts and registrations have the shapes of the
recordings; its `sim contact` and `sim registration` CLI commands (run with
`ami command`) change their state.  Expected values are read from the sim
itself, never written here.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import select
import signal
import subprocess
import time

import pytest
from util import ADMIN, ami_argv, ami_env, json_lines, run_ami, start_sim

if importlib.util.find_spec("amicli.sim.pjsip") is None:
    pytest.skip("this sim has no PJSIP", allow_module_level=True)

OK, WARNING, CRITICAL, UNKNOWN = 0, 1, 2, 3


@pytest.fixture
def sim():
    server = start_sim()
    yield server
    server.close()


def endpoints(port: int) -> list[dict]:
    proc = run_ami(["endpoints", "--json"], port=port)
    assert proc.returncode == 0, proc.stderr
    return json_lines(proc.stdout)


def sim_command(port: int, text: str) -> None:
    proc = run_ami(["command", text], port=port)
    assert proc.returncode == 0, (text, proc.stdout, proc.stderr)


def test_endpoints_contacts_and_registrations_agree(sim):
    rows = endpoints(sim.port)
    assert rows and all(r["Technology"] == "PJSIP" for r in rows)
    contacts = json_lines(run_ami(["endpoints", "contacts", "--json"], port=sim.port).stdout)
    assert [(c["Endpoint"], c["Uri"]) for c in contacts] == [
        (r["Endpoint"], c["Uri"]) for r in rows for c in r["Contacts"]
    ]
    assert all(c["Status"] != "Unknown" for c in contacts), "static contacts get their status from PJSIPShowEndpoint"
    regs = json_lines(run_ami(["endpoints", "registrations", "--json"], port=sim.port).stdout)
    assert regs and all(r["Registered"] is (r["Status"] == "Registered") for r in regs)


def test_show_and_check_login_on_the_sim(sim):
    rows = endpoints(sim.port)
    name = next(r["Endpoint"] for r in rows if r["Contacts"])
    text = run_ami(["endpoints", "show", name], port=sim.port)
    assert text.returncode == 0 and text.stderr == "", text.stderr
    assert text.stdout.startswith(f"[Endpoint: {name}]\n")
    assert re.search(r"^  Password +\*{8}$", text.stdout, re.M), text.stdout
    detail = json.loads(run_ami(["endpoints", "show", name, "--json"], port=sim.port).stdout)
    assert detail["Endpoint"]["ObjectName"] == name
    assert [c["URI"] for c in detail["Contacts"]] == [
        c["Uri"] for r in rows if r["Endpoint"] == name for c in r["Contacts"]
    ]
    missing = run_ami(["endpoints", "show", "no-such-endpoint"], port=sim.port)
    assert missing.returncode == 1 and missing.stdout == "" and missing.stderr.startswith("ami: error: ")
    login = run_ami(["check", "login"], port=sim.port)
    assert login.returncode == OK and login.stdout.startswith("AMI LOGIN OK - admin@"), login.stdout


def test_a_contact_going_unreachable_and_back(sim):
    rows = endpoints(sim.port)
    target = next(r for r in rows if r["Available"] and any(c["Status"] == "Reachable" for c in r["Contacts"]))
    name = target["Endpoint"]
    proc = run_ami(["check", "endpoints", "-w", "~:", "--must-be-reachable", name], port=sim.port)
    assert proc.returncode == OK, proc.stdout
    sim_command(sim.port, f"sim contact {name} unreachable")
    after = next(r for r in endpoints(sim.port) if r["Endpoint"] == name)
    assert [c["Status"] for c in after["Contacts"]] == ["Unreachable"] * len(after["Contacts"])
    proc = run_ami(["check", "endpoints", "-w", "~:", "--must-be-reachable", name], port=sim.port)
    assert proc.returncode == CRITICAL, proc.stdout
    assert name in proc.stdout.splitlines()[1]
    sim_command(sim.port, f"sim contact {name} reachable")
    proc = run_ami(["check", "endpoints", "-w", "~:", "--must-be-reachable", name], port=sim.port)
    assert proc.returncode == OK, proc.stdout


def test_check_registrations_follows_the_sim(sim):
    regs = json_lines(run_ami(["endpoints", "registrations", "--json"], port=sim.port).stdout)
    proc = run_ami(["check", "registrations"], port=sim.port)
    bad = [r["Registration"] for r in regs if not r["Registered"]]
    assert proc.returncode == (CRITICAL if bad else OK), proc.stdout
    for name in bad:
        sim_command(sim.port, f"sim registration {name} registered")
    proc = run_ami(["check", "registrations"], port=sim.port)
    assert proc.returncode == OK, proc.stdout
    assert f"registered={len(regs)};" in proc.stdout


def test_metrics_of_the_sim_parse(sim):
    parser = pytest.importorskip("prometheus_client.parser")
    proc = run_ami(["metrics"], port=sim.port)
    assert proc.returncode == 0, proc.stderr
    families = {f.name: f for f in parser.text_string_to_metric_families(proc.stdout)}
    rows = endpoints(sim.port)
    assert len(families["asterisk_endpoint_available"].samples) == len(rows)
    assert all(s.value == 1 for s in families["ami_collector_success"].samples)


def test_check_queue_and_channels_on_the_sim(sim):
    proc = run_ami(["check", "queue"], port=sim.port)
    assert proc.returncode == OK, proc.stdout
    assert proc.stdout.startswith("AMI QUEUE OK - ")
    proc = run_ami(["check", "channels", "-w", "~:"], port=sim.port)
    assert proc.returncode == OK, proc.stdout


def test_watch_sees_the_change(sim):
    name = next(r["Endpoint"] for r in endpoints(sim.port) if any(c["Status"] == "Reachable" for c in r["Contacts"]))
    proc = subprocess.Popen(
        [*ami_argv(), "endpoints", "watch", "--json"],
        env=ami_env(sim.port, **ADMIN),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        time.sleep(1.5)  # logged in and listening
        sim_command(sim.port, f"sim contact {name} unreachable")
        line = b""
        deadline = time.monotonic() + 15
        while b"\n" not in line and time.monotonic() < deadline:
            ready, _, _ = select.select([proc.stdout], [], [], 0.2)
            if ready:
                line += os.read(proc.stdout.fileno(), 65536)
        records = [json.loads(x) for x in line.decode().splitlines()]
        assert any(r.get("Endpoint") == name and r.get("Status") == "Unreachable" for r in records), records
        proc.send_signal(signal.SIGINT)
        assert proc.wait(10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


# -- the sim as Asterisk 13 (chan_sip and chan_iax2, no PJSIP) ----------------------------


@pytest.fixture
def sim13():
    server = start_sim(asterisk13=True)
    yield server
    server.close()


def test_asterisk13_sim_endpoints_registrations_and_a_peer_going_down(sim13):
    rows = endpoints(sim13.port)
    assert rows and {r["Technology"] for r in rows} <= {"SIP", "IAX2"}
    regs = json_lines(run_ami(["endpoints", "registrations", "--json"], port=sim13.port).stdout)
    assert regs
    proc = run_ami(["check", "registrations"], port=sim13.port)
    assert proc.returncode == (OK if all(r["Registered"] for r in regs) else CRITICAL), proc.stdout
    name = next(r["Endpoint"] for r in rows if r["Technology"] == "SIP" and r["State"] == "Reachable")
    proc = run_ami(["check", "endpoints", "-w", "~:", "--must-be-reachable", name], port=sim13.port)
    assert proc.returncode == OK, proc.stdout
    sim_command(sim13.port, f"sim peer {name} unreachable")
    proc = run_ami(["check", "endpoints", "-w", "~:", "--must-be-reachable", name], port=sim13.port)
    assert proc.returncode == CRITICAL, proc.stdout
    parser = pytest.importorskip("prometheus_client.parser")
    text = run_ami(["metrics"], port=sim13.port).stdout
    families = {f.name: f for f in parser.text_string_to_metric_families(text)}
    down = [s for s in families["asterisk_endpoint_available"].samples if s.labels["endpoint"] == name]
    assert [s.value for s in down] == [0]
