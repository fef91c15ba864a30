"""``ami raw``: send any action, print its whole reply."""

from __future__ import annotations

import sys

import click

from ..context import get_app
from ..errors import ExitCode
from ..options import json_option
from ..protocol import check_value, parse_action_text


def parse_header_arg(arg: str) -> tuple[str, str]:
    """``Key=Value`` or ``Key: Value`` -> (key, value), split at the first separator."""
    colon, equals = arg.find(":"), arg.find("=")
    if colon > 0 and (equals < 0 or colon < equals):
        key, value = arg[:colon], arg[colon + 1 :]
        value = value[1:] if value.startswith(" ") else value
    elif equals > 0:
        key, value = arg[:equals], arg[equals + 1 :]
    else:
        raise click.BadParameter(f"{arg!r}: expected Key=Value or 'Key: Value'", param_hint="HEADER")
    key = key.strip()
    try:
        check_value(key, value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="HEADER") from None
    return key, value


def _actions_from_stdin() -> list[list[tuple[str, str]]]:
    """The actions written in AMI syntax on stdin, each checked (a usage error names the bad one)."""
    try:
        # Bytes, not text: text mode would turn a lone CR into a line end.
        actions = list(parse_action_text(sys.stdin.buffer.read().decode("utf-8", "replace")))
    except ValueError as exc:
        raise click.UsageError(f"stdin: {exc}") from None
    if not actions:
        raise click.UsageError("stdin holds no action")
    for index, pairs in enumerate(actions, 1):
        if not any(k.lower() == "action" for k, _ in pairs):
            raise click.UsageError(f"stdin: action {index} has no 'Action:' header")
        for key, value in pairs:
            try:
                check_value(key, value)
            except ValueError as exc:
                raise click.UsageError(f"stdin: action {index}: {exc}") from None
    return actions


@click.command()
@click.argument("action", metavar="ACTION|-")
@click.argument("headers", nargs=-1, metavar="[Key=Value | 'Key: Value']...")
@json_option
@click.option("--no-prefix", is_flag=True, help="With several PBXs: leave out the 'SERVER: ' before each line.")
def raw(action: str, headers: tuple[str, ...], as_json: bool, no_prefix: bool) -> int:
    """Send ACTION with the given headers and print its whole reply.

    The reply is printed as the bytes received (CRLF line ends included),
    every list event up to the end of the list included; on a terminal, line
    ends become LF and control characters are shown as \\xNN.  --json prints
    one object per message.  An empty answer (IAXnetstats with nothing to
    show) prints nothing.  A key given twice sends two headers (as Variable
    needs).  With ACTION '-', actions in AMI syntax are read from stdin,
    separated by blank lines, and run in order on one connection ('#'
    starts a comment); stdin is read only with '-'.  Only LF or CRLF end a
    line there: a line holding CR, VT, FF, FS, GS, RS, NEL, U+2028, U+2029
    or NUL is refused with its number.  ACTION is any AMI action (Ping,
    QueueStatus, ...); headers are Key=Value or 'Key: Value'.  A header
    line (Key: Value) over 1,024 bytes is refused before anything is sent.

    With several PBXs, each runs the actions; each line of text (LF line
    ends) starts with the PBX's name and ': ' (unless --no-prefix), and
    --json objects carry "Server".

    Exit status: 0 when every reply is a success, 1 when any is an error,
    4 when one was refused for permission (the reply is printed all the
    same); 9: on some of several PBXs.

    \b
    Examples:
      ami raw Ping
      ami raw CoreShowChannels --json | jq -r .Channel
      ami raw Getvar 'Variable=CDR(dst)' Channel=PJSIP/100-00000001
      printf 'Action: Ping\\n\\nAction: CoreStatus\\n' | ami raw -
    """
    if action == "-":
        if headers:
            raise click.UsageError("with '-', actions come from stdin: give no headers on the command line")
        actions = _actions_from_stdin()
    else:
        actions = [[("Action", action), *(parse_header_arg(h) for h in headers)]]

    from ..output import Output, json_line

    out = Output(json=as_json)
    terminal = out.stream.isatty()
    app = get_app()
    run = app.runner(json_out=out)
    if not run.many:
        code = ExitCode.OK
        with app.session() as client:
            for pairs in actions:
                reply = client.request(pairs)
                if not reply.ok:
                    # Permission denied is 4 here as in every command; any other error 1.
                    denied = reply.message.lower() == "permission denied"
                    code = max(code, ExitCode.AUTH if denied else ExitCode.ACTION_FAILED)
                for msg in reply.messages:
                    out.write(json_line(msg.to_dict()) if as_json else _exact(msg, terminal))
                out.flush()
        return code

    def work(member: object) -> tuple[bool, list]:
        # The replies of one PBX are printed together, when it is done.
        with app.session(settings=member) as client:
            replies = [client.request(pairs) for pairs in actions]
        return all(reply.ok for reply in replies), [msg for reply in replies for msg in reply.messages]

    for member, (ok, messages) in run.answers(work):
        if not ok:
            run.mark(member, ExitCode.ACTION_FAILED)
        prefix = b"" if no_prefix else run.label(member).encode("utf-8", "replace") + b": "
        for msg in messages:
            if as_json:
                out.write(json_line(run.tag(member, msg.to_dict())))
            else:
                text = _as_text(msg)
                # Every line, the blank one that ends the message too, as pdsh does.
                out.write(b"".join(prefix + line + b"\n" for line in text.split(b"\n")[:-1]) if prefix else text)
        out.flush()
    return run.exit_code()


def _exact(msg, terminal: bool) -> bytes:
    """The message's bytes as received (the secret hidden); on a terminal, :func:`_as_text`."""
    from ..redact import scrub_bytes

    return _as_text(msg) if terminal else scrub_bytes(msg.raw)


def _as_text(msg) -> bytes:
    """The message for a terminal or prefixed lines: LF line ends, control characters as ``\\xNN``."""
    from ..output import visible
    from ..protocol import decode
    from ..redact import scrub_bytes

    return visible(decode(scrub_bytes(msg.raw).replace(b"\r\n", b"\n"))).encode("utf-8")
