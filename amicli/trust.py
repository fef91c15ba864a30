"""What a configuration source must be before `ami` trusts it: private files, sane values.

A secret file or a profile that another user could read or change is
refused, as ssh refuses such keys; so are values that could not have been
meant (a line break from a CRLF file, a timeout of ``nan``, a host name
label over 63 characters), each with one line and exit 7.
"""

from __future__ import annotations

import ipaddress
import math
import os
import stat
from pathlib import Path

from .errors import ConfigError, UsageError

#: The longest --timeout accepted (a day): past it a socket timeout overflows.
MAX_TIMEOUT = 86400.0


def _trusted_owner(st: os.stat_result) -> bool:
    return st.st_uid in (os.getuid(), 0)


def check_private(path: Path) -> None:
    """A file that holds a secret: no other user may read or change it."""
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(f"{path} holds a secret and is readable by others (mode {mode:o}); run: chmod 600 {path}")


def check_profile_file(path: Path, has_secret: bool) -> None:
    """Refuse a profile others could change, or read when it holds a secret (as ssh does).

    Its owner must be the user (or root); no other user may write it, nor
    the directory it is in; with a secret in any section, no other user may
    read it.  A symlink is judged by the file it points to.
    """
    st = path.stat()
    if not stat.S_ISREG(st.st_mode):
        return  # /dev/null (no profiles), a pipe: nothing another user could swap
    if not _trusted_owner(st):
        raise ConfigError(f"{path} is owned by another user (uid {st.st_uid}): not trusted")
    if has_secret:
        check_private(path)
    mode = stat.S_IMODE(st.st_mode)
    if mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise ConfigError(f"{path} is writable by others (mode {mode:o}); run: chmod 600 {path}")
    parent = path.resolve().parent
    pst = parent.stat()
    if stat.S_IMODE(pst.st_mode) & stat.S_IWOTH or not _trusted_owner(pst):
        raise ConfigError(f"{path} is in {parent}, a directory other users can change: not trusted")


def check_secret_file(name: str) -> None:
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
        raise ConfigError(f"{name} holds a secret and is readable by others (mode {mode:o}); run: chmod 600 {name}")


def one_line(value: str, what: str) -> str:
    """Refuse a value with a line break or NUL (a trailing CR from a CRLF file included)."""
    if "\r" in value or "\n" in value or "\0" in value:
        raise ConfigError(f"{what}: the value holds a line break or NUL (a file saved with CRLF?)")
    return value


def check_values(given: dict[str, object], section: dict[str, str]) -> None:
    """No line break or NUL in a profile value, nor in the options and AMI_* variables that are text."""
    for key, value in section.items():
        one_line(value, f"{key} in profile")
    for key in ("host", "user", "secret", "ca_file", "profile"):
        value = given.get(key)
        if isinstance(value, str):
            one_line(value, "AMI_SECRET" if key == "secret" else key)


def check_host(host: str) -> str:
    """A host name or address that can be looked up: DNS labels of 1-63 characters."""
    one_line(host, "host")
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


def check_timeout(value: float, given: object) -> float:
    if not (math.isfinite(value) and 0 < value <= MAX_TIMEOUT):
        raise ConfigError(f"timeout: expected seconds above 0 and at most {MAX_TIMEOUT:g}, got {given!r}")
    return value


def check_tls_options(tls: bool, ca_file: str | None, insecure: bool, given: dict[str, object]) -> None:
    """--ca-file and --insecure are about TLS: without it they would be ignored in silence."""
    if tls:
        return
    for name, value in (("ca_file", ca_file), ("insecure", insecure)):
        if not value:
            continue
        if given.get(name):
            raise UsageError(f"--{name.replace('_', '-')} is for TLS connections: add --tls")
        raise ConfigError(f"{name} in profile is for TLS connections: add tls = yes")
