"""``ami events`` over several PBXs: one merged stream, each event with its Server."""

from __future__ import annotations

import functools
import sys

from ..errors import AmiError, ExitCode
from ..output import report
from .events_end import freeze_startup, report_drops


def stream_fleet(app, connect, options, event_filter, early_filter, formatter=None) -> int:
    """Connect to every PBX (those that fail are named on stderr), then stream them merged.

    ``formatter``: --fields brings its own (else the format's).
    """
    from ..events.merge import FleetEventStream
    from ..fleet import fleet_exit_code

    run = app.runner()
    members = []
    for member, (client, early) in run.answers(lambda m: connect(m)):
        members.append((member, client, early))
    if not members:
        return run.exit_code()
    order = {id(m): n for n, m in enumerate(app.fleet())}
    members.sort(key=lambda item: order[id(item[0])])
    sys.stdout.flush()
    freeze_startup()
    stream = FleetEventStream(
        [(m.label, functools.partial(connect, m), client, early) for m, client, early in members],
        options,
        event_filter,
        out_fd=sys.stdout.fileno(),
        report=report,
        early_filter=early_filter,
        formatter=formatter,
    )
    try:
        result = stream.run()
    except BaseException:
        stream.close_all()
        raise
    report_drops(result, options)
    stream.close_all()
    if result.reason == "interrupted":
        return ExitCode.INTERRUPTED
    if result.reason == "pipe":
        return ExitCode.OK
    done = ExitCode.ACTION_FAILED if result.reason == "timeout" and options.count is not None else ExitCode.OK
    for (member, _, _), reader in zip(members, stream.members, strict=True):
        error = reader.error
        if isinstance(error, AmiError):
            run.fail(member, str(error), error.exit_code)
        elif error is not None:
            run.fail(member, f"internal error: {type(error).__name__}: {error}", ExitCode.ACTION_FAILED)
    if isinstance(result.error, AmiError):
        report(str(result.error), "error")
        return result.error.exit_code
    if result.error is not None:
        raise result.error
    return fleet_exit_code([code or done for code in run.codes])
