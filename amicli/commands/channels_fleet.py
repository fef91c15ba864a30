"""``ami channels`` over several PBXs: listings merged with a Server column, hangups on every PBX."""

from __future__ import annotations

import re

from ..context import get_app
from ..errors import ExitCode
from ..output import report
from . import tables


def channel_rows(out, rows: list[dict[str, object]]) -> list[dict[str, object]]:
    """Rows as written: as they are; the output's schema derives a table's display rows."""
    return rows


def list_fleet(out, pattern: str | None, states: list[int], count: bool) -> int:
    """Every PBX's channels as one listing (or, with --count, one ``SERVER: N`` line each)."""
    from .. import channels as lib
    from ..fleet import MergedRows

    app = get_app()
    run = app.runner(json_out=out)

    def work(member: object) -> list[dict[str, object]]:
        with app.session(need_booted=True, settings=member) as client:
            return lib.filter_channels(lib.fetch_channels(client), pattern, states)

    merged = MergedRows(run, out, tables.TABLE_COLUMNS, tables.TABLE_TITLES)
    for member, rows in run.answers(work):
        if count:
            out.write_text(f"{run.label(member)}: {len(rows)}\n")
        else:
            merged.add(member, channel_rows(out, rows))
    merged.finish(empty=None if count else "no channels")
    return run.exit_code()


def hangup_fleet(
    out, names: list[str], regex: re.Pattern[str] | None, yes: bool, dry_run: bool, cause: int | None
) -> int:
    """Hang up on every PBX the channels named (or matching --match) that are up there.

    The channels are listed first on each PBX, so each is hung up where it
    is; a name that is up on no PBX is an error (exit 1), as it is for one PBX.
    """
    from .. import channels as lib
    from ..fleet import MergedRows

    app = get_app()
    run = app.runner(json_out=out)

    def wanted(member: object) -> list[dict[str, object]]:
        with app.session(need_booted=True, settings=member) as client:
            rows = lib.fetch_channels(client)
        if regex is not None:
            return [row for row in rows if regex.search(str(row.get("Channel", "")))]
        return [row for row in rows if str(row.get("Channel")) in names]

    found = [(member, rows) for member, rows in run.answers(wanted) if rows]
    total = sum(len(rows) for _, rows in found)
    seen = {str(row.get("Channel")) for _, rows in found for row in rows}
    failed = False
    for name in names:
        if name not in seen:
            report(f"no such channel: {name} (it is up on none of the PBXs)", "error")
            failed = True
    if regex is not None and not total:
        report(f"no channel matches {regex.pattern!r} on any PBX", "error")
        failed = True
    merged = MergedRows(run, out, tables.TABLE_COLUMNS, tables.TABLE_TITLES)
    if dry_run:
        for member, rows in found:
            merged.add(member, channel_rows(out, rows))
        merged.finish()
        report(f"dry run: {total} channel(s) would be hung up on {len(found)} PBX(s)")
        return _worst(run.exit_code(), failed)
    if regex is not None and total > 1 and not yes:
        report(
            f"{total} channels on {len(found)} PBX(s) match {regex.pattern!r}; add --yes to hang them all up, "
            "or --dry-run to list them",
            "error",
        )
        return ExitCode.USAGE
    on_member = {id(member): rows for member, rows in found}

    def hang_up(member: object) -> list[dict[str, object]]:
        by_name = {str(row["Channel"]): row for row in on_member[id(member)]}
        done: list[dict[str, object]] = []
        with app.session(need_booted=True, settings=member) as client:
            for _name, result in lib.hangup_many(client, list(by_name), cause):
                if isinstance(result, lib.NoSuchChannel):
                    continue  # gone since the listing: what was wanted
                if isinstance(result, Exception):
                    raise result
                done.extend(by_name.get(gone, {"Channel": gone}) for gone in result)
        return done

    for member, done in run.answers(hang_up, [member for member, _ in found]):
        merged.add(member, channel_rows(out, done))
    merged.finish()
    return _worst(run.exit_code(), failed)


def _worst(code: int, failed: bool) -> int:
    """The fleet's code, or 1 when a channel asked for was up nowhere (and no PBX failed)."""
    return code or (ExitCode.ACTION_FAILED if failed else ExitCode.OK)
