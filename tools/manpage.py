"""Write ami's man pages (man/*.1) and completion scripts (completions/) from its click commands.

    python tools/manpage.py           # regenerate the files
    python tools/manpage.py --check   # exit 1 if the committed files differ

Everything comes from the code through click's public API: usage, help text,
epilog and option help records (what `--help` shows) and option envvars; the
exit codes of amicli/errors.py with the ``#:`` comment above each; and what a
command module declares beside its command: ``EXTRA_EXIT_CODES`` (codes it
adds to the general ones) or ``OWN_EXIT_STATUSES`` (an enum it exits with
instead).  A ``\\b`` block of a help text headed ``Examples:``,
``Environment:`` or ``Files:`` becomes that section of the page.  Not part of
the installed package; tests/test_docs.py keeps the committed files in sync.
"""

from __future__ import annotations

import argparse
import functools
import inspect
import re
import sys
import textwrap
from enum import IntEnum
from pathlib import Path
from typing import Callable

import click

from amicli import __version__, errors
from amicli.cli import COMMANDS, cli
from amicli.commands.completion import INSTALL_PATHS, SHELLS, script
from amicli.errors import ExitCode

REPO = Path(__file__).resolve().parent.parent
#: Fixed, so the pages are the same bytes on any day; move it on a release.
PAGE_DATE = "2026-11-27"
SECTIONS = ("Examples", "Environment", "Files")
_INLINE = re.compile(r"`([^`]+)`|(?<![\w/.$'=-])(--?[A-Za-z][\w-]*)")


def esc(text: str) -> str:
    text = text.replace("\\", "\\e").replace("-", "\\-")
    return "".join(c if 32 <= ord(c) < 127 else f"\\[u{ord(c):04X}]" for c in text)


def bold(text: str) -> str:
    return f"\\fB{esc(text)}\\fR"


def prose(text: str) -> str:
    """Text -> roff, `code` and option names in bold, wrapped for a readable source."""
    out, pos = [], 0
    for match in _INLINE.finditer(text):
        out += [esc(text[pos : match.start()]), bold(match.group(1) or match.group(2))]
        pos = match.end()
    out.append(esc(text[pos:]))
    lines = textwrap.wrap("".join(out), 78, break_long_words=False, break_on_hyphens=False)
    return "\n".join("\\&" + line if line.startswith((".", "'")) else line for line in lines)


def verbatim(lines: list[str]) -> str:
    body = "\n".join("\\&" + esc(line.rstrip()) if line.strip() else "\\&" for line in lines)
    return f".PP\n.RS 4\n.nf\n{body}\n.fi\n.RE"


def tagged(tag: str, text: str) -> str:
    return f".TP\n{tag}\n{prose(text)}" if text else f".TP\n{tag}"


def blocks(text: str | None) -> list[tuple[str, list[str]]]:
    """A help text as (kind, lines): "" a paragraph to fill, "\\b" one kept as written,
    or the section (Examples, ...) that a block headed by its name belongs to."""
    out = []
    for para in re.split(r"\n\s*\n", inspect.cleandoc(text or "").partition("\f")[0]):
        lines = para.splitlines()
        if lines and lines[0].strip() == "\b":
            body = textwrap.dedent("\n".join(lines[1:])).splitlines()
            head = body[0].strip() if body else ""
            name = "Examples" if head == "Example:" else head[:-1]
            if head.endswith(":") and name in SECTIONS:
                out.append((name, textwrap.dedent("\n".join(body[1:])).splitlines()))
            elif body:
                out.append(("\b", body))
        elif para.strip():
            out.append(("", [" ".join(line.strip() for line in lines)]))
    return out


def terms(lines: list[str]) -> list[tuple[str, str]]:
    """The entries of an Environment: or Files: block: `TERM  text`, continued on indented lines."""
    out: list[tuple[str, str]] = []
    for line in lines:
        if line[:1].isspace() and out:
            out[-1] = (out[-1][0], f"{out[-1][1]} {line.strip()}")
        elif line.strip():
            term, _, text = line.partition("  ")
            out.append((term, text.strip()))
    return out


