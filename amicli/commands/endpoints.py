"""``ami endpoints``: SIP/IAX2 endpoints, their contacts and outbound registrations.

``ami endpoints [PATTERN]`` is short for ``ami endpoints list [PATTERN]``.
"""

from __future__ import annotations

import sys
import time
from typing import Mapping

import click

from ..context import get_app
from ..errors import ExitCode
from ..options import make_output, one_line, output_options
from .default_group import DefaultGroup

ENDPOINT_COLUMNS = ["Endpoint", "Technology", "State", "Contacts", "ContactStatus", "RTT", "ActiveChannels"]
ENDPOINT_TITLES = {"Technology": "Tech", "ContactStatus": "Status", "RTT": "RTT (ms)", "ActiveChannels": "Channels"}
ENDPOINT_FIELDS = [
    "Endpoint", "Technology", "State", "Available", "ActiveChannels", "RoundtripUsec", "Contacts", "Aors",
    "Auths", "OutboundAuths", "Transport", "Description",
]  # fmt: skip
CONTACT_FIELDS = ["Endpoint", "Aor", "Uri", "Status", "RoundtripUsec", "UserAgent", "ExpirationTime"]
CONTACT_COLUMNS = ["Endpoint", "Aor", "Uri", "Status", "RTT", "UserAgent"]
REGISTRATION_FIELDS = [
    "Registration", "Technology", "Status", "Registered", "ServerUri", "ClientUri", "Endpoint", "NextReg",
    "RegistrationTime", "Expiration",
]  # fmt: skip
REGISTRATION_COLUMNS = ["Registration", "Technology", "Status", "ServerUri", "ClientUri", "NextReg"]
REGISTRATION_TITLES = {"ServerUri": "Server", "ClientUri": "Client", "NextReg": "Next (s)"}

EPILOG = """\b
PJSIP first; a PBX without it (Asterisk 13 and older) is asked with the
chan_sip and chan_iax2 actions (SIPpeers, IAXpeerlist, SIPshowregistry).
Passwords the PBX sends (AuthDetail) are printed as ******** unless
--show-secrets is given.  Exit status: 0 done, 1 the PBX refused or has no
SIP/IAX2 driver or no such endpoint, 2 usage (see `ami --help`).

\b
Examples:
  ami endpoints                         # one row per endpoint
  ami endpoints 'trunk-*' --json | jq '{Endpoint, State, RoundtripUsec}'
  ami endpoints --state unavailable --count
  ami endpoints show alice
  ami endpoints registrations
  ami endpoints watch
"""


def rtt_ms(usec: object) -> str:
    return "" if not isinstance(usec, int) else f"{usec / 1000:.3f}"


def endpoint_table_row(row: Mapping[str, object]) -> dict[str, object]:
    """The table's values of an endpoint's JSON row: its contacts' URIs, statuses and round trips."""
    contacts: list = row.get("Contacts") or []  # type: ignore[assignment]
    return {
        "Contacts": [c.get("Uri") for c in contacts],
        "ContactStatus": [c.get("Status") for c in contacts],
        "RTT": [rtt_ms(c.get("RoundtripUsec")) for c in contacts],
    }


def contact_row(contact) -> dict[str, object]:
    return {"Endpoint": contact.endpoint, **contact.as_dict()}


def _schemas():
    """--fields names: the table's titles and keys, and the JSON keys; derived columns filled in JSON too."""
    from ..rowtext import Schema

    return {
        "endpoints": Schema(ENDPOINT_FIELDS, ENDPOINT_COLUMNS, ENDPOINT_TITLES, table_row=endpoint_table_row),
        "contacts": Schema(
            CONTACT_FIELDS,
            CONTACT_COLUMNS,
            {"RTT": "RTT (ms)"},
            table_row=lambda row: {"RTT": rtt_ms(row.get("RoundtripUsec"))},
        ),
        "registrations": Schema(REGISTRATION_FIELDS, REGISTRATION_COLUMNS, REGISTRATION_TITLES),
    }


def _session(show_secrets: bool = False):
    return get_app().session(need_booted=True, show_secrets=show_secrets)


