"""``ami check``: Monitoring Plugins (Nagios, Icinga, Naemon...) checks over AMI.

Each check prints one status line,
``AMI <CHECK> OK|WARNING|CRITICAL|UNKNOWN - text | perfdata``, the items at
fault below it, and exits 0, 1, 2 or 3.  Usage errors are UNKNOWN (3) too.
"""

from __future__ import annotations

import signal
import threading
from typing import Callable

import click

from ..context import get_app
from ..thresholds import Range, Result, Status, Thresholds, parse_pair, parse_range

#: Each check exits with these statuses instead of the ami ones (amicli/errors.py).
OWN_EXIT_STATUSES = Status

RANGES_HELP = """Ranges alert when the value is: 10 outside 0..10; 10: below 10; ~:10 above 10;
10:20 outside 10..20; @10:20 inside 10..20 (bounds included)."""

EPILOG = f"""\b
Exit status: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (usage, configuration,
the module is not loaded, or the PBX cannot tell).  Unreachable PBX, refused
login and -t timeout are CRITICAL.

\b
{RANGES_HELP}
Options taking WARN,CRIT accept either part empty: `--available 2:,` warns only.
With several PBXs (-H a,b or a --profile group): one counted status line
(AMI QUEUE OK - 12/12 PBXs OK), the worst state as the code, then a line
per PBX; perfdata labels start with the PBX's name (pbx1_time=...).

\b
Examples:
  ami check login -w 0.5 -c 2
  ami check queue support --waiting 5,10 --longest-wait 60,120 --available 2:,1:
  ami check endpoints 'trunk-*' --must-be-reachable trunk-up -c 1
  ami check registrations
  ami check channels -w 80 -c 100
"""


