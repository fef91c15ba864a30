"""Man pages and completion scripts for ``ami``, generated from the code.

    python -m amicli.manpage --write    # regenerate man/*.1 and completions/*
    python -m amicli.manpage --check    # exit 1 if the committed files differ

Everything a page says about commands, options, arguments, environment
variables and exit codes is read from the live click command tree
(``amicli.cli.cli`` and the ``COMMANDS`` table), from ``amicli.errors``
(``ExitCode`` and the ``#:`` comment above each member) and from the command
modules, so the pages change exactly when the code does.  What cannot be
derived (examples, the profile file, see-also lists, descriptions of
arguments that have no help text) is written by hand in ``NOTES`` below, and
:func:`check_notes` fails when an example uses an option or a command that
no longer exists.

Pages are deterministic: no date of the day (``PAGE_DATE`` is fixed), no
terminal width, no environment.  The sync test (tests/test_docs.py) fails
whenever the committed files differ from what this module generates.
"""

from __future__ import annotations

import argparse
import enum
import importlib
import importlib.util
import inspect
import re
import shlex
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Sequence

import click

from . import __version__

#: The date in every page footer.  Fixed, so regenerating gives the same
#: bytes on any day; move it forward when a release changes the pages.
PAGE_DATE = "2026-11-27"
MANUAL = "ami manual"
SOURCE = f"ami {__version__}"

#: Where the committed files live, relative to the repository root.
MAN_DIR = "man"
COMPLETIONS_DIR = "completions"


# ===========================================================================
# Hand-written parts of the pages
# ===========================================================================


@dataclass(frozen=True)
class Example:
    """One example: what it does (prose), then the shell code."""

    title: str
    code: str


@dataclass
class Notes:
    """What a page says that the code cannot: examples, pointers, context.

    ``arguments`` describes arguments that have no ``help=`` of their own,
    keyed by the argument's name, prefixed by the subcommand path inside the
    page for a group's subcommands (``"members queues"``).
    """

    examples: tuple[Example, ...] = ()
    see_also: tuple[str, ...] = ()
    arguments: dict[str, str] = field(default_factory=dict)
    description: tuple[str, ...] = ()
    #: False for commands that never talk to a PBX (no connection settings).
    connects: bool = True
    #: Variables the command reads that are not option envvars.
    environment: dict[str, str] = field(default_factory=dict)


#: Environment variables read directly (not through a click option's envvar).
GLOBAL_ENVIRONMENT: dict[str, str] = {
    "AMI_SECRET": (
        "The secret (password) of the AMI user.  Safer than any command-line option, which `ps` "
        "shows to every user of the machine; `--secret-file` and the profile file are the other ways."
    ),
    "AMI_CONFIG": "The profile file to read instead of $XDG_CONFIG_HOME/ami/config.",
    "XDG_CONFIG_HOME": "Base directory of the profile file; ~/.config when unset.",
}

#: login-test speaks the Monitoring Plugins API: its statuses, in words.
PLUGIN_STATUS_TEXT: dict[str, str] = {
    "OK": "Logged in and out within the -w threshold.",
    "WARNING": "Logged in, but connect and login took longer than -w seconds.",
    "CRITICAL": (
        "Connection refused, host unreachable, login refused, TLS failure, no answer within "
        "--timeout, or slower than -c seconds."
    ),
    "UNKNOWN": "The peer is not an AMI server, the configuration is unusable, or the command line is wrong.",
}

_ROOT = ""

