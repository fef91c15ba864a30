"""``ami originate``: place calls and report how each one ended."""

from __future__ import annotations

import sys

import click

from ..context import get_app
from ..errors import AmiError, ExitCode
from ..options import output_options
from ..output import report
from .batch_input import input_may_wait, open_batch

#: Exit statuses this command adds to the general ones: how a placed call ended.
EXTRA_EXIT_CODES = (
    ExitCode.BUSY,
    ExitCode.NO_ANSWER,
    ExitCode.CONGESTION,
    ExitCode.CALL_FAILED,
    ExitCode.OUTCOME_UNKNOWN,
)

EPILOG = """\b
Exit status (one call):
  0   answered (or queued, with --no-wait)
  10  busy                 11  no answer (rang until --timeout)
  12  congestion           13  other failure (no such channel, hung up, ...)
  14  outcome unknown: queued, but no OriginateResponse came (no call events
      on this session, or none within --timeout + --grace); do not retry blindly
  1   the PBX refused the action (invalid channel, extension does not exist)
  4   permission denied (the user lacks write=originate)
  2 usage, 3 cannot connect, 5 no reply, 6 protocol, 7 configuration, 8 TLS
With --batch: 0 when every call ended answered, else the status of the first
line (in input order) that did not (a bad line counts as 2).
With several PBXs (-H a,b): a single call is a usage error; a batch
line's "server" column (a profile name, or host:port) places the call on
that PBX, a line without one on the first; results carry "Server".

\b
Examples:
  ami originate Local/100@default --app Wait --data 1
  ami originate PJSIP/alice --exten 200 --context internal --caller-id '"Ops" <9025>'
  ami originate PJSIP/bob --exten s --context wakeup --timeout 45 --var ROOM=212 --json
  ami originate Local/200@default --app Wait --data 600 --no-wait --json | jq -r .ActionID
  ami originate --batch calls.csv --parallel 5 > results.jsonl
  printf '{"channel":"Local/100@default","app":"Wait","data":"1"}\\n' | ami originate --batch -
  # a wake-up call: try again when nobody answered, never when the outcome is unknown
  ami originate "PJSIP/$ROOM" --exten s --context wakeup --timeout 45
  case $? in 0) echo answered ;; 10|11) echo "try again in 5 minutes" ;; 14) echo "check ami events" >&2 ;; esac
"""


def _positive(ctx: click.Context, param: click.Parameter, value: float | None) -> float | None:
    if value is not None and not value > 0:
        raise click.BadParameter("must be more than 0 seconds")
    return value


#: The shortest --grace: the PBX reports an unanswered call at the ring
#: timeout itself, so with no grace at all its report would race the deadline.
MIN_GRACE = 0.1


def _grace(ctx: click.Context, param: click.Parameter, value: float) -> float:
    if not (MIN_GRACE <= value <= 86400):
        raise click.BadParameter(
            f"must be {MIN_GRACE:g} seconds or more (the PBX reports no answer at the ring timeout itself, "
            "and its report needs time to arrive)"
        )
    return value


