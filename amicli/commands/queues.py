"""``ami queues``: queues, their members and waiting callers; adding, removing and pausing members.

``ami queues [QUEUE]...`` is short for ``ami queues list [QUEUE]...``: a word
that is not a subcommand is a queue name.  A queue literally named like a
subcommand (``members``, ``callers``, ``summary``, ``add``, ``remove``,
``pause``, ``unpause``, ``list``) is listed with ``ami queues list members``
or ``ami queues -- members``; ``ami queues members members`` lists the
members of a queue called ``members``.
"""

from __future__ import annotations

from typing import Callable, Sequence

import click

from ..context import get_app
from ..errors import ActionError, ExitCode
from ..options import json_option, make_output, one_line, output_options
from . import tables
from .default_group import DefaultGroup
from .watching import check_watch, run_watch, table_text, watch_option


def explain_unknown_action(exc: ActionError) -> ActionError:
    """``Invalid/unknown command: QueueStatus`` means app_queue is not loaded."""
    if "invalid/unknown command" in str(exc).lower():
        return ActionError(f"{exc} (is app_queue loaded? try: ami command 'module show like app_queue')", exc.reply)
    return exc


#: The queue columns kept first when the terminal is narrow.
QUEUE_PRIORITY = [
    "Queue",
    "Calls",
    "LongestHoldTime",
    "LoggedIn",
    "Available",
    "PausedMembers",
    "Holdtime",
    "TalkTime",
    "Completed",
    "Abandoned",
    "ServicelevelPerf",
    "Strategy",
    "ServiceLevel",
]


def _schema(json_keys, columns, titles, table_row=None):
    """What a listing's rows hold (amicli.rowtext.Schema): --fields by title or JSON key, the table."""
    from ..rowtext import Schema

    priority = QUEUE_PRIORITY if "Strategy" in columns else ()
    return Schema(json_keys=json_keys, columns=columns, titles=titles, priority=priority, table_row=table_row)


def fleet_fields(valid: Sequence[str]) -> list[str]:
    """The fields --fields may name: ``Server`` too when several PBXs were named."""
    from ..fleet import SERVER_KEY

    return [*valid, SERVER_KEY] if len(get_app().fleet()) > 1 else list(valid)


def _run_listing(out, fetch: Callable[[object], object]):
    """A FleetRun and its answers: ``fetch(client)`` on every PBX named."""
    app = get_app()
    run = app.runner(json_out=out)

    def work(member: object) -> object:
        with app.session(need_booted=True, settings=member) as client:
            try:
                return fetch(client)
            except ActionError as exc:
                raise explain_unknown_action(exc) from None

    return run, run.answers(work)


def _missing(run, member: object, missing: Sequence[str]) -> None:
    """A line per queue name the PBX does not know; that PBX then counts as failed (1)."""
    for name in missing:
        run.mark(member, ExitCode.ACTION_FAILED)
        run.note(member, f"no such queue: '{name}'", single="error: ")