NOTES: dict[str, Notes] = {
    _ROOT: Notes(
        description=(
            "Each command does one thing and prints data on standard output: a table for people by "
            "default, or JSON Lines with --json (one object per line, keys as Asterisk names them), "
            "so that it fits in pipelines with `jq`, `grep` and `awk`.  Messages and errors go to "
            "standard error, as one line starting with `ami: error:`; the exit status says what "
            "happened (see EXIT STATUS).",
            "The secret never has to appear on a command line, where `ps` would show it: use "
            "AMI_SECRET, --secret-file, the profile file (see FILES), or type it at the prompt.",
        ),
        examples=(
            Example(
                "Check the PBX every five minutes from cron; cron mails only failures, because "
                "--quiet prints nothing when all is well:",
                "*/5 * * * * ami --profile pbx1 login-test --quiet",
            ),
            Example(
                "Names of the queues that have callers waiting, with jq:",
                "ami --profile pbx1 queues --json | jq -r 'select(.Calls > 0) | .Queue'",
            ),
            Example(
                "Place a wake-up call from a script and act on how it ended:",
                "if ami originate PJSIP/101 --app Playback --data wakeup-call --timeout 45; then\n"
                '    echo "room 101 answered"\n'
                "else\n"
                '    echo "room 101 did not answer (exit status $?)" >&2\n'
                "fi",
            ),
            Example(
                "Wait at most a minute for the next hang-up on PJSIP/101, then go on:",
                "ami events --event Hangup --filter 'Channel~^PJSIP/101-' --count 1 --timeout 60",
            ),
            Example(
                "Try all of this without a PBX, against the simulator:",
                "ami sim &\n"
                "export AMI_USER=admin AMI_SECRET=s3cret-Admin\n"
                "ami login-test\n"
                "ami command 'core show version'",
            ),
        ),
        see_also=("jq(1)", "asterisk(8)"),
    ),
    "login-test": Notes(
        description=(
            "The status line follows the Monitoring Plugins format, `AMI OK - text | perfdata`, "
            "with the connect-and-login time as performance data, so Nagios, Icinga, Naemon and "
            "Zabbix graph it as they read it.",
        ),
        examples=(
            Example(
                "A cron health check that mails only failures:",
                "*/5 * * * * ami --profile pbx1 login-test --quiet",
            ),
            Example(
                "A Nagios or Icinga command, with the secret in a file only the monitoring user reads:",
                "AMI_SECRET_FILE=/etc/nagios/ami.secret ami -H $HOSTADDRESS$ -u monitor login-test -w 0.5 -c 1",
            ),
            Example(
                "The same facts as JSON, for a dashboard:",
                "ami login-test --json | jq -r '.status + \" \" + (.time|tostring)'",
            ),
        ),
        see_also=("ami-command(1)",),
    ),
    "queues": Notes(
        arguments={
            "list names": "Queues to list; every queue when none is given.",
            "members names": "Queues whose members to list; every queue when none is given.",
            "callers names": "Queues whose waiting callers to list; every queue when none is given.",
            "summary names": "Queues to summarise; every queue when none is given.",
            "add queue": "The queue to add the member to.",
            "add interface": "The member's interface (its Location), a dial string such as PJSIP/2002.",
            "remove queue": "The queue to remove the member from.",
            "remove interface": "The member's interface (its Location), as the queue lists it.",
            "pause interface": "The member's interface (its Location), as the queue lists it.",
            "unpause interface": "The member's interface (its Location), as the queue lists it.",
        },
        examples=(
            Example(
                "Names of the queues that have callers waiting:",
                "ami queues --json | jq -r 'select(.Calls > 0) | .Queue'",
            ),
            Example("The members of one queue, as a table:", "ami queues members support"),
            Example(
                "Pause an agent in one queue, with a reason the wallboard shows:",
                "ami queues pause PJSIP/201 --queue support --reason lunch",
            ),
        ),
        see_also=("ami-channels(1)", "ami-events(1)"),
    ),
    "channels": Notes(
        arguments={
            "list pattern": "A shell-style glob on the channel name (see below); every channel when left out.",
            "hangup names": "Channels to hang up, by full name (PJSIP/1001-0000002a).",
        },
        examples=(
            Example("How many calls are up, for a monitoring graph:", "ami channels --count"),
            Example("The names of the PJSIP channels:", "ami channels 'PJSIP/*' --json | jq -r .Channel"),
            Example(
                "See which Local channels a hang-up would hit, without hanging up:",
                "ami channels hangup --match '^Local/' --dry-run",
            ),
        ),
        see_also=("ami-originate(1)", "ami-queues(1)"),
    ),
    "originate": Notes(
        arguments={
            "channel": (
                "The channel to call, as a dial string: PJSIP/101, SIP/trunk/5551234, Local/100@default.  "
                "Left out with --batch, where each line names its own."
            ),
        },
        examples=(
            Example(
                "Place a call from a script and act on how it ended (the exit status tells answered, "
                "busy, no answer and failures apart; see EXIT STATUS):",
                "if ami originate PJSIP/101 --app Playback --data wakeup-call --timeout 45; then\n"
                '    echo "room 101 answered"\n'
                "else\n"
                '    echo "room 101 did not answer (exit status $?)" >&2\n'
                "fi",
            ),
            Example(
                "Connect extension 100 to extension 200 of the default context, and print the outcome as JSON:",
                "ami originate PJSIP/100 --exten 200 --context default --json",
            ),
            Example(
                "Queue the call and return at once; the outcome comes later as an OriginateResponse event:",
                "ami originate Local/100@default --app Wait --data 1 --no-wait",
            ),
        ),
        see_also=("ami-channels(1)", "ami-events(1)"),
    ),
    "events": Notes(
        examples=(
            Example(
                "Wait at most a minute for the next hang-up on PJSIP/101; exit status 0 if it came:",
                "ami events --event Hangup --filter 'Channel~^PJSIP/101-' --count 1 --timeout 60",
            ),
            Example(
                "React to every hang-up in a shell loop:",
                "ami events --json --event Hangup |\n"
                "while read -r line; do\n"
                '    printf \'%s\\n\' "$line" | jq -r \'.Channel + " " + ."Cause-txt"\'\n'
                "done",
            ),
            Example(
                "Keep the CDRs that cdr_manager sends in a file, reconnecting after PBX restarts:",
                "ami events --mask cdr --event Cdr --json --reconnect >> cdr.jsonl",
            ),
        ),
        see_also=("ami-originate(1)", "ami-queues(1)"),
    ),
    "raw": Notes(
        arguments={
            "action": "The AMI action to send, such as Ping or QueueStatus; `-` reads actions from standard input.",
            "headers": (
                "Headers of the action, as Key=Value or 'Key: Value'.  A key given twice sends two "
                "headers (as Variable needs)."
            ),
        },
        examples=(
            Example(
                "Everything Asterisk reports about one queue, as JSON:",
                "ami raw QueueStatus Queue=support --json",
            ),
        ),
        see_also=("ami-command(1)",),
    ),
    "command": Notes(
        arguments={
            "cli_command": (
                "The Asterisk CLI command, as one quoted argument or as several words, which are joined with spaces."
            ),
        },
        examples=(
            Example(
                "Reload the dialplan on every PBX of a list of profiles:",
                "for pbx in pbx1 pbx2; do ami --profile \"$pbx\" command 'dialplan reload'; done",
            ),
        ),
        see_also=("ami-raw(1)", "asterisk(8)"),
    ),
    "sim": Notes(
        connects=False,
        environment={
            "AMI_SIM_TIME_SCALE": (
                "How many times faster than real time a simulated call runs once answered (the Wait(600) "
                "of extension 200, for instance); ring timeouts stay real.  A number; 1 when unset."
            ),
        },
        examples=(
            Example(
                "Run a script against the simulator on a free port before pointing it at the PBX:",
                "ami sim --port 0 2> sim.log &\n"
                "sleep 1\n"
                "port=$(sed -n 's/.*listening on [^:]*:\\([0-9]*\\).*/\\1/p' sim.log)\n"
                "AMI_PORT=$port AMI_USER=admin AMI_SECRET=s3cret-Admin ./my-script",
            ),
        ),
        see_also=("ami-login-test(1)",),
    ),
    "completion": Notes(
        connects=False,
        arguments={"shell": "The shell to print the script for."},
        environment={
            "_AMI_COMPLETE": (
                "Set by the completion scripts when they run `ami` to ask for completions "
                "(bash_complete, zsh_complete, fish_complete); not for people."
            ),
            "AMI_CONFIG": "The profile file whose section names complete after --profile.",
        },
        description=(
            "Files installed by `pip install .` under its prefix: "
            "share/bash-completion/completions/ami, share/zsh/site-functions/_ami and "
            "share/fish/vendor_completions.d/ami.fish.",
        ),
        see_also=("bash(1)", "zsh(1)", "fish(1)"),
    ),
}