def _range(ctx: click.Context, param: click.Parameter, value: str | None) -> Range | None:
    if value is None:
        return None
    try:
        return parse_range(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _pair(ctx: click.Context, param: click.Parameter, value: str | None) -> Thresholds | None:
    if value is None:
        return None
    try:
        return parse_pair(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _positive(ctx: click.Context, param: click.Parameter, value: float | None) -> float | None:
    if value is not None and value <= 0:
        raise click.BadParameter("must be more than 0 seconds")
    return value


def warning_option(what: str, default: str | None = None):
    return click.option(
        "-w",
        "--warning",
        default=default,
        metavar="RANGE",
        callback=_range,
        help=f"WARNING when {what} is outside RANGE{f' [default: {default}]' if default else ''}.",
    )


def critical_option(what: str, default: str | None = None):
    return click.option(
        "-c",
        "--critical",
        default=default,
        metavar="RANGE",
        callback=_range,
        help=f"CRITICAL when {what} is outside RANGE{f' [default: {default}]' if default else ''}.",
    )


timeout_option = click.option(
    "-t",
    "--timeout",
    "check_timeout",
    type=float,
    default=None,
    metavar="SECONDS",
    callback=_positive,
    help="Give up after SECONDS in all (CRITICAL) [default: the global --timeout, 10].",
)


def pair_option(name: str, what: str, example: str):
    return click.option(
        name,
        default=None,
        metavar="WARN,CRIT",
        callback=_pair,
        help=f"Ranges for {what}. Example: {name} {example}",
    )


def _alarm(signum: int, frame: object) -> None:
    from ..errors import AmiTimeout

    raise AmiTimeout("the check did not finish within -t")


def check_one(app, name: str, body: Callable[[object, Result], None], member: object = None) -> Result:
    """Open a session (to ``member``, one PBX of a fleet), run ``body(client, result)``; the result."""
    from ..endpoints import NoDriver
    from ..errors import ActionError, AmiError, PermissionDenied
    from ..monitoring import status_for_error

    result = Result(name)
    try:
        with app.session(need_booted=True, settings=member) as client:
            body(client, result)
    except NoDriver as exc:
        result.status, result.text = Status.UNKNOWN, str(exc)
    except PermissionDenied as exc:
        result.status, result.text = Status.UNKNOWN, str(exc)
    except ActionError as exc:
        text = str(exc)
        if "invalid/unknown command" in text.lower():
            text += " (the module is not loaded, or the PBX is still booting)"
        result.status, result.text = Status.UNKNOWN, text
    except AmiError as exc:
        result.status, result.text = Status(int(status_for_error(exc))), str(exc)
    return result


def run_check(name: str, body: Callable[[object, Result], None], check_timeout: float | None) -> int:
    """Open a session, run ``body(client, result)``, print the result; the plugin exit code."""
    app = get_app()
    if check_timeout is not None:
        app.given["timeout"] = check_timeout
    if _several(app):
        from .check_fleet import run_check_fleet

        # Each PBX within its own timeout, in parallel: one counted status line.
        return run_check_fleet(app, name, lambda member: check_one(app, name, body, member))
    # Each reply is bounded by the timeout; the alarm bounds the whole check
    # (a PBX that trickles a list).  Signals work only in the main thread.
    alarm = check_timeout is not None and threading.current_thread() is threading.main_thread()
    previous = None
    if alarm:
        previous = signal.signal(signal.SIGALRM, _alarm)
        signal.setitimer(signal.ITIMER_REAL, check_timeout + 0.5)
    try:
        result = check_one(app, name, body)
    finally:
        if alarm:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
    click.echo(result.render(), nl=False)
    return int(result.status)


def _several(app) -> bool:
    """Whether several PBXs were named (a bad configuration is reported by the check itself)."""
    from ..errors import AmiError

    try:
        return len(app.fleet()) > 1
    except AmiError:
        return False


@click.group(epilog=EPILOG)
def check() -> None:
    """Monitoring Plugins checks: login, queue, endpoints, registrations, channels."""


@check.command("login")
@click.option("-w", "--warning", type=float, default=1.0, show_default=True, metavar="SECONDS", callback=_positive,
              help="WARNING when connect+login takes longer.")  # fmt: skip
@click.option("-c", "--critical", type=float, default=2.0, show_default=True, metavar="SECONDS", callback=_positive,
              help="CRITICAL when connect+login takes longer.")  # fmt: skip
@timeout_option
def check_login(warning: float, critical: float, check_timeout: float | None) -> int:
    """Connect, log in and log off, timed: the same as `ami login-test`."""
    from .login_test import run_login_test

    if check_timeout is not None:
        get_app().given["timeout"] = check_timeout
    return run_login_test(warning, critical, False, False, check_name="login")


@check.command("queue")
@click.argument("names", nargs=-1, metavar="[QUEUE]...")
@pair_option("--waiting", "callers waiting, per queue", "5,10")
@pair_option("--longest-wait", "the longest wait in seconds, per queue", "60,120")
@pair_option("--available", "agents logged in and not paused, per queue", "2:,1:")
@pair_option("--service-level", "the service level in percent, per queue", "80:,60:")
@warning_option("callers waiting (as --waiting)")
@critical_option("callers waiting (as --waiting)")
@timeout_option
def check_queue(
    names: tuple[str, ...],
    waiting: Thresholds | None,
    longest_wait: Thresholds | None,
    available: Thresholds | None,
    service_level: Thresholds | None,
    warning: Range | None,
    critical: Range | None,
    check_timeout: float | None,
) -> int:
    """Queues: callers waiting, longest wait, available agents, service level.

    Every queue, or the QUEUEs named.  Perfdata per queue.
    """
    from ..checks import QueueLimits
    from ..checks import check_queue as body

    if waiting is None:
        waiting = Thresholds(warning, critical)
    elif warning is not None or critical is not None:
        raise click.UsageError("give callers-waiting ranges with either --waiting or -w/-c, not both")
    limits = QueueLimits(
        waiting, longest_wait or Thresholds(), available or Thresholds(), service_level or Thresholds()
    )
    return run_check("queue", lambda client, result: body(client, result, names, limits), check_timeout)


def _names(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> list[str]:
    return [n.strip() for item in value for n in item.split(",") if n.strip()]


@check.command("endpoints")
@click.argument("pattern", required=False, metavar="[PATTERN]")
@warning_option("the number of unavailable endpoints", "0")
@critical_option("the number of unavailable endpoints")
@click.option("--must-be-reachable", multiple=True, metavar="NAME,...", callback=_names,
              help="CRITICAL unless each endpoint named is available (repeatable).")  # fmt: skip
@pair_option("--rtt", "each endpoint's best round-trip time in ms", "~:100,~:500")
@timeout_option
def check_endpoints(
    pattern: str | None,
    warning: Range | None,
    critical: Range | None,
    must_be_reachable: list[str],
    rtt: Thresholds | None,
    check_timeout: float | None,
) -> int:
    """Unavailable endpoints (PJSIP, or chan_sip/IAX2 peers) counted against ranges.

    An endpoint is unavailable when its state is Unavailable or Invalid
    (PJSIP), or UNREACHABLE or UNKNOWN (chan_sip, IAX2).  PATTERN is a glob or
    /regex/.  Round-trip times go in the perfdata.
    """
    from ..checks import check_endpoints as body

    limits = Thresholds(warning, critical)
    return run_check(
        "endpoints",
        lambda client, result: body(client, result, pattern, limits, must_be_reachable, rtt),
        check_timeout,
    )


@check.command("registrations")
@click.argument("pattern", required=False, metavar="[PATTERN]")
@warning_option("the number of registrations not Registered")
@critical_option("the number of registrations not Registered", "0")
@timeout_option
def check_registrations(
    pattern: str | None, warning: Range | None, critical: Range | None, check_timeout: float | None
) -> int:
    """Outbound registrations (trunks): CRITICAL when one is not Registered.

    PATTERN (glob or /regex/) picks registrations by name.
    """
    from ..checks import check_registrations as body

    limits = Thresholds(warning, critical)
    return run_check("registrations", lambda client, result: body(client, result, pattern, limits), check_timeout)


@check.command("channels")
@warning_option("the number of active channels")
@critical_option("the number of active channels")
@pair_option("--calls", "the number of active calls", "~:40,~:50")
@timeout_option
def check_channels(
    warning: Range | None, critical: Range | None, calls: Thresholds | None, check_timeout: float | None
) -> int:
    """Active channels and calls against capacity ranges."""
    from ..checks import check_channels as body

    limits = Thresholds(warning, critical)
    return run_check(
        "channels", lambda client, result: body(client, result, limits, calls or Thresholds()), check_timeout
    )
