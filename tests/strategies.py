"""Hypothesis helpers shared by the property tests (test_protocol.py, test_fuzz_sessions.py).

Strategies here are built once, at import: building one per draw costs more
than drawing from it.
"""

from __future__ import annotations

import operator
import string

from hypothesis import strategies as st

_KEY_CHARS = string.ascii_letters + string.digits + "_-"


def header_keys(max_size: int) -> st.SearchStrategy[str]:
    """Header names ``[A-Za-z][A-Za-z0-9_-]{0,max_size}``, drawn directly (``from_regex`` costs several times more)."""
    return st.builds(operator.add, st.sampled_from(string.ascii_letters), st.text(_KEY_CHARS, max_size=max_size))


def offset(drawn: int, top: int, last: int) -> int:
    """A position in 0..``last`` made of ``drawn``, a value in 0..``top`` (``top`` > ``last``).

    One strategy serves every length.  Every position can come out (modulo),
    and the two highest draws give the two highest positions: Hypothesis
    favours a range's ends and their neighbours, so the data's ends stay as
    likely as with a strategy built for each length.
    """
    assert last < top
    below_top = top - drawn
    if below_top < 2:
        return max(last - below_top, 0)
    return drawn % (last + 1)
