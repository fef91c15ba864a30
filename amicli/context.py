"""What every subcommand shares: the global options and opening a session."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field

import click

from .errors import ConfigError


@dataclass
class AppContext:
    """The global options as click resolved them (option, then AMI_* env)."""

    given: dict[str, object] = field(default_factory=dict)
    secret_file: str | None = None
    #: Fleet options: PBXs asked at once, answers in the order named, failures as JSON rows.
    fanout: int = 16
    sort: bool = False
    errors_as_rows: bool = False
    _fleet: list | None = None

    def fleet(self) -> list:  # -> list[config.Settings] (imported lazily: start-up cost)
        """Every PBX named (-H/--profile lists and groups), resolved; reads the profile file once."""
        if self._fleet is None:
            from .config import resolve_fleet

            self._fleet = resolve_fleet(self.given, secret_file=self.secret_file)
        return self._fleet

    def settings(self):  # -> config.Settings
        """The one PBX's settings, for a command that takes one PBX only."""
        fleet = self.fleet()
        if len(fleet) != 1:
            where = click.get_current_context(silent=True)
            name = where.command_path if where is not None else "this command"
            raise click.UsageError(f"{name} takes one PBX; {len(fleet)} were named ({fleet_names(fleet)})")
        return fleet[0]

    def runner(self, **kwargs: object):  # -> fleet.FleetRun
        """A FleetRun over the PBXs named, with the global fleet options."""
        from .fleet import FleetRun

        return FleetRun(
            self.fleet(), fanout=self.fanout, ordered=self.sort, errors_as_rows=self.errors_as_rows, **kwargs
        )

    @property
    def debug(self) -> bool:
        return bool(self.given.get("debug"))

    def trace(self, direction: str, text: str) -> None:
        """--debug: the protocol as sent and received, on stderr, secrets hidden."""
        from .output import visible
        from .redact import scrub

        for line in visible(scrub(text)).rstrip("\n").split("\n"):
            sys.stderr.write(f"{direction} {line}\n")
        sys.stderr.write(f"{direction}\n")
        sys.stderr.flush()

    def client(self, *, settings: object = None, show_secrets: bool = False, **kwargs: object):
        """A connected (not logged-in) Client (to ``settings``: one PBX of the fleet).

        It masks the secrets the PBX sends unless ``show_secrets``.
        """
        settings = settings or self.settings()
        kwargs.setdefault("mask_secrets", not show_secrets)
        if self.debug:
            kwargs.setdefault("trace", self.trace)
        if settings.tls and settings.insecure:
            from .output import report

            report(
                f"--insecure: the TLS certificate of {settings.host} is not checked (anyone on the way can listen)",
                "warning",
            )
        from .errors import UntrustedCertificate

        try:
            return settings.make_client(**kwargs).connect()
        except UntrustedCertificate as exc:
            raise UntrustedCertificate(f"{exc} (use --ca-file, or --insecure to skip the check)") from None

    def session(self, *, events: str = "off", need_booted: bool = False, settings: object = None, **kwargs: object):
        """A connected, logged-in Client; use it as a context manager.

        ``need_booted``: the session learns of FullyBooted, and
        ``Client.request_booted`` waits for it (within the timeout) when an
        action fails before the PBX has finished booting.
        """
        from .errors import ChallengeRefused

        settings = settings or self.settings()
        user = _require_user(settings)
        secret = _load_secret(settings)
        if need_booted and events == "off":
            # FullyBooted (system) tells whether the PBX has booted; SuccessfulAuth
            # (security) that the session's events flow when FullyBooted is late.
            events = "system,security"
        client = self.client(settings=settings, **kwargs)
        client.watch_boot = need_booted
        try:
            client.login(user, secret, auth=settings.auth, events=events)
        except ChallengeRefused as exc:
            client.close()
            raise ChallengeRefused(f"{exc}; try --auth plain") from None
        except BaseException:
            client.close()
            raise
        return client


def fleet_names(fleet: list) -> str:
    """The first few PBX names of a fleet, for a message."""
    names = [member.label for member in fleet[:3]]
    return ", ".join(names) + (f" and {len(fleet) - 3} more" if len(fleet) > 3 else "")


def get_app(ctx: click.Context | None = None) -> AppContext:
    ctx = ctx or click.get_current_context()
    return ctx.find_object(AppContext) or AppContext()


def _load_secret(settings) -> str:  # settings: config.Settings (imported lazily)
    """The secret, prompting on the terminal when no source gave one."""
    if settings.secret:
        return settings.secret
    if sys.stdin.isatty() and sys.stderr.isatty():
        import getpass

        try:
            secret = getpass.getpass(f"AMI secret for {settings.user}@{settings.host}: ")
        except EOFError:
            secret = ""
        if secret:
            settings.secret = secret
            return secret
    raise ConfigError(
        "no secret given: set AMI_SECRET, use --secret-file PATH (or - for stdin), or put it in a profile"
    )


def _require_user(settings) -> str:
    if not settings.user:
        raise ConfigError("no user given: use --user NAME, AMI_USER, or a profile")
    return settings.user
