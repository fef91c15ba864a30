"""Connection settings: options, environment, profiles and secrets.

Precedence, highest first: command-line option, ``AMI_*`` environment
variable, the profile in ``$XDG_CONFIG_HOME/ami/config``, built-in default.
The option and environment layers are merged by click before this module
sees them; here the profile and the defaults fill what is still unset.
"""

from __future__ import annotations

import configparser
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .booleans import parse_bool
from .client import DEFAULT_PORT, DEFAULT_TIMEOUT, DEFAULT_TLS_PORT, Client
from .errors import ConfigError
from .redact import add_secret
from .trust import check_host, check_profile_file, check_secret_file, check_timeout, check_tls_options, check_values
from .trust import one_line as _one_line

#: Keys a profile section may hold.
PROFILE_KEYS = ("host", "port", "user", "secret", "timeout", "tls", "ca_file", "insecure", "auth")
#: The key that makes a section a group of profiles: ``include = pbx1, pbx2``.
GROUP_KEY = "include"
AUTH_METHODS = ("md5", "plain")
DEFAULT_AUTH = "plain"


def config_path() -> Path:
    """The profile file: ``$AMI_CONFIG``, else ``$XDG_CONFIG_HOME/ami/config``."""
    explicit = os.environ.get("AMI_CONFIG")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "ami" / "config"


def read_profiles(path: Path | None = None, *, check: bool = False) -> configparser.ConfigParser:
    """Read the profile file (missing is fine: no profiles).

    With ``check``, the file must be safe to trust (:func:`trust.check_profile_file`).
    """
    path = path or config_path()
    parser = configparser.ConfigParser(interpolation=None)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        explicit = os.environ.get("AMI_CONFIG")
        if explicit and Path(explicit) == path:
            # Named on purpose: a typo must not silently mean "no profiles".
            raise ConfigError(f"AMI_CONFIG names {path}, which does not exist") from None
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


def profile_names(path: Path | None = None) -> list[str]:
    """Profile and group names in the file, for shell completion (never raises)."""
    try:
        return read_profiles(path).sections()
    except ConfigError:
        return []


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
    #: What a fleet's rows call this PBX (see :attr:`label`); None: host:port.
    name: str | None = None

    @property
    def effective_port(self) -> int:
        return self.port or (DEFAULT_TLS_PORT if self.tls else DEFAULT_PORT)

    @property
    def label(self) -> str:
        """The PBX's name in a fleet: its profile's name, else ``host:port``."""
        if self.name:
            return self.name
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.effective_port}"

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
    parser = read_profiles(path, check=True)
    secret_text = read_secret_file(secret_file) if secret_file and not given.get("secret") else None
    return _resolve_one(given, parser, path, secret_text)


def _resolve_one(
    given: dict[str, object], parser: configparser.ConfigParser, path: Path | None, secret_text: str | None
) -> Settings:
    """One PBX's settings: ``given["profile"]`` names one profile (not a group) or none."""
    settings = Settings()
    profile_name = given.get("profile")
    section = _profile_section(parser, str(profile_name) if profile_name else None, path)
    settings.profile = str(profile_name) if profile_name else ("default" if section else None)

    def pick(name: str) -> object:
        value = given.get(name)
        return value if value is not None else section.get(name)

    check_values(given, section)
    _apply_connection(settings, pick, given, section)
    settings.debug = bool(given.get("debug"))

    secret = given.get("secret")
    if secret:
        settings.secret, settings.secret_source = str(secret), "AMI_SECRET"
    elif secret_text:
        settings.secret, settings.secret_source = secret_text, "--secret-file"
    elif "secret" in section:
        settings.secret, settings.secret_source = section["secret"], "profile"
    if settings.secret:
        add_secret(settings.secret)
    return settings


def _profile_section(parser: configparser.ConfigParser, profile_name: str | None, path: Path | None) -> dict[str, str]:
    """The keys of the profile asked for (or of ``default``, when it is a profile), checked."""
    section: dict[str, str] = {}
    if profile_name:
        if not parser.has_section(profile_name):
            names = ", ".join(parser.sections()) or "none"
            raise ConfigError(f"no profile {profile_name!r} in {path or config_path()} (profiles: {names})")
        section = dict(parser.items(profile_name))
    elif parser.has_section("default") and not parser.has_option("default", GROUP_KEY):
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
        check_timeout(settings.timeout, timeout)
    for flag in ("tls", "insecure"):
        _apply_flag(settings, flag, given.get(flag), section)
    ca_file = pick("ca_file")
    settings.ca_file = str(ca_file) if ca_file else None
    check_tls_options(settings.tls, settings.ca_file, settings.insecure, given)
    if settings.ca_file:
        check_ca_file(settings.ca_file)
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


# -- fleets: several PBXs named at once -------------------------------------------


def split_list(text: object) -> list[str]:
    """``"a, b,,c"`` -> ``["a", "b", "c"]``: the comma lists of -H, --profile and include."""
    if not text:
        return []
    return [word.strip() for word in str(text).split(",") if word.strip()]


