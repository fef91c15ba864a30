"""Every command against every fault: `ami` ends in time, says one line, exits as documented.

The expected result of each fault for each command is the one table
:data:`EXPECTED` below.  docs/reliability.md shows the same
table, rendered by :func:`render_table`; a test checks that they agree.
Print the rendering with ``python tests/test_faults.py``.

For every run the test checks: the exit code; the time (within ``--timeout``
plus the one second `ami` gives Logoff after a failure, plus a margin that
grows with the load of the machine); exactly one ``ami: error:`` line on
stderr (none on success; login-test prints its status line on stdout and
nothing on stderr); no traceback; and that every stdout line is complete
(each a JSON object with ``--json``).

The matrix runs `ami` in this process (see inprocess.py), many runs at once
in threads, so the module takes a few seconds of wall time while the peers
wait out their timeouts.  The faults that send the most (the 10 MB line, the
100,000 headers) run `ami` as real processes instead, whose peak RSS is
measured (memory stays bounded), and whose parsing does not hold up the runs
in this process.
"""

from __future__ import annotations

import json
import re
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

import pytest
from matrix import COMMANDS, Run, measure_process, run_measured, run_timed
from peers.certs import make_certs
from peers.faults import FAULTS, FaultPeer
from util import ADMIN, run_ami, start_sim

from amicli.errors import ExitCode

REPO = Path(__file__).resolve().parent.parent
#: The global --timeout of every run.
TIMEOUT = 1.0
#: After a failure `ami` still sends Logoff and waits up to 1 s for Goodbye.
LOGOFF_WAIT = 1.0
#: Scheduling slack (the matrix runs many runs at once, in one interpreter, and
#: the big faults' data is parsed by all of them), plus twice the median time
#: of the runs that wait for nothing (refused), which grows with the load of
#: the machine.  A hang would still show: the peers hold a connection for 30 s.
MARGIN = 3.0
#: Peak RSS allowed for any run (the 10 MB line and the 100,000 headers included).
MAX_RSS_MB = 100
#: Runs going on at once: in-process runs mostly wait on their peer.
WORKERS = 16
#: Runs going on at once as processes (the memory runs).
PROCESS_WORKERS = 8
#: Extra seconds for a run as a process: its start-up, on a loaded machine.
PROCESS_START = 1.5
#: The faults that keep a run waiting longest (for its --timeout, then for Logoff).
LONG_WAITS = ("trickle", "silent", "ssh", "tls-plain")
#: The faults that send the most, and the command whose run (with --json) goes as a process
#: for its peak RSS: the one that peaked highest (every command peaks within 2 MB of the
#: others; bench/bench_fault_table.py measures every run of the table as a process).
MEMORY_RUNS = {
    "huge-line": "events",
    "many-headers": "queues",
    "text-flood": "events",
    "list-flood": "queues",
    "hostile-events": "events",
}

#: Monitoring Plugins statuses of login-test (see amicli/commands/login_test.py).
PLUGIN = {0: "OK", 1: "WARNING", 2: "CRITICAL", 3: "UNKNOWN"}
OK, CRITICAL, UNKNOWN = 0, 2, 3

# -- the table: fault -> what each command does ----------------------------------------


@dataclass(frozen=True)
class Expect:
    """What `ami` does under one fault: exit codes per command, and the words of its error line."""

    codes: dict[str, int]
    #: A regular expression found in the one stderr line (login-test: in its status line) on failure.
    says: str
    #: Seconds a run may take past the usual limit (the floods run with a longer --timeout).
    extra_time: float = 0.0


def row(login_test: int, others: int, says: str, **overrides: int) -> Expect:
    """login-test's status, the same code for every other command, exceptions by name."""
    codes = {name: others for name in COMMANDS}
    codes["login-test"] = login_test
    codes.update({name.replace("_", "-"): code for name, code in overrides.items()})
    return Expect(codes, says)