@click.group(cls=DefaultGroup, epilog=EPILOG)
def endpoints() -> None:
    """SIP and IAX2 endpoints, contacts and registrations (PJSIP, chan_sip, IAX2).

    With no subcommand (or a word that is not one), lists endpoints:
    `ami endpoints [PATTERN]` is `ami endpoints list [PATTERN]`.
    """


count_option = click.option("--count", is_flag=True, help="Print only the number of rows that match.")
state_option = click.option(
    "--state",
    "states",
    multiple=True,
    metavar="STATE",
    help="Only endpoints in this state or with a contact in it (repeatable, any case). "
    "Example: --state unavailable --state unreachable",
)


@endpoints.command("list")
@click.argument("pattern", required=False, metavar="[PATTERN]", callback=one_line)
@state_option
@count_option
@output_options
def list_endpoints(
    pattern: str | None,
    states: tuple[str, ...],
    count: bool,
    as_json: bool,
    fmt: str | None,
    fields: str | None,
    no_headers: bool,
) -> int:
    """One row per endpoint: state, contacts and their status, round-trip time, channels.

    PATTERN is a glob (`trunk-*`), `/regex/`, or a name.  --json is typed:
    numbers are numbers, contacts are nested objects.
    """
    from .. import endpoints as lib

    out = make_output(as_json, fmt, fields, no_headers, schema=_schemas()["endpoints"])
    with _session() as client:
        found = lib.select(lib.fetch_endpoints(client), pattern, states)
    if count:
        out.write_text(f"{len(found)}\n")
        return ExitCode.OK
    out.rows((ep.as_dict() for ep in found), empty="no endpoints", flush=False)
    return ExitCode.OK


@endpoints.command("contacts")
@click.argument("pattern", required=False, metavar="[PATTERN]", callback=one_line)
@state_option
@count_option
@output_options
def list_contacts(
    pattern: str | None,
    states: tuple[str, ...],
    count: bool,
    as_json: bool,
    fmt: str | None,
    fields: str | None,
    no_headers: bool,
) -> int:
    """One row per contact: its endpoint, AOR, URI, status and round-trip time.

    PATTERN matches the endpoint's name; --state the contact's status
    (Reachable, Unreachable, NonQualified, Unknown; chan_sip: Lagged, Unmonitored).
    """
    from .. import endpoints as lib

    out = make_output(as_json, fmt, fields, no_headers, schema=_schemas()["contacts"])
    wanted = {s.lower() for s in states}
    with _session() as client:
        found = lib.select(lib.fetch_endpoints(client), pattern)
    contacts = [c for ep in found for c in ep.contacts if not wanted or c.status.lower() in wanted]
    if count:
        out.write_text(f"{len(contacts)}\n")
        return ExitCode.OK
    out.rows((contact_row(c) for c in contacts), empty="no contacts", flush=False)
    return ExitCode.OK


@endpoints.command("registrations")
@click.argument("pattern", required=False, metavar="[PATTERN]", callback=one_line)
@count_option
@output_options
def list_registrations(
    pattern: str | None, count: bool, as_json: bool, fmt: str | None, fields: str | None, no_headers: bool
) -> int:
    """Outbound registrations (trunks): status and seconds to the next REGISTER.

    Status words: Registered, Unregistered, Rejected (PJSIP); chan_sip and
    IAX2 add Request Sent, Auth. Sent, No Authentication, Failed, Timeout.
    """
    from .. import endpoints as lib
    from ..registrations import fetch_registrations

    out = make_output(as_json, fmt, fields, no_headers, schema=_schemas()["registrations"])
    match = lib.name_matcher(pattern)
    with _session() as client:
        found = [r for r in fetch_registrations(client) if match(r.name)]
    if count:
        out.write_text(f"{len(found)}\n")
        return ExitCode.OK
    out.rows((r.as_dict() for r in found), empty="no registrations", flush=False)
    return ExitCode.OK


@endpoints.command("show")
@click.argument("name", metavar="NAME", callback=one_line)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object with a key per section.")
@click.option("--show-secrets", is_flag=True, help="Print passwords as the PBX sent them (never by default).")
def show_endpoint(name: str, as_json: bool, show_secrets: bool) -> int:
    """The detail of one endpoint: endpoint, AORs, auths, contacts, transports.

    Text output prints one section per object; --json one object.
    """
    from .. import endpoints as lib
    from ..output import Output

    out = Output(json=as_json)
    with _session(show_secrets) as client:
        detail = lib.fetch_detail(client, name)
    if as_json:
        out.emit_json(detail)
        return ExitCode.OK
    out.write_text(format_detail(detail))
    return ExitCode.OK