# ===========================================================================
# roff output
# ===========================================================================

_INLINE = re.compile(r"`([^`]+)`|(?<![\w/.$-])(--?[A-Za-z][\w-]*)")


def esc(text: str) -> str:
    """Text -> roff: backslashes, minus signs (so options copy and paste), non-ASCII."""
    out: list[str] = []
    for ch in text:
        if ch == "\\":
            out.append("\\e")
        elif ch == "-":
            out.append("\\-")
        elif ch == "\t":
            out.append(" ")
        elif ord(ch) > 126 or ord(ch) < 32:
            out.append(f"\\[u{ord(ch):04X}]")
        else:
            out.append(ch)
    return "".join(out)


def bold(text: str) -> str:
    return f"\\fB{esc(text)}\\fR"


def italic(text: str) -> str:
    return f"\\fI{esc(text)}\\fR"


def prose(text: str) -> str:
    """Prose -> roff, with `code` and option names (--json, -w) in bold."""
    pieces: list[str] = []
    pos = 0
    for match in _INLINE.finditer(text):
        pieces.append(esc(text[pos : match.start()]))
        pieces.append(bold(match.group(1) or match.group(2)))
        pos = match.end()
    pieces.append(esc(text[pos:]))
    return "".join(pieces)


#: Put inside text given to Roff.text: a line break (.br) at that point.
LINE_BREAK = "\x00"


def _protect(line: str) -> str:
    # A line starting with . or ' would be read as a request.
    return "\\&" + line if line.startswith((".", "'")) else line


class Roff:
    """A man(7) page being written, line by line."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self._fresh = True  # right after .SH/.SS/.TP: no .PP wanted

    def raw(self, line: str) -> None:
        self.lines.append(line)

    def sh(self, title: str) -> None:
        self.lines.append(f".SH {title}")
        self._fresh = True

    def ss(self, title_roff: str) -> None:
        self.lines.append(f'.SS "{title_roff}"')
        self._fresh = True

    def pp(self) -> None:
        if not self._fresh:
            self.lines.append(".PP")
        self._fresh = True

    def text(self, roff: str) -> None:
        """Filled text (already roff), wrapped for a readable source; LINE_BREAK breaks the line."""
        for index, segment in enumerate(roff.split(LINE_BREAK)):
            segment = " ".join(segment.split())
            if not segment:
                continue
            if index and not self._fresh:
                self.lines.append(".br")
            for line in textwrap.wrap(segment, width=78, break_long_words=False, break_on_hyphens=False):
                self.lines.append(_protect(line))
            self._fresh = False

    def paragraph(self, roff: str) -> None:
        self.pp()
        self.text(roff)

    def tp(self, tag_roff: str, body_roff: Sequence[str]) -> None:
        self.lines.append(".TP")
        self.lines.append(_protect(tag_roff))
        self._fresh = True
        for index, body in enumerate(body_roff):
            if index:
                self.pp()
            self.text(body)
        self._fresh = False

    def verbatim(self, lines: Sequence[str]) -> None:
        """Lines shown as they are (examples, tables): no filling, no hyphenation."""
        self.pp()
        self.lines += [".RS 4", ".nf"]
        for line in lines:
            self.lines.append(_protect(esc(line.rstrip())) if line.strip() else "\\&")
        self.lines += [".fi", ".RE"]
        self._fresh = False

    def render(self) -> str:
        return "\n".join(self.lines) + "\n"


# ===========================================================================
# Reading the click tree
# ===========================================================================


@dataclass
class Node:
    """A command in the tree, with the context to render it in."""

    path: tuple[str, ...]  # () for `ami` itself, ("queues", "members") for a nested one
    command: click.Command
    ctx: click.Context

    @property
    def name(self) -> str:
        return " ".join(("ami", *self.path))


def _context(command: click.Command, name: str, parent: click.Context | None) -> click.Context:
    # As make_context does, minus parsing: the command's context_settings
    # (help_option_names, ignore_unknown_options, ...) apply.
    return click.Context(command, info_name=name, parent=parent, **command.context_settings)


def root_node() -> Node:
    from .cli import cli

    return Node((), cli, _context(cli, "ami", None))


def children(node: Node) -> list[Node]:
    """The visible subcommands of a group, in the order `--help` lists them."""
    command = node.command
    if not isinstance(command, click.Group):
        return []
    out = []
    for name in command.list_commands(node.ctx):
        sub = command.get_command(node.ctx, name)
        if sub is None or getattr(sub, "hidden", False):
            continue
        out.append(Node((*node.path, name), sub, _context(sub, name, node.ctx)))
    return out


def walk(node: Node) -> Iterator[Node]:
    """The node and every command below it, depth first."""
    yield node
    for child in children(node):
        yield from walk(child)


def top_commands() -> list[Node]:
    return children(root_node())


def visible_params(node: Node) -> list[click.Parameter]:
    return [p for p in node.command.get_params(node.ctx) if not getattr(p, "hidden", False)]


def _type_metavar(param: click.Parameter) -> str:
    name = param.type.name.upper().replace(" RANGE", "")
    return {"TEXT": "TEXT", "FILENAME": "FILE"}.get(name, name)


def argument_metavar(param: click.Argument) -> str:
    """NAME, [NAME], NAME... as in a usage line; a metavar given in the code is used as it is."""
    if param.metavar:
        return param.metavar
    var = param.name.upper()  # type: ignore[union-attr]
    if not param.required and not (var.startswith("[") and var.endswith("]")):
        var = f"[{var}]"
    if param.nargs != 1:
        var += "..."
    return var


def option_value_roff(param: click.Option) -> str:
    """The value part of an option's tag: a metavar in italics or the choices in bold."""
    if param.is_flag or param.count:
        return ""
    if isinstance(param.type, click.Choice) and not param.metavar:
        return "|".join(bold(str(choice)) for choice in param.type.choices)
    metavar = param.metavar or _type_metavar(param)
    return " ".join([italic(metavar)] * max(param.nargs, 1))


def option_tag(param: click.Option) -> str:
    tag = ", ".join(bold(name) for name in [*param.opts, *param.secondary_opts])
    value = option_value_roff(param)
    return f"{tag} {value}" if value else tag


