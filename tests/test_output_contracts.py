"""Output that pipes cleanly, completion and feedback, against the sim.

A terminal is a pseudo-terminal, with `ami` in this process (inprocess.py);
`ami` runs as a process where only one shows it: a signal, a pipe closed by
`head`.  What a TAB offers is asked in this process too; the completion
scripts run in their real shells in test_docs.py.
"""

from __future__ import annotations

import csv
import io
import json
import os
import pty
import signal
import subprocess
import time

import pytest
from util import ADMIN, ami_argv, ami_env, complete, json_lines, run_ami

from amicli.errors import ExitCode
from amicli.posixre import posix_regex


def run_on_tty(args, port, *, stdout_tty=True, stderr_tty=True, columns=None, seconds=20):
    """Run `ami` with stdout and/or stderr on a pseudo-terminal; (exit code, stdout text, stderr text)."""
    terminal = [name for name, tty in (("stdout", stdout_tty), ("stderr", stderr_tty)) if tty]
    proc = run_ami(
        args, port=port, env={"COLUMNS": str(columns)} if columns else None, timeout=seconds, terminal=terminal
    )
    return proc.returncode, proc.stdout, proc.stderr


# -- TSV and CSV -----------------------------------------------------------------------------------

ROW_COMMANDS = [
    ["channels"],
    ["queues"],
    ["queues", "members"],
    ["queues", "callers"],
    ["queues", "summary"],
    ["endpoints"],
    ["endpoints", "contacts"],
    ["endpoints", "registrations"],
]


@pytest.mark.parametrize("args", ROW_COMMANDS, ids=" ".join)
def test_csv_and_unpadded_tsv_on_every_listing(busy, args):
    as_json = json_lines(run_ami([*args, "--json"], port=busy.port).stdout)
    proc = run_ami([*args, "--csv"], port=busy.port)
    assert (proc.returncode, proc.stderr) == (0, "")
    assert proc.stdout.endswith("\r\n")  # RFC 4180 line ends
    rows = list(csv.reader(io.StringIO(proc.stdout, newline="")))
    assert len(rows) == len(as_json) + 1 and len({len(r) for r in rows}) == 1
    tsv = run_ami([*args, "--fmt", "tsv"], port=busy.port)
    lines = [line.split("\t") for line in tsv.stdout.splitlines()]
    assert lines[0] == rows[0]  # the same columns, every one of them
    assert all(cell == cell.strip() for line in lines for cell in line)


def test_csv_quotes_what_needs_quoting(busy):
    proc = run_ami(["channels", "--csv", "--fields", "Channel,Application(Data)"], port=busy.port)
    rows = list(csv.reader(io.StringIO(proc.stdout, newline="")))
    assert rows[0] == ["Channel", "Application(Data)"] and len(rows) == 13
    assert '"Queue(support,,,,600)"' in proc.stdout  # a comma inside: quoted
    assert ["Local/300@default-0000000d;2", "Queue(support,,,,600)"] in rows


def test_csv_goes_alone(busy):
    proc = run_ami(["channels", "--csv", "--json"], port=busy.port)
    assert (proc.returncode, proc.stdout) == (ExitCode.USAGE, "")
    assert proc.stderr == "ami: error: --csv goes alone: not with --json or --fmt (see 'ami channels list --help')\n"


# -- --fields -------------------------------------------------------------------------------------


def test_fields_by_title_or_json_key_never_silently_null(busy):
    proc = run_ami(["channels", "--json", "--fields", "Channel,State"], port=busy.port)
    rows = json_lines(proc.stdout)
    assert all(set(r) == {"Channel", "State"} and r["State"] in ("Up", "Ring", "Ringing") for r in rows)
    proc = run_ami(["channels", "--json", "--fields", "channel,caller id,channelstatedesc"], port=busy.port)
    row = json_lines(proc.stdout)[0]
    assert set(row) == {"Channel", "CallerID", "ChannelStateDesc"} and None not in row.values()
    table = run_ami(["channels", "--fields", "exten@context:prio,CHANNELSTATE", "--fmt", "tsv"], port=busy.port)
    lines = [line.split("\t") for line in table.stdout.splitlines()]
    assert lines[0] == ["Exten@Context:Prio", "ChannelState"]
    assert all(cell for line in lines[1:] for cell in line)