def format_detail(detail: dict[str, object]) -> str:
    """``[Section name]`` then ``Key: value`` lines, a blank line between sections."""
    blocks = []
    for section, body in detail.items():
        if section == "Technology":
            continue
        rows = body if isinstance(body, list) else [body]
        for row in rows:
            if not isinstance(row, dict):
                continue
            title = row.get("ObjectName") or row.get("ID") or row.get("URI") or ""
            width = max((len(k) for k in row), default=0)
            lines = [f"[{section}{': ' + str(title) if title else ''}]"]
            lines += [f"  {k.ljust(width)}  {'' if v is None else v}" for k, v in row.items()]
            blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


WATCH_EVENTS = frozenset({"ContactStatus", "PeerStatus", "Registry"})


def watch_record(msg) -> dict[str, object] | None:
    """A state-change event -> a typed record; None for any other event."""
    from .. import endpoints as lib

    name = msg.get("Event")
    if name not in WATCH_EVENTS:
        return None
    record: dict[str, object] = {"Event": name, "Time": msg.get("Timestamp")}
    if name == "ContactStatus":
        record.update(
            Endpoint=msg.get("EndpointName"),
            Aor=msg.get("AOR"),
            Uri=msg.get("URI"),
            Status=msg.get("ContactStatus"),
            RoundtripUsec=lib.to_int(msg.get("RoundtripUsec")),
        )
    elif name == "PeerStatus":
        peer = msg.get("Peer") or ""
        record.update(Endpoint=peer.partition("/")[2] or peer, Technology=msg.get("ChannelType"))
        record.update(Status=msg.get("PeerStatus"), Address=msg.get("Address"), Cause=msg.get("Cause"))
    else:
        record.update(
            Technology=msg.get("ChannelType"),
            Registration=msg.get("Username"),
            Domain=msg.get("Domain"),
            Status=msg.get("Status"),
            Cause=msg.get("Cause"),
        )
    return {k: v for k, v in record.items() if v is not None}


def watch_line(record: dict[str, object]) -> str:
    stamp = record.get("Time")
    when = time.strftime("%H:%M:%S", time.localtime(float(stamp))) if _is_number(stamp) else time.strftime("%H:%M:%S")
    what = record.get("Endpoint") or record.get("Registration") or ""
    extra = record.get("Uri") or record.get("Address") or record.get("Domain") or ""
    rtt = rtt_ms(record.get("RoundtripUsec")) if record.get("RoundtripUsec") else ""
    parts = [when, str(record["Event"]), str(what), str(record.get("Status", "")), str(extra)]
    if rtt:
        parts.append(f"{rtt} ms")
    return "  ".join(p for p in parts if p) + "\n"


def _is_number(value: object) -> bool:
    try:
        float(str(value))
    except ValueError:
        return False
    return True


@endpoints.command("watch")
@click.argument("pattern", required=False, metavar="[PATTERN]", callback=one_line)
@click.option("--json", "as_json", is_flag=True, help="Print JSON Lines: one typed object per change.")
def watch_endpoints(pattern: str | None, as_json: bool) -> int:
    """Print endpoint, contact and registration state changes as they happen.

    Follows ContactStatus, PeerStatus and Registry events (the `system`
    class) until Ctrl-C, which ends it with exit 0.
    """
    from .. import endpoints as lib
    from ..output import Output

    out = Output(json=as_json)
    match = lib.name_matcher(pattern)
    try:
        with get_app().session(events="system", keep_events=True) as client:
            for msg in client.iter_events():
                record = watch_record(msg)
                if record is None or not match(str(record.get("Endpoint") or record.get("Registration") or "")):
                    continue
                if as_json:
                    out.emit_json(record)
                else:
                    out.write_text(watch_line(record))
    except KeyboardInterrupt:
        sys.stderr.write("\n")
        return ExitCode.OK
    return ExitCode.OK
