"""The ``ami`` command group: global options, lazy subcommands, exit codes.

Subcommands live one per module under ``amicli.commands`` and are imported
only when run, so ``ami --help`` and ``ami --version`` stay fast.
"""

from __future__ import annotations

import importlib
import os
import sys

import click

from . import __version__
from .completion_values import complete_profiles
from .context import AppContext
from .errors import ExitCode

# name -> (module, attribute, one-line help shown by `ami --help`)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "login-test": (
        "amicli.commands.login_test",
        "login_test",
        "Health check: connect, log in, log off (cron, Nagios).",
    ),
    "originate": ("amicli.commands.originate", "originate", "Place a call and report how it ended."),
    "queues": ("amicli.commands.queues", "queues", "Queues, their members and callers; pause and add agents."),
    "channels": ("amicli.commands.channels", "channels", "Channels up now; count or hang them up."),
    "endpoints": (
        "amicli.commands.endpoints",
        "endpoints",
        "SIP/IAX2 endpoints, contacts and trunk registrations; watch them change.",
    ),
    "check": (
        "amicli.commands.check",
        "check",
        "Monitoring Plugins checks: login, queue, endpoints, registrations, channels.",
    ),
    "metrics": (
        "amicli.commands.metrics",
        "metrics",
        "The PBX's state for Prometheus (text format, or served on /metrics).",
    ),
    "events": ("amicli.commands.events", "events", "Stream the PBX's events, filtered, as text or JSON Lines."),
    "raw": ("amicli.commands.raw", "raw", "Send any action and print its whole reply."),
    "command": ("amicli.commands.command", "command", "Run a CLI command, like asterisk -rx."),
    "sim": ("amicli.commands.sim", "sim", "Run a simulated PBX that speaks AMI, for trying ami."),
    "completion": ("amicli.commands.completion", "completion", "Print the shell completion script (bash, zsh, fish)."),
}

#: Commands whose own usage errors follow the Monitoring Plugins codes.
PLUGIN_COMMANDS = {"login-test"}
PLUGIN_UNKNOWN = 3


def _not_empty(ctx: click.Context, param: click.Parameter, value: object) -> object:
    """An option given as '' is a mistake (an unset variable in a script), not "use the default"."""
    if isinstance(value, str) and not value.strip():
        raise click.BadParameter("must not be empty")
    return value


class LazyGroup(click.Group):
    """A group that imports a subcommand's module only when it is used."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        entry = COMMANDS.get(name)
        if entry is None:
            return None
        module, attr, _ = entry
        return getattr(importlib.import_module(module), attr)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Short help from the table above: listing commands imports none of them.
        with formatter.section("Commands"):
            formatter.write_dl([(name, entry[2]) for name, entry in COMMANDS.items()])


EPILOG = """\b
Examples:
  ami sim &                                   # a simulated PBX on 127.0.0.1:5038
  AMI_USER=admin AMI_SECRET=s3cret-Admin ami login-test
  ami --profile pbx1 channels --count
  ami command 'core show channels'
  ami -H pbx1,pbx2,pbx3 queues --json          # a fleet: every row has Server

\b
Environment:
  AMI_SECRET       The secret of the AMI user; safer than any option, which ps shows.
  AMI_CONFIG       The profile file to read instead of ~/.config/ami/config.
  XDG_CONFIG_HOME  Base directory of the profile file; ~/.config when unset.

\b
Files:
  ~/.config/ami/config  Profiles, one INI section each ([default] unless --profile
                        names another), with the keys host, port, user, secret,
                        timeout, tls, ca_file, insecure, auth.  A file holding a
                        secret must not be readable by others (chmod 600).