# Exit codes are amicli.errors.ExitCode for every command but login-test, whose
# codes are the Monitoring Plugins' (0 OK, 2 CRITICAL, 3 UNKNOWN).  A reply
# fault strikes the reply to the first action after the login: login-test's
# is its optional CoreSettings (the Asterisk version), so the login itself
# went well and the check says OK (without the version).
# A reply or list that floods (bounded: exit 6) or trickles (the reply's
# deadline: exit 5) ends the same way whether it is text or list items.
FLOOD = replace(
    row(
        OK,
        ExitCode.PROTOCOL,
        "refusing to collect more|no reply to Originate",
        originate=ExitCode.OUTCOME_UNKNOWN,
        events=ExitCode.OK,
    ),
    extra_time=2 * 4.0,
)
TRICKLE = row(
    OK,
    ExitCode.TIMEOUT,
    # (queues sends its actions at once: the one waited for first may get no text)
    "did not end within 2 s|no reply to Originate|no answer from .* within 1 s",
    originate=ExitCode.OUTCOME_UNKNOWN,
    events=ExitCode.OK,
)

EXPECTED: dict[str, Expect] = {
    "refused": row(CRITICAL, ExitCode.CONNECT, "connection refused"),
    "silent": row(CRITICAL, ExitCode.TIMEOUT, "no AMI banner from 127.0.0.1"),
    "http": row(UNKNOWN, ExitCode.PROTOCOL, "not an AMI server: it greeted with 'HTTP/1.1 400 Bad Request'"),
    "ssh": row(UNKNOWN, ExitCode.PROTOCOL, "not an AMI server: it greeted with 'SSH-2.0-OpenSSH"),
    "close-after-banner": row(CRITICAL, ExitCode.CONNECT, "closed the connection"),
    # Once an Originate has left, a broken session says nothing about the call:
    # originate exits OUTCOME_UNKNOWN (never CONNECT, which looks safe to retry).
    "close-mid-list": row(OK, ExitCode.CONNECT, "closed the connection", originate=ExitCode.OUTCOME_UNKNOWN),
    "close-mid-message": row(OK, ExitCode.CONNECT, "closed the connection", originate=ExitCode.OUTCOME_UNKNOWN),
    "close-after-reply": row(
        OK, ExitCode.OK, "closed the connection", originate=ExitCode.OUTCOME_UNKNOWN, events=ExitCode.CONNECT
    ),
    # An event stream has no reply to wait for: `events` runs to its own --timeout.
    "trickle": row(OK, ExitCode.TIMEOUT, "within 1 s", events=ExitCode.OK, originate=ExitCode.OUTCOME_UNKNOWN),
    "huge-line": row(OK, ExitCode.PROTOCOL, "line longer than 1048576 bytes", originate=ExitCode.OUTCOME_UNKNOWN),
    "many-headers": row(OK, ExitCode.PROTOCOL, "more than 65536 header lines", originate=ExitCode.OUTCOME_UNKNOWN),
    "non-utf8": row(OK, ExitCode.OK, ""),
    "reset": row(OK, ExitCode.CONNECT, "reset the connection|reset by peer", originate=ExitCode.OUTCOME_UNKNOWN),
    "tls-plain": row(CRITICAL, ExitCode.TLS, "TLS handshake with 127.0.0.1"),
    "tls-wrong-name": row(CRITICAL, ExitCode.TLS, "certificate is not valid for '127.0.0.1'"),
    "tls-untrusted": row(CRITICAL, ExitCode.TLS, "not trusted: self-signed certificate"),
    # Hostile servers.  A reply may collect 4 MiB of text, 100,000 list items
    # or 16 MiB of them (exit 6), and must end within twice --timeout however
    # it trickles (exit 5); an Originate without a reply is unknown (14).
    # The floods run with --timeout 4 (FLOOD_TIMEOUT): a loaded machine must
    # reach the bound before the reply's deadline.
    "text-flood": FLOOD,
    "text-trickle": TRICKLE,
    "list-flood": FLOOD,
    "list-trickle": TRICKLE,
    # A login succeeds only on Response: Success to the Login itself.
    "login-text": row(UNKNOWN, ExitCode.PROTOCOL, "answered Login with text"),
    # The secret quoted back is hidden (every run is checked for it).
    "quoted-secret": row(CRITICAL, ExitCode.AUTH, "Authentication failed for .*'\\*{8}'"),
    # Only replies to requests already sent are taken (the forged one is checked for).
    "forged-reply": row(OK, ExitCode.OK, ""),
    # Shown as \x1b, \x9b ... (every run is checked for raw escapes).
    "control-chars": row(OK, ExitCode.OK, ""),
    "event-flood": row(OK, ExitCode.OK, ""),
    # Another session's outcome is never ours: originate reports its own call (answered), not Busy.
    "foreign-outcomes": row(OK, ExitCode.OK, ""),
    # Repeated headers stay a list in the JSON fast path; ever-new event names keep memory bounded.
    "hostile-events": row(OK, ExitCode.OK, ""),
}


