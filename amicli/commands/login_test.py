"""``ami login-test``: a health check in the Monitoring Plugins style.

It prints one status line on stdout and exits 0 OK, 1 WARNING, 2 CRITICAL,
3 UNKNOWN, the codes Nagios, Icinga, Zabbix and friends read.  These are the
plugin API's codes, not the ``ami`` ones, because this command's caller is a
monitoring system.
"""

from __future__ import annotations

import time

import click

from ..context import get_app
from ..errors import AmiError
from ..monitoring import PluginStatus, asterisk_version, status_for_elapsed, status_for_error
from ..options import json_option
from ..thresholds import plain_number, plugin_text

#: This command exits with these statuses instead of the ami ones (amicli/errors.py).
OWN_EXIT_STATUSES = PluginStatus


def _positive(ctx: click.Context, param: click.Parameter, value: float | None) -> float | None:
    if value is not None and value <= 0:
        raise click.BadParameter("must be more than 0 seconds")
    return value


@click.command("login-test")
@click.option(
    "-w",
    "--warning",
    type=float,
    default=1.0,
    show_default=True,
    metavar="SECONDS",
    callback=_positive,
    help="WARNING when connect+login takes longer. Example: -w 0.5",
)
@click.option(
    "-c",
    "--critical",
    type=float,
    default=2.0,
    show_default=True,
    metavar="SECONDS",
    callback=_positive,
    help="CRITICAL when connect+login takes longer. Example: -c 2",
)
@click.option("-q", "--quiet", is_flag=True, help="Print nothing when OK, so cron mails only failures.")
@click.option(
    "-t",
    "--timeout",
    type=float,
    metavar="SECONDS",
    callback=_positive,
    help="As the global --timeout, here too as plugins take it. Example: -t 5",
)
@click.option("-H", "--host", metavar="HOST", help="As the global -H, here too as plugins take it.")
@click.option(
    "-P", "--port", type=click.IntRange(1, 65535), metavar="PORT", help="As the global -P, here too as plugins take it."
)
@click.option(
    "--min-ok",
    type=click.IntRange(min=1),
    metavar="N",
    help="With several PBXs: OK while at least N log in; fewer (but some) is WARNING [default: all].",
)
@json_option
def login_test(
    warning: float,
    critical: float,
    quiet: bool,
    timeout: float | None,
    host: str | None,
    port: int | None,
    min_ok: int | None,
    as_json: bool,
) -> int:
    """Connect, log in and log off; print one status line.

    The line follows the Monitoring Plugins format, with the connect-and-login
    time as performance data, and goes to stdout, failures included, as
    Nagios, Icinga, Naemon and Zabbix expect:

    \b
      AMI OK - admin@127.0.0.1:5038 logged in in 3 ms, Asterisk 22.10.1,
      Asterisk Call Manager/11.0.0 | time=0.003s;1;2;0

    \b
    Exit status (Monitoring Plugins): 0 OK, 1 WARNING (slower than -w),
    2 CRITICAL (refused, unreachable, login failed, timed out, slower than -c),
    3 UNKNOWN (not an AMI server, bad configuration or usage).

    --json prints one object: status, code, message, time, host, port,
    user, banner, ami_version, asterisk_version (when the user may run
    CoreSettings), and the thresholds warning and critical (seconds).

    \b
    With several PBXs: one status line counting those that logged in
    (AMI OK - 12/12 PBXs logged in), the worst state among them as the
    code (or --min-ok), then a line per PBX; perfdata pbx1_time=...

    \b
    Examples:
      */5 * * * * /usr/local/bin/ami --profile pbx1 login-test --quiet
      ami login-test -w 0.5 -c 1 --json
      ami --profile callcentre login-test --min-ok 2
      AMI_SECRET_FILE=/etc/nagios/ami.secret ami -H "$HOSTADDRESS" -u monitor login-test -w 0.5 -c 1
    """
    if host is not None and not host.strip():
        raise click.BadParameter("must not be empty", param_hint="'-H' / '--host'")
    app = get_app()
    for name, value in (("timeout", timeout), ("host", host), ("port", port)):
        if value is not None:
            app.given[name] = value
    return run_login_test(warning, critical, quiet, as_json, min_ok=min_ok)


def run_login_test(
    warning: float, critical: float, quiet: bool, as_json: bool, check_name: str = "", min_ok: int | None = None
) -> int:
    """Connect, log in, log off and report; ``check_name`` goes in the status line (``AMI LOGIN OK``).

    Several PBXs: one counted line for them all (see login_test_fleet), ``min_ok`` of them enough for OK.
    """
    from .. import client as _client  # noqa: F401 - imported before the clock starts
    from ..context import _load_secret as load_secret
    from ..context import _require_user as require_user

    if warning > critical:
        raise click.UsageError(f"-w {warning:g} is above -c {critical:g}: WARNING must come before CRITICAL")
    app = get_app()
    if _several(app):
        from .login_test_fleet import login_test_fleet

        return login_test_fleet(app, warning, critical, quiet, as_json, min_ok, check_name)
    facts: dict[str, object] = {}
    started = time.monotonic()
    try:
        settings = app.settings()
        facts.update(host=settings.host, port=settings.effective_port, user=settings.user)
        # A secret typed at the prompt is read before the clock starts: a person's typing is no PBX's delay.
        require_user(settings)
        load_secret(settings)
        started = time.monotonic()
        with app.session() as client:
            elapsed = time.monotonic() - started
            facts.update(banner=client.banner, ami_version=client.version)
            version = asterisk_version(client)
            if version:
                facts["asterisk_version"] = version
    except AmiError as exc:
        elapsed = time.monotonic() - started
        status = status_for_error(exc)
        return _report(status, str(exc), elapsed, (warning, critical), facts, quiet, as_json, check_name)
    status = status_for_elapsed(elapsed, warning, critical)
    what = f"{facts['user']}@{facts['host']}:{facts['port']} logged in in {elapsed * 1000:.0f} ms"
    if facts.get("asterisk_version"):
        what += f", Asterisk {facts['asterisk_version']}"
    what += f", {facts['banner']}"
    return _report(status, what, elapsed, (warning, critical), facts, quiet, as_json, check_name)


def _several(app) -> bool:
    """Whether several PBXs were named (a bad configuration is reported below, as UNKNOWN)."""
    try:
        return len(app.fleet()) > 1
    except AmiError:
        return False


def _report(
    status: PluginStatus,
    text: str,
    elapsed: float,
    limits: tuple[float, float],
    facts: dict[str, object],
    quiet: bool,
    as_json: bool,
    check_name: str = "",
) -> int:
    warning, critical = limits
    if quiet and status is PluginStatus.OK:
        return status
    if as_json:
        from ..output import Output

        record = {"status": status.name, "code": int(status), "message": text, "time": round(elapsed, 6)}
        record.update(facts)
        record.update(warning=warning, critical=critical)
        Output(json=True).emit_json(record)
    else:
        perf = f"time={elapsed:.3f}s;{plain_number(warning)};{plain_number(critical)};0"
        name = f"{check_name.upper()} " if check_name else ""
        click.echo(f"AMI {name}{status.name} - {plugin_text(text)} | {perf}")
    return int(status)
