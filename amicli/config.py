"""Connection settings: options, environment, profiles and secrets.

Precedence, highest first: command-line option, ``AMI_*`` environment
variable, the profile in ``$XDG_CONFIG_HOME/ami/config``, built-in default.
The option and environment layers are merged by click before this module
sees them; here the profile and the defaults fill what is still unset.
"""

from __future__ import annotations

import configparser
import ipaddress
import math
import os
import stat
import sys
from dataclasses import dataclass, field
from pathlib import Path

from .client import DEFAULT_PORT, DEFAULT_TIMEOUT, DEFAULT_TLS_PORT, Client
from .errors import ConfigError, UsageError
from .redact import add_secret

#: Keys a profile section may hold.
PROFILE_KEYS = ("host", "port", "user", "secret", "timeout", "tls", "ca_file", "insecure", "auth")
AUTH_METHODS = ("md5", "plain")
DEFAULT_AUTH = "plain"
#: The longest --timeout accepted (a day): past it a socket timeout overflows.
MAX_TIMEOUT = 86400.0


def config_path() -> Path:
    """The profile file: ``$AMI_CONFIG``, else ``$XDG_CONFIG_HOME/ami/config``."""
    explicit = os.environ.get("AMI_CONFIG")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "ami" / "config"


def read_profiles(path: Path | None = None, *, check: bool = False) -> configparser.ConfigParser:
    """Read the profile file (missing is fine: no profiles).

    With ``check``, the file must be safe to trust (:func:`check_profile_file`).
    """
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
    if check:
        check_profile_file(path, any(parser.has_option(name, "secret") for name in parser.sections()))
    return parser


def _trusted_owner(st: os.stat_result) -> bool:
    return st.st_uid in (os.getuid(), 0)


def check_profile_file(path: Path, has_secret: bool) -> None:
    """Refuse a profile others could change, or read when it holds a secret (as ssh does).

    Its owner must be the user (or root); no other user may write it, nor
    the directory it is in; with a secret in any section, no other user may
    read it.  A symlink is judged by the file it points to.
    """
    st = path.stat()
    if not _trusted_owner(st):
        raise ConfigError(f"{path} is owned by another user (uid {st.st_uid}): not trusted")
    if has_secret:
        _check_private(path)
    mode = stat.S_IMODE(st.st_mode)
    if mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise ConfigError(f"{path} is writable by others (mode {mode:o}); run: chmod 600 {path}")
    parent = path.resolve().parent
    pst = parent.stat()
    if stat.S_IMODE(pst.st_mode) & stat.S_IWOTH or not _trusted_owner(pst):
        raise ConfigError(f"{path} is in {parent}, a directory other users can change: not trusted")


