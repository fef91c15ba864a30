"""One Monitoring Plugins status for a fleet: counted, the worst state, perfdata per PBX.

Used by ``ami login-test`` over several PBXs, and meant for every check
that asks a fleet (``ami check ...``): each PBX is checked on its own
(:class:`PbxCheck`), and :func:`fleet_report` folds the checks into the
one status line, the long output (a line per PBX) and the exit code.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Sequence

from .errors import AmiError, AmiTimeout, AuthError, ConfigError, ConnectError, ProtocolError, TlsError
from .thresholds import perf_label, plain_number, plugin_text


class PluginStatus(IntEnum):
    """Monitoring Plugins exit codes."""

    #: Logged in and out within the -w threshold.
    OK = 0
    #: Logged in, but connect and login took longer than -w seconds.
    WARNING = 1
    #: Connection refused, host unreachable, login refused, TLS failure, no answer within --timeout,
    #: or slower than -c seconds.
    CRITICAL = 2
    #: The peer is not an AMI server, the configuration is unusable, or the command line is wrong.
    UNKNOWN = 3


#: Worst last: a CRITICAL PBX outweighs a WARNING one, which outweighs not knowing.
SEVERITY = (PluginStatus.OK, PluginStatus.UNKNOWN, PluginStatus.WARNING, PluginStatus.CRITICAL)


def worst(states: Sequence[PluginStatus]) -> PluginStatus:
    return max(states, key=SEVERITY.index, default=PluginStatus.UNKNOWN)


@dataclass
class PbxCheck:
    """One PBX's result: its name, state, what was found, and perfdata ``(name, value, unit, warn, crit)``."""

    server: str
    status: PluginStatus
    text: str
    passed: bool
    perf: list = field(default_factory=list)


def perfdata(checks: Sequence[PbxCheck]) -> str:
    """Every PBX's perfdata, each label prefixed with the PBX's name.

    An item is ``(name, value, unit, warn, crit)``, or a dataclass with a
    ``label`` that prints itself as perfdata (``thresholds.Perf``).
    """
    parts = []
    for check in checks:
        for item in check.perf:
            if isinstance(item, tuple):
                name, value, unit, warn, crit = item
                # The thresholds as given, as one PBX's login-test prints them.
                limits = ";".join("" if v is None else plain_number(v) for v in (warn, crit))
                parts.append(f"{perf_label(f'{check.server}_{name}')}={value:.3f}{unit};{limits};0")
            else:
                parts.append(str(dataclasses.replace(item, label=f"{check.server}_{item.label}")))
    return " ".join(parts)


def fleet_status(checks: Sequence[PbxCheck], min_ok: int | None = None) -> PluginStatus:
    """The fleet's state: the worst PBX's; with ``min_ok``, OK while that many PBXs pass.

    With ``min_ok`` N: N or more passed is OK (the others are still listed),
    fewer but some is WARNING, none is the worst state among the PBXs.
    """
    states = [check.status for check in checks]
    if min_ok is None:
        return worst(states)
    passed = sum(1 for check in checks if check.passed)
    if passed >= min_ok:
        return PluginStatus.OK
    if passed:
        return PluginStatus.WARNING
    return worst(states)


def fleet_report(
    checks: Sequence[PbxCheck], what: str, min_ok: int | None = None, check_name: str = ""
) -> tuple[PluginStatus, list[str]]:
    """(the fleet's state, its output lines): ``AMI OK - 12/12 PBXs {what} | perfdata``, then a line per PBX.

    ``check_name`` names the check in the line, as ``ami check`` does: ``AMI LOGIN OK - ...``.
    """
    status = fleet_status(checks, min_ok)
    passed = sum(1 for check in checks if check.passed)
    name = f"{check_name.upper()} " if check_name else ""
    head = f"AMI {name}{status.name} - {passed}/{len(checks)} PBXs {what}"
    if min_ok is not None:
        head += f" (at least {min_ok} needed)"
    perf = perfdata(checks)
    lines = [f"{head} | {perf}" if perf else head]
    lines.extend(plugin_text(f"{check.server}: {check.status.name} - {check.text}") for check in checks)
    return status, lines


def status_for_error(exc: AmiError) -> PluginStatus:
    """Refused, unreachable, timed out or rejected is CRITICAL; not knowing is UNKNOWN."""
    if isinstance(exc, (ConnectError, AuthError, AmiTimeout, TlsError)):
        return PluginStatus.CRITICAL
    if isinstance(exc, (ProtocolError, ConfigError)):
        return PluginStatus.UNKNOWN
    return PluginStatus.UNKNOWN


def status_for_elapsed(elapsed: float, warning: float, critical: float) -> PluginStatus:
    """CRITICAL at or past ``critical`` seconds, WARNING at or past ``warning``, else OK."""
    if elapsed >= critical:
        return PluginStatus.CRITICAL
    if elapsed >= warning:
        return PluginStatus.WARNING
    return PluginStatus.OK


def asterisk_version(client) -> str | None:
    """Asterisk's version from CoreSettings, when the user may ask for it."""
    try:
        reply = client.request([("Action", "CoreSettings")])
    except AmiError:
        return None
    if reply.ok and reply.response is not None:
        return reply.response.get("AsteriskVersion")
    return None