@pytest.mark.parametrize("args", ROW_COMMANDS, ids=" ".join)
def test_every_column_title_is_a_field_and_never_silently_null(busy, args):
    table = run_ami([*args, "--wide", "--fmt", "tsv"], port=busy.port).stdout.splitlines()
    titles, cells = table[0].split("\t"), [line.split("\t") for line in table[1:]]
    for n, title in enumerate(titles):
        shown = run_ami([*args, "--fields", title.upper(), "--fmt", "tsv"], port=busy.port)
        assert (shown.returncode, shown.stdout.splitlines()[0]) == (0, title), shown.stderr
        proc = run_ami([*args, "--json", "--fields", title.lower()], port=busy.port)
        assert (proc.returncode, proc.stderr) == (0, ""), title
        rows = json_lines(proc.stdout)
        assert len(rows) == len(cells) and all(len(row) == 1 for row in rows), title
        for row, line in zip(rows, cells, strict=True):
            assert line[n] == "" or None not in row.values(), f"{title}: {line[n]!r} in the table, null in JSON"


def test_fields_status_means_what_the_output_shows(busy):
    # Status is a number in JSON and words in the table: each output keeps its own.
    table = run_ami(["queues", "members", "--fields", "name,status", "--fmt", "tsv"], port=busy.port)
    assert table.stdout.splitlines()[1] == "Alice\tIn use"
    json_rows = json_lines(run_ami(["queues", "members", "--json", "--fields", "name,status"], port=busy.port).stdout)
    assert json_rows[0] == {"Name": "Alice", "Status": 2}


@pytest.mark.parametrize("args", ROW_COMMANDS, ids=" ".join)
def test_unknown_field_lists_valid_fields_once(busy, args):
    proc = run_ami([*args, "--fields", "Nope"], port=busy.port)
    assert (proc.returncode, proc.stdout) == (ExitCode.USAGE, "")
    assert proc.stderr.startswith("ami: error: unknown field 'Nope'; valid fields: ")
    names = proc.stderr.split("valid fields: ")[1].strip().split(", ")
    assert len(names) == len({n.lower() for n in names})


def test_channels_field_list_names_titles_not_internal_keys(busy):
    proc = run_ami(["channels", "--fields", "Nope"], port=busy.port)
    names = proc.stderr.split("valid fields: ")[1].strip().split(", ")
    assert "Caller ID" in names and "Exten@Context:Prio" in names and "ChannelStateDesc" in names
    assert "Location" not in names and "App" not in names  # the table's internal keys


def test_events_takes_fields(sim):
    proc = run_ami(["events", "--json", "-n", "1", "--fields", "event,status"], port=sim.port)
    assert (proc.returncode, proc.stderr) == (0, "")
    assert json_lines(proc.stdout) == [{"Event": "FullyBooted", "Status": "Fully Booted"}]
    text = run_ami(["events", "-n", "1", "--fields", "Status"], port=sim.port)
    assert text.stdout.rstrip("\n").endswith('Status="Fully Booted"') and "Uptime" not in text.stdout