Exit codes: 0 ok, 1 the PBX answered with an error, 2 usage, 3 cannot connect,
4 login or permission refused, 5 timed out, 6 not AMI / protocol error,
7 configuration, 8 TLS, 9 some of several PBXs failed, 130 interrupted; how a call
ended (originate): 10 busy, 11 no answer, 12 congestion, 13 failed, 14 outcome
unknown.  See `man ami`.
"""


@click.group(cls=LazyGroup, epilog=EPILOG, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", "-V", prog_name="ami", message="%(prog)s %(version)s")
@click.option(
    "-H",
    "--host",
    envvar="AMI_HOST",
    callback=_not_empty,
    metavar="HOST[:PORT],...",
    help="PBX address [default: 127.0.0.1]; a comma-separated list asks several at once (IPv6: [::1]:5038). "
    "Example: -H pbx1,pbx2:5039",
)
@click.option(
    "-P", "--port", envvar="AMI_PORT", type=int, metavar="PORT", help="AMI port [default: 5038, 5039 with --tls]."
)
@click.option(
    "-u",
    "--user",
    envvar="AMI_USER",
    callback=_not_empty,
    metavar="NAME",
    help="AMI user, a section of manager.conf. Example: -u admin",
)
@click.option(
    "--secret-file",
    envvar="AMI_SECRET_FILE",
    type=click.Path(),  # completes file names; checked when read
    callback=_not_empty,
    metavar="PATH",
    help="Read the secret from the first line of PATH ('-': stdin). Or set AMI_SECRET, or use a profile.",
)
@click.option(
    "--profile",
    envvar="AMI_PROFILE",
    callback=_not_empty,
    metavar="NAME,...",
    shell_complete=complete_profiles,
    help="Profile (section) of ~/.config/ami/config [default: default]; a comma-separated list, or a group "
    "(a section with include = a, b), asks several PBXs at once. Example: --profile pbx1,pbx2",
)
@click.option(
    "--fanout",
    envvar="AMI_FANOUT",
    type=click.IntRange(1, 1024),
    default=16,
    show_default=True,
    metavar="N",
    help="With several PBXs: ask at most N at once.",
)
@click.option(
    "--sort", "sort_servers", is_flag=True, help="With several PBXs: their rows in the order named, not as they answer."
)
@click.option(
    "--errors-as-rows",
    is_flag=True,
    help='With several PBXs and --json: a failed PBX also prints {"Server", "Error", "ExitCode"}.',
)
@click.option(
    "--timeout",
    envvar="AMI_TIMEOUT",
    type=float,
    metavar="SECONDS",
    help="Give up on connect or on any reply after SECONDS [default: 10].",
)
@click.option("--tls/--no-tls", default=None, envvar="AMI_TLS", help="Use TLS (AMI over TLS, port 5039 unless -P).")
@click.option(
    "--ca-file",
    envvar="AMI_CA_FILE",
    type=click.Path(),  # completes file names; checked when read
    callback=_not_empty,
    metavar="PATH",
    help="Trust the CA certificates in PATH (PEM) for --tls.",
)
@click.option(
    "--insecure/--no-insecure",
    default=None,
    envvar="AMI_INSECURE",
    help="With --tls: do not verify the certificate (never in production).",
)
@click.option(
    "--auth",
    envvar="AMI_AUTH",
    type=click.Choice(["md5", "plain"]),
    help="Login method [default: plain]. md5 (Challenge/MD5) keeps the secret off the wire without TLS.",
)
@click.option(
    "--debug",
    is_flag=True,
    default=None,
    envvar="AMI_DEBUG",
    help="Trace the protocol on stderr (secrets hidden); tracebacks on errors.",
)
@click.pass_context
def cli(
    ctx: click.Context,
    secret_file: str | None,
    fanout: int,
    sort_servers: bool,
    errors_as_rows: bool,
    **given: object,
) -> None:
    """ami: the Asterisk Manager Interface from the command line.

    Connection settings come from options, then AMI_* environment variables
    (AMI_HOST, AMI_PORT, AMI_USER, AMI_SECRET, AMI_PROFILE, AMI_TIMEOUT, ...),
    then the profile file, then the defaults.
    """
    # --secret-file on the command line beats AMI_SECRET (options beat the environment).
    from_option = ctx.get_parameter_source("secret_file") == click.core.ParameterSource.COMMANDLINE
    given["secret"] = None if from_option else (os.environ.get("AMI_SECRET") or None)
    ctx.obj = AppContext(
        given=given, secret_file=secret_file, fanout=fanout, sort=sort_servers, errors_as_rows=errors_as_rows
    )


def _one_line_usage(exc: click.UsageError) -> str:
    where = exc.ctx.command_path if exc.ctx else "ami"
    return f"{exc.format_message()} (see '{where} --help')"


def _plugin_in_args(args: list[str]) -> str | None:
    """The check's name (as :func:`_plugin_name`) when ``args`` run a Monitoring Plugins command."""
    # The subcommand: the first word that names one (a global option's value seldom does).
    index = next((i for i, arg in enumerate(args) if arg in COMMANDS), None)
    if index is None:
        return None
    if args[index] in PLUGIN_COMMANDS:
        return ""
    if args[index] == "check":
        rest = args[index + 1 :]
        return rest[0].upper() if rest and not rest[0].startswith("-") else "CHECK"
    return None


def _plugin_name(ctx: click.Context | None) -> str | None:
    """The check's name when ``ctx`` is a Monitoring Plugins command (``login-test``, ``check ...``)."""
    if ctx is None:
        return None
    words = ctx.command_path.split()[1:]
    if words[:1] == ["check"]:
        return " ".join(words[1:2]).upper() or "CHECK"
    if ctx.info_name in PLUGIN_COMMANDS:
        return ""
    return None


def _usage_exit(exc: click.ClickException, args: list[str]) -> int:
    no_args = getattr(click.exceptions, "NoArgsIsHelpError", ())
    ctx = getattr(exc, "ctx", None)
    plugin = _plugin_name(ctx)
    if plugin is None and (ctx is None or ctx.info_name == "ami"):
        # `ami --timeout abc login-test`, AMI_PORT=abc: the global options fail before
        # the check runs, and its caller still reads one status line and a plugin code.
        plugin = _plugin_in_args(args)
    if plugin is not None:
        name = f"{plugin} " if plugin else ""
        first = exc.format_message().strip().splitlines()[0] if exc.format_message().strip() else "usage"
        sys.stdout.write(f"AMI {name}UNKNOWN - usage: {first}\n")
        return PLUGIN_UNKNOWN
    if no_args and isinstance(exc, no_args):
        # `ami` alone: the help, on stderr (it is not data), as a usage error.
        sys.stderr.write(exc.format_message() + "\n")
        return ExitCode.USAGE
    from .output import report

    report(_one_line_usage(exc) if isinstance(exc, click.UsageError) else exc.format_message(), "error")
    return exc.exit_code


