"""``ami login-test`` over several PBXs: one counted status line, a line and perfdata per PBX."""

from __future__ import annotations

import time

from ..errors import AmiError
from ..monitoring import PbxCheck, PluginStatus, asterisk_version, fleet_report, status_for_elapsed, status_for_error


def check_login(app, member, warning: float, critical: float) -> PbxCheck:
    """Connect, log in and log off one PBX of the fleet; never raises an AmiError."""

    label = member.label
    started = time.monotonic()
    try:
        with app.session(settings=member) as client:
            elapsed = time.monotonic() - started
            version = asterisk_version(client)
    except AmiError as exc:
        elapsed = time.monotonic() - started
        return PbxCheck(label, status_for_error(exc), str(exc), False, [("time", elapsed, "s", warning, critical)])
    status = status_for_elapsed(elapsed, warning, critical)
    text = f"{member.user}@{member.host}:{member.effective_port} logged in in {elapsed * 1000:.0f} ms"
    if version:
        text += f", Asterisk {version}"
    return PbxCheck(label, status, text, True, [("time", elapsed, "s", warning, critical)])


def login_test_fleet(
    app, warning: float, critical: float, quiet: bool, as_json: bool, min_ok: int | None, check_name: str = ""
) -> int:
    from .. import client as _client  # noqa: F401 - imported before the clocks start
    from ..output import Output

    members = app.fleet()
    run = app.runner()
    found = {id(member): check for member, check in run.answers(lambda m: check_login(app, m, warning, critical))}
    checks = [found[id(member)] for member in members]
    status, lines = fleet_report(checks, "logged in", min_ok, check_name)
    if quiet and status is PluginStatus.OK:
        return status
    out = Output(json=as_json)
    if as_json:
        servers = [
            {
                "Server": c.server,
                "status": c.status.name,
                "code": int(c.status),
                "message": c.text,
                "time": round(c.perf[0][1], 6),
            }
            for c in checks
        ]
        message = lines[0].split(" - ", 1)[1].split(" | ", 1)[0]
        out.emit_json(
            {
                "status": status.name,
                "code": int(status),
                "message": message,
                "warning": warning,
                "critical": critical,
                "min_ok": min_ok,
                "servers": servers,
            }
        )
    else:
        out.write_text("".join(line + "\n" for line in lines))
    return int(status)
