"""``ami channels``: the channels up now, counted, filtered, or hung up.

``ami channels [PATTERN]`` is short for ``ami channels list [PATTERN]``; a
channel whose name is a subcommand's (``hangup``, ``list``) is reached with
``ami channels -- hangup``.
"""

from __future__ import annotations

import re

import click

from ..completion_values import complete_states
from ..context import get_app
from ..errors import ExitCode
from ..options import make_output, one_line, output_options
from ..output import report
from . import tables
from .default_group import DefaultGroup
from .queues import fleet_fields
from .watching import check_watch, run_watch, table_text, watch_option

#: The columns kept first when the terminal is narrow.
PRIORITY = [
    "Channel",
    "State",
    "Duration",
    "CallerID",
    "Location",
    "App",
    "Connected",
    "BridgeId",
    "Uniqueid",
    "Linkedid",
]


def channel_schema():
    """What a channel row holds, for --fields and the table (amicli.rowtext.Schema)."""
    from .. import channels as lib
    from ..rowtext import Schema

    return Schema(
        json_keys=fleet_fields(lib.KNOWN_FIELDS),
        columns=tables.TABLE_COLUMNS,
        titles=tables.TABLE_TITLES,
        priority=PRIORITY,
        table_row=lambda row: tables.table_row(row, False),  # type: ignore[arg-type]
    )


STATE_HELP = "up, ring, ringing, down, busy, dialing, offhook, rsrvd, dialing-offhook, pre-ring (or 0-9)"


