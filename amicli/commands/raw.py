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


@click.command()
@click.argument("action", metavar="ACTION|-")
@click.argument("headers", nargs=-1, metavar="[Key=Value | 'Key: Value']...")
@json_option
def raw(action: str, headers: tuple[str, ...], as_json: bool) -> int:
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

    Exit status: 0 when every reply is a success, 1 when any is an error.

    \b
    Examples:
      ami raw Ping
      ami raw CoreShowChannels --json | jq -r .Channel
      ami raw Getvar Variable=CDR(dst) Channel=PJSIP/100-00000001
      printf 'Action: Ping\\n\\nAction: CoreStatus\\n' | ami raw -
    """
    if action == "-":
        if headers:
            raise click.UsageError("with '-', actions come from stdin: give no headers on the command line")
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
    else:
        actions = [[("Action", action), *(parse_header_arg(h) for h in headers)]]

    from ..output import Output, json_line
    from ..redact import scrub_bytes

    out = Output(json=as_json)
    terminal = out.stream.isatty()
    failed = False
    with get_app().session() as client:
        for pairs in actions:
            reply = client.request(pairs)
            failed = failed or not reply.ok
            for msg in reply.messages:
                if as_json:
                    out.write(json_line(msg.to_dict()))
                else:
                    data = scrub_bytes(msg.raw)
                    out.write(for_terminal(data) if terminal else data)
            out.flush()
    return ExitCode.ACTION_FAILED if failed else ExitCode.OK


def for_terminal(data: bytes) -> bytes:
    """Received bytes made safe to show: LF line ends, control characters as ``\\xNN``."""
    from ..output import visible
    from ..protocol import decode

    return visible(decode(data.replace(b"\r\n", b"\n"))).encode("utf-8")
