"""What ``ami events`` says on stderr when a stream ends, for one PBX or a fleet."""

from __future__ import annotations

from ..output import report


def report_drops(result, options) -> None:
    """The events dropped in all, said once at the end (not when the reader of the output left)."""
    if result.reason != "pipe" and result.dropped:
        n = result.dropped
        report(
            f"{n} event{'s' if n != 1 else ''} dropped in all: the output did not keep "
            f"up with the PBX (a --buffer of {options.buffer} events was full)",
            "warning",
        )


def freeze_startup() -> None:
    """Leave what start-up made out of every garbage collection from now on.

    It lives until exit, and at 100k+ events a second collections run often:
    each would walk all of it.
    """
    import gc

    gc.freeze()
