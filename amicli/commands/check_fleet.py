"""``ami check ...`` over several PBXs: one counted status line, a line and perfdata per PBX."""

from __future__ import annotations

from typing import Callable

import click

from ..monitoring import PbxCheck, PluginStatus, fleet_report
from ..thresholds import plugin_text


def run_check_fleet(app, name: str, check: Callable[[object], object]) -> int:
    """Run ``check(member)`` (a thresholds.Result) on every PBX; print the fleet's report; its status."""
    members = app.fleet()
    run = app.runner()
    found = {id(member): result for member, result in run.answers(check)}
    checks = []
    for member in members:
        result = found[id(member)]
        status = PluginStatus(int(result.status))
        checks.append(PbxCheck(member.label, status, result.text, status is PluginStatus.OK, list(result.perf)))
    status, lines = fleet_report(checks, "OK", check_name=name)
    head, per_pbx = lines[0], lines[1:]
    out = [head]
    for line, member in zip(per_pbx, members, strict=True):
        out.append(line)
        out.extend(f"  {plugin_text(detail)}" for detail in found[id(member)].details)
    click.echo("\n".join(out))
    return int(status)
