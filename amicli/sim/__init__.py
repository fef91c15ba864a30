"""``ami sim``: a simulated Asterisk PBX speaking AMI, built from real recordings."""

from .server import SimServer

__all__ = ["SimServer"]
