"""``ami command``: what ``asterisk -rx`` does, over AMI."""

from __future__ import annotations

import click

from ..context import get_app
from ..errors import ActionError, ExitCode


@click.command()
@click.argument("cli_command", nargs=-1, required=True, metavar="'CLI COMMAND'")
def command(cli_command: tuple[str, ...]) -> int:
    """Run a CLI command on the PBX and print its output, line for line.

    Works with Asterisk 14 and later (one Output header per line) and with
    Asterisk 13 and older (Response: Follows) alike.  The user needs
    write=command in manager.conf.  The CLI command is one quoted argument,
    or several words, which are joined with spaces.

    Exit status: 0 done, 1 the CLI command failed (unknown command, bad
    arguments), and the usual codes for connection and login problems.

    \b
    Examples:
      ami command 'core show version'
      ami command core show channels concise | cut -d! -f1
      for pbx in pbx1 pbx2; do ami --profile "$pbx" command 'dialplan reload'; done
    """
    text = " ".join(cli_command)
    with get_app().session(need_booted=True) as client:
        ok, lines = client.command(text)
    if not ok:
        raise ActionError("; ".join(line.strip() for line in lines if line.strip()) or "command failed")
    from ..output import Output

    Output().write_text("".join(line + "\n" for line in lines))
    return ExitCode.OK
