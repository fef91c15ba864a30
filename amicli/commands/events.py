"""`ami events`: not built yet."""

import click

from ..errors import ExitCode


@click.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
def events() -> int:
    """Not built yet: this command comes in a later release."""
    click.echo("ami: error: 'events' is not built yet", err=True)
    return ExitCode.USAGE