# -- width -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("args", ROW_COMMANDS, ids=" ".join)
def test_default_tables_fit_the_terminal(busy, args):
    piped = run_ami(args, port=busy.port)  # not a terminal, no COLUMNS: 100
    assert max(len(line) for line in piped.stdout.splitlines()) <= 100
    narrow = run_ami(args, port=busy.port, env={"COLUMNS": "60"})
    assert max(len(line) for line in narrow.stdout.splitlines()) <= 60
    first = {"channels": "Channel", "queues": "Queue", "endpoints": "Endpoint", "registrations": "Registration"}
    assert narrow.stdout.split()[0] == first.get(args[-1], first[args[0]])  # the most useful column stays
    wide = run_ami([*args, "--wide"], port=busy.port, env={"COLUMNS": "60"})
    assert max(len(line) for line in wide.stdout.splitlines()) > 60
    if args in (["channels"], ["queues"]):
        assert max(len(line) for line in wide.stdout.splitlines()) > 120
    code, out, _ = run_on_tty(args, busy.port, stderr_tty=False, columns=80)
    assert code == 0 and max(len(line) for line in out.splitlines()) <= 80


# -- empty listings --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args, says",
    [
        (["channels"], "no channels"),
        (["queues", "members", "empty"], "no queue members"),
        (["queues", "callers"], "no callers waiting"),
        (["endpoints", "nobody-*"], "no endpoints"),
        (["endpoints", "contacts", "nobody-*"], "no contacts"),
        (["endpoints", "registrations", "nobody-*"], "no registrations"),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, list) else None,
)
def test_empty_listing_on_a_terminal_says_so_on_stderr(sim, args, says):
    code, out, err = run_on_tty(args, sim.port, stderr_tty=False)
    assert (code, out, err) == (0, "", f"ami: {says}\n")
    piped = run_ami(args, port=sim.port)
    assert (piped.returncode, piped.stdout, piped.stderr) == (0, "", "")
    as_json = run_ami([*args, "--json"], port=sim.port)
    assert (as_json.returncode, as_json.stdout, as_json.stderr) == (0, "", "")


def test_empty_listing_of_several_pbxs_on_a_terminal_says_so_once(sim):
    # Two PBXs (the same sim twice) with no channel and no caller: one line, not one per PBX.
    hosts = f"127.0.0.1:{sim.port},localhost:{sim.port}"
    for args, says in ((["channels"], "no channels"), (["queues", "callers"], "no callers waiting")):
        code, out, err = run_on_tty(["-H", hosts, *args], sim.port, stderr_tty=False)
        assert (code, out, err) == (0, "", f"ami: {says}\n")


# -- channels hangup ------------------------------------------------------------------------------


def test_nothing_matched_is_the_same_failure_by_name_regex_or_match(demo):
    for args, says in (
        (["channels", "hangup", "PJSIP/none-00000001"], "no such channel: PJSIP/none-00000001"),
        (["channels", "hangup", "/^PJSIP/none/"], "no channel matches /^PJSIP/none/"),
        (["channels", "hangup", "--match", "^PJSIP/none"], "no channel matches '^PJSIP/none'"),
        (["channels", "hangup", "--dry-run", "/^PJSIP/none/"], "no channel matches /^PJSIP/none/"),
    ):
        proc = run_ami(args, port=demo.port)
        assert (proc.returncode, proc.stdout) == (ExitCode.ACTION_FAILED, ""), args
        assert proc.stderr.startswith(f"ami: error: {says}"), proc.stderr


def test_dry_run_counts_what_it_lists(demo):
    proc = run_ami(["channels", "hangup", "--dry-run", "--match", "^Local/200@default-0000000a"], port=demo.port)
    assert proc.returncode == 0
    assert len(proc.stdout.splitlines()) == 2 + 2  # header, rule, two channels
    assert proc.stderr == "ami: dry run: 2 channel(s) would be hung up\n"
    proc = run_ami(["channels", "hangup", "--dry-run", "/0000000[ab];1$/"], port=demo.port)
    assert proc.stderr == "ami: dry run: 2 channel(s) would be hung up\n"
    assert run_ami(["channels", "--count"], port=demo.port).stdout == "12\n"  # nothing was hung up


# -- events and pipes -------------------------------------------------------------------------------