EPILOG = """\b
Subcommands take the shared output options: --json (JSON Lines), --csv,
--fmt, --fields, --no-headers, --wide.  Exit status: 0 done, 1 the PBX
refused or a named queue does not exist, 2 usage, 4 permission denied, 9
some of several PBXs failed (see `ami --help`).  With several PBXs (-H a,b
or --profile a,b), listings merge their rows with a Server column and acting
subcommands act on every PBX (--dry-run shows what each would be sent).

A queue named on the command line that the PBX does not know gets one line,
`ami: error: no such queue: 'nope'`, and exit 1; the queues that exist are
still listed.  A PBX with no queues lists nothing and says so on stderr (exit
0); an empty listing prints nothing (on a terminal, stderr says so).  A PBX
still booting (app_queue not loaded yet) is asked again, with a short
back-off, until it answers or --timeout ends ("PBX still booting", exit 5).
add, remove, pause and unpause print one line on success (`added PJSIP/2002
to queue sales`; --json: the PBX's response) and need write=agent.

\b
The PBX's refusals (exit 1), as `ami: error: ...` lines:
  No such queue (QueueAdd, QueueRemove)  no such queue: 'nope' (PBX: ...)
  Already there                          PJSIP/2002 is already a member of queue 'sales'
  Not there                              PJSIP/2002 is not a member of queue 'sales'
  Member not dynamic                     ... is a static member of queue 'support'
                                         (from queues.conf); only dynamic members can be removed
  Interface not found (QueuePause)       PJSIP/2002 is not a member of queue 'sales' / of any queue
  Invalid/unknown command: QueueAdd      the PBX does not know QueueAdd (app_queue not
                                         loaded, or the PBX still booting)

JSON keys are the header names as the PBX sent them; values `ami` derives get
keys of their own and never replace an original.  A field the PBX did not send
(Asterisk 13 has no ServicelevelPerf2, LastPause, LoginTime, Wrapuptime or
caller Priority) is absent from the JSON and an empty table cell.

\b
Examples:
  ami queues                                   # one row per queue
  ami queues members support --paused
  ami queues callers --json | jq -r '"\\(.Queue) \\(.Wait)s \\(.CallerIDNum)"'
  ami queues add sales PJSIP/2002 --name Dave --penalty 1
  ami queues pause PJSIP/2002 --reason lunch
"""


@click.group(cls=DefaultGroup, epilog=EPILOG)
def queues() -> None:
    """Queues, their members and callers; add, remove and pause members.

    With no subcommand (or words that are not subcommands), lists queues:
    `ami queues [QUEUE]...` is `ami queues list [QUEUE]...`.  A queue named
    like a subcommand: `ami queues -- members`.
    """


# -- listings --------------------------------------------------------------------


@queues.command("list")
@click.argument("names", nargs=-1, metavar="[QUEUE]...", callback=one_line)
@watch_option
@output_options
def list_queues(
    names: tuple[str, ...], watch: float | None, as_json: bool, fmt: str | None, fields: str | None, no_headers: bool
) -> int:
    """One row per queue (QueueStatus): waiting callers, times, counters, members.

    \b
    Columns: Queue, Strategy, Waiting (Calls), Longest wait (s), Hold and
    Talk (average s), Completed, Abandoned, SL (service level, s), SL perf
    (% answered within it), Logged in, Available, Paused (members).
    --json: one object per queue with the QueueParams headers (counters as
    numbers), the derived LongestHoldTime, LoggedIn, Available and
    PausedMembers, and its "members" and "callers" as nested arrays.

    Longest wait is the largest Wait among the queue's callers.  Logged in
    counts the members whose device is not Invalid (4) or Unavailable (5), as
    QueueSummary does; Available, those logged in, Not in use (1) or Unknown
    (0), and not paused.  Also with --fields: ServicelevelPerf2 (the service
    level counting abandoned calls too), Max (0: unlimited) and Weight.

    \b
    Examples:
      ami queues
      ami queues support sales
      ami queues --json | jq 'select(.Calls > 0) | .Queue'
      ami queues --watch
    """
    from .. import queues as lib
    from ..fleet import MergedRows

    check_watch(watch, as_json)
    schema = _schema(fleet_fields(lib.QUEUE_FIELDS), tables.QUEUE_COLUMNS, tables.QUEUE_TITLES, tables.queue_table_row)
    out = make_output(as_json, fmt, fields, no_headers, schema=schema)
    if watch is not None:
        return _watch_queues(out, names, watch)
    run, answers = _run_listing(out, lambda client: lib.queue_status(client, names))
    merged = MergedRows(run, out, tables.QUEUE_COLUMNS, tables.QUEUE_TITLES)
    for member, status in answers:
        rows = status.queues
        if rows:
            merged.add(member, rows)  # the schema derives the table rows
        elif not names:
            run.note(member, "the PBX has no queues")
        _missing(run, member, status.missing)
    merged.finish()
    return run.exit_code()