def _envvars(param: click.Parameter) -> list[str]:
    envvar = getattr(param, "envvar", None)
    if not envvar:
        return []
    return [envvar] if isinstance(envvar, str) else [str(e) for e in envvar]


def _default_text(param: click.Option, ctx: click.Context) -> str | None:
    show = param.show_default if param.show_default is not None else ctx.show_default
    if isinstance(show, str):
        return show
    if not show:
        return None
    default = param.default
    if default is None or callable(default) or repr(default) == "Sentinel.UNSET":
        return None
    if param.is_bool_flag:
        if param.secondary_opts:
            return (param.opts if default else param.secondary_opts)[0]
        return None
    if isinstance(default, (list, tuple)):
        return ", ".join(str(d) for d in default) or None
    if isinstance(default, enum.Enum):
        return default.name
    return '""' if default == "" else str(default)


def option_body(param: click.Option, ctx: click.Context) -> list[str]:
    """The paragraphs describing one option: its help, then its facts."""
    paragraphs = [prose(text) for kind, text in help_paragraphs(param.help or "") if kind != "examples"]
    facts: list[str] = []
    default = _default_text(param, ctx)
    if default is not None:
        facts.append(f"Default: {esc(default)}.")
    if isinstance(param.type, click.Choice) and param.metavar:
        facts.append("One of: " + ", ".join(bold(str(c)) for c in param.type.choices) + ".")
    describe_range = getattr(param.type, "_describe_range", None)
    if describe_range is not None and not param.count:
        facts.append(f"Range: {esc(describe_range())}.")
    if param.multiple:
        facts.append("May be given more than once.")
    if param.required:
        facts.append("Required.")
    envvars = _envvars(param)
    if envvars:
        facts.append("Environment: " + ", ".join(bold(e) for e in envvars) + ".")
    if facts:
        # On a line of its own: help texts often end in an example without a period.
        if paragraphs:
            paragraphs[-1] += LINE_BREAK + " ".join(facts)
        else:
            paragraphs.append(" ".join(facts))
    return paragraphs or [""]


def argument_body(param: click.Argument, note: str | None) -> list[str]:
    text = getattr(param, "help", None) or note or ""
    facts: list[str] = []
    if isinstance(param.type, click.Choice):
        facts.append("One of: " + ", ".join(bold(str(c)) for c in param.type.choices) + ".")
    if param.nargs == -1:
        facts.append("One or more." if param.required else "Any number, or none.")
    elif not param.required:
        facts.append("Optional.")
    body = " ".join(part for part in (prose(text), *facts) if part)
    return [body]


def usage_roff(node: Node) -> str:
    """One synopsis line: ami [GLOBAL OPTIONS] queues members [OPTIONS] [QUEUE]..."""
    parts = [bold("ami")]
    if node.path:
        parts.append(f"[{italic('GLOBAL OPTIONS')}]")
        parts.append(bold(" ".join(node.path)))
    params = visible_params(node)
    if any(isinstance(p, click.Option) for p in params):
        parts.append(f"[{italic('OPTIONS')}]")
    for param in params:
        if isinstance(param, click.Argument):
            parts.append(_usage_piece(argument_metavar(param)))
    if isinstance(node.command, click.Group):
        optional = getattr(node.command, "invoke_without_command", False)
        sub = f"{italic('COMMAND')} [{italic('ARGS')}]..."
        parts.append(f"[{sub}]" if optional else sub)
    return " ".join(parts)


def _usage_piece(metavar: str) -> str:
    # Upper-case words are placeholders (italics); the rest is literal.
    out, pos = [], 0
    for match in re.finditer(r"[A-Z][A-Z0-9_]+", metavar):
        out.append(esc(metavar[pos : match.start()]))
        out.append(italic(match.group(0)))
        pos = match.end()
    out.append(esc(metavar[pos:]))
    return "".join(out)


# ===========================================================================
# Help texts: click's conventions -> kinds of paragraph
# ===========================================================================


def help_paragraphs(text: str) -> list[tuple[str, object]]:
    """Split a click help text into ("text", str), ("verbatim", lines),
    ("examples", lines) and ("exit", str) paragraphs.

    Click's conventions: ``\\f`` ends the help; a paragraph whose first line
    is ``\\b`` keeps its line breaks.  A ``\\b`` block headed ``Examples:``
    becomes examples; a paragraph starting "Exit status" belongs to EXIT STATUS.
    """
    text = inspect.cleandoc(text or "").split("\f")[0].strip()
    out: list[tuple[str, object]] = []
    for para in re.split(r"\n[ \t]*\n", text):
        lines = para.splitlines()
        if not lines:
            continue
        if lines[0].strip() == "\b":
            body = textwrap.dedent("\n".join(lines[1:])).splitlines()
            if not body:
                continue
            head = body[0].strip()
            if re.fullmatch(r"Examples?:", head):
                out.append(("examples", textwrap.dedent("\n".join(body[1:])).splitlines()))
            elif head.lower().startswith("exit status") or head.lower().startswith("exit code"):
                out.append(("exit", " ".join(line.strip() for line in body)))
            elif head.endswith(":") and len(body) > 1 and not body[1].startswith(head[:1]) and body[1][:1].isspace():
                out.append(("text", head))
                out.append(("verbatim", textwrap.dedent("\n".join(body[1:])).splitlines()))
            else:
                out.append(("verbatim", body))
        else:
            joined = " ".join(line.strip() for line in lines)
            lowered = joined.lower()
            kind = "exit" if lowered.startswith("exit status") or lowered.startswith("exit code") else "text"
            out.append((kind, joined))
    return out


def render_help(roff: Roff, paragraphs: Sequence[tuple[str, object]], skip_first: bool = False) -> None:
    for index, (kind, body) in enumerate(paragraphs):
        if skip_first and index == 0:
            continue
        if kind == "text":
            roff.paragraph(prose(str(body)))
        elif kind == "verbatim":
            roff.verbatim(list(body))  # type: ignore[arg-type]