def _not_utf8(args: list[str]) -> str | None:
    """The first argument that is not UTF-8 text (undecodable bytes arrive as surrogates), or None."""
    for arg in args:
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError:
            return arg
    return None


def _shown(text: str) -> str:
    """``text`` with its undecodable bytes as ``\\xNN`` escapes."""
    return text.encode("utf-8", "surrogateescape").decode("ascii", "backslashreplace")


def _early_error(args: list[str], message: str, code: int, plugin_prefix: str = "") -> int:
    """An error found before click ran: one line on stderr, or a check's status line on stdout."""
    plugin = _plugin_in_args(args)
    if plugin is not None:
        name = f"{plugin} " if plugin else ""
        sys.stdout.write(f"AMI {name}UNKNOWN - {plugin_prefix}{message}\n")
        return PLUGIN_UNKNOWN
    sys.stderr.write(f"ami: error: {message}\n")
    return code


def error_line(message: str) -> None:
    """``ami: error: MESSAGE`` on stderr: one line, no secret, no control character."""
    from .output import report

    report(message, "error")


def run(argv: list[str] | None = None) -> int:
    """Run ``ami`` and return its exit code; every error is mapped here."""
    from .errors import AmiError

    args = list(argv if argv is not None else sys.argv[1:])
    debug = "--debug" in args or bool(os.environ.get("AMI_DEBUG"))
    bad = _not_utf8(args)
    if bad is not None:
        message = f"argument '{_shown(bad)}' is not UTF-8 text (AMI speaks UTF-8)"
        return _early_error(args, message, ExitCode.USAGE, plugin_prefix="usage: ")
    bad_env = next((k for k, v in os.environ.items() if k.startswith("AMI_") and _not_utf8([v]) is not None), None)
    if bad_env is not None:
        message = f"environment variable {bad_env} is not UTF-8 text (AMI speaks UTF-8)"
        return _early_error(args, message, ExitCode.CONFIG)
    try:
        result = cli.main(args=argv, prog_name="ami", standalone_mode=False)
        return int(result) if isinstance(result, int) else ExitCode.OK
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.ClickException as exc:
        return _usage_exit(exc, args)
    except (click.Abort, KeyboardInterrupt):
        return ExitCode.INTERRUPTED
    except BrokenPipeError:
        # `ami ... | head -1`: the reader has what it wanted.  Point stdout at
        # /dev/null so the interpreter's final flush cannot complain.
        _silence_stdout()
        return ExitCode.OK
    except SystemExit as exc:
        # click turns a broken pipe into exit 1 behind a PacifyFlushWrapper;
        # for us a reader that stopped reading is not a failure.  (By name:
        # the class is private, and its public alias deprecated, in click 8.2 on.)
        if type(sys.stdout).__name__.endswith("PacifyFlushWrapper"):
            _silence_stdout()
            return ExitCode.OK
        return exc.code if isinstance(exc.code, int) else ExitCode.ACTION_FAILED
    except AmiError as exc:
        if debug:
            _print_traceback()
        error_line(str(exc))
        return exc.exit_code
    except Exception as exc:  # noqa: BLE001 - the last line of defence: no traceback for users
        if debug:
            _print_traceback()
        error_line(f"internal error: {type(exc).__name__}: {exc} (run with --debug for details)")
        return ExitCode.ACTION_FAILED


def _print_traceback() -> None:
    """--debug: the traceback on stderr, secrets hidden as everywhere else."""
    import traceback

    from .output import visible
    from .redact import scrub

    try:
        sys.stderr.write(visible(scrub(traceback.format_exc())))
    except (OSError, ValueError):
        pass


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def _open_std_streams() -> None:
    """Put /dev/null on a standard descriptor that is closed.

    Else the first socket would get descriptor 1 or 2, and what `ami` prints
    would go to the PBX.  Output to a closed stdout is then lost, as with
    ``>/dev/null``; the exit status is that of the command.
    """
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            null = os.open(os.devnull, os.O_RDWR)
            if null != fd:
                os.dup2(null, fd)
                os.close(null)
    if sys.stdin is None:
        sys.stdin = open(0, encoding="utf-8", closefd=False)  # noqa: SIM115 - lives as long as the process
    if sys.stdout is None:
        sys.stdout = open(1, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
    if sys.stderr is None:
        sys.stderr = open(2, "w", encoding="utf-8", closefd=False)  # noqa: SIM115


def main() -> None:
    """Console-script entry point."""
    _open_std_streams()
    code = run()
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _silence_stdout()
    except (OSError, ValueError):
        error_line("cannot write the output")
        code = code or ExitCode.ACTION_FAILED
    sys.exit(code)
