"""Keep the secret (and the MD5 key made from it) out of everything `ami` prints.

A PBX may quote what it was sent: an error ``Message`` that repeats the
secret would otherwise reach stderr, and by ``login-test`` stdout, where
monitoring systems store it.  Once known, each such value is registered
here, and every human-facing text passes through :func:`scrub` (error
lines, ``--debug`` traces, the ``login-test`` line and tables).

Values shorter than :data:`MIN_LENGTH` characters are not searched for:
hiding every ``a`` of the output would hide everything else.
"""

from __future__ import annotations

MASK = "********"
#: The shortest value hidden wherever it appears.
MIN_LENGTH = 4

_values: list[str] = []


def add_secret(value: str) -> None:
    """Hide ``value`` in every text :func:`scrub` sees from now on."""
    if len(value) >= MIN_LENGTH and value not in _values:
        _values.append(value)
        # Longest first, so a value that holds another is hidden whole.
        _values.sort(key=len, reverse=True)


def scrub(text: str) -> str:
    """``text`` with every registered value replaced by :data:`MASK`."""
    for value in _values:
        if value in text:
            text = text.replace(value, MASK)
    return text


def scrub_bytes(data: bytes) -> bytes:
    """:func:`scrub` for bytes as received (the values in UTF-8)."""
    for value in _values:
        raw = value.encode("utf-8", "replace")
        if raw in data:
            data = data.replace(raw, MASK.encode())
    return data