def code_label(command: str, code: int) -> str:
    if command == "login-test":
        return f"{code} {PLUGIN[code]}"
    return f"{code} {ExitCode(code).name}"


def render_table() -> str:
    """The fault table as markdown, for docs/reliability.md."""
    names = list(COMMANDS)
    lines = [
        "| Fault | " + " | ".join(f"`{n}`" for n in names) + " | `ami` says |",
        "|---|" + "---|" * len(names) + "---|",
    ]
    for fault, expect in EXPECTED.items():
        cells = [code_label(n, expect.codes[n]) for n in names]
        says = " or ".join(f"`{alt}`" for alt in expect.says.split("|")) if expect.says else "(a normal session)"
        lines.append(f"| {FAULTS[fault].title} | " + " | ".join(cells) + f" | {says} |")
    return "\n".join(lines) + "\n"


TABLE_START = "<!-- fault-table: generated by tests/test_faults.py, do not edit -->"
TABLE_END = "<!-- /fault-table -->"


def table_in(text: str) -> str | None:
    """The generated table between the markers in a README, or None."""
    start = text.find(TABLE_START)
    end = text.find(TABLE_END)
    if start < 0 or end < start:
        return None
    return text[start + len(TABLE_START) : end].strip("\n") + "\n"


def built_commands() -> list[str]:
    """The commands that exist: a command still "not built yet" is left out of the matrix."""
    built = []
    for name, cmd in COMMANDS.items():
        proc = run_ami([cmd.args[0], "--help"])
        if proc.returncode == 0 and "not built yet" not in proc.stdout.lower():
            built.append(name)
    return built


def variants(command: str) -> list[tuple[str, ...]]:
    cmd = COMMANDS[command]
    return [cmd.args, (*cmd.args, "--json")] if cmd.json else [cmd.args]


def start_peers(certs_dir: Path) -> tuple[object, dict[str, FaultPeer]]:
    """A sim with channels and a waiting caller (lists with rows), and a fault peer of each fault in front of it."""
    certs = make_certs(certs_dir)
    sim = start_sim()
    from amicli.sim.channels import populate_demo

    populate_demo(sim.pbx)
    return sim, {name: FaultPeer(name, backend_port=sim.port, certs=certs) for name in FAULTS}


def table_jobs(peers: dict[str, FaultPeer], commands: list[str]) -> list[tuple[str, str, list[str], int]]:
    """Every command (text and --json) against every fault: (fault, command, args, port).

    Round-robin over the faults, so that the runs that cost CPU (the 10 MB
    line, the 100,000 headers) do not all start at once; the runs that wait
    longest first, so that the others fill the gaps.
    """
    jobs = []
    for command in commands:
        for args in variants(command):
            for fault, peer in peers.items():
                jobs.append((fault, command, ["--timeout", str(TIMEOUT), *peer.ami_args(), *args], peer.port))
    jobs.sort(key=lambda job: not (job[0] in LONG_WAITS or COMMANDS[job[1]].extra_time))
    return jobs


