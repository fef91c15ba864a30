"""Values for Tab completion: cheap, local, and never a network connection.

Each function is a click ``shell_complete=`` callback,
``(ctx, param, incomplete) -> list[str]``, run when the shell
asks ``ami`` for completions (``_AMI_COMPLETE=..._complete``).  They read
only a static list or the local profile file, and never raise: a broken
config file must not print a traceback into someone's prompt.

Attach one to an option like this::

    from ..completion_values import complete_event_names
    @click.option("--event", multiple=True, shell_complete=complete_event_names, help=...)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

if TYPE_CHECKING:  # imported by amicli.cli: nothing here may slow down `ami --help`
    import click

# Callbacks return plain strings: click wraps them in CompletionItem itself.


def _matching(names: Iterable[str], incomplete: str, *, case_sensitive: bool = True) -> list[str]:
    if case_sensitive:
        return [name for name in names if name.startswith(incomplete)]
    # Event names are CamelCase; people type them in lower case too.
    lowered = incomplete.lower()
    return [name for name in names if name.lower().startswith(lowered)]


def complete_profiles(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    """Profile and group names from the profile file ($AMI_CONFIG or $XDG_CONFIG_HOME/ami/config).

    --profile takes a comma-separated list: ``pbx1,cc<Tab>`` -> ``pbx1,callcentre``,
    names already in the list not offered again.
    """
    try:
        from .config import profile_names

        head, sep, last = incomplete.rpartition(",")
        taken = {word.strip() for word in head.split(",")} if sep else set()
        names = [name for name in profile_names() if name not in taken]
        return [head + sep + name for name in _matching(names, last)]
    except Exception:  # noqa: BLE001 - completion must never break the shell prompt
        return []


def complete_event_names(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    """Asterisk's event names (a static list), matched without regard to case."""
    from .eventnames import EVENT_NAMES

    return _matching(EVENT_NAMES, incomplete, case_sensitive=False)


def complete_mask_classes(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    """Event classes for a comma-separated mask: ``call,sy<Tab>`` -> ``call,system``.

    Classes already in the list are not offered again; ``all`` only as the
    first and only word.
    """
    from .eventnames import EVENT_CLASSES

    head, sep, last = incomplete.rpartition(",")
    taken = {word.strip().lower() for word in head.split(",")} if sep else set()
    prefix = head + sep
    choices = [name for name in EVENT_CLASSES if name not in taken]
    if not sep:
        choices.append("all")
    return [prefix + name for name in choices if name.startswith(last.lower())]


def complete_table_formats(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    """tabulate's format names, for ``--fmt`` (tabulate is imported only here)."""
    try:
        from .output import table_formats

        return _matching(table_formats(), incomplete)
    except Exception:  # noqa: BLE001
        return []


def complete_states(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    """Channel state words for --state (after the last comma of a list)."""
    try:
        from .channels import STATE_BY_NAME

        head, _, last = incomplete.rpartition(",")
        prefix = head + "," if head else ""
        return [prefix + name for name in _matching(STATE_BY_NAME, last.lower())]
    except Exception:  # noqa: BLE001 - completion must never break the shell prompt
        return []