def short_help(node: Node) -> str:
    """The one-line description for NAME and lists."""
    from .cli import COMMANDS

    if len(node.path) == 1 and node.path[0] in COMMANDS:
        text = COMMANDS[node.path[0]][2]
    elif not node.path:
        first = help_paragraphs(node.command.help or "")
        text = str(first[0][1]) if first else "the Asterisk Manager Interface from the command line"
        text = text.split(": ", 1)[1] if text.startswith("ami: ") else text
    else:
        text = node.command.get_short_help_str(limit=200)
    text = text.strip().rstrip(".")
    first_word = text.split(" ", 1)[0]
    if first_word[:1].isupper() and not (first_word.isupper() or first_word[1:2].isupper()):
        text = text[0].lower() + text[1:]
    return text


# ===========================================================================
# Exit statuses
# ===========================================================================


def enum_comments(cls: type) -> dict[str, str]:
    """The ``#:`` comment lines right above each member of an enum class."""
    try:
        source = inspect.getsource(cls)
    except (OSError, TypeError):
        return {}
    out: dict[str, str] = {}
    pending: list[str] = []
    for line in source.splitlines():
        stripped = line.strip()
        if stripped.startswith("#:"):
            pending.append(stripped[2:].strip())
            continue
        match = re.match(r"([A-Z_][A-Z0-9_]*)\s*=", stripped)
        if match and pending:
            out[match.group(1)] = " ".join(pending)
        pending = []
    return out


def _module_sources(modname: str) -> list[str]:
    """Source of a module and of the amicli modules it imports, transitively
    (the errors table, the CLI and this module left out)."""
    skip = {"amicli.errors", "amicli.cli", "amicli.manpage"}
    seen: set[str] = set()
    todo = [modname]
    sources: list[str] = []
    while todo:
        name = todo.pop()
        if name in seen or name in skip or not name.startswith("amicli"):
            continue
        seen.add(name)
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            continue
        if spec is None or not spec.origin or not spec.origin.endswith(".py"):
            continue
        text = Path(spec.origin).read_text(encoding="utf-8")
        sources.append(text)
        package = name if spec.submodule_search_locations else name.rpartition(".")[0]
        for match in re.finditer(r"^[ \t]*from[ \t]+([.\w]+)[ \t]+import[ \t]+(\([^)]*\)|[^\n]*)", text, re.M):
            base = match.group(1)
            if base.startswith("."):
                try:
                    base = importlib.util.resolve_name(base, package)
                except ImportError:
                    continue
            todo.append(base)
            for item in re.split(r"[,\s()]+", match.group(2)):
                if item.isidentifier() and item != "as":
                    todo.append(f"{base}.{item}")
        for match in re.finditer(r"^[ \t]*import[ \t]+(amicli[\w.]*)", text, re.M):
            todo.append(match.group(1))
    return sources


def _general_codes() -> set[int]:
    """Codes any command can end with: success, usage, interrupt, and every
    code an exception of amicli.errors maps to."""
    from . import errors
    from .errors import ExitCode

    codes = {int(getattr(ExitCode, name)) for name in ("OK", "USAGE", "INTERRUPTED") if hasattr(ExitCode, name)}
    for obj in vars(errors).values():
        if isinstance(obj, type) and issubclass(obj, errors.AmiError) and obj.__module__ == errors.__name__:
            codes.add(int(obj.exit_code))
    return codes


def _codes_used_by(command_name: str) -> set[str]:
    """ExitCode member names a command's modules name (ExitCode.BUSY, ...)."""
    from .cli import COMMANDS

    names: set[str] = set()
    for source in _module_sources(COMMANDS[command_name][0]):
        names.update(re.findall(r"\bExitCode\.([A-Z_][A-Z0-9_]*)\b", source))
    return names


def plugin_status_enum(command_name: str) -> type[enum.IntEnum] | None:
    """The Monitoring Plugins status enum of a command that uses those codes."""
    from .cli import COMMANDS, PLUGIN_COMMANDS, PLUGIN_UNKNOWN

    if command_name not in PLUGIN_COMMANDS:
        return None
    module = importlib.import_module(COMMANDS[command_name][0])
    for obj in vars(module).values():
        if (
            isinstance(obj, type)
            and issubclass(obj, enum.IntEnum)
            and obj.__module__ == module.__name__
            and int(getattr(obj, "UNKNOWN", -1)) == PLUGIN_UNKNOWN
        ):
            return obj
    return None


@dataclass
class ExitRow:
    code: int
    name: str
    text: str
    only: tuple[str, ...] = ()  # commands that alone return it


def exit_rows(command_name: str | None) -> list[ExitRow]:
    """The exit statuses of one command (None: of `ami` as a whole)."""
    from .cli import COMMANDS
    from .errors import ExitCode

    if command_name is not None:
        plugin = plugin_status_enum(command_name)
        if plugin is not None:
            comments = enum_comments(plugin)
            return [
                ExitRow(int(m), m.name, PLUGIN_STATUS_TEXT.get(m.name) or comments.get(m.name) or m.name.title())
                for m in plugin
            ]
    comments = enum_comments(ExitCode)
    general = _general_codes()
    users: dict[str, list[str]] = {}
    for name in COMMANDS:
        for used in _codes_used_by(name):
            users.setdefault(used, []).append(name)
    rows = []
    for member in ExitCode:
        text = comments.get(member.name) or member.name.replace("_", " ").capitalize() + "."
        if int(member) in general:
            rows.append(ExitRow(int(member), member.name, text))
            continue
        only = tuple(users.get(member.name, ()))
        if command_name is None or command_name in only:
            rows.append(ExitRow(int(member), member.name, text, only))
    return sorted(rows, key=lambda row: row.code)


# ===========================================================================
# Environment
# ===========================================================================


def option_env(node: Node, recursive: bool = True) -> dict[str, tuple[click.Option, Node]]:
    """envvar -> (option, command) for the options of a command (and below)."""
    out: dict[str, tuple[click.Option, Node]] = {}
    for each in walk(node) if recursive else [node]:
        for param in visible_params(each):
            if isinstance(param, click.Option):
                for var in _envvars(param):
                    out.setdefault(var, (param, each))
    return out


def documented_env() -> set[str]:
    root = root_node()
    names = set(option_env(root)) | set(GLOBAL_ENVIRONMENT)
    for notes in NOTES.values():
        names |= set(notes.environment)
    return names


