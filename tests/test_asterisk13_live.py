"""What a live Asterisk 13.38.3 showed: empty headerless replies, unpause reasons, batch defaults.

The real `ami` process against the Asterisk 13 recordings in
``ami-transcripts/asterisk-13.38.3-sip`` (replayed byte for byte, in recorded
chunks and one byte per read), against synthetic replies of the same shape,
and against the sim.
"""

from __future__ import annotations

import json

import pytest
from replay import (
    BANNER_13,
    client_message,
    exchanges,
    find_transcripts_dir,
    response,
)
from util import ADMIN, run_ami, run_replayed

from amicli.errors import ExitCode

VERSION_13 = "asterisk-13.38.3-sip"


def load_13(name: str) -> list:
    """The steps of an Asterisk 13 recording (its note line left out)."""
    path = find_transcripts_dir() / VERSION_13 / f"{name}.jsonl"
    if not path.is_file():
        pytest.skip(f"Asterisk 13 recording {path} not found")
    steps = []
    for line in path.read_text(encoding="utf-8").splitlines():
        entry = json.loads(line) if line.strip() else {}
        if "dir" in entry:
            steps.append((entry["dir"], entry.get("data", "").encode("latin-1")))
    return steps


def iax_parts() -> dict[str, list]:
    """The iax-peers recording by exchange: banner, login, IAXpeers, ..., the Ping after IAXnetstats, Logoff."""
    parts = exchanges(load_13("iax-peers"))
    names = ["banner", "login", "IAXpeers", "IAXpeerlist", "IAXregistry", "IAXnetstats", "Ping", "Logoff"]
    assert len(parts) == len(names)
    return dict(zip(names, parts, strict=True))


# -- an empty headerless reply ------------------------------------------------------


def test_empty_iaxnetstats_is_an_empty_answer(replay, chunking):
    # Asterisk 13 answers IAXnetstats with no calls up with "\r\n" alone: no
    # Response, no ActionID.  The Ping that finds the end of a headerless
    # reply is the recorded one.
    p = iax_parts()
    script = p["banner"] + p["login"] + p["IAXnetstats"] + p["Ping"] + p["Logoff"]
    for args in (["raw", "IAXnetstats"], ["raw", "IAXnetstats", "--json"]):
        proc = run_replayed(replay, script, ["--timeout", "3", *args], chunking)
        assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")


def test_raw_stdin_goes_on_after_an_empty_iaxnetstats(replay, chunking):
    p = iax_parts()
    script = p["banner"] + p["login"] + p["IAXnetstats"] + p["Ping"] + p["IAXpeerlist"] + p["IAXregistry"] + p["Logoff"]
    actions = "Action: IAXnetstats\n\nAction: IAXpeerlist\n\nAction: IAXregistry\n"
    proc = run_replayed(replay, script, ["--timeout", "3", "raw", "-", "--json"], chunking, input=actions)
    assert proc.returncode == 0, proc.stderr
    records = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [r.get("Event") or r.get("Response") for r in records] == [
        "Success",
        "PeerEntry",
        "PeerEntry",
        "PeerEntry",
        "PeerlistComplete",
        "Success",
        "RegistryEntry",
        "RegistrationsComplete",
    ]


def test_the_whole_iax_recording_in_order(replay, chunking):
    p = iax_parts()
    script = [step for part in p.values() for step in part]
    actions = "Action: IAXpeers\n\nAction: IAXpeerlist\n\nAction: IAXregistry\n\nAction: IAXnetstats\n"
    proc = run_replayed(replay, script, ["--timeout", "3", "raw", "-"], chunking, input=actions)
    assert proc.returncode == 0, proc.stderr
    # The bytes as received: CRLF line ends, the lists whole, nothing for IAXnetstats.
    assert proc.stdout.endswith("EventList: Complete\r\nListItems: 1\r\n\r\n")
    assert "Event: RegistrationsComplete\r\n" in proc.stdout
    assert proc.stdout.count("Event: PeerlistComplete\r\n") == 2