def parse_host(text: str) -> tuple[str, int | None]:
    """``HOST``, ``HOST:PORT``, ``[v6]`` or ``[v6]:PORT`` -> (host, port or None).

    An address with more than one colon and no brackets is IPv6 without a port.
    """
    port_text = ""
    if text.startswith("["):
        host, bracket, rest = text[1:].partition("]")
        if not bracket or not host or (rest and not rest.startswith(":")):
            raise ConfigError(f"host {text!r}: expected [IPv6] or [IPv6]:PORT")
        port_text = rest[1:]
        if rest and not port_text:
            raise ConfigError(f"host {text!r}: no port after ':'")
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
        if not host or not port_text:
            raise ConfigError(f"host {text!r}: expected HOST or HOST:PORT")
    else:
        host = text
    if not port_text:
        return host, None
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ConfigError(f"host {text!r}: {port_text!r} is not a TCP port (1-65535)")
    return host, int(port_text)


def expand_profiles(parser: configparser.ConfigParser, names: list[str], path: Path | None = None) -> list[str]:
    """The profiles that ``names`` stand for: groups (``include = a, b``) replaced by their members.

    Groups may nest; a group that includes itself, directly or not, is a
    configuration error.  A profile named twice counts once, where first named.
    """
    where = path or config_path()
    found: list[str] = []

    def visit(name: str, trail: tuple[str, ...]) -> None:
        if name in trail:
            loop = " -> ".join((*trail[trail.index(name) :], name))
            raise ConfigError(f"{where}: profile groups include each other in a loop: {loop}")
        if not parser.has_section(name):
            known = ", ".join(parser.sections()) or "none"
            inside = f" (included by {trail[-1]!r})" if trail else ""
            raise ConfigError(f"no profile {name!r}{inside} in {where} (profiles: {known})")
        if not parser.has_option(name, GROUP_KEY):
            if name not in found:
                found.append(name)
            return
        members = split_list(parser.get(name, GROUP_KEY))
        if not members:
            raise ConfigError(f"{where}: group {name!r} includes no profile")
        for member in members:
            visit(member, (*trail, name))

    for name in names:
        visit(name, ())
    return found


def resolve_fleet(
    given: dict[str, object],
    *,
    secret_file: str | None = None,
    path: Path | None = None,
) -> list[Settings]:
    """Every PBX named by -H/--profile (or AMI_HOST/AMI_PROFILE), each with its own settings.

    -H takes ``HOST``, ``HOST:PORT`` and ``[v6]:PORT``, comma-separated;
    --profile takes profiles and groups, comma-separated.  Each member keeps
    its own profile's settings; what the command line gives applies to all.
    A single PBX resolves exactly as :func:`resolve` does.
    """
    parser = read_profiles(path, check=True)
    hosts = [parse_host(word) for word in split_list(given.get("host"))]
    named = split_list(given.get("profile"))
    if not named and not given.get("host") and parser.has_option("default", GROUP_KEY):
        named = ["default"]
    profiles: list[str | None] = list(expand_profiles(parser, named, path)) if named else [None]
    if len(hosts) > 1 and len(profiles) > 1:
        raise ConfigError("name the PBXs by -H HOST,... or by --profile NAME,..., not both")
    secret_text = read_secret_file(secret_file) if secret_file and not given.get("secret") else None
    fleet: list[Settings] = []
    for profile in profiles:
        for host, port in hosts or [(None, None)]:
            member = dict(given, profile=profile)
            if host is not None:
                member["host"] = host
            if port is not None:
                member["port"] = port
            settings = _resolve_one(member, parser, path, secret_text)
            settings.name = profile if profile is not None and len(hosts) <= 1 else None
            fleet.append(settings)
    return fleet


def check_ca_file(name: str) -> None:
    """Refuse a --ca-file that is missing, unreadable or holds no certificate (ConfigError)."""
    import ssl  # only when a CA file is named

    try:
        ssl.create_default_context(cafile=name)
    except OSError as exc:
        if isinstance(exc, ssl.SSLError):
            raise ConfigError(f"--ca-file {name}: not a PEM certificate file") from None
        raise ConfigError(f"--ca-file {name}: {exc.strerror or exc}") from None


def read_secret_file(name: str) -> str:
    """The first line of a file (``-``: standard input), without its newline.

    A file that others can read is refused, as a profile holding a secret is.
    """
    try:
        if name == "-":
            text = sys.stdin.buffer.readline().decode("utf-8")
        else:
            check_secret_file(name)
            with open(name, encoding="utf-8") as fh:
                text = fh.readline()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read secret file {name}: {getattr(exc, 'strerror', None) or exc}") from None
    secret = text.rstrip("\r\n")
    if not secret:
        raise ConfigError(f"secret file {name} is empty")
    return _one_line(secret, f"secret file {name}")