def _package_source() -> str:
    package = Path(__file__).resolve().parent
    return "\n".join(
        path.read_text(encoding="utf-8") for path in sorted(package.rglob("*.py")) if path.name != "manpage.py"
    )


def undocumented_env() -> list[str]:
    """AMI_* names the package's source mentions that no page documents."""
    found = set(re.findall(r"(?<![\w])AMI_[A-Z][A-Z0-9_]*", _package_source()))
    return sorted(found - documented_env())


def stale_env() -> list[str]:
    """Hand-documented variables that the package's source no longer mentions."""
    source = _package_source()
    names = set(GLOBAL_ENVIRONMENT)
    for notes in NOTES.values():
        names |= set(notes.environment)
    return sorted(name for name in names if name not in source)


# ===========================================================================
# Pages
# ===========================================================================


def _header(roff: Roff, title: str) -> None:
    roff.raw('.\\" Generated by "python -m amicli.manpage --write" from the click definitions')
    roff.raw('.\\" and the hand-written notes in amicli/manpage.py.  Edit those, not this file.')
    roff.raw(f'.TH {title.upper()} 1 {PAGE_DATE} "{SOURCE}" "{MANUAL}"')
    # No hyphenation and a ragged right margin: option names and examples
    # must come out whole, ready to copy.
    roff.raw(".nh")
    roff.raw(".ad l")


def _name_section(roff: Roff, node: Node) -> None:
    roff.sh("NAME")
    roff.text(f"{esc('-'.join(('ami', *node.path)))} \\- {esc(short_help(node))}")


def _options_list(roff: Roff, node: Node, notes: Notes, prefix: tuple[str, ...]) -> None:
    for param in visible_params(node):
        if isinstance(param, click.Argument):
            key = " ".join((*prefix, param.name or ""))
            roff.tp(_usage_piece(argument_metavar(param)), argument_body(param, notes.arguments.get(key)))
    for param in visible_params(node):
        if isinstance(param, click.Option):
            roff.tp(option_tag(param), option_body(param, node.ctx))


def _subcommands(roff: Roff, node: Node, notes: Notes, page_path: tuple[str, ...]) -> None:
    for child in children(node):
        roff.ss(esc(" ".join(child.path)))
        roff.text(usage_roff(child))
        paragraphs = help_paragraphs(child.command.help or "")
        render_help(roff, paragraphs)
        for kind, body in paragraphs:
            if kind == "exit":
                roff.paragraph(prose(str(body)))
        _options_list(roff, child, notes, child.path[len(page_path) :])
        _subcommands(roff, child, notes, page_path)


def _exit_section(roff: Roff, command_name: str | None, prose_lines: Sequence[str]) -> None:
    from .cli import PLUGIN_COMMANDS

    roff.sh("EXIT STATUS")
    for line in prose_lines:
        roff.paragraph(prose(line))
    rows = exit_rows(command_name)
    if command_name in PLUGIN_COMMANDS:
        roff.paragraph(
            "This command exits with the status codes of the Monitoring Plugins API, not the other "
            f"{bold('ami')} codes, because its caller is a monitoring system; a usage error is UNKNOWN."
        )
    elif command_name is None:
        roff.paragraph(
            "Every exit status is defined once, in amicli/errors.py; each kind of failure has its own, "
            "so a script can tell them apart."
        )
    for row in rows:
        body = prose(row.text)
        if row.only and command_name is None:
            body += " (" + ", ".join(bold(f"ami {name}") for name in row.only) + " only.)"
        roff.tp(f"{bold(str(row.code))} ({esc(row.name)})", [body])
    if command_name is None:
        for name in PLUGIN_COMMANDS:
            plugin = plugin_status_enum(name)
            codes = ", ".join(f"{int(m)} {m.name}" for m in plugin) if plugin else ""
            roff.paragraph(f"{bold('ami ' + name)} uses the Monitoring Plugins codes instead ({codes}).")


def _environment_section(roff: Roff, page: Node | None, notes: Notes) -> None:
    root = root_node()
    roff.sh("ENVIRONMENT")
    entries: dict[str, str] = {}
    if page is None or notes.connects:
        for var, (param, _node) in option_env(root, recursive=False).items():
            names = ", ".join(bold(n) for n in [*param.opts, *param.secondary_opts])
            entries[var] = f"Sets the default of {names}. " + " ".join(
                prose(text) for kind, text in help_paragraphs(param.help or "") if kind == "text"
            )
        for var, text in GLOBAL_ENVIRONMENT.items():
            entries[var] = prose(text)
    target = root if page is None else page
    for var, (param, node) in option_env(target).items():
        if var in entries or not node.path:
            continue
        names = ", ".join(bold(n) for n in [*param.opts, *param.secondary_opts])
        entries[var] = f"Sets the default of {names} of {bold(node.name)}."
    for var, text in notes.environment.items():
        entries.setdefault(var, prose(text))
    if not entries:
        roff.paragraph(
            f"{bold(page.name if page else 'ami')} reads no environment variables; the connection "
            f"settings of {bold('ami')}(1) do not apply to it."
        )
        return
    if page is not None and not notes.connects:
        roff.paragraph(f"The connection settings of {bold('ami')}(1) do not apply to this command.")
    for var, text in entries.items():
        roff.tp(bold(var), [text])


def _files_section(roff: Roff) -> None:
    from .config import PROFILE_KEYS
    from .errors import ExitCode

    roff.sh("FILES")
    roff.tp(
        italic("$XDG_CONFIG_HOME/ami/config"),
        [
            prose(
                "The profile file (~/.config/ami/config when XDG_CONFIG_HOME is unset; AMI_CONFIG names "
                "another).  An INI file with one section per profile; --profile picks one, and the section "
                "[default] is used when none is named.  Keys: "
            )
            + ", ".join(bold(k) for k in PROFILE_KEYS)
            + prose(".  Options and AMI_* variables override what a profile says."),
            prose(
                "A file that holds a secret must not be readable by group or others (`chmod 600`), or `ami` "
                f"refuses it with exit status {int(ExitCode.CONFIG)}, as ssh does with private keys."
            ),
        ],
    )
    roff.verbatim(
        [
            "[default]",
            "host = 127.0.0.1",
            "user = admin",
            "secret = s3cret-Admin",
            "",
            "[pbx1]",
            "host = pbx1.example.com",
            "user = monitor",
            "tls = yes",
            "ca_file = /etc/ssl/certs/pbx-ca.pem",
        ]
    )