def _check_secret_file(name: str) -> None:
    """A secret file must be the user's (or root's), readable and writable by no other user."""
    try:
        st = os.stat(name)
    except OSError as exc:
        raise ConfigError(f"cannot read secret file {name}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(st.st_mode):
        return  # a pipe or process substitution (<(pass show ...)) is private to us
    mode = stat.S_IMODE(st.st_mode)
    if not _trusted_owner(st):
        raise ConfigError(f"secret file {name} is owned by another user (uid {st.st_uid}): not trusted")
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(f"secret file {name} is readable by others (mode {mode:o}); run: chmod 600 {name}")


def _one_line(value: str, what: str) -> str:
    """Refuse a value with a line break or NUL (a trailing CR from a CRLF file included)."""
    if "\r" in value or "\n" in value or "\0" in value:
        raise ConfigError(f"{what}: the value holds a line break or NUL (a file saved with CRLF?)")
    return value


def check_host(host: str) -> str:
    """A host name or address that can be looked up: DNS labels of 1-63 characters."""
    _one_line(host, "host")
    try:
        ipaddress.ip_address(host)
        return host
    except ValueError:
        pass
    name = host[:-1] if host.endswith(".") else host
    if not name or len(name) > 253 or any(not 0 < len(label) <= 63 for label in name.split(".")):
        shown = host if len(host) <= 40 else host[:37] + "..."
        raise ConfigError(f"host {shown!r}: not a host name (labels of 1 to 63 characters, 253 in all)")
    return host


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
    lowered = value.strip().lower()
    if lowered in ("1", "yes", "true", "on"):
        return True
    if lowered in ("0", "no", "false", "off", ""):
        return False
    raise ConfigError(f"{what}: expected yes or no, got {value!r}")


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
    The secret itself is read later, by :func:`load_secret`, so that commands
    that need none (``sim``, ``completion``) never touch it.
    """
    settings = Settings()
    profile_name = given.get("profile")
    parser = read_profiles(path, check=True)
    section: dict[str, str] = {}
    if profile_name:
        if not parser.has_section(str(profile_name)):
            names = ", ".join(parser.sections()) or "none"
            raise ConfigError(f"no profile {profile_name!r} in {path or config_path()} (profiles: {names})")
        section = dict(parser.items(str(profile_name)))
    elif parser.has_section("default"):
        section = dict(parser.items("default"))
    unknown = sorted(set(section) - set(PROFILE_KEYS))
    if unknown:
        raise ConfigError(f"{path or config_path()}: unknown key {unknown[0]!r} (known: {', '.join(PROFILE_KEYS)})")
    for key, value in section.items():
        _one_line(value, f"{key} in profile")
    for key in ("host", "user", "secret", "ca_file", "profile"):
        value = given.get(key)
        if isinstance(value, str):
            _one_line(value, "AMI_SECRET" if key == "secret" else key)
    settings.profile = str(profile_name) if profile_name else ("default" if section else None)

    def pick(name: str) -> object:
        value = given.get(name)
        return value if value is not None else section.get(name)

    host = pick("host")
    if host:
        settings.host = check_host(str(host))
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
        if not (math.isfinite(settings.timeout) and 0 < settings.timeout <= MAX_TIMEOUT):
            raise ConfigError(f"timeout: expected seconds above 0 and at most {MAX_TIMEOUT:g}, got {timeout!r}")
    for flag in ("tls", "insecure"):
        value = given.get(flag)
        if value is None and flag in section:
            value = _as_bool(section[flag], f"{flag} in profile")
        if value is not None:
            setattr(settings, flag, bool(value))
    ca_file = pick("ca_file")
    settings.ca_file = str(ca_file) if ca_file else None
    _check_tls_options(settings, given)
    auth = pick("auth")
    if auth:
        if str(auth) not in AUTH_METHODS:
            raise ConfigError(f"auth: expected md5 or plain, got {auth!r}")
        settings.auth = str(auth)
    settings.debug = bool(given.get("debug"))

    secret = given.get("secret")
    if secret:
        settings.secret, settings.secret_source = str(secret), "AMI_SECRET"
    elif secret_file:
        settings.secret, settings.secret_source = read_secret_file(secret_file), "--secret-file"
    elif "secret" in section:
        settings.secret, settings.secret_source = section["secret"], "profile"
    if settings.secret:
        add_secret(settings.secret)
    return settings


def _check_tls_options(settings: Settings, given: dict[str, object]) -> None:
    """--ca-file and --insecure are about TLS: without it they would be ignored in silence."""
    if settings.tls:
        return
    for name in ("ca_file", "insecure"):
        if not getattr(settings, name):
            continue
        option = "--" + name.replace("_", "-")
        if given.get(name):
            raise UsageError(f"{option} is for TLS connections: add --tls")
        raise ConfigError(f"{name} in profile is for TLS connections: add tls = yes")


def read_secret_file(name: str) -> str:
    """The first line of a file (``-``: standard input), without its newline."""
    try:
        if name == "-":
            text = sys.stdin.readline()
        else:
            _check_secret_file(name)
            with open(name, encoding="utf-8") as fh:
                text = fh.readline()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read secret file {name}: {getattr(exc, 'strerror', None) or exc}") from None
    secret = text.rstrip("\r\n")
    if not secret:
        raise ConfigError(f"secret file {name} is empty")
    return _one_line(secret, f"secret file {name}")


def load_secret(settings: Settings) -> str:
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


def require_user(settings: Settings) -> str:
    if not settings.user:
        raise ConfigError("no user given: use --user NAME, AMI_USER, or a profile")
    return settings.user