@click.command(epilog=EPILOG)
@click.argument("channel", required=False, metavar="[CHANNEL]")
@click.option("--exten", metavar="EXTEN", help="Connect the answered call to this extension. Example: --exten 200")
@click.option("--context", metavar="CONTEXT", help="Dialplan context of --exten [default: default].")
@click.option("--priority", metavar="PRIORITY", help="Priority (number or label) of --exten [default: 1].")
@click.option("--app", metavar="APPLICATION", help="Run this application on the answered call. Example: --app Playback")
@click.option("--data", metavar="DATA", help="Arguments of --app. Example: --app Playback --data tt-monkeys")
@click.option(
    "--caller-id", metavar="CALLERID", help="Caller ID shown to the callee. Example: --caller-id '\"Ops\" <9025>'"
)
@click.option(
    "--timeout",
    type=float,
    default=None,
    metavar="SECONDS",
    callback=_positive,
    help="Ring for at most SECONDS before giving up [default: 30]. (The global `ami --timeout` is for replies.)",
)
@click.option(
    "--var",
    "variables",
    multiple=True,
    metavar="KEY=VALUE",
    help="Set a channel variable; repeatable. Commas, quotes and '=' in VALUE arrive intact. "
    "Example: --var MSG='a,b=c' --var ROOM=212",
)
@click.option("--account", metavar="CODE", help="Account code of the new channel (CDRs).")
@click.option("--codecs", metavar="LIST", help="Codecs to offer, comma-separated. Example: --codecs ulaw,alaw")
@click.option("--channel-id", metavar="ID", help="Uniqueid to give the new channel (the outbound side).")
@click.option("--other-channel-id", metavar="ID", help="Uniqueid for the other half of a Local channel.")
@click.option("--early-media", is_flag=True, help="Connect the target as soon as there is early media.")
@click.option(
    "--no-wait",
    is_flag=True,
    help="Return once the PBX has queued the call (exit 0) and print its ActionID; "
    "the outcome then shows in `ami events` as OriginateResponse with that ActionID.",
)
@click.option(
    "--grace",
    type=float,
    default=3.0,
    show_default=True,
    metavar="SECONDS",
    callback=_grace,
    help="Wait this much past --timeout for the outcome; also the longest wait for the first call event "
    "after the call is queued, before deciding the session gets none. At least 0.1: the PBX reports no "
    "answer at the ring timeout itself.",
)
@click.option(
    "--batch",
    type=click.Path(dir_okay=False, allow_dash=True),
    metavar="FILE",
    help="Place one call per line of FILE ('-': stdin): JSON Lines with the option names as keys, or CSV "
    "with a header row. Prints one JSON line per call as each ends.",
)
@click.option(
    "--parallel",
    type=click.IntRange(1, 1000),
    default=1,
    show_default=True,
    metavar="N",
    help="With --batch: at most N calls in flight at once, on one connection.",
)
@output_options
def originate(
    no_wait: bool,
    grace: float,
    batch: str | None,
    parallel: int,
    as_json: bool,
    fmt: str | None,
    fields: str | None,
    no_headers: bool,
    **call: object,
) -> int:
    """Place a call to CHANNEL and report how it ended.

    When CHANNEL answers, it is connected to an extension (--exten, with
    --context and --priority) or to an application (--app, with --data):
    give exactly one.  By default the command waits for the outcome and
    prints it: answered, busy, no-answer, congestion or failed, with the
    PBX's reason code and words, the channel, its unique ID and the target.
    A table by default; --json prints one object.  The exit status tells
    the outcome (below).  A call is never retried: a retried call rings
    someone twice.

    Waiting needs a user that may read `call` events (read=call in
    manager.conf); without it the command says so after --grace seconds
    (exit 14), and --no-wait still works.

    CHANNEL is a dial string: PJSIP/101, SIP/trunk/5551234,
    Local/100@default; left out with --batch, where each line names its own.

    How it waits: it logs in asking for call events only, sends Originate with
    Async: true and its own ActionID, and waits for the OriginateResponse event
    with that ActionID, never past the ring timeout plus --grace.  Asterisk
    publishes Newchannel (or the OriginateResponse itself) right after
    queueing the call, before any ringing, so when no event at all comes
    within --grace the session gets no call events: `ami` stops waiting,
    exit 14, naming read=call and --no-wait.  The call may still ring.

    \b
    --json keys: the OriginateResponse headers as Asterisk sent them
    (ActionID, Response Success or Failure, Channel, Context/Exten/Priority
    or Application/Data, Reason, Uniqueid, CallerIDNum, CallerIDName), and:
      Outcome     answered, busy, no-answer, congestion, failed, unknown,
                  queued (--no-wait), refused (batch)
      ReasonText  the Reason in words (Reason: 4 answered, 5 busy, 3 rang
                  without answer, 8 congestion, 1 hung up, 0 other failure)
      ExitCode    this call's exit status
      Seconds     from queued to outcome
      Message     the PBX's message when it refused (batch) or queued the call
      Error       why the outcome is unknown or the call refused
      Line        the batch line of the call

    Batch mode: --batch FILE ('-': stdin) reads one call per line and places
    them on one connection, at most --parallel at once, printing one JSON line
    per call as each ends (Line tells which).  A first line starting with {
    means JSON Lines, anything else a CSV header row.  Keys and columns are
    the option names (channel, exten, context, priority, app, data,
    caller_id, timeout, var, account, codecs, channel_id, other_channel_id,
    early_media; - or _).  In JSON var is an object, a list of KEY=VALUE or
    one KEY=VALUE; in CSV a var column holds one KEY=VALUE and a var:NAME
    column the value of NAME.  Options on the command line are defaults for
    every line.  A bad line is reported on stderr with its number and
    skipped; the rest still run.

    On `ami sim`, Local channels run the recorded PBX's dialplan ([default]:
    100 answers and hangs up after 2 s, 200 answers and waits, busy, congest,
    noanswer, echo, event raises a UserEvent; 300 and 400 enter the queues);
    any other technology fails as one not loaded.
    """
    from ..options import make_output
    from .call_results import RESULT_FIELDS

    spec = _base_spec(batch, **call)  # type: ignore[arg-type]
    if batch is not None:
        if fmt is not None or no_headers:
            raise click.UsageError("--batch prints JSON Lines: --fmt and --no-headers do not apply")
        out = make_output(True, None, fields, False, valid=RESULT_FIELDS)
        return _run_batch(batch, spec, parallel, grace, not no_wait, out)
    if parallel != 1:
        raise click.UsageError("--parallel goes with --batch")
    out = make_output(as_json, fmt, fields, no_headers, valid=RESULT_FIELDS)
    return _run_one(spec, grace, not no_wait, out)