def subcommands(group: click.Command, ctx: click.Context) -> list[tuple[click.Command, click.Context]]:
    if not isinstance(group, click.Group):
        return []
    found = [(group.get_command(ctx, name), name) for name in group.list_commands(ctx)]
    return [(sub, click.Context(sub, info_name=name, parent=ctx)) for sub, name in found if sub and not sub.hidden]


def synopsis(command: click.Command, ctx: click.Context) -> str:
    return " ".join([bold(ctx.command_path), *(esc(piece) for piece in command.collect_usage_pieces(ctx))])


def describe(command: click.Command, ctx: click.Context, sections: dict[str, list[str]]) -> list[str]:
    """Help, epilog and parameters of a command; headed blocks are added to `sections`."""
    out = []
    for kind, lines in blocks(command.help) + blocks(command.epilog):
        if kind == "":
            out += [".PP", prose(lines[0])]
        elif kind == "\b":
            out.append(verbatim(lines))
        elif kind == "Examples":
            sections.setdefault(kind, []).append(verbatim(lines))
        else:
            sections.setdefault(kind, []).extend(tagged(bold(term), text) for term, text in terms(lines))
    for param in command.get_params(ctx):
        record = param.get_help_record(ctx)
        if record and (record[1] or isinstance(param, click.Option)):
            out.append(tagged(bold(record[0]), record[1]))
        for var in [param.envvar] if isinstance(param.envvar, str) else param.envvar or ():
            sections.setdefault("Environment", []).append(tagged(bold(var), f"The default of {record[0]}."))
    return out


def code_texts(enum: type[IntEnum]) -> dict[str, str]:
    """The ``#:`` comment lines right above each member of an enum."""
    out, pending = {}, []
    for line in inspect.getsource(enum).splitlines():
        if line.strip().startswith("#:"):
            pending.append(line.strip()[2:].strip())
        elif match := re.match(r"\s*([A-Z_]+)\s*=", line):
            out[match.group(1)] = " ".join(pending)
            pending = []
        else:
            pending = []
    return out


def general_codes() -> set[ExitCode]:
    """What any command may exit with: success, usage, Ctrl-C, and the code of every error of amicli.errors."""
    found = {ExitCode.OK, ExitCode.USAGE, ExitCode.INTERRUPTED}
    return found | {
        c.exit_code for c in vars(errors).values() if isinstance(c, type) and issubclass(c, errors.AmiError)
    }


def declared(command: click.Command, name: str) -> object:
    """What the command's module declares beside it: EXTRA_EXIT_CODES or OWN_EXIT_STATUSES."""
    return getattr(inspect.getmodule(command.callback), name, None)


def exit_rows(members: list[IntEnum], only: dict[IntEnum, list[str]]) -> list[str]:
    texts = code_texts(type(members[0]))
    rows = []
    for member in members:
        text = texts.get(member.name, "") + "".join(f" (`ami {name}` only.)" for name in only.get(member, ()))
        rows.append(tagged(f"{bold(str(int(member)))} ({member.name})", text))
    return rows


def exit_section(command: click.Command, tops: list[tuple[click.Command, click.Context]]) -> list[str]:
    """Its own statuses, or the general codes plus those it declares; for ami(1), every code."""
    own = declared(command, "OWN_EXIT_STATUSES")
    if own is not None:
        note = f"{inspect.getdoc(own)} This command exits with these, not with the codes of `ami`."
        return [".SH EXIT STATUS", ".PP", prose(note), *exit_rows(list(own), {})]
    only: dict[IntEnum, list[str]] = {}
    for sub, ctx in tops if command is cli else [(command, None)]:
        for code in declared(sub, "EXTRA_EXIT_CODES") or ():
            only.setdefault(code, []).append(ctx.info_name if ctx else "")
    rows = exit_rows(sorted(general_codes() | set(only)), only if command is cli else {})
    if command is not cli:
        return [".SH EXIT STATUS", *rows]
    for sub, ctx in tops:
        if declared(sub, "OWN_EXIT_STATUSES"):
            rows.append(f".PP\n{bold(ctx.command_path)} exits with statuses of its own; see its page.")
    return [".SH EXIT STATUS", ".PP", "Every exit status is defined once, in amicli/errors.py.", *rows]


