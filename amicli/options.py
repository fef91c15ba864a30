"""Shared command-line options, each defined once as a named decorator."""

from __future__ import annotations

from typing import Callable, TypeVar

import click

from .completion_values import complete_table_formats

F = TypeVar("F", bound=Callable[..., object])

TABLE_FORMATS_HINT = "simple, plain, github, grid, psql, tsv, ..."


def _stack(*decorators: Callable[[F], F]) -> Callable[[F], F]:
    def apply(func: F) -> F:
        for decorator in reversed(decorators):
            func = decorator(func)
        return func

    return apply


json_option = click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print JSON Lines: one object per line, keys as Asterisk names them. Example: --json | jq .",
)

fmt_option = click.option(
    "--fmt",
    default=None,
    metavar="FORMAT",
    shell_complete=complete_table_formats,
    help=f"Table format, any of tabulate's ({TABLE_FORMATS_HINT}). Example: --fmt github",
)

fields_option = click.option(
    "--fields",
    default=None,
    metavar="A,B,...",
    help="Columns to show, in this order (JSON: keys to keep). Example: --fields Channel,State",
)

no_headers_option = click.option("--no-headers", is_flag=True, help="Leave out the table's header row.")


def _remember(ctx: click.Context, param: click.Parameter, value: object) -> object:
    # Kept aside rather than passed: every command that prints rows takes them, none needs them by name.
    ctx.meta[f"ami_output_{param.name}"] = value
    return value


csv_option = click.option(
    "--csv",
    is_flag=True,
    expose_value=False,
    callback=_remember,
    help="Print CSV (RFC 4180: CRLF line ends, quotes where needed) instead of a table.",
)

wide_option = click.option(
    "--wide",
    is_flag=True,
    expose_value=False,
    callback=_remember,
    help="Show every column, however wide (by default a table fits the terminal, COLUMNS or 100 in a pipe).",
)

#: --json, --csv, --fmt, --fields, --no-headers and --wide, for every command that prints rows.
output_options = _stack(json_option, csv_option, fmt_option, fields_option, no_headers_option, wide_option)


def make_output(
    as_json: bool,
    fmt: str | None,
    fields: str | None,
    no_headers: bool,
    valid: list[str] | None = None,
    schema: object = None,
):
    """Build the Output for the shared options, checking --fields and --fmt early.

    ``schema`` (an :class:`amicli.rowtext.Schema`) says what the rows hold;
    ``valid`` (JSON keys only) is the short form.
    """
    from .output import DEFAULT_FMT, Output, Schema, check_fields, parse_fields, table_formats

    meta = click.get_current_context().meta
    as_csv, wide = bool(meta.get("ami_output_csv")), bool(meta.get("ami_output_wide"))
    chosen = parse_fields(fields)
    if schema is None and valid is not None:
        schema = Schema(json_keys=list(valid))
    if schema is not None:
        check_fields(chosen, schema)  # type: ignore[arg-type]
    if fmt is not None and fmt not in table_formats():
        raise click.BadParameter(
            f"unknown table format {fmt!r}; valid: {', '.join(table_formats())}", param_hint="--fmt"
        )
    if as_csv and (as_json or fmt is not None):
        raise click.UsageError("--csv goes alone: not with --json or --fmt")
    return Output(
        json=as_json,
        fmt=fmt or DEFAULT_FMT,
        fields=chosen,
        headers=not no_headers,
        csv=as_csv,
        wide=wide,
        schema=schema,  # type: ignore[arg-type]
    )


def one_line(ctx: click.Context, param: click.Parameter, value: object) -> object:
    """Refuse empty values and line breaks (they would break the AMI framing)."""
    values = value if isinstance(value, tuple) else (value,)
    for item in values:
        if item is None:
            continue
        if not isinstance(item, str):
            continue
        if "\r" in item or "\n" in item:
            raise click.BadParameter("must be one line (no line breaks)")
        if not item.strip():
            raise click.BadParameter("must not be empty")
    return value
