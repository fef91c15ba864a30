"""Connection settings: options, environment, profiles and secrets.

Precedence, highest first: command-line option, ``AMI_*`` environment
variable, the profile in ``$XDG_CONFIG_HOME/ami/config``, built-in default.
The option and environment layers are merged by click before this module
sees them; here the profile and the defaults fill what is still unset.
"""

from __future__ import annotations

import configparser
import os
import stat
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .booleans import parse_bool
from .client import DEFAULT_PORT, DEFAULT_TIMEOUT, DEFAULT_TLS_PORT, Client
from .errors import ConfigError

#: Keys a profile section may hold.
PROFILE_KEYS = ("host", "port", "user", "secret", "timeout", "tls", "ca_file", "insecure", "auth")
AUTH_METHODS = ("md5", "plain")
DEFAULT_AUTH = "plain"


def config_path() -> Path:
    """The profile file: ``$AMI_CONFIG``, else ``$XDG_CONFIG_HOME/ami/config``."""
    explicit = os.environ.get("AMI_CONFIG")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "ami" / "config"


def read_profiles(path: Path | None = None) -> configparser.ConfigParser:
    """Read the profile file (missing is fine: no profiles)."""
    path = path or config_path()
    parser = configparser.ConfigParser(interpolation=None)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return parser
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        parser.read_string(text, source=str(path))
    except configparser.Error as exc:
        first = str(exc).splitlines()[0]
        raise ConfigError(f"{path}: not a valid profile file: {first}") from None
    return parser


def profile_names(path: Path | None = None) -> list[str]:
    """Profile names in the file, for shell completion (never raises)."""
    try:
        return read_profiles(path).sections()
    except ConfigError:
        return []


def _check_private(path: Path) -> None:
    # As ssh does with keys: a secret that others can read is not a secret.
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(
            f"{path} holds a secret and is readable by others (mode {stat.S_IMODE(mode):o}); run: chmod 600 {path}"
        )


def _as_bool(value: str, what: str) -> bool:
    truth = parse_bool(value) if value.strip() else False
    if truth is None:
        raise ConfigError(f"{what}: expected yes or no, got {value!r}")
    return truth


@dataclass
class Settings:
    """Everything needed to open a session, resolved."""

    host: str = "127.0.0.1"
    port: int | None = None
    user: str | None = None
    secret: str | None = field(default=None, repr=False)
    timeout: float = DEFAULT_TIMEOUT
    tls: bool = False
    ca_file: str | None = None
    insecure: bool = False
    auth: str = DEFAULT_AUTH
    debug: bool = False
    profile: str | None = None
    secret_source: str = ""

    @property
    def effective_port(self) -> int:
        return self.port or (DEFAULT_TLS_PORT if self.tls else DEFAULT_PORT)

    def make_client(self, **kwargs: object) -> Client:
        """A Client for these settings (not yet connected)."""
        return Client(
            self.host,
            self.effective_port,
            timeout=self.timeout,
            tls=self.tls,
            ca_file=self.ca_file,
            insecure=self.insecure,
            **kwargs,  # type: ignore[arg-type]
        )


def resolve(
    given: dict[str, object],
    *,
    secret_file: str | None = None,
    path: Path | None = None,
) -> Settings:
    """Fill the settings not given by option or environment from the profile.

    ``given`` maps setting names to what click resolved (None when unset).
    The secret itself is read later (``AppContext.session``), so that commands
    that need none (``sim``, ``completion``) never touch it.
    """
    settings = Settings()
    profile_name = given.get("profile")
    section = _profile_section(str(profile_name) if profile_name else None, path)
    settings.profile = str(profile_name) if profile_name else ("default" if section else None)

    def pick(name: str) -> object:
        value = given.get(name)
        return value if value is not None else section.get(name)

    _apply_connection(settings, pick, given, section)
    settings.debug = bool(given.get("debug"))

    secret = given.get("secret")
    if secret:
        settings.secret, settings.secret_source = str(secret), "AMI_SECRET"
    elif secret_file:
        settings.secret, settings.secret_source = read_secret_file(secret_file), "--secret-file"
    elif "secret" in section:
        _check_private(path or config_path())
        settings.secret, settings.secret_source = section["secret"], "profile"
    return settings


def _profile_section(profile_name: str | None, path: Path | None) -> dict[str, str]:
    """The keys of the profile asked for (or of ``default``, when there is one), checked."""
    parser = read_profiles(path)
    section: dict[str, str] = {}
    if profile_name:
        if not parser.has_section(profile_name):
            names = ", ".join(parser.sections()) or "none"
            raise ConfigError(f"no profile {profile_name!r} in {path or config_path()} (profiles: {names})")
        section = dict(parser.items(profile_name))
    elif parser.has_section("default"):
        section = dict(parser.items("default"))
    unknown = sorted(set(section) - set(PROFILE_KEYS))
    if unknown:
        raise ConfigError(f"{path or config_path()}: unknown key {unknown[0]!r} (known: {', '.join(PROFILE_KEYS)})")
    return section


def _apply_connection(
    settings: Settings, pick: Callable[[str], object], given: dict[str, object], section: dict[str, str]
) -> None:
    """Host, port, user, timeout, TLS, CA file and login method, each checked (in this order)."""
    host = pick("host")
    if host:
        settings.host = str(host)
    port = pick("port")
    if port not in (None, ""):
        try:
            settings.port = int(str(port))
        except ValueError:
            raise ConfigError(f"port: expected a number, got {port!r}") from None
        if not 0 < settings.port < 65536:
            raise ConfigError(f"port: {settings.port} is not a TCP port (1-65535)")
    user = pick("user")
    settings.user = str(user) if user else None
    timeout = pick("timeout")
    if timeout not in (None, ""):
        try:
            settings.timeout = float(str(timeout))
        except ValueError:
            raise ConfigError(f"timeout: expected seconds, got {timeout!r}") from None
        if settings.timeout <= 0:
            raise ConfigError("timeout: must be more than 0 seconds")
    for flag in ("tls", "insecure"):
        _apply_flag(settings, flag, given.get(flag), section)
    ca_file = pick("ca_file")
    settings.ca_file = str(ca_file) if ca_file else None
    auth = pick("auth")
    if auth:
        if str(auth) not in AUTH_METHODS:
            raise ConfigError(f"auth: expected md5 or plain, got {auth!r}")
        settings.auth = str(auth)


def _apply_flag(settings: Settings, flag: str, given: object, section: dict[str, str]) -> None:
    value = given
    if value is None and flag in section:
        value = _as_bool(section[flag], f"{flag} in profile")
    if value is not None:
        setattr(settings, flag, bool(value))


def read_secret_file(name: str) -> str:
    """The first line of a file (``-``: standard input), without its newline."""
    try:
        if name == "-":
            text = sys.stdin.readline()
        else:
            with open(name, encoding="utf-8") as fh:
                text = fh.readline()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read secret file {name}: {getattr(exc, 'strerror', None) or exc}") from None
    secret = text.rstrip("\r\n")
    if not secret:
        raise ConfigError(f"secret file {name} is empty")
    return secret
