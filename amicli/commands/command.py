"""``ami command``: what ``asterisk -rx`` does, over AMI."""

from __future__ import annotations

import click

from ..context import get_app
from ..errors import ActionError


@click.command()
@click.argument("cli_command", nargs=-1, required=True, metavar="'CLI COMMAND'")
@click.option("--no-prefix", is_flag=True, help="With several PBXs: leave out the 'SERVER: ' before each line.")
@click.option("--json", "as_json", is_flag=True, help='One object per PBX: {"Output": [lines]} (and "Server").')
def command(cli_command: tuple[str, ...], no_prefix: bool, as_json: bool) -> int:
    """Run a CLI command on the PBX and print its output, line for line.

    Works with Asterisk 14 and later (one Output header per line) and with
    Asterisk 13 and older (Response: Follows) alike.  The user needs
    write=command in manager.conf.  The CLI command is one quoted argument,
    or several words, which are joined with spaces.  With several PBXs,
    each line starts with the PBX's name and ': ' (as pdsh does), unless
    --no-prefix.

    Exit status: 0 done, 1 the CLI command failed (unknown command, bad
    arguments), 9 some of several PBXs failed, and the usual codes for
    connection and login problems.

    \b
    Examples:
      ami command 'core show version'
      ami command core show channels concise | cut -d! -f1
      ami -H pbx1,pbx2 command 'core show uptime'
      for pbx in pbx1 pbx2; do ami --profile "$pbx" command 'dialplan reload'; done
    """
    from ..output import Output

    text = " ".join(cli_command)
    if not text.strip():
        raise click.BadParameter("must not be empty", param_hint="'CLI COMMAND'")
    if "\r" in text or "\n" in text:
        raise click.BadParameter("must be one line (no line breaks)", param_hint="'CLI COMMAND'")
    app = get_app()
    out = Output(json=as_json)
    run = app.runner(json_out=out)

    def work(member: object) -> list[str]:
        with app.session(need_booted=True, settings=member) as client:
            ok, lines = client.command(text)
        if not ok:
            raise ActionError("; ".join(line.strip() for line in lines if line.strip()) or "command failed")
        return lines

    for member, lines in run.answers(work):
        if as_json:
            out.emit_json(run.tag(member, {"Output": lines}))
        else:
            prefix = f"{run.label(member)}: " if run.many and not no_prefix else ""
            out.write_text("".join(f"{prefix}{line}\n" for line in lines))
    return run.exit_code()
