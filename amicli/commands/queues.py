"""``ami queues``: queues, their members and waiting callers; adding, removing and pausing members.

``ami queues [QUEUE]...`` is short for ``ami queues list [QUEUE]...``: a word
that is not a subcommand is a queue name.  A queue literally named like a
subcommand (``members``, ``callers``, ``summary``, ``add``, ``remove``,
``pause``, ``unpause``, ``list``) is listed with ``ami queues list members``
or ``ami queues -- members``; ``ami queues members members`` lists the
members of a queue called ``members``.
"""

from __future__ import annotations

import sys
from typing import Callable, Sequence

import click

from ..context import get_app
from ..errors import ActionError, ExitCode
from ..options import json_option, make_output, output_options
from .watching import check_watch, run_watch, table_text, watch_option


class DefaultGroup(click.Group):
    """A group whose first word, when it is not a subcommand, goes to a default subcommand.

    ``ami queues support`` runs ``ami queues list support``; ``--`` forces
    what follows to be arguments of the default subcommand.
    """

    def __init__(self, *args: object, default_command: str = "list", **kwargs: object) -> None:
        kwargs.setdefault("invoke_without_command", True)
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.default_command = default_command

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args:
            args = [self.default_command]
        elif args[0] == "--":
            args = [self.default_command, *args]
        elif args[0] not in self.commands and args[0] not in ctx.help_option_names:
            # Options may come before the subcommand (`ami queues --json members`):
            # the first word that is not an option or an option's value decides.
            word = self._first_word(args)
            if word is not None and word in self.commands and word != self.default_command:
                index = args.index(word)
                args = [word, *args[:index], *args[index + 1 :]]
            else:
                args = [self.default_command, *args]
        return super().parse_args(ctx, args)

    def _first_word(self, args: list[str]) -> str | None:
        """The first argument that is not an option of the default command or its value."""
        default = self.commands.get(self.default_command)
        takes_value = set()
        if default is not None:
            for param in default.params:
                if isinstance(param, click.Option) and not param.is_flag and not param.count:
                    takes_value.update(param.opts)
        skip = False
        for arg in args:
            if skip:
                skip = False
                continue
            if arg == "--":
                return None
            if arg.startswith("-") and arg != "-":
                skip = arg in takes_value
                continue
            return arg
        return None


def one_line(ctx: click.Context, param: click.Parameter, value: object) -> object:
    """Refuse empty values and line breaks (they would break the AMI framing)."""
    values = value if isinstance(value, tuple) else (value,)
    for item in values:
        if item is None:
            continue
        if not isinstance(item, str):
            continue
        if "\r" in item or "\n" in item:
            raise click.BadParameter("must be one line (no line breaks)")
        if not item.strip():
            raise click.BadParameter("must not be empty")
    return value


def error(message: str) -> None:
    """One ``ami: error:`` line on stderr (the command goes on)."""
    from ..cli import error_line

    error_line(message)
    sys.stderr.flush()


def note(message: str) -> None:
    sys.stderr.write(f"ami: {message}\n")
    sys.stderr.flush()


def report_missing(missing: Sequence[str]) -> int:
    """A line per queue name the PBX does not know; the exit code."""
    for name in missing:
        error(f"no such queue: '{name}'")
    return ExitCode.ACTION_FAILED if missing else ExitCode.OK


def explain_unknown_action(exc: ActionError) -> ActionError:
    """``Invalid/unknown command: QueueStatus`` means app_queue is not loaded."""
    if "invalid/unknown command" in str(exc).lower():
        return ActionError(f"{exc} (is app_queue loaded? try: ami command 'module show like app_queue')", exc.reply)
    return exc


def _run_listing(fetch: Callable[[object], object]) -> object:
    with get_app().session(need_booted=True) as client:
        try:
            return fetch(client)
        except ActionError as exc:
            raise explain_unknown_action(exc) from None


