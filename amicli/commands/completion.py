"""``ami completion``: print the shell completion script."""

from __future__ import annotations

import click


@click.command()
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
def completion(shell: str) -> int:
    """Print the completion script for SHELL.

    \b
    Examples:
      source <(ami completion bash)
      ami completion fish > ~/.config/fish/completions/ami.fish
    """
    from click.shell_completion import get_completion_class

    from ..cli import cli

    cls = get_completion_class(shell)
    script = cls(cli, {}, "ami", "_AMI_COMPLETE").source()
    click.echo(script)
    return 0