NETSTATS_ROWS = (
    "                           -------- LOCAL ---------------------  -------- REMOTE --------------------\r\n"
    "Channel               RTT  Jit  Del  Lost   %  Drop  OOO  Kpkts  Jit  Del  Lost   %  Drop  OOO  Kpkts\r\n"
    "IAX2/iax-hq-4242        3    0   40     0   0     0    0      1    0   40     0   0     0    0      1\r\n"
    "\r\n"
)


def test_iaxnetstats_with_rows_is_text(replay, chunking):
    script = [
        ("server", BANNER_13),
        ("client", client_message("Login", "l")),
        ("server", response("l", "Success", ("Message", "Authentication accepted"))),
        ("client", client_message("IAXnetstats", "n")),
        ("server", NETSTATS_ROWS.encode()),
        ("client", client_message("Ping", "fence")),
        ("server", response("fence", "Success", ("Ping", "Pong"))),
        ("client", client_message("Logoff", "o")),
        ("server", response("o", "Goodbye", ("Message", "Thanks for all the fish."))),
        ("close", b""),
    ]
    proc = run_replayed(replay, script, ["--timeout", "3", "raw", "IAXnetstats"], chunking)
    assert (proc.returncode, proc.stderr) == (0, "")
    assert proc.stdout == NETSTATS_ROWS
    proc = run_replayed(replay, script, ["--timeout", "3", "raw", "IAXnetstats", "--json"], chunking)
    assert json.loads(proc.stdout)["Text"].splitlines()[2].startswith("IAX2/iax-hq-4242")


# -- queues unpause --reason ---------------------------------------------------------


def test_unpause_sends_its_reason(replay):
    script = [
        ("server", BANNER_13),
        ("client", client_message("Login", "l")),
        ("server", response("l", "Success", ("Message", "Authentication accepted"))),
        ("client", client_message("QueuePause", "p")),
        ("server", response("p", "Success", ("Message", "Interface unpaused successfully"))),
        ("client", client_message("Logoff", "o")),
        ("server", response("o", "Goodbye", ("Message", "Thanks for all the fish."))),
        ("close", b""),
    ]
    server = replay(script)
    proc = run_ami(
        ["queues", "unpause", "SIP/alice", "--queue", "sales", "--reason", "back from lunch"], port=server.port
    )
    assert server.wait(5) and server.errors == []
    assert (proc.returncode, proc.stderr) == (0, "")
    assert "unpaused SIP/alice in queue sales (reason: back from lunch)" in proc.stdout
    sent = server.received[1].decode()
    assert "Paused: false\r\n" in sent and "Reason: back from lunch\r\n" in sent


# -- originate --batch: options are defaults of every line ---------------------------


def test_batch_data_default_goes_with_each_lines_app(sim, tmp_path):
    batch = tmp_path / "calls.jsonl"
    batch.write_text(
        '{"channel": "Local/100@default", "app": "Wait"}\n{"channel": "Local/100@default", "exten": "100"}\n'
    )
    proc = run_ami(
        ["originate", "--batch", str(batch), "--data", "1", "--timeout", "2", "--grace", "1"],
        port=sim.port,
        user=ADMIN,
    )
    records = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [r["Line"] for r in records] == [1]
    assert records[0]["Data"] == "1" and records[0]["Application"] == "Wait"
    # The second line has an exten: the default --data does not go with it.
    assert proc.stderr.splitlines() == [f"ami: error: {batch} line 2: data goes with app, not with exten; line skipped"]
    assert proc.returncode == ExitCode.USAGE
    # Without --batch the rule holds on the command line at once.
    proc = run_ami(["originate", "Local/100@default", "--exten", "100", "--data", "1"], port=sim.port)
    assert proc.returncode == ExitCode.USAGE and "--data goes with --app" in proc.stderr
