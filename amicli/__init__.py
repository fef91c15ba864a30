"""ami: a Unix-style command-line toolkit for the Asterisk Manager Interface."""

__version__ = "0.1.0"