def _states(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> list[int]:
    from ..channels import parse_state

    out = []
    for item in value:
        for word in item.split(","):
            try:
                out.append(parse_state(word))
            except ValueError as exc:
                raise click.BadParameter(str(exc)) from None
    return out


def _regex(ctx: click.Context, param: click.Parameter, value: str | None) -> re.Pattern[str] | None:
    if value is None:
        return None
    one_line(ctx, param, value)
    try:
        return re.compile(value)
    except re.error as exc:
        raise click.BadParameter(f"not a valid regular expression: {exc}") from None


EPILOG = """\b
Exit status: 0 done, 1 the PBX refused or a channel is gone (or --match
matched nothing), 2 usage (also: several channels match and --yes is
missing), 4 permission denied, 9 some of several PBXs failed.  With
several PBXs, rows carry a Server column and hangup acts on each PBX
where the channels are up (--dry-run shows which).

\b
Examples:
  ami channels                                 # everything up now
  ami channels 'PJSIP/*' --state up
  ami channels --count                         # for cron and graphs
  ami channels --json | jq -r 'select(.DurationSeconds > 3600) | .Channel'
  ami channels hangup PJSIP/1001-0000002a
  ami channels hangup --match '^Local/200@' --dry-run
"""


@click.group(cls=DefaultGroup, epilog=EPILOG)
def channels() -> None:
    """Channels up now (CoreShowChannels); count or hang them up.

    `ami channels [PATTERN]` is `ami channels list [PATTERN]`.
    """


@channels.command("list")
@click.argument("pattern", required=False, callback=one_line)
@click.option(
    "--state",
    "states",
    multiple=True,
    callback=_states,
    shell_complete=complete_states,
    metavar="STATE",
    help=f"Only channels in this state; repeat or comma-separate for several: {STATE_HELP}. Example: --state up",
)
@click.option("--count", is_flag=True, help="Print only the number of matching channels.")
@watch_option
@output_options
def list_channels(
    pattern: str | None,
    states: list[int],
    count: bool,
    watch: float | None,
    as_json: bool,
    fmt: str | None,
    fields: str | None,
    no_headers: bool,
) -> int:
    """One row per channel up now (CoreShowChannels).

    PATTERN is a shell-style glob on the channel name ('PJSIP/*',
    '*;2'); a PATTERN without * ? or [ matches the names that start with it
    (PJSIP/1001 finds PJSIP/1001-0000002a).

    \b
    Columns: Channel, State, Caller ID, Connected line, Exten@Context:Prio,
    Application(Data), Duration, Bridge, Unique ID, Linked ID.
    --json: the CoreShowChannel headers (ChannelState and Priority as
    numbers) and DurationSeconds beside Duration.

    State is ChannelStateDesc, else ChannelState decoded (0 Down, 1 Rsrvd,
    2 OffHook, 3 Dialing, 4 Ring, 5 Ringing, 6 Up, 7 Busy, 8 Dialing Offhook,
    9 Pre-ring).  Linked ID is the Uniqueid of the call's first channel.  Also
    with --fields: Language and AccountCode.  Asterisk 11 spells UniqueID and
    Extension and has BridgedChannel instead of BridgeId and no Linkedid: the
    table reads those as aliases, and the JSON keeps what the PBX sent.

    \b
    Examples:
      ami channels
      ami channels 'Local/*' --state up,ringing
      ami channels --count --state ringing
      ami channels --json --fields Channel,DurationSeconds
      ami channels --watch
    """
    from .. import channels as lib

    check_watch(watch, as_json, count)
    out = make_output(as_json, fmt, fields, no_headers, schema=channel_schema())
    if watch is not None:
        return _watch_channels(out, pattern, states, watch)
    if len(get_app().fleet()) > 1:
        from .channels_fleet import list_fleet

        return list_fleet(out, pattern, states, count)
    with get_app().session(need_booted=True) as client:
        if count:
            click.echo(str(lib.count_channels(client, pattern, states)))
            return ExitCode.OK
        rows = lib.fetch_channels(client)
    rows = lib.filter_channels(rows, pattern, states)
    _write_channels(out, rows, empty="no channels")
    return ExitCode.OK


def _watch_channels(out, pattern: str | None, states: list[int], interval: float) -> int:
    from .. import channels as lib
    from ..live import CHANNEL_TRIGGERS

    def render(client) -> tuple[str, str]:
        rows = lib.filter_channels(lib.fetch_channels(client), pattern, states)
        totals = f"{len(rows)} channel{'s' if len(rows) != 1 else ''}"
        return totals, table_text(out, lambda o: _write_channels(o, rows)) if rows else "(no channels)\n"

    return run_watch(render, title="ami channels", interval=interval, triggers=CHANNEL_TRIGGERS, events="call,system")


def _write_channels(out, rows: list[dict[str, object]], empty: str | None = None) -> int:
    """Print the channels (JSON Lines or a table, derived by the output's schema); return how many."""
    return out.rows(rows, empty=empty, flush=False)


@channels.command("hangup")
@click.argument("names", nargs=-1, metavar="[CHANNEL]...", callback=one_line)
@click.option(
    "--match",
    "regex",
    metavar="REGEX",
    callback=_regex,
    help="Hang up every channel whose name matches REGEX (Python syntax, searched anywhere in the "
    "name: anchor with ^ and $). Example: --match '^PJSIP/1001-'",
)
@click.option("--yes", is_flag=True, help="With --match: go ahead when more than one channel matches.")
@click.option("--dry-run", is_flag=True, help="Show what would be hung up, and hang up nothing.")
@click.option(
    "--cause",
    type=click.IntRange(0, 127),
    metavar="N",
    help="Hangup cause code (Q.850). Example: --cause 16 (normal clearing)",
)
@output_options
def hangup(
    names: tuple[str, ...],
    regex: re.Pattern[str] | None,
    yes: bool,
    dry_run: bool,
    cause: int | None,
    as_json: bool,
    fmt: str | None,
    fields: str | None,
    no_headers: bool,
) -> int:
    """Hang up channels by name, or every channel matching --match REGEX.

    Named channels are hung up at once; one that is gone (or never was)
    comes out as one line on stderr and exit 1, the others are still hung
    up.  With --match, the matching channels are listed first
    (CoreShowChannels) and hung up by name, so only channels you were shown
    go: when more than one matches, --yes is needed.  Each channel hung up
    is printed (--json: one object each).  Needs write=system or call (and
    system or reporting to list for --match).

    CHANNEL is a full channel name (PJSIP/1001-0000002a).  A name written
    /regex/ is passed to the PBX as it is (its own POSIX regular expression;
    Asterisk 13 and later), and the channels it reports in ChannelHungup
    events are printed.  --match that matches nothing is `ami: error: no
    channel matches 'REGEX'`, exit 1, as grep; a matched channel gone
    meanwhile (typically the other half of a Local channel, which goes with
    the first) is noted on stderr and is not a failure.  --dry-run prints the
    rows of the channels that would be hung up.

    \b
    Examples:
      ami channels hangup PJSIP/1001-0000002a
      ami channels hangup --match '^Local/200@default-' --dry-run
      ami channels hangup --match ';2$' --yes --json
    """

    if regex is not None and names:
        raise click.UsageError("give channel names or --match REGEX, not both")
    if regex is None and not names:
        raise click.UsageError("give the channels to hang up, or --match REGEX")
    out = make_output(as_json, fmt, fields, no_headers, schema=channel_schema())
    if len(get_app().fleet()) > 1:
        from .channels_fleet import hangup_fleet

        return hangup_fleet(out, list(names), regex, yes, dry_run, cause)
    with get_app().session(need_booted=True) as client:
        if regex is not None:
            return _hangup_matching(client, out, regex, yes, dry_run, cause)
        return _hangup_named(client, out, list(names), dry_run, cause)


def _hangup_named(client, out, names: list[str], dry_run: bool, cause: int | None) -> int:
    from .. import channels as lib

    if dry_run:
        return _dry_run_named(client, out, names)
    failed = False
    done: list[dict[str, object]] = []
    for name, result in lib.hangup_many(client, names, cause):
        if isinstance(result, Exception):
            report(str(result), "error")
            failed = True
        elif not result:
            # A /regex/ that matched nothing: the same failure as a name that is not up.
            report(no_match(name), "error")
            failed = True
        else:
            done.extend({"Channel": gone} for gone in result)
    if done:
        out.rows(done, ["Channel"], flush=False)
    return ExitCode.ACTION_FAILED if failed else ExitCode.OK


def no_match(name: str) -> str:
    """What `hangup` says when NAME (a channel, or a /regex/) matched no channel up now."""
    if is_regex_name(name):
        return f"no channel matches {name}"
    return f"no such channel: {name} (it is not up, or has already hung up)"


def is_regex_name(name: str) -> bool:
    """``/regex/``: Asterisk's Hangup takes a regular expression between slashes."""
    return len(name) >= 2 and name.startswith("/") and name.endswith("/")


def _dry_run_named(client, out, names: list[str]) -> int:
    from .. import channels as lib
    from ..posixre import posix_regex

    up = lib.fetch_channels(client)
    rows: list[dict[str, object]] = []
    failed = False
    for name in names:
        if is_regex_name(name):
            regex = posix_regex(name[1:-1])
            found = [row for row in up if regex.search(str(row.get("Channel", "")))]
        else:
            found = [row for row in up if str(row.get("Channel")) == name]
        if not found:
            report(no_match(name), "error")
            failed = True
        rows.extend(row for row in found if row not in rows)
    count = _write_channels(out, rows) if rows else 0
    report(f"dry run: {count} channel(s) would be hung up")
    return ExitCode.ACTION_FAILED if failed else ExitCode.OK


def _hangup_matching(client, out, regex: re.Pattern[str], yes: bool, dry_run: bool, cause: int | None) -> int:
    from .. import channels as lib

    matched = [row for row in lib.fetch_channels(client) if regex.search(str(row.get("Channel", "")))]
    if not matched:
        report(f"no channel matches {regex.pattern!r}", "error")
        return ExitCode.ACTION_FAILED
    if dry_run:
        count = _write_channels(out, matched)
        report(f"dry run: {count} channel(s) would be hung up")
        return ExitCode.OK
    if len(matched) > 1 and not yes:
        names = [str(row["Channel"]) for row in matched]
        shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
        report(
            f"{len(names)} channels match {regex.pattern!r} ({shown}); add --yes to hang them all up, "
            "or --dry-run to list them",
            "error",
        )
        return ExitCode.USAGE
    by_name = {str(row["Channel"]): row for row in matched}
    done: list[dict[str, object]] = []
    for name, result in lib.hangup_many(client, list(by_name), cause):
        if isinstance(result, lib.NoSuchChannel):
            # Gone between the listing and the hangup (often the other half of
            # a Local channel hung up just before): what was wanted.
            report(f"{name} had already hung up")
        elif isinstance(result, Exception):
            raise result
        else:
            done.extend(by_name.get(gone, {"Channel": gone}) for gone in result)
    _write_channels(out, done)
    return ExitCode.OK
