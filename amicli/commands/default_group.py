"""A click group whose first word, when it is not a subcommand, goes to a default subcommand."""

from __future__ import annotations

import click


class DefaultGroup(click.Group):
    """A group whose first word, when it is not a subcommand, goes to a default subcommand.

    ``ami queues support`` runs ``ami queues list support``; ``--`` forces
    what follows to be arguments of the default subcommand.
    """

    def __init__(self, *args: object, default_command: str = "list", **kwargs: object) -> None:
        kwargs.setdefault("invoke_without_command", True)
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.default_command = default_command

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args and ctx.resilient_parsing:
            # Tab completion after `ami queues `: offer the subcommands.
            return super().parse_args(ctx, args)
        if not args:
            args = [self.default_command]
        elif args[0] == "--":
            args = [self.default_command, *args]
        elif args[0] not in self.commands and args[0] not in ctx.help_option_names:
            # Options may come before the subcommand (`ami queues --json members`):
            # the first word that is not an option or an option's value decides.
            word = self._first_word(args)
            if word is not None and word in self.commands and word != self.default_command:
                index = args.index(word)
                args = [word, *args[:index], *args[index + 1 :]]
            else:
                args = [self.default_command, *args]
        return super().parse_args(ctx, args)

    def shell_complete(self, ctx: click.Context, incomplete: str) -> list:
        """The subcommands, and (for an option) the default subcommand's options too."""
        items = super().shell_complete(ctx, incomplete)
        default = self.commands.get(self.default_command)
        if default is not None and incomplete.startswith("-"):
            known = {item.value for item in items}
            items += [item for item in default.shell_complete(ctx, incomplete) if item.value not in known]
        return items

    def _first_word(self, args: list[str]) -> str | None:
        """The first argument that is not an option of the default command or its value."""
        default = self.commands.get(self.default_command)
        takes_value = set()
        if default is not None:
            for param in default.params:
                if isinstance(param, click.Option) and not param.is_flag and not param.count:
                    takes_value.update(param.opts)
        skip = False
        for arg in args:
            if skip:
                skip = False
                continue
            if arg == "--":
                return None
            if arg.startswith("-") and arg != "-":
                skip = arg in takes_value
                continue
            return arg
        return None
