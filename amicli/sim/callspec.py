"""What an Originate asks of the sim, parsed as Asterisk parses it.

Variables (``Variable:`` headers, several ``NAME=VALUE`` in one), caller
ids (``"Name" <number>``) and the argument splitter they rely on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..protocol import Message


@dataclass
class CallRequest:
    """What an Originate asks of a Local channel, parsed."""

    requested: str
    exten: str
    context: str
    run_async: bool
    action_id: str = ""
    app: str = ""
    app_data: str = ""
    target_context: str = ""
    target_exten: str = ""
    target_priority: str = ""
    ring_timeout: float = 30.0
    cid_name: str | None = None
    cid_num: str | None = None
    account: str = ""
    variables: dict[str, str] = field(default_factory=dict)
    channel_id: str = ""
    other_id: str = ""

    @property
    def dial_string(self) -> str:
        return self.requested.split("/", 1)[1].split("/", 1)[0]


def separate_args(text: str, delim: str = ",") -> list[str]:
    """Asterisk's application-argument splitter (``AST_STANDARD_APP_ARGS``).

    Splits at ``delim`` outside parentheses, brackets and double quotes;
    quotes are removed, a backslash makes the next character literal.
    """
    out: list[str] = []
    cur: list[str] = []
    paren = bracket = 0
    quote = False
    i = 0
    while i < len(text):
        c = text[i]
        if c == "(":
            paren += 1
            cur.append(c)
        elif c == ")":
            paren = max(0, paren - 1)
            cur.append(c)
        elif c == "[":
            bracket += 1
            cur.append(c)
        elif c == "]":
            bracket = max(0, bracket - 1)
            cur.append(c)
        elif c == '"' and delim != '"':
            quote = not quote
        elif c == "\\":
            i += 1
            if i < len(text):
                cur.append(text[i])
        elif c == delim and not paren and not quote and not bracket:
            out.append("".join(cur))
            cur = []
        else:
            cur.append(c)
        i += 1
    out.append("".join(cur))
    return out


def parse_variables(request: Message) -> dict[str, str]:
    """The ``Variable:`` headers as Asterisk reads them (several NAME=VALUE per header)."""
    variables: dict[str, str] = {}
    for header in request.get_all("Variable"):
        for item in separate_args(header.lstrip()):
            name, sep, value = item.partition("=")
            if sep and name:
                variables[name] = value
    return variables


def parse_callerid(text: str) -> tuple[str | None, str | None]:
    """``"Ops" <9025>`` -> (name, number), as ast_callerid_parse does; None when absent."""
    text = text.strip()
    match = re.match(r"^(.*?)<([^>]*)>", text)
    if match:
        name, number = match.group(1).strip().strip('"').strip(), match.group(2).strip()
    elif re.fullmatch(r"[0-9+*#()\-. ]+", text or "x"):
        name, number = "", text
    else:
        name, number = text.strip('"'), ""
    number = re.sub(r"[()\-. ]", "", number)
    return (name or None), (number or None)


def is_true(value: str | None) -> bool:
    """Asterisk's ``ast_true``."""
    return (value or "").strip().lower() in ("yes", "true", "y", "t", "1", "on")


def is_false(value: str | None) -> bool:
    """Asterisk's ``ast_false``."""
    return (value or "").strip().lower() in ("no", "false", "n", "f", "0", "off")


def call_request(request: Message, exten: str, context: str) -> CallRequest:
    """The Local call an Originate asks for (``exten@context`` from its channel)."""
    timeout = request.get("Timeout")
    match = re.match(r"\s*([+-]?\d+)", timeout or "")
    name, number = parse_callerid(request.get("CallerID") or "")
    return CallRequest(
        requested=request.get("Channel") or "",
        exten=exten,
        context=context,
        run_async=is_true(request.get("Async")),
        action_id=request.get("ActionID") or "",
        app=request.get("Application") or "",
        app_data=request.get("Data") or "",
        target_context=request.get("Context") or "",
        target_exten=request.get("Exten") or "",
        target_priority=request.get("Priority") or "",
        ring_timeout=int(match.group(1)) / 1000 if match else 30.0,
        cid_name=name,
        cid_num=number,
        account=request.get("Account") or "",
        variables=parse_variables(request),
        channel_id=request.get("ChannelId") or "",
        other_id=request.get("OtherChannelId") or "",
    )
