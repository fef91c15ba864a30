"""What every subcommand shares: the global options and opening a session."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field

import click


@dataclass
class AppContext:
    """The global options as click resolved them (option, then AMI_* env)."""

    given: dict[str, object] = field(default_factory=dict)
    secret_file: str | None = None
    _settings: object = None

    def settings(self):  # -> config.Settings (imported lazily: start-up cost)
        """The resolved settings; reads the profile file once."""
        if self._settings is None:
            from .config import resolve

            self._settings = resolve(self.given, secret_file=self.secret_file)
        return self._settings

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

    def client(self, *, show_secrets: bool = False, **kwargs: object):
        """A connected (not logged-in) Client; it masks the secrets the PBX sends unless ``show_secrets``."""
        settings = self.settings()
        kwargs.setdefault("mask_secrets", not show_secrets)
        if self.debug:
            kwargs.setdefault("trace", self.trace)
        if settings.tls and settings.insecure:
            warn(f"--insecure: the TLS certificate of {settings.host} is not checked (anyone on the way can listen)")
        return settings.make_client(**kwargs).connect()

    def session(self, *, events: str = "off", need_booted: bool = False, **kwargs: object):
        """A connected, logged-in Client; use it as a context manager.

        ``need_booted``: the session learns of FullyBooted, and
        ``Client.request_booted`` waits for it (within the timeout) when an
        action fails before the PBX has finished booting.
        """
        from .config import load_secret, require_user

        settings = self.settings()
        user = require_user(settings)
        secret = load_secret(settings)
        if need_booted and events == "off":
            # FullyBooted and SuccessfulAuth tell whether the PBX has booted.
            events = "system,security"
        client = self.client(**kwargs)
        client.watch_boot = need_booted
        try:
            client.login(user, secret, auth=settings.auth, events=events)
        except BaseException:
            client.close()
            raise
        return client


def warn(message: str) -> None:
    """One line on stderr, for what is worth saying but is not an error."""
    sys.stderr.write(f"ami: warning: {message}\n")
    sys.stderr.flush()


def get_app(ctx: click.Context | None = None) -> AppContext:
    ctx = ctx or click.get_current_context()
    return ctx.find_object(AppContext) or AppContext()