def test_events_into_head_ends_on_an_idle_pbx(sim):
    reader, writer = os.pipe()
    proc = subprocess.Popen(
        [*ami_argv(), "events"], stdout=writer, stderr=subprocess.PIPE, env=ami_env(sim.port, **ADMIN)
    )
    os.close(writer)
    with os.fdopen(reader, "rb") as pipe:
        first = pipe.readline()  # what `head -1` reads, then it goes
    gone = time.monotonic()
    code = proc.wait(timeout=20)
    assert first.startswith(b"") and b"FullyBooted" in first
    assert time.monotonic() - gone < 1.0 + 1.5  # a second, and a margin for a loaded machine
    assert (code, proc.stderr.read()) == (0, b"")


# -- --server-filter: POSIX expressions here as on the PBX -------------------------------------------


def test_server_filter_reads_posix_classes_without_warnings(sim):
    monitor = {"AMI_USER": "monitor", "AMI_SECRET": "m0nitor"}  # may not use Filter: the fallback here
    proc = run_ami(
        ["events", "--server-filter", "Event: FullyBooted[[:space:]]", "-n", "1", "--json"],
        port=sim.port,
        user=monitor,
        env={"PYTHONWARNINGS": "error"},
    )
    assert proc.returncode == 0 and json_lines(proc.stdout)[0]["Event"] == "FullyBooted"
    assert "Warning" not in proc.stderr and proc.stderr.count("\n") == 1  # only the note on the fallback


def test_posix_expressions_mean_what_they_mean_on_the_pbx():
    event = "Event: Hangup\r\nPrivilege: call,all\r\n"
    assert posix_regex("Event: Hangup[[:space:]]").search(event)
    assert not posix_regex("Event: Hangup[[:space:]]").search("Event: HangupRequest\r\n")
    assert not posix_regex(r"Event: Hangup\r").search(event)  # POSIX: \r is the letter r
    assert posix_regex(r"[[:digit:]]{3}-[\]").search("123-\\")


# -- completion ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "words, wanted",
    [
        ("ami queues ", {"members", "callers", "summary", "add", "pause"}),
        ("ami channels ", {"list", "hangup"}),
        ("ami channels --state ri", {"ring", "ringing"}),
        ("ami --auth ", {"md5", "plain"}),
        ("ami queues --fmt gith", {"github"}),
    ],
)
def test_bash_completes_subcommands_and_values(words, wanted):
    got = {line.split(",", 1)[1] for line in complete(words) if "," in line}
    assert wanted <= got, got


@pytest.mark.parametrize(
    "words", ["ami --secret-file ", "ami --ca-file ", "ami originate --batch ", "ami sim --tls-cert "]
)
def test_file_options_complete_file_paths(words):
    assert complete(words) == ["file,"]


# -- originate on a terminal ----------------------------------------------------------------------


def test_originate_progress_and_ctrl_c_on_a_terminal(sim):
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [*ami_argv(), "originate", "Local/noanswer@default", "--app", "Wait", "--timeout", "20"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=follower,
        env=ami_env(sim.port, **ADMIN),
    )
    os.close(follower)
    seen = b""
    deadline = time.monotonic() + 15
    while b"ringing" not in seen and time.monotonic() < deadline:
        seen += os.read(leader, 4096)
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=15)
    try:
        while chunk := os.read(leader, 4096):
            seen += chunk
    except OSError:
        pass
    os.close(leader)
    text = seen.decode()
    assert proc.returncode == ExitCode.INTERRUPTED and out == b""
    assert "ami: calling Local/noanswer@default: ringing, waiting for an answer" in text
    assert "ami: interrupted: the call to Local/noanswer@default was queued and may still ring (ActionID ami-" in text


def test_originate_says_nothing_of_progress_off_a_terminal(sim):
    proc = run_ami(["originate", "Local/noanswer@default", "--app", "Wait", "--timeout", "1", "--json"], port=sim.port)
    assert proc.returncode == ExitCode.NO_ANSWER
    assert proc.stderr == "" and json.loads(proc.stdout)["Outcome"] == "no-answer"
