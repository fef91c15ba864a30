"""POSIX extended regular expressions, read as Asterisk reads them, for Python's ``re``.

Asterisk compiles the ``Filter`` action's expressions and ``Hangup``'s
``/regex/`` with ``regcomp`` (POSIX ERE, GNU C library).  When ``ami`` has to
do the same matching itself, it translates them so they mean what they mean
on the PBX:

* bracket classes ``[[:space:]]``, ``[[:digit:]]``... become their character
  sets; inside brackets a backslash and ``[`` are literal, as POSIX says;
* ``\\r``, ``\\n``, ``\\t``, ``\\d`` are *not* escapes in POSIX: a backslash before
  an ordinary character stands for that character (``\\r`` is ``r``).  The
  GNU extensions ``\\w \\W \\s \\S \\b \\B`` keep their meaning;
* characters that Python would read as set operations inside brackets
  (``--``, ``&&``, ``~~``, ``||``) are escaped, so no FutureWarning is printed.
"""

from __future__ import annotations

import re

#: POSIX character classes as Python set contents (the C locale).
CLASSES = {
    "alpha": "a-zA-Z",
    "digit": "0-9",
    "alnum": "a-zA-Z0-9",
    "upper": "A-Z",
    "lower": "a-z",
    "space": " \\t\\n\\r\\f\\v",
    "blank": " \\t",
    "punct": "!-/:-@\\[-`{-~",
    "xdigit": "0-9A-Fa-f",
    "cntrl": "\\x00-\\x1f\\x7f",
    "print": " -~",
    "graph": "!-~",
    "word": "a-zA-Z0-9_",
}
#: Escapes that keep their meaning in GNU regcomp.
GNU_ESCAPES = frozenset("wWsSbB")
#: Characters to escape inside a Python set (set operations, the escape character, brackets).
_SET_SPECIAL = frozenset("\\[]&~|")


def translate(pattern: str) -> str:
    """The Python ``re`` pattern that matches what the POSIX ERE ``pattern`` matches."""
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        ch = pattern[i]
        if ch == "\\" and i + 1 < n:
            nxt = pattern[i + 1]
            out.append("\\" + nxt if nxt in GNU_ESCAPES else re.escape(nxt))
            i += 2
        elif ch == "[":
            text, i = _bracket(pattern, i)
            out.append(text)
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def _bracket(pattern: str, start: int) -> tuple[str, int]:
    """Translate the bracket expression at ``pattern[start]``; (text, index after it)."""
    i, n = start + 1, len(pattern)
    out = ["["]
    if i < n and pattern[i] == "^":
        out.append("^")
        i += 1
    first = True
    while i < n:
        ch = pattern[i]
        if ch == "]" and not first:
            out.append("]")
            return "".join(out), i + 1
        first = False
        if pattern.startswith("[:", i):
            end = pattern.find(":]", i + 2)
            name = pattern[i + 2 : end] if end > 0 else ""
            if name not in CLASSES:
                raise ValueError(f"unknown character class [:{name}:]")
            out.append(CLASSES[name])
            i = end + 2
        elif pattern.startswith("[=", i) or pattern.startswith("[.", i):
            close = pattern[i + 1] + "]"
            end = pattern.find(close, i + 2)
            if end < 0:
                raise ValueError("unterminated [= or [. in a bracket expression")
            out.extend("\\" + c if c in _SET_SPECIAL else c for c in pattern[i + 2 : end])
            i = end + 2
        else:
            out.append("\\" + ch if ch in _SET_SPECIAL else ch)
            i += 1
    raise ValueError("unterminated bracket expression ([ without ])")


def posix_regex(pattern: str) -> re.Pattern[str]:
    """Compile a POSIX ERE as Asterisk reads it; ValueError (with the reason) when it is not valid."""
    try:
        return re.compile(translate(pattern))
    except re.error as exc:
        raise ValueError(f"not a valid regular expression: {exc}") from None
