"""``ami originate --batch`` over several PBXs: each line on the PBX its ``server`` column names."""

from __future__ import annotations

import sys

from ..context import get_app
from ..errors import ExitCode
from ..output import report
from .batch_input import open_batch


def _route(specs, members) -> tuple[dict[int, list], list]:
    """Calls per PBX (by index in the fleet), and the lines that name no PBX of it."""
    from .. import originate as lib

    by_name = {}
    for n, member in enumerate(members):
        by_name.setdefault(member.label, n)
        by_name.setdefault(f"{member.host}:{member.effective_port}", n)
    routed: dict[int, list] = {}
    bad = []
    for spec in specs:
        if isinstance(spec, lib.BadLine):
            bad.append(spec)
            continue
        index = 0 if not spec.server else by_name.get(spec.server)
        if index is None:
            names = ", ".join(member.label for member in members)
            bad.append(lib.BadLine(spec.line or 0, f"server {spec.server!r} is not one of the PBXs named ({names})"))
            continue
        routed.setdefault(index, []).append(spec)
    return routed, bad


def run_fleet_batch(name: str, defaults, parallel: int, grace: float, wait: bool, out) -> int:
    """Read the whole batch, place each PBX's calls on it (PBXs in parallel), print each PBX's results."""
    from .. import originate as lib
    from ..fleet import fleet_exit_code
    from .call_results import exit_status, record, worded

    app = get_app()
    if name == "-" and app.secret_file == "-":
        import click

        raise click.UsageError("--batch - and --secret-file - cannot both read stdin")
    shown = "stdin" if name == "-" else name
    stream = open_batch(name)
    try:
        specs = list(lib.read_batch(stream, defaults))
    except OSError as exc:
        import click

        raise click.BadParameter(f"cannot read {shown}: {exc.strerror or exc}", param_hint="--batch") from None
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()
    members = app.fleet()
    routed, bad = _route(specs, members)
    for line in bad:
        report(f"{shown} line {line.line}: {line.reason}; line skipped", "error")
    run = app.runner(json_out=out)
    index = {id(member): n for n, member in enumerate(members)}

    def work(member: object) -> list:
        calls = routed[index[id(member)]]
        with app.session(events="call" if wait else "off", keep_events=wait, settings=member) as client:
            try:
                return list(lib.run_calls(client, calls, parallel=parallel, grace=grace, wait=wait, input_waits=False))
            except lib.NoCallEvents as exc:
                raise worded(exc) from None

    results: list = list(bad)
    asked = [members[n] for n in sorted(routed)]
    answered = set()
    for member, done in run.answers(work, asked):
        answered.add(id(member))
        for item in done:
            out.emit_json(run.tag(member, record(item)))
        results.extend(done)
    if len(answered) < len(asked):
        # A PBX could not take its calls (named on stderr): its own code, or 9 beside others.
        codes = [run.codes[index[id(m)]] or exit_status([r for r in results if _on(r, m)]) for m in asked]
        return fleet_exit_code(codes)
    results.sort(key=_line)
    return exit_status(results) if results else int(ExitCode.OK)


def _line(item) -> int:
    spec = getattr(item, "spec", None)
    return (spec.line if spec is not None else item.line) or 0


def _on(result, member) -> bool:
    spec = getattr(result, "spec", None)
    return spec is not None and spec.server in (None, "", member.label)