def _run_one(spec, grace: float, wait: bool, out) -> int:
    """Place one call and print its result (then the error, when the outcome is not known)."""
    from .. import originate as lib
    from .call_results import exit_code, record, table_columns, worded

    results: list = []
    failure: AmiError | None = None
    progress = TerminalProgress() if sys.stderr.isatty() else None
    with get_app().session(events="call" if wait else "off", keep_events=wait) as client:
        try:
            results.extend(lib.run_calls(client, [spec], grace=grace, wait=wait, progress=progress))
        except KeyboardInterrupt:
            if progress is not None:
                progress.interrupted(spec)
            raise
        except AmiError as exc:
            # The session cannot tell the outcome (no call events, connection lost):
            # the call, queued or not, is printed first, then the error.
            if not results:
                raise
            failure = worded(exc) if isinstance(exc, lib.NoCallEvents) else exc
    if progress is not None:
        progress.clear()
    result = results[0]
    if result.outcome == lib.REFUSED:
        # The PBX refused the action itself: an error, nothing was placed.
        from ..client import error_for

        if result.reply is not None:
            raise error_for(result.reply, result.spec.headers(result.action_id))
        raise lib.OutcomeUnknown(result.error or "Originate refused")
    if out.json:
        out.emit_json(record(result))
    else:
        out.rows([record(result)], table_columns(spec, result.outcome))
    if failure is not None:
        raise failure
    if result.outcome == lib.UNKNOWN:
        report(f"call to {spec.channel}: {result.error} (ActionID {result.action_id})", "error")
    return exit_code(result)