def _examples_section(roff: Roff, node: Node, notes: Notes) -> None:
    doc_examples = [list(body) for kind, body in help_paragraphs(node.command.help or "") if kind == "examples"]
    doc_examples += [
        list(body) for kind, body in help_paragraphs(node.command.epilog or "") if kind == "examples" and node.path
    ]
    if not doc_examples and not notes.examples:
        return
    roff.sh("EXAMPLES")
    for lines in doc_examples:
        roff.verbatim(lines)  # type: ignore[arg-type]
    shown = {line.strip() for lines in doc_examples for line in lines}
    for example in notes.examples:
        if all(line.strip() in shown for line in example.code.splitlines()):
            continue  # the command's own help already shows it
        roff.paragraph(prose(example.title))
        roff.verbatim(example.code.splitlines())


def _see_also_section(roff: Roff, node: Node | None, notes: Notes) -> None:
    roff.sh("SEE ALSO")
    refs: list[str] = []
    if node is None:
        refs += [f"ami-{child.path[0]}(1)" for child in top_commands()]
    else:
        refs.append("ami(1)")
    refs += [ref for ref in notes.see_also if ref not in refs]
    pieces = []
    for ref in refs:
        name, _, section = ref.partition("(")
        pieces.append(f"{bold(name)}({esc(section)}")
    roff.text(",\n".join(pieces))


def page_for(node: Node) -> str:
    """The whole man page of one top-level command."""
    command_name = node.path[0]
    notes = NOTES.get(command_name, Notes())
    roff = Roff()
    _header(roff, f"ami-{command_name}")
    _name_section(roff, node)
    roff.sh("SYNOPSIS")
    lines = [usage_roff(each) for each in walk(node)]
    roff.text(lines[0])
    for line in lines[1:]:
        roff.raw(".br")
        roff.text(line)
    roff.sh("DESCRIPTION")
    paragraphs = help_paragraphs(node.command.help or "")
    render_help(roff, paragraphs)
    for text in notes.description:
        roff.paragraph(prose(text))
    roff.sh("OPTIONS")
    _options_list(roff, node, notes, ())
    global_names = [
        bold(name)
        for param in visible_params(root_node())
        if isinstance(param, click.Option)
        for name in param.opts
        if name.startswith("--") and name not in ("--help", "--version")
    ]
    if notes.connects:
        roff.paragraph(
            f"The global options ({', '.join(global_names)}) come before the command name; see {bold('ami')}(1)."
        )
    if children(node):
        roff.sh("COMMANDS")
        _subcommands(roff, node, notes, node.path)
    _exit_section(roff, command_name, [str(body) for kind, body in paragraphs if kind == "exit"])
    _environment_section(roff, node, notes)
    if notes.connects or command_name == "completion":
        _files_section(roff)
    _examples_section(roff, node, notes)
    _see_also_section(roff, node, notes)
    return roff.render()


def root_page() -> str:
    """ami(1): the tool as a whole."""
    from .cli import COMMANDS

    node = root_node()
    notes = NOTES[_ROOT]
    roff = Roff()
    _header(roff, "ami")
    _name_section(roff, node)
    roff.sh("SYNOPSIS")
    roff.text(usage_roff(node))
    roff.sh("DESCRIPTION")
    # The first paragraph is the NAME line already.
    render_help(roff, help_paragraphs(node.command.help or ""), skip_first=True)
    for text in notes.description:
        roff.paragraph(prose(text))
    roff.sh("OPTIONS")
    _options_list(roff, node, notes, ())
    roff.sh("COMMANDS")
    for child in top_commands():
        name = child.path[0]
        text = COMMANDS[name][2] if name in COMMANDS else child.command.get_short_help_str(limit=200)
        roff.tp(bold(name), [f"{prose(text)} See {bold('ami-' + name)}(1)."])
    _exit_section(roff, None, [])
    _environment_section(roff, None, notes)
    _files_section(roff)
    _examples_section(roff, node, notes)
    _see_also_section(roff, None, notes)
    return roff.render()


def build_pages() -> dict[str, str]:
    """File name (in man/) -> page text, for ami and every command."""
    pages = {"ami.1": root_page()}
    for node in top_commands():
        pages[f"ami-{node.path[0]}.1"] = page_for(node)
    return pages


def build_completions() -> dict[str, str]:
    """File name (in completions/) -> script, for each shell."""
    from .commands.completion import INSTALL_PATHS, SHELLS, script

    return {INSTALL_PATHS[shell][1]: script(shell) for shell in SHELLS}


def generated_files() -> dict[str, str]:
    """Path relative to the repository -> content, for everything this module writes."""
    files = {f"{MAN_DIR}/{name}": text for name, text in build_pages().items()}
    files.update({f"{COMPLETIONS_DIR}/{name}": text for name, text in build_completions().items()})
    return files


# ===========================================================================
# Checking the hand-written notes against the code
# ===========================================================================


def shell_invocations(code: str) -> list[list[str]]:
    """The argument lists of every `ami` run in a piece of shell code."""
    found: list[list[str]] = []
    for line in code.replace("\\\n", " ").splitlines():
        # `2> file`: the descriptor number belongs to the redirection, which the lexer cannot tell.
        line = re.sub(r"(?<![^\s])\d+(?=[<>])", "", line)
        lexer = shlex.shlex(line, posix=True, punctuation_chars=";&|()<>")
        lexer.whitespace_split = True
        lexer.commenters = "#"
        try:
            tokens = list(lexer)
        except ValueError:
            continue
        index = 0
        while index < len(tokens):
            if tokens[index].rsplit("/", 1)[-1] == "ami":
                args: list[str] = []
                index += 1
                while index < len(tokens) and not set(tokens[index]) <= set(";&|()<>"):
                    args.append(tokens[index])
                    index += 1
                found.append(args)
            index += 1
    return found


def _missing(value: object) -> bool:
    # click 8.2+ marks an absent value with a sentinel rather than None.
    return value is None or value == () or "UNSET" in repr(value)