EPILOG = """\b
Subcommands take the shared output options: --json (JSON Lines), --fmt,
--fields, --no-headers.  Exit status: 0 done, 1 the PBX refused or a named
queue does not exist, 2 usage, 4 permission denied (see `ami --help`).

A queue named on the command line that the PBX does not know gets one line,
`ami: error: no such queue: 'nope'`, and exit 1; the queues that exist are
still listed.  A PBX with no queues lists nothing and says so on stderr (exit
0); an empty listing prints nothing.  When the PBX is still booting (app_queue
not loaded yet), `ami` waits for FullyBooted (within --timeout) and asks once
more.  add, remove, pause and unpause print one line on success (`added
PJSIP/2002 to queue sales`; --json: the PBX's response) and need write=agent.

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
  ami queues --json | jq 'select(.Calls > 0) | .Queue'
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

    check_watch(watch, as_json)
    out = make_output(as_json, fmt, fields, no_headers, valid=lib.QUEUE_FIELDS)
    if watch is not None:
        return _watch_queues(out, names, watch)
    status = _run_listing(lambda client: lib.queue_status(client, names))
    rows = status.queues  # type: ignore[attr-defined]
    if rows:
        if out.json:
            for queue in rows:
                out.emit_json(queue, flush=False)
            out.flush()
        else:
            out.rows([lib.queue_table_row(q) for q in rows], lib.QUEUE_COLUMNS, titles=lib.QUEUE_TITLES)
    elif not names:
        note("the PBX has no queues")
    return report_missing(status.missing)  # type: ignore[attr-defined]


def _watch_queues(out, names: tuple[str, ...], interval: float) -> int:
    from .. import queues as lib
    from ..live import QUEUE_TRIGGERS

    def render(client) -> tuple[str, str]:
        rows = lib.queue_status(client, names).queues
        waiting = sum(q.get("Calls") or 0 for q in rows)  # type: ignore[misc]
        available = sum(q.get("Available") or 0 for q in rows)  # type: ignore[misc]
        totals = f"{len(rows)} queues, {waiting} waiting, {available} agents available"
        table = [lib.queue_table_row(q) for q in rows]
        text = table_text(out, lambda o: o.rows(table, lib.QUEUE_COLUMNS, titles=lib.QUEUE_TITLES))
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

    out = make_output(as_json, fmt, fields, no_headers, valid=lib.MEMBER_FIELDS)
    status = _run_listing(lambda client: lib.queue_status(client, names))
    members = status.members  # type: ignore[attr-defined]
    if only_paused:
        members = [m for m in members if lib.get_field(m, "Paused") is True]
    if only_available:
        members = [m for m in members if lib.member_available(m)]
    return _print_rows(out, status, names, members, lib.member_table_row, lib.MEMBER_COLUMNS, lib.MEMBER_TITLES)


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

    out = make_output(as_json, fmt, fields, no_headers, valid=lib.CALLER_FIELDS)
    status = _run_listing(lambda client: lib.queue_status(client, names))
    callers = status.callers  # type: ignore[attr-defined]
    return _print_rows(out, status, names, callers, lib.caller_table_row, lib.CALLER_COLUMNS, lib.CALLER_TITLES)


def _print_rows(out, status, names, rows, table_row, columns, titles) -> int:
    """Members or callers: JSON as they are, a table of their display rows; then what was missing."""
    if out.json:
        out.rows(rows, columns)
    elif rows:
        out.rows([table_row(r) for r in rows], columns, titles=titles)
    if not names and not status.queues:
        note("the PBX has no queues")
    return report_missing(status.missing)


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

    out = make_output(as_json, fmt, fields, no_headers, valid=lib.SUMMARY_FIELDS)
    rows, missing = _run_listing(lambda client: lib.queue_summary(client, names))  # type: ignore[misc]
    if out.json:
        out.rows(rows, lib.SUMMARY_COLUMNS)
    elif rows:
        out.rows(rows, lib.SUMMARY_COLUMNS, titles=lib.SUMMARY_TITLES)
    elif not names:
        note("the PBX has no queues")
    return report_missing(missing)


# -- acting ------------------------------------------------------------------------


def _act(headers: list[tuple[str, str]], as_json: bool, done: str) -> int:
    from .. import queues as lib
    from ..output import Output

    with get_app().session(need_booted=True) as client:
        reply = lib.act(client, headers)  # a refusal raises QueueRefused: one line, exit 1
    if as_json:
        response = reply.response
        obj = {k: v for k, v in (response.headers if response is not None else []) if k != "ActionID"}
        Output(json=True).emit_json(obj)
    else:
        click.echo(done)
    return ExitCode.OK


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
@json_option
def add(
    queue: str,
    interface: str,
    name: str | None,
    penalty: int | None,
    paused: bool,
    state_interface: str | None,
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
    return _act(headers, as_json, f"added {interface} to queue {queue}{state}")


@queues.command("remove")
@click.argument("queue", callback=one_line)
@click.argument("interface", callback=one_line)
@json_option
def remove(queue: str, interface: str, as_json: bool) -> int:
    """Remove the dynamic member INTERFACE from QUEUE (QueueRemove).

    The PBX refuses a queue that does not exist, an interface that is not a
    member, and a static member (one from queues.conf): one line on stderr,
    exit 1.  Needs write=agent.

    \b
    Example:
      ami queues remove sales PJSIP/2002
    """
    from .. import queues as lib

    return _act(lib.remove_request(queue, interface), as_json, f"removed {interface} from queue {queue}")


@queues.command("pause")
@click.argument("interface", callback=one_line)
@click.option("--queue", metavar="QUEUE", callback=one_line, help="Only in this queue [default: every queue it is in].")
@click.option(
    "--reason", metavar="TEXT", callback=one_line, help="Why (shown as PausedReason). Example: --reason lunch"
)
@json_option
def pause(interface: str, queue: str | None, reason: str | None, as_json: bool) -> int:
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
    return _act(lib.pause_request(interface, True, queue, reason), as_json, f"paused {interface} {where}{why}")


@queues.command("unpause")
@click.argument("interface", callback=one_line)
@click.option("--queue", metavar="QUEUE", callback=one_line, help="Only in this queue [default: every queue it is in].")
@click.option(
    "--reason",
    metavar="TEXT",
    callback=one_line,
    help="Why (sent as Reason; the PBX logs it with the unpause). Example: --reason back",
)
@json_option
def unpause(interface: str, queue: str | None, reason: str | None, as_json: bool) -> int:
    """Unpause member INTERFACE (QueuePause with Paused: false).

    \b
    Examples:
      ami queues unpause PJSIP/2002
      ami queues unpause PJSIP/2002 --reason back
    """
    from .. import queues as lib

    where = f"in queue {queue}" if queue else "in all its queues"
    why = f" (reason: {reason})" if reason else ""
    return _act(lib.pause_request(interface, False, queue, reason), as_json, f"unpaused {interface} {where}{why}")