def _watch_queues(out, names: tuple[str, ...], interval: float) -> int:
    from .. import queues as lib
    from ..live import QUEUE_TRIGGERS

    def render(client) -> tuple[str, str]:
        rows = lib.queue_status(client, names).queues
        waiting = sum(q.get("Calls") or 0 for q in rows)  # type: ignore[misc]
        available = sum(q.get("Available") or 0 for q in rows)  # type: ignore[misc]
        totals = f"{len(rows)} queues, {waiting} waiting, {available} agents available"
        text = table_text(out, lambda o: o.rows(rows))
        return totals, text

    return run_watch(render, title="ami queues", interval=interval, triggers=QUEUE_TRIGGERS, events="agent,system")


@queues.command("members")
@click.argument("names", nargs=-1, metavar="[QUEUE]...", callback=one_line)
@click.option("--paused", "only_paused", is_flag=True, help="Only the paused members.")
@click.option(
    "--available",
    "only_available",
    is_flag=True,
    help="Only the members that can take a call now (logged in, not in use, not paused).",
)
@output_options
def list_members(
    names: tuple[str, ...],
    only_paused: bool,
    only_available: bool,
    as_json: bool,
    fmt: str | None,
    fields: str | None,
    no_headers: bool,
) -> int:
    """One row per queue member (QueueStatus's QueueMember events).

    \b
    Columns: Queue, Name, Interface (Location), State interface, Status (the
    device state in words), Paused, Reason, Penalty, Calls (taken), Last
    call, Last pause (local times; "never" for 0), In call, Membership
    (static: from queues.conf; dynamic: added at run time).
    --json: the QueueMember headers; Status as its number beside StatusText
    in words, times as epoch numbers, Paused and InCall as true/false.

    Status is the device state (enum ast_device_state): 0 Unknown, 1 Not in
    use, 2 In use, 3 Busy, 4 Invalid, 5 Unavailable, 6 Ringing, 7 Ring+Inuse,
    8 On Hold; another number shows as "Unknown (N)".  Also with --fields:
    LoginTime and Wrapuptime.  Old servers name the member MemberName.

    \b
    Examples:
      ami queues members
      ami queues members support --paused
      ami queues members --json | jq -r 'select(.StatusText == "Unavailable") | .Name'
    """
    from .. import queues as lib

    def pick(status) -> list:
        members = status.members
        if only_paused:
            members = [m for m in members if lib.get_field(m, "Paused") is True]
        if only_available:
            members = [m for m in members if lib.member_available(m)]
        return members

    schema = _schema(
        fleet_fields(lib.MEMBER_FIELDS), tables.MEMBER_COLUMNS, tables.MEMBER_TITLES, tables.member_table_row
    )
    out = make_output(as_json, fmt, fields, no_headers, schema=schema)
    return _print_rows(out, names, pick, tables.MEMBER_COLUMNS, tables.MEMBER_TITLES, "no queue members")


@queues.command("callers")
@click.argument("names", nargs=-1, metavar="[QUEUE]...", callback=one_line)
@output_options
def list_callers(names: tuple[str, ...], as_json: bool, fmt: str | None, fields: str | None, no_headers: bool) -> int:
    """One row per caller waiting in a queue (QueueStatus's QueueEntry events).

    \b
    Columns: Queue, Pos (position, 1 is next), Channel, Caller ID, Caller
    name, Wait (seconds), Priority.
    --json: the QueueEntry headers, Position, Wait and Priority as numbers.

    \b
    Examples:
      ami queues callers
      ami queues callers support --json | jq .Wait
    """
    from .. import queues as lib

    schema = _schema(
        fleet_fields(lib.CALLER_FIELDS), tables.CALLER_COLUMNS, tables.CALLER_TITLES, tables.caller_table_row
    )
    out = make_output(as_json, fmt, fields, no_headers, schema=schema)
    return _print_rows(
        out, names, lambda status: status.callers, tables.CALLER_COLUMNS, tables.CALLER_TITLES, "no callers waiting"
    )