def check_invocation(args: Sequence[str]) -> str | None:
    """None if `ami ARGS` names existing commands and options, else why not.

    Only the command line is parsed (click's own parser and command
    resolution): values are not converted and no callback runs, so
    placeholders such as "$port" pass.
    """
    from .cli import cli

    command: click.Command = cli
    ctx = _context(cli, "ami", None)
    rest = list(args)
    try:
        while True:
            if isinstance(command, click.Group):
                # The group's own parse_args: custom groups (a default
                # subcommand, as `ami queues` has) rewrite the words first.
                command.parse_args(ctx, rest)
                protected = getattr(ctx, "_protected_args", None)
                if protected is None:
                    protected = ctx.protected_args
                rest = [*protected, *ctx.args]
                if not rest:
                    return None
                name, sub, rest = command.resolve_command(ctx, rest)
                if sub is None:
                    return None  # a group that takes the word itself (no subcommand)
                ctx = _context(sub, name, ctx)
                command = sub
                continue
            values, rest, _order = command.make_parser(ctx).parse_args(args=rest)
            for param in command.get_params(ctx):
                if isinstance(param, click.Argument) and param.required and _missing(values.get(param.name)):
                    return f"missing argument {argument_metavar(param)}"
            if rest and not ctx.allow_extra_args:
                return f"unexpected extra argument {rest[0]!r}"
            return None
    except click.exceptions.Exit:
        return None  # --help or --version
    except click.ClickException as exc:
        return exc.format_message()


def check_notes() -> list[str]:
    """Problems with the hand-written notes and the help texts: examples
    that use commands or options that do not exist, notes for arguments or
    see-also pages that do not exist, statuses without words, and AMI_*
    variables that no page documents (or that the source no longer reads)."""
    problems: list[str] = []
    from .cli import COMMANDS

    for key, notes in NOTES.items():
        if key and key not in COMMANDS:
            problems.append(f"notes for {key!r}, which is not a command")
            continue
        for example in notes.examples:
            for args in shell_invocations(example.code):
                why = check_invocation(args)
                if why:
                    problems.append(f"example in {key or 'ami'} page: ami {shlex.join(args)}: {why}")
        if key and notes.arguments:
            page = next(node for node in top_commands() if node.path[0] == key)
            known = {
                " ".join((*each.path[1:], param.name or ""))
                for each in walk(page)
                for param in visible_params(each)
                if isinstance(param, click.Argument)
            }
            for name in notes.arguments:
                if name not in known:
                    problems.append(f"notes for argument {name!r} of {key}, which has no such argument")
        for ref in notes.see_also:
            if ref.startswith("ami-") and ref[4:].partition("(")[0] not in COMMANDS:
                problems.append(f"see-also {ref} in the {key or 'ami'} page: no such command")
    for name in COMMANDS:
        plugin = plugin_status_enum(name)
        for member in plugin or ():
            if member.name not in PLUGIN_STATUS_TEXT:
                problems.append(f"{name}: status {member.name} has no text in PLUGIN_STATUS_TEXT")
    for node in walk(root_node()):
        for kind, body in help_paragraphs(node.command.help or "") + help_paragraphs(node.command.epilog or ""):
            if kind == "examples":
                for args in shell_invocations("\n".join(body)):  # type: ignore[arg-type]
                    why = check_invocation(args)
                    if why:
                        problems.append(f"example in the help of {node.name}: ami {shlex.join(args)}: {why}")
    for name in undocumented_env():
        problems.append(f"{name} appears in the source but no page documents it (add it to NOTES)")
    for name in stale_env():
        problems.append(f"{name} is documented in NOTES but the source no longer mentions it")
    return problems


# ===========================================================================
# Command line
# ===========================================================================


def default_root() -> Path:
    """The checkout this module belongs to, else the current directory."""
    here = Path(__file__).resolve().parent.parent
    return here if (here / "setup.cfg").is_file() else Path.cwd()


def differences(root: Path) -> list[str]:
    """Files under root that differ from what would be generated (or are stale)."""
    wanted = generated_files()
    out = []
    for rel, text in wanted.items():
        path = root / rel
        if not path.is_file() or path.read_bytes() != text.encode("utf-8"):
            out.append(rel)
    for path in sorted((root / MAN_DIR).glob("ami*.1")):
        rel = f"{MAN_DIR}/{path.name}"
        if rel not in wanted:
            out.append(rel + " (no such command any more)")
    return out


def write(root: Path) -> list[str]:
    """Write every generated file under root; return those that changed."""
    wanted = generated_files()
    changed = []
    for rel, text in wanted.items():
        path = root / rel
        data = text.encode("utf-8")
        if not path.is_file() or path.read_bytes() != data:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            changed.append(rel)
    for path in sorted((root / MAN_DIR).glob("ami*.1")):
        if f"{MAN_DIR}/{path.name}" not in wanted:
            path.unlink()
            changed.append(f"{MAN_DIR}/{path.name} (removed)")
    return changed


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m amicli.manpage",
        description="Generate ami's man pages (man/) and shell completion scripts (completions/) from the code.",
    )
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--write", action="store_true", help="regenerate the files")
    action.add_argument("--check", action="store_true", help="exit 1 if the committed files differ or notes are stale")
    action.add_argument("--print", metavar="FILE", help="print one generated file, e.g. man/ami-originate.1")
    parser.add_argument("--root", type=Path, default=None, help="repository root [default: this checkout]")
    opts = parser.parse_args(argv)
    root = opts.root or default_root()

    if opts.print:
        files = generated_files()
        if opts.print not in files:
            print(f"manpage: no generated file {opts.print!r}; known: {', '.join(files)}", file=sys.stderr)
            return 2
        sys.stdout.write(files[opts.print])
        return 0
    problems = check_notes()
    for problem in problems:
        print(f"manpage: {problem}", file=sys.stderr)
    if opts.write:
        for rel in write(root):
            print(f"wrote {rel}")
        return 1 if problems else 0
    stale = differences(root)
    for rel in stale:
        print(f"manpage: {rel} is out of date; run: python -m amicli.manpage --write", file=sys.stderr)
    return 1 if stale or problems else 0


if __name__ == "__main__":
    sys.exit(main())