def page(command: click.Command, ctx: click.Context) -> str:
    path = ctx.command_path
    summary = COMMANDS[ctx.info_name][2] if ctx.info_name in COMMANDS else command.get_short_help_str(300)
    summary = summary.rstrip(".").split("ami: ", 1)[-1]
    sections: dict[str, list[str]] = {}
    head = [
        '.\\" Generated by "python tools/manpage.py" from the click commands; edit those, not this file.',
        f'.TH {path.replace(" ", "-").upper()} 1 {PAGE_DATE} "ami {__version__}" "ami manual"',
        ".nh\n.ad l\n.SH NAME",
        f"{esc(path.replace(' ', '-'))} \\- {esc(summary[:1].lower() + summary[1:])}",
        ".SH SYNOPSIS",
        synopsis(command, ctx),
        ".SH DESCRIPTION",
    ]
    body = describe(command, ctx, sections)
    if command is cli:  # its first paragraph is the NAME line
        body = body[2:]
    first_option = next((i for i, line in enumerate(body) if line.startswith(".TP")), len(body))
    body.insert(first_option, ".SH OPTIONS")
    tops = subcommands(command, ctx)
    if path == "ami":
        body += [".SH COMMANDS"] + [
            tagged(bold(c.info_name), f"{COMMANDS[c.info_name][2]} See ami-{c.info_name}(1).") for _, c in tops
        ]
    for sub, sub_ctx in tops if path != "ami" else ():
        body += [".SH COMMANDS"] if sub is tops[0][0] else []
        body += [f'.SS "{esc(sub_ctx.info_name)}"', synopsis(sub, sub_ctx), *describe(sub, sub_ctx, sections)]
    body += exit_section(command, tops)
    for name in SECTIONS[1:] + SECTIONS[:1]:
        if sections.get(name):
            body += [f".SH {name.upper()}", *dict.fromkeys(sections[name])]
    refs = [f"ami-{c.info_name}" for _, c in tops] if path == "ami" else ["ami"]
    body += [".SH SEE ALSO", ",\n".join(f"{bold(ref)}(1)" for ref in refs)]
    # No paragraph break right after a heading (mandoc -T lint asks for none).
    return re.sub(r"^(\.S[HS] .*)\n\.PP\n", r"\1\n", "\n".join(head + body) + "\n", flags=re.M)


def _makers() -> dict[str, Callable[[], str]]:
    """Path in the repository -> what makes its content, for every file this tool writes."""
    ctx = click.Context(cli, info_name="ami", **cli.context_settings)
    makers = {"man/ami.1": functools.partial(page, cli, ctx)}
    for command, sub_ctx in subcommands(cli, ctx):
        makers[f"man/ami-{sub_ctx.info_name}.1"] = functools.partial(page, command, sub_ctx)
    makers.update({f"completions/{INSTALL_PATHS[shell][1]}": functools.partial(script, shell) for shell in SHELLS})
    return makers


def paths() -> list[str]:
    """Every file this tool writes (without writing the pages: the tests name them at collection)."""
    return list(_makers())


def generated() -> dict[str, str]:
    """Path in the repository -> content, for every file this tool writes."""
    return {rel: make() for rel, make in _makers().items()}


def stale(root: Path) -> list[str]:
    """Files under root that differ from what is generated, or that no command needs any more."""
    files = generated()
    out = [rel for rel, text in files.items() if not (root / rel).is_file() or (root / rel).read_text() != text]
    return out + [f"man/{p.name}" for p in sorted((root / "man").glob("*.1")) if f"man/{p.name}" not in files]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate man/ and completions/ from ami's click commands.")
    parser.add_argument("--check", action="store_true", help="exit 1 if the committed files differ")
    parser.add_argument("--root", type=Path, default=REPO, help="repository root [default: this checkout]")
    opts = parser.parse_args(argv)
    files, changed = generated(), stale(opts.root)
    for rel in changed:
        if opts.check:
            print(f"manpage: {rel} is out of date; run: python tools/manpage.py", file=sys.stderr)
        elif rel in files:
            (opts.root / rel).parent.mkdir(exist_ok=True)
            (opts.root / rel).write_text(files[rel])
        else:
            (opts.root / rel).unlink()
    return 1 if opts.check and changed else 0


if __name__ == "__main__":
    sys.exit(main())