@dataclass
class Table:
    """What :func:`run_table` did."""

    #: (fault, command) -> its runs (text, and --json when the command has it).
    results: dict[tuple[str, str], list[Run]]
    #: Seconds the whole table took.
    elapsed: float
    #: The jobs run again, alone, after failing among the others.
    again: list[tuple[str, str, list[str], int]]
    #: Twice the median refused run: how loaded the machine was.
    load_margin: float
    #: (fault, command) -> the first check its runs failed, or None: each run is checked once.
    failures: dict[tuple[str, str], Exception | None]


def run_table(jobs: list[tuple[str, str, list[str], int]], as_process: Callable[[str, str, list[str]], bool]) -> Table:
    """Run the jobs, many at once, and check each run.

    A run that failed its check is run again, alone: when it passes then,
    the load of the machine (the runs share it) made it miss a deadline,
    not `ami`.  Both are reported.
    """
    results: dict[tuple[str, str], list[Run]] = {}
    started = time.monotonic()
    with ThreadPoolExecutor(PROCESS_WORKERS) as processes, ThreadPoolExecutor(WORKERS) as pool:
        futures = [
            (fault, command, (processes.submit(run_measured, args, port) if as_process(fault, command, args) else None))
            for fault, command, args, port in jobs
        ]
        futures = [
            (fault, command, future or pool.submit(run_timed, args, port))
            for (fault, command, future), (_, _, args, port) in zip(futures, jobs, strict=True)
        ]
        for fault, command, future in futures:
            results.setdefault((fault, command), []).append(future.result())
    elapsed = time.monotonic() - started
    load_margin = load_margin_of(results, sorted({command for _, command, _, _ in jobs}))
    failures = {key: first_failure(*key, runs, load_margin) for key, runs in results.items()}
    again = [job for job in jobs if failures[(job[0], job[1])] is not None]
    for fault, command, args, port in again:
        runner = run_measured if as_process(fault, command, args) else run_timed
        results[(fault, command)] = [
            run if " ".join(run.args) != " ".join(args) else runner(args, port) for run in results[(fault, command)]
        ]
    for fault, command in {(job[0], job[1]) for job in again}:
        failures[(fault, command)] = first_failure(fault, command, results[(fault, command)], load_margin)
    return Table(results, elapsed, again, load_margin, failures)


@pytest.fixture(scope="module")
def matrix(tmp_path_factory, pytestconfig):
    """Run every built command (text and --json) against every fault, at once: (fault, command) -> [Run]."""
    sim, peers = start_peers(tmp_path_factory.mktemp("certs"))
    commands = built_commands()
    jobs = table_jobs(peers, commands)
    table = run_table(jobs, measured)
    errors = {name: peer.errors for name, peer in peers.items() if peer.errors}
    for peer in peers.values():
        peer.close()
    sim.close()
    processes_run = sum(1 for fault, command, args, _ in jobs if measured(fault, command, args))
    runs = [(fault, run) for (fault, _), rs in table.results.items() for run in rs]
    report(
        pytestconfig,
        f"faults: {len(jobs)} ami runs ({len(commands)} commands x {len(FAULTS)} faults, {processes_run} of them"
        f" processes) in {table.elapsed:.1f} s, {sum(run.seconds for _, run in runs):.0f} s of runs",
    )
    for seconds, fault, args in sorted((run.seconds, fault, " ".join(run.args)) for fault, run in runs)[-5:]:
        report(pytestconfig, f"faults: slowest {seconds:.2f} s {fault}: ami {args}")
    report(pytestconfig, f"faults: load margin {table.load_margin:.2f} s (twice the median refused run)")
    for fault, _command, args, _port in table.again:
        report(pytestconfig, f"faults: run again alone after failing among the others: {fault}: ami {' '.join(args)}")
    return {"results": table.results, "commands": commands, "peer_errors": errors, "failures": table.failures}


def measured(fault: str, command: str, args: list[str]) -> bool:
    """Whether this run goes as a process, for its peak RSS: the memory faults' command
    (with --json when it has one: the same reading, more output)."""
    last = variants(command)[-1]
    return MEMORY_RUNS.get(fault) == command and list(args[-len(last) :]) == list(last)