def _print_rows(out, names, pick, columns, titles, empty: str) -> int:
    """Members or callers of every PBX: JSON as they are, a table of their display rows; then what was missing."""
    from .. import queues as lib
    from ..fleet import MergedRows

    run, answers = _run_listing(out, lambda client: lib.queue_status(client, names))
    merged, some_queue = MergedRows(run, out, columns, titles), False
    for member, status in answers:
        rows = pick(status)
        merged.add(member, rows)  # the schema derives the table rows
        some_queue |= bool(status.queues)
        if not names and not status.queues:
            run.note(member, "the PBX has no queues")
        _missing(run, member, status.missing)
    merged.finish(empty=empty if some_queue else None)  # no queue at all: "the PBX has no queues" said it
    return run.exit_code()


@queues.command("summary")
@click.argument("names", nargs=-1, metavar="[QUEUE]...", callback=one_line)
@output_options
def summary(names: tuple[str, ...], as_json: bool, fmt: str | None, fields: str | None, no_headers: bool) -> int:
    """One row per queue from QueueSummary: members logged in and available, callers.

    \b
    Columns: Queue, Logged in, Available, Callers, Hold and Talk (average
    s), Longest wait (s).  --json: the QueueSummary headers as numbers.

    \b
    Examples:
      ami queues summary
      ami queues summary sales --json
    """
    from .. import queues as lib
    from ..fleet import MergedRows

    schema = _schema(fleet_fields(lib.SUMMARY_FIELDS), tables.SUMMARY_COLUMNS, tables.SUMMARY_TITLES)
    out = make_output(as_json, fmt, fields, no_headers, schema=schema)
    run, answers = _run_listing(out, lambda client: lib.queue_summary(client, names))
    merged = MergedRows(run, out, tables.SUMMARY_COLUMNS, tables.SUMMARY_TITLES)
    for member, (rows, missing) in answers:
        merged.add(member, rows)
        if not rows and not names:
            run.note(member, "the PBX has no queues")
        _missing(run, member, missing)
    merged.finish()
    return run.exit_code()


# -- acting ------------------------------------------------------------------------


dry_run_option = click.option(
    "--dry-run", is_flag=True, help="Log in and show the action each PBX would be sent; change nothing."
)


def _act(headers: list[tuple[str, str]], as_json: bool, done: str, dry_run: bool = False) -> int:
    """Send the action to every PBX named (a refusal: one line, exit 1), or with --dry-run show it."""
    from .. import queues as lib
    from ..output import Output

    app = get_app()
    out = Output(json=as_json)
    run = app.runner(json_out=out)

    def work(member: object):
        with app.session(need_booted=True, settings=member) as client:
            # --dry-run still logs in: what it shows is what each PBX would be sent.
            return None if dry_run else lib.act(client, headers)  # a refusal raises QueueRefused

    for member, reply in run.answers(work):
        if as_json:
            if reply is None:
                obj = {**dict(headers), "DryRun": True}
            else:
                response = reply.response
                obj = {k: v for k, v in (response.headers if response is not None else []) if k != "ActionID"}
            out.emit_json(run.tag(member, obj))
        else:
            text = done if reply is not None else "dry run: would send " + ", ".join(f"{k}: {v}" for k, v in headers)
            out.write_text(f"{run.label(member)}: {text}\n" if run.many else f"{text}\n")
    return run.exit_code()