def _base_spec(
    batch: str | None,
    channel: str | None,
    exten: str | None,
    context: str | None,
    priority: str | None,
    app: str | None,
    data: str | None,
    caller_id: str | None,
    timeout: float | None,
    variables: tuple[str, ...],
    account: str | None,
    codecs: str | None,
    channel_id: str | None,
    other_channel_id: str | None,
    early_media: bool,
):
    """The call the options describe (for --batch: the defaults of every line)."""
    from .. import originate as lib

    if exten is not None and app is not None:
        raise click.UsageError("give either --exten or --app, not both")
    if app is not None and (context is not None or priority is not None):
        raise click.UsageError("--context and --priority go with --exten, not with --app")
    if data is not None and app is None and batch is None:
        # With --batch, options are defaults: a line may name the app.
        raise click.UsageError("--data goes with --app")
    pairs = []
    for text in variables:
        try:
            pairs.append(lib.parse_var(text))
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--var") from None
    spec = lib.CallSpec(
        channel=channel or "",
        exten=exten,
        context=context,
        priority=priority,
        app=app,
        data=data,
        caller_id=caller_id,
        timeout=timeout if timeout is not None else lib.DEFAULT_RING_TIMEOUT,
        variables=pairs,
        account=account,
        codecs=codecs,
        channel_id=channel_id,
        other_channel_id=other_channel_id,
        early_media=early_media,
    )
    if batch is not None:
        if channel:
            raise click.UsageError("with --batch, each line names its channel: give no CHANNEL")
        if channel_id or other_channel_id:
            raise click.UsageError("--channel-id and --other-channel-id differ per call: put them in the batch lines")
        return spec
    if not channel:
        raise click.UsageError("missing CHANNEL (or --batch FILE)")
    if exten is None and app is None:
        raise click.UsageError("give a target: --exten EXTEN or --app APPLICATION")
    try:
        return spec.check()
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None


def _run_batch(name: str, defaults, parallel: int, grace: float, wait: bool, out) -> int:
    from .. import originate as lib
    from .call_results import BatchStatus, record, worded

    if name == "-" and get_app().secret_file == "-":
        raise click.UsageError("--batch - and --secret-file - cannot both read stdin")
    if len(get_app().fleet()) > 1:
        from .originate_fleet import run_fleet_batch

        return run_fleet_batch(name, defaults, parallel, grace, wait, out)
    stream = open_batch(name)
    # Only the status so far is kept, never the results: memory stays flat
    # however long the batch (or an endless stdin).
    status = BatchStatus()
    shown = "stdin" if name == "-" else name
    try:
        with get_app().session(events="call" if wait else "off", keep_events=wait) as client:
            calls = lib.run_calls(
                client,
                lib.read_batch(stream, defaults),
                parallel=parallel,
                grace=grace,
                wait=wait,
                input_waits=input_may_wait(stream),
            )
            for item in calls:
                status.add(item)
                if isinstance(item, lib.BadLine):
                    report(f"{shown} line {item.line}: {item.reason}; line skipped", "error")
                else:
                    out.emit_json(record(item))
    except lib.NoCallEvents as exc:
        raise worded(exc) from None
    except OSError as exc:
        raise click.BadParameter(f"cannot read {shown}: {exc.strerror or exc}", param_hint="--batch") from None
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()
    return status.code


class TerminalProgress:
    """On a terminal: one stderr line, rewritten in place, saying what the call waits for.

    Ctrl-C then says whether the call may still ring, and its ActionID (to
    find it in the PBX's log).  Never used when stderr is not a terminal.
    """

    def __init__(self) -> None:
        self.action_id: str | None = None
        self.queued = False
        self.shown = False

    def __call__(self, spec, action_id: str, queued: bool, seconds: float) -> None:
        self.action_id, self.queued = action_id, queued
        if queued:
            what = f"ringing, waiting for an answer: {seconds:.0f} s of {spec.ring_timeout:g} s"
        else:
            what = f"waiting for the PBX to queue it: {seconds:.0f} s"
        sys.stderr.write(f"\r\x1b[Kami: calling {spec.channel}: {what}")
        sys.stderr.flush()
        self.shown = True

    def clear(self) -> None:
        if self.shown:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()
            self.shown = False

    def interrupted(self, spec) -> None:
        self.clear()
        if self.action_id is None:
            text = f"interrupted before the call to {spec.channel} was sent: it will not ring"
        elif self.queued:
            text = f"interrupted: the call to {spec.channel} was queued and may still ring (ActionID {self.action_id})"
        else:
            text = (
                f"interrupted: the call to {spec.channel} was sent, not yet queued, and may still ring "
                f"(ActionID {self.action_id})"
            )
        sys.stderr.write(f"ami: {text}\n")
        sys.stderr.flush()