def load_margin_of(results: dict[tuple[str, str], list[Run]], commands: list[str]) -> float:
    """Twice the median time of the runs that wait for nothing (refused)."""
    quick = sorted(run.seconds for command in commands for run in results[("refused", command)])
    return 2 * quick[len(quick) // 2] if quick else 0.0


def first_failure(fault: str, command: str, runs: list[Run], load_margin: float) -> Exception | None:
    """The first check these runs fail, or None."""
    try:
        for run in runs:
            check_run(fault, command, run, load_margin)
    except Exception as exc:  # noqa: BLE001 - any failed check (the test shows it): the run is taken again
        return exc
    return None


def report(config: pytest.Config, line: str) -> None:
    """A line on the terminal, past pytest's capture."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    capture = config.pluginmanager.get_plugin("capturemanager")
    if reporter is None:
        return
    if capture is None:
        reporter.write_line(line)
        return
    with capture.global_and_fixture_disabled():
        reporter.ensure_newline()
        reporter.write_line(line)


# -- the checks ------------------------------------------------------------------------


def check_run(fault: str, command: str, run: Run, load_margin: float = 0.0) -> None:
    expect = EXPECTED[fault]
    code = expect.codes[command]
    shown = (
        f"ami {' '.join(run.args)}\nrc={run.returncode} in {run.seconds:.2f} s\nstdout={run.stdout[:600]!r}\n"
        f"stderr={run.stderr[:600]!r}"
    )
    assert run.returncode == code, shown
    limit = TIMEOUT + LOGOFF_WAIT + MARGIN + load_margin + COMMANDS[command].extra_time + expect.extra_time
    if run.max_rss_mb is not None:
        limit += PROCESS_START
    assert run.seconds < limit, shown
    assert "Traceback" not in run.stderr + run.stdout, shown
    check_hostile(fault, command, run, shown)
    if run.max_rss_mb is not None:
        assert run.max_rss_mb < MAX_RSS_MB, f"peak RSS {run.max_rss_mb:.0f} MB\n{shown}"
    # Every line on stdout is complete; with --json each is one JSON object.
    assert run.stdout == "" or run.stdout.endswith("\n"), shown
    lines = run.stdout.split("\n")[:-1]  # (splitlines would also cut at U+0085 or U+2028 in a value)
    if "--json" in run.args:
        records = [json.loads(line) for line in lines]
        assert all(isinstance(record, dict) for record in records), shown
        if fault == "hostile-events" and command == "events":
            # Both (or all three) values of the repeated header, in order; the new names in
            # order, none lost (a loaded machine may end the 2 s before the last is printed).
            # (The sim behind the peer may add Newexten events of its own: other runs place calls on it.)
            repeated = [r["ChanVariable"] for r in records if r.get("Channel") == "PJSIP/9-00000009"]
            assert repeated[:2] == [["VAR0=0", "VAR1=0"], ["VAR0=1", "VAR1=1", "VAR2=1"]], shown
            new = [(r["Event"], r.get("Key" + r["Event"][7:])) for r in records if r["Event"].startswith("Hostile")]
            assert new == [(f"Hostile{i:05d}", "v") for i in range(len(new))], shown
        if fault == "non-utf8" and command not in ("login-test", "command"):
            # The bad bytes arrive as U+FFFD, in keys and values alike.
            text = json.dumps(records, ensure_ascii=False)
            assert "X-Bad\ufffd\ufffdKey" in text and "caf\ufffd" in text, shown
    if command == "login-test":
        # The status line is on stdout (Monitoring Plugins), stderr stays empty.
        assert run.stderr == "", shown
        assert len(lines) == 1, shown
        if "--json" in run.args:
            record = json.loads(lines[0])
            assert record["status"] == PLUGIN[code] and record["code"] == code, shown
            status_text = record["message"]
        else:
            assert lines[0].startswith(f"AMI {PLUGIN[code]} - "), shown
            status_text = lines[0]
        if code != OK:
            assert re.search(expect.says, status_text), shown
        return
    if code == ExitCode.OK:
        assert run.stderr == "", shown
        assert lines, shown  # the answer is there
    else:
        assert run.stderr.count("\n") == 1 and run.stderr.startswith("ami: error: "), shown
        assert re.search(expect.says, run.stderr), shown


def check_hostile(fault: str, command: str, run: Run, shown: str) -> None:
    """What a hostile server must never get through, whatever the fault."""
    everything = run.stdout + run.stderr
    assert ADMIN["AMI_SECRET"] not in everything, shown
    assert "FORGED" not in everything, shown
    # Control characters reach no terminal: only `raw` (text) writes the
    # bytes as received, to a pipe.
    raw_bytes = command == "raw" and "--json" not in run.args
    for text in (run.stderr, "" if raw_bytes else run.stdout):
        assert not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]", text), shown
    if command == "login-test" and "--json" not in run.args:
        assert run.stdout.count("|") == 1, shown  # no fake perfdata


@pytest.mark.parametrize("command", list(COMMANDS))
@pytest.mark.parametrize("fault", list(FAULTS))
def test_fault(matrix, fault: str, command: str) -> None:
    if command not in matrix["commands"]:
        pytest.skip(f"`ami {command}` is not built yet")
    assert matrix["results"][(fault, command)]
    failure = matrix["failures"][(fault, command)]  # (each run was checked once, in the fixture)
    if failure is not None:
        raise failure


def test_peers_had_no_errors_of_their_own(matrix) -> None:
    assert matrix["peer_errors"] == {}


def test_bounded_memory_figures(matrix, pytestconfig) -> None:
    """The peak RSS of the runs that receive the most (reported for the README)."""
    for fault in MEMORY_RUNS:
        runs = [run for (f, _), rs in matrix["results"].items() if f == fault for run in rs if run.max_rss_mb]
        assert len(runs) == 1, f"{fault}: one run measured as a process"
        peak = max(run.max_rss_mb for run in runs)
        report(pytestconfig, f"faults: {fault}: peak RSS {peak:.1f} MB over {len(runs)} runs")
        assert peak < MAX_RSS_MB


@pytest.mark.parametrize("fault", ["non-utf8", "close-mid-message"])
def test_md5_login_through_the_peer(fault: str) -> None:
    """The relay logs clients in with Challenge/MD5 as well as with a plain Login."""
    sim = start_sim()
    peer = FaultPeer(fault, backend_port=sim.port)
    try:
        # A longer --timeout than the table's: this checks the login, not the
        # deadlines, and the MD5 exchange through the relay takes two round trips.
        run = run_timed(["--auth", "md5", "--timeout", str(3 * TIMEOUT), "raw", "Ping", "--json"], peer.port)
    finally:
        peer.close()
        sim.close()
    check_run(fault, "raw", run, load_margin=2.0 + 2 * TIMEOUT)
    assert peer.errors == []


def test_table_has_every_fault_and_command() -> None:
    assert list(EXPECTED) == list(FAULTS)
    for expect in EXPECTED.values():
        assert set(expect.codes) == set(COMMANDS)
        for command, code in expect.codes.items():
            if command == "login-test":
                assert code in PLUGIN
            else:
                ExitCode(code)  # a documented code


def test_peak_rss_is_measured() -> None:
    # The memory bound means something only if the measure does: a process
    # that touches 60 MB must show it, and `ami --version` only its own ~20 MB
    # (not this test process's RSS).
    big = measure_process([sys.executable, "-c", "x = bytearray(60 << 20)\nx[::4096] = b'1' * len(x[::4096])"])
    small = run_measured(["--version"], port=1)
    assert big.returncode == 0 and big.max_rss_mb > 60, big
    assert 5 < small.max_rss_mb < 50, small


def test_readme_reliability_table_matches() -> None:
    found = table_in((REPO / "docs" / "reliability.md").read_text(encoding="utf-8"))
    assert found is not None, "docs/reliability.md lost its generated fault table (the markers)"
    assert found == render_table(), "docs/reliability.md: the fault table differs: run python tests/test_faults.py"


if __name__ == "__main__":
    sys.stdout.write(render_table())