@queues.command("add")
@click.argument("queue", callback=one_line)
@click.argument("interface", callback=one_line)
@click.option("--name", metavar="NAME", callback=one_line, help="The member's name (MemberName). Example: --name Dave")
@click.option(
    "--penalty", type=click.IntRange(0), metavar="N", help="Penalty: members with lower ones ring first. [default: 0]"
)
@click.option("--paused", is_flag=True, help="Add the member paused.")
@click.option(
    "--state-interface",
    metavar="DEVICE",
    callback=one_line,
    help="Read the member's busy/free state from DEVICE. Example: --state-interface PJSIP/2002",
)
@dry_run_option
@json_option
def add(
    queue: str,
    interface: str,
    name: str | None,
    penalty: int | None,
    paused: bool,
    state_interface: str | None,
    dry_run: bool,
    as_json: bool,
) -> int:
    """Add INTERFACE to QUEUE as a dynamic member (QueueAdd).

    INTERFACE is what the queue dials for the member (its Location), a dial
    string such as PJSIP/2002 or Local/2002@agents/n.

    The PBX refuses a queue that does not exist and an interface that is
    already a member: one line on stderr, exit 1.  Needs write=agent.

    \b
    Examples:
      ami queues add sales PJSIP/2002
      ami queues add sales Local/2002@agents/n --name Dave --penalty 1 --paused
    """
    from .. import queues as lib

    headers = lib.add_request(
        queue, interface, name=name, penalty=penalty, paused=True if paused else None, state_interface=state_interface
    )
    state = " (paused)" if paused else ""
    return _act(headers, as_json, f"added {interface} to queue {queue}{state}", dry_run)


@queues.command("remove")
@click.argument("queue", callback=one_line)
@click.argument("interface", callback=one_line)
@dry_run_option
@json_option
def remove(queue: str, interface: str, dry_run: bool, as_json: bool) -> int:
    """Remove the dynamic member INTERFACE from QUEUE (QueueRemove).

    The PBX refuses a queue that does not exist, an interface that is not a
    member, and a static member (one from queues.conf): one line on stderr,
    exit 1.  Needs write=agent.

    \b
    Example:
      ami queues remove sales PJSIP/2002
    """
    from .. import queues as lib

    return _act(lib.remove_request(queue, interface), as_json, f"removed {interface} from queue {queue}", dry_run)


@queues.command("pause")
@click.argument("interface", callback=one_line)
@click.option("--queue", metavar="QUEUE", callback=one_line, help="Only in this queue [default: every queue it is in].")
@click.option(
    "--reason", metavar="TEXT", callback=one_line, help="Why (shown as PausedReason). Example: --reason lunch"
)
@dry_run_option
@json_option
def pause(interface: str, queue: str | None, reason: str | None, dry_run: bool, as_json: bool) -> int:
    """Pause member INTERFACE: it gets no calls until unpaused (QueuePause).

    INTERFACE is the member's Location, as `ami queues members` lists it.

    Without --queue, in every queue it is a member of.  An interface that is
    not a member comes out as one line on stderr, exit 1.  Needs write=agent.

    \b
    Examples:
      ami queues pause PJSIP/2002 --reason lunch
      ami queues pause PJSIP/2002 --queue sales
    """
    from .. import queues as lib

    where = f"in queue {queue}" if queue else "in all its queues"
    why = f" (reason: {reason})" if reason else ""
    done = f"paused {interface} {where}{why}"
    return _act(lib.pause_request(interface, True, queue, reason), as_json, done, dry_run)


@queues.command("unpause")
@click.argument("interface", callback=one_line)
@click.option("--queue", metavar="QUEUE", callback=one_line, help="Only in this queue [default: every queue it is in].")
@click.option(
    "--reason",
    metavar="TEXT",
    callback=one_line,
    help="Why (sent as Reason; the PBX logs it with the unpause). Example: --reason back",
)
@dry_run_option
@json_option
def unpause(interface: str, queue: str | None, reason: str | None, dry_run: bool, as_json: bool) -> int:
    """Unpause member INTERFACE (QueuePause with Paused: false).

    \b
    Examples:
      ami queues unpause PJSIP/2002
      ami queues unpause PJSIP/2002 --reason back
    """
    from .. import queues as lib

    where = f"in queue {queue}" if queue else "in all its queues"
    why = f" (reason: {reason})" if reason else ""
    done = f"unpaused {interface} {where}{why}"
    return _act(lib.pause_request(interface, False, queue, reason), as_json, done, dry_run)
