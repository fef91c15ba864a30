"""``ami events``: the PBX's event stream, filtered, as text, AMI or JSON Lines."""

from __future__ import annotations

import click

from ..completion_values import complete_event_names, complete_mask_classes
from ..errors import ExitCode
from ..eventnames import EVENT_CLASSES
from ..output import report
from .events_end import freeze_startup, report_drops


def _check_mask(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    words = [w.strip().lower() for w in value.split(",") if w.strip()]
    if not words:
        raise click.BadParameter("give one or more event classes, e.g. call,cdr")
    for word in words:
        if word not in EVENT_CLASSES and word not in ("all", "on"):
            raise click.BadParameter(f"unknown event class {word!r}; classes: {', '.join(EVENT_CLASSES)}, all")
    return ",".join(words)


def _check_filters(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> list:
    from ..events import parse_filter

    tests = []
    for text in value:
        try:
            tests.append(parse_filter(text))
        except ValueError as exc:
            raise click.BadParameter(str(exc)) from None
    return tests


def _check_server_filters(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> list[str]:
    from ..events import check_server_filter

    for pattern in value:
        if not pattern or pattern == "!":
            raise click.BadParameter("an empty regular expression")
        if "\r" in pattern or "\n" in pattern:
            raise click.BadParameter(f"{pattern!r}: a line break cannot be sent in a header")
        try:
            check_server_filter(pattern)
        except ValueError as exc:
            raise click.BadParameter(str(exc)) from None
    return list(value)


@click.command()
@click.option(
    "--event",
    "-e",
    "names",
    multiple=True,
    metavar="NAME",
    shell_complete=complete_event_names,
    help="Only events of this name (case-insensitive); repeat for any of several. Example: -e Hangup -e Cdr",
)
@click.option(
    "--filter",
    "-f",
    "tests",
    multiple=True,
    metavar="EXPR",
    callback=_check_filters,
    help="Only events whose header matches: Key=Value, Key!=Value, Key~REGEX, Key!~REGEX; repeat and all "
    "must hold. Example: -f Context=default -f 'Channel~^PJSIP/'",
)
@click.option(
    "--mask",
    metavar="CLASSES",
    callback=_check_mask,
    shell_complete=complete_mask_classes,
    help="Ask the PBX for these event classes only (the Login Events mask): system, call, cdr, agent, user, "
    "dialplan, ... Example: --mask call,cdr",
)
@click.option(
    "--server-filter",
    "server_filters",
    multiple=True,
    metavar="REGEX",
    callback=_check_server_filters,
    help="Ask the PBX to send only events whose text matches REGEX (the Filter action; '!REGEX' excludes). "
    "REGEX is POSIX: \\r is not a carriage return, end a name with [[:space:]] so Hangup leaves out "
    "HangupRequest. Without the permission for it, filters here instead, reading REGEX the same way. "
    "Example: --server-filter 'Event: Hangup[[:space:]]'",
)
@click.option("--count", "-n", type=click.IntRange(min=1), metavar="N", help="Exit 0 after N matching events.")
@click.option(
    "--timeout",
    "-t",
    "duration",
    type=click.FloatRange(min=0, min_open=True),
    metavar="SECONDS",
    help="Stop after SECONDS: exit 0, or 1 if --count was given and not reached. Example: -n 1 -t 30",
)
@click.option("--json", "as_json", is_flag=True, help="JSON Lines: one object per event, keys as Asterisk names them.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "ami", "json"]),
    default=None,
    help="text: one line per event [default]; ami: the messages as received; json: as --json.",
)
@click.option(
    "--buffer",
    "buffer_size",
    type=click.IntRange(1, 10_000_000),
    default=None,
    metavar="N",
    help="Events held while the output is slow [default: 10000]; past that they are dropped and counted.",
)
@click.option("--reconnect", is_flag=True, help="When the connection drops or the PBX restarts, reconnect and go on.")
@click.option(
    "--keepalive",
    type=click.FloatRange(min=0, min_open=True),
    metavar="SECONDS",
    help="Send a Ping every SECONDS; no answer within the global --timeout means the connection is dead.",
)
@click.option(
    "--fields",
    metavar="A,B,...",
    help="Only these headers (any case): the JSON keys kept, or the fields of each line. Example: --fields Cause",
)
def events(
    names: tuple[str, ...],
    tests: list,
    mask: str | None,
    server_filters: list[str],
    count: int | None,
    duration: float | None,
    as_json: bool,
    fmt: str | None,
    buffer_size: int | None,
    reconnect: bool,
    keepalive: float | None,
    fields: str | None,
) -> int:
    """Stream the events the PBX sends, until interrupted.

    Each event is printed as it arrives: one line for people (time, event
    name, the fields that say what happened), --format ami as received, or
    --json as JSON Lines.  The time is the PBX's Timestamp header when it
    sends one (timestampevents = yes), else the time of receipt (JSON: a
    "Received" key): epoch seconds as a string, as Timestamp is, so
    `(.Timestamp // .Received) | tonumber` works for every line.  The stream
    includes what the session gets right after the login (FullyBooted,
    SuccessfulAuth); --event leaves them out.  Each JSON line is written
    whole and flushed with its batch: a pipe reader never waits on buffered
    output and never sees half a line.

    Choosing events here costs nothing at the PBX: -e names match without
    case (any of them); -f filters all must hold, Key=Value exactly,
    Key!=Value, Key~REGEX (a Python regular expression found anywhere in the
    value) or Key!~REGEX; a missing header is not equal and does not match; a
    header sent twice matches when any of its values does.  Choosing at the
    PBX saves traffic: --mask is the Login Events mask (system, call, log,
    verbose, command, agent, user, config, dtmf, reporting, cdr, dialplan,
    originate, agi, cc, aoc, test, security, message, or all; the user's
    read= still applies); --server-filter sends Asterisk's Filter action,
    which matches the event's `Key: Value` text with a POSIX regular
    expression, so 'Event: Hangup' also lets HangupRequest through: end the
    name with 'Event: Hangup[[:space:]]' (\\r is the letter r in POSIX).  A
    user without write=system gets one note and the same filter applied
    here, read the same way.

    Reading never waits on the output: if the consumer cannot keep up,
    events past --buffer are dropped and the number is reported on stderr
    (at most once a second while dropping, and in all at exit).

    With --reconnect, a dropped connection or a PBX stop or restart (Event:
    Shutdown) is followed by reconnecting with capped, jittered backoff
    (0.25-0.5 s, doubling up to 15-30 s), with the same login, mask and
    filters; stderr says when the stream was cut and when it resumed (the
    events in between are lost).  A refused login then ends it with status
    4.  --timeout here is the stream's duration; the global `ami --timeout`
    still bounds connecting and each reply, and with --keepalive, how long a
    Ping may go unanswered before the connection counts as dead.

    With several PBXs, their streams are merged: each event carries
    "Server" (text: a 'SERVER: ' prefix), --reconnect works per PBX and
    --count counts across them.

    Exit status: 0 when interrupted by --timeout or done with --count (or
    when the reader of the output goes away), 1 when --count was not reached
    by --timeout, 130 on Ctrl-C (after a Logoff), and the usual codes when
    the connection fails or is lost (3; 5 for a dead peer found by
    --keepalive).

    \b
    Examples:
      ami events
      ami events --json --event Hangup | jq -r .Cause
      ami events -e Cdr --json >> cdr.jsonl
      ami events -n 1 -t 60 -e UserEvent -f UserEvent=Deploy   # wait for one event
      ami events --mask call --reconnect --keepalive 30
    """
    from ..events import DEFAULT_BUFFER, EventFilter, ServerFilter, StreamOptions

    if as_json and fmt not in (None, "json"):
        raise click.UsageError(f"--json and --format {fmt} do not go together")
    event_filter = EventFilter(names, tests)
    connect = _Connector(mask, server_filters, event_filter, ServerFilter(server_filters) if server_filters else None)
    output = "json" if as_json else (fmt or "text")
    from ..output import parse_fields

    chosen = parse_fields(fields)
    if chosen and output == "ami":
        raise click.UsageError("--fields goes with the text or JSON format, not --format ami")
    options = StreamOptions(output, count, duration, buffer_size or DEFAULT_BUFFER, reconnect, keepalive)
    from ..events.formats import FieldsFormat

    formatter = FieldsFormat(chosen, as_json=output == "json") if chosen else None
    if len(connect.app.fleet()) > 1:
        from .events_fleet import stream_fleet

        return stream_fleet(connect.app, connect, options, event_filter, connect.emulated, formatter)
    client, early = connect()
    return _stream(connect, client, early, options, event_filter, formatter)


class _Connector:
    """Opens a logged-in session for the stream (again on --reconnect) and sets its server filters."""

    def __init__(self, mask: str | None, server_filters: list[str], event_filter, emulated) -> None:
        from ..context import get_app

        self.app = get_app()
        self.mask = mask
        self.server_filters = server_filters
        self.event_filter = event_filter
        #: The filters done here when the user may not use the Filter action.
        self.emulated = emulated
        self.noted = False

    def __call__(self, settings=None):
        """A session to the one PBX, or to ``settings`` (one PBX of a fleet), and its early events."""
        client = self.app.session(events=self.mask or "on", keep_events=True, settings=settings)
        try:
            self._add_filters(client, settings or self.app.settings())
            # The events received so far; a zero timeout drains what was
            # read and parsed without waiting for more.
            early = []
            while (event := client.next_event(0)) is not None:
                early.append(event)
            client.keep_events = False
        except BaseException:
            client.close()
            raise
        return client, early

    def _add_filters(self, client, settings) -> None:
        from ..errors import ActionError

        for pattern in self.server_filters:
            reply = client.request([("Action", "Filter"), ("Operation", "Add"), ("Filter", pattern)])
            if reply.ok:
                continue
            if reply.message.lower() == "permission denied":
                # Filter needs write=system: do the same work here.
                if not self.noted:
                    self.noted = True
                    report(
                        f"user {settings.user!r} may not use the Filter action (it needs "
                        "write=system in manager.conf); filtering here instead",
                        "note",
                    )
                self.event_filter.server = self.emulated
                return
            raise ActionError(f"--server-filter {pattern!r}: the PBX refused it: {reply.message or 'error'}")


def _stream(connect: _Connector, client, early, options, event_filter, formatter=None) -> int:
    """Run the stream to its end; the exit status from how it ended."""
    import sys

    from ..events import EventStream

    try:
        sys.stdout.flush()
        freeze_startup()
        # Events that came before the Filter action took effect are held to it here.
        stream = EventStream(
            connect,
            client,
            early,
            options,
            event_filter,
            out_fd=sys.stdout.fileno(),
            report=report,
            early_filter=connect.emulated,
            formatter=formatter,
        )
        result = stream.run()
    except BaseException:
        client.close()
        raise
    report_drops(result, options)
    if not stream.reader_alive:
        try:
            stream.client.close()  # Logoff (when the connection is still up)
        except KeyboardInterrupt:
            return ExitCode.INTERRUPTED
    return _exit_status(result, options.count)


def _exit_status(result, count: int | None) -> int:
    if result.reason == "interrupted":
        return ExitCode.INTERRUPTED
    if result.reason in ("count", "pipe"):
        return ExitCode.OK
    if result.reason == "timeout":
        return ExitCode.ACTION_FAILED if count is not None else ExitCode.OK
    if result.error is not None:
        raise result.error
    return ExitCode.OK
