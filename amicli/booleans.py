"""Yes and no, as people, files and Asterisk write them: one reading for every input."""

from __future__ import annotations

#: Words read as yes and as no (any case, blanks around ignored).  ``y`` and
#: ``n`` count, as in Asterisk's own ast_true() and ast_false().
TRUE_WORDS = frozenset({"1", "yes", "y", "true", "on"})
FALSE_WORDS = frozenset({"0", "no", "n", "false", "off"})


def parse_bool(text: str) -> bool | None:
    """True or False for a yes or no word; None for any other text (the empty string too)."""
    word = text.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    return None
