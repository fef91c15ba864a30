"""Users and permissions of the simulated PBX (those of the recorded PBX)."""

from __future__ import annotations

import configparser
import ipaddress
from dataclasses import dataclass, field

#: Asterisk's permission classes and their bits (manager.h).
CLASSES = {
    "system": 1 << 0,
    "call": 1 << 1,
    "log": 1 << 2,
    "verbose": 1 << 3,
    "command": 1 << 4,
    "agent": 1 << 5,
    "user": 1 << 6,
    "config": 1 << 7,
    "dtmf": 1 << 8,
    "reporting": 1 << 9,
    "cdr": 1 << 10,
    "dialplan": 1 << 11,
    "originate": 1 << 12,
    "agi": 1 << 13,
    "cc": 1 << 14,
    "aoc": 1 << 15,
    "test": 1 << 16,
    "security": 1 << 17,
    "message": 1 << 18,
}
ALL = (1 << 19) - 1


def permission_mask(text: str) -> int:
    """``"system,call"`` -> bits; ``all``/``on`` -> every class; unknown words ignored."""
    mask = 0
    for word in text.replace(" ", "").lower().split(","):
        if word in ("all", "on"):
            mask |= ALL
        else:
            mask |= CLASSES.get(word, 0)
    return mask


@dataclass
class User:
    name: str
    secret: str
    read: int
    write: int
    permit: list = field(default_factory=lambda: [ipaddress.ip_network("0.0.0.0/0")])

    def allowed_from(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        if ip.version == 6 and ip.ipv4_mapped:
            ip = ip.ipv4_mapped
        return any(ip in net for net in self.permit if net.version == ip.version)


def _user(name: str, secret: str, read: str, write: str, permit: str = "127.0.0.1/32") -> User:
    return User(
        name, secret, permission_mask(read), permission_mask(write), [ipaddress.ip_network(permit, strict=False)]
    )


#: The users of the recorded PBX's manager.conf.
DEFAULT_USERS = {
    u.name: u
    for u in (
        _user("admin", "s3cret-Admin", "all", "all"),
        _user("monitor", "m0nitor", "system,call,agent,reporting", "reporting"),
        _user("caller", "dial-0ut", "call", "originate,call"),
        _user("elsewhere", "fromafar", "all", "all", "10.9.9.9/32"),
    )
}


def load_manager_conf(path: str) -> dict[str, User]:
    """Users from a manager.conf (secret, read, write, permit)."""
    parser = configparser.ConfigParser(strict=False, interpolation=None, inline_comment_prefixes=(";",))
    with open(path, encoding="utf-8") as fh:
        parser.read_file(fh)
    users = {}
    for section in parser.sections():
        if section == "general":
            continue
        items = parser[section]
        permits = []
        raw = parser.get(section, "permit", fallback="0.0.0.0/0")
        for value in raw.split("\n"):
            addr, _, mask = value.strip().partition("/")
            permits.append(ipaddress.ip_network(f"{addr}/{mask or '32'}", strict=False))
        users[section] = User(
            section,
            items.get("secret", ""),
            permission_mask(items.get("read", "")),
            permission_mask(items.get("write", "")),
            permits,
        )
    return users
