"""The dialplan of one simulated PBX: its contexts, extensions and applications.

The default mirrors the recorded PBX's extensions.conf (``[default]``: 100
answers and hangs up after 2 s, 200 answers and waits 600 s, 300/400 enter
the queues, busy, congest, noanswer, echo, event; ``[agents]`` answers,
``[ringonly]`` only rings).  Each PBX has its own :class:`Dialplan`: adding
an extension to one changes no other.
"""

from __future__ import annotations

import re
from typing import Callable, Mapping

#: One priority: (application, data).
Step = tuple[str, str]

#: ``app(call, leg, data) -> bool``: run one dialplan application on a leg
#: of a call (1: the originated half, 2: the dialled half); True ends the leg.
Application = Callable[..., bool]

#: context -> extension (or ``_pattern``) -> the priorities.
DEFAULT_EXTENSIONS: Mapping[str, Mapping[str, list[Step]]] = {
    "default": {
        "100": [("Answer", ""), ("Wait", "2"), ("Hangup", "")],
        "200": [("Answer", ""), ("Wait", "600"), ("Hangup", "")],
        "300": [("Answer", ""), ("Queue", "support,,,,600"), ("Hangup", "")],
        "400": [("Answer", ""), ("Queue", "sales,,,,600"), ("Hangup", "")],
        "busy": [("Busy", "5")],
        "congest": [("Congestion", "5")],
        "noanswer": [("Ringing", ""), ("Wait", "120")],
        "echo": [("Answer", ""), ("Echo", "")],
        "event": [("Answer", ""), ("UserEvent", "Deploy,Status: done,Build: 42"), ("Hangup", "")],
        "h": [("NoOp", "hangup")],
    },
    "agents": {"_X.": [("Answer", ""), ("Wait", "600")]},
    "ringonly": {"_X.": [("Ringing", ""), ("Wait", "600")]},
}


class Dialplan:
    """Contexts of extensions, and the applications their priorities run."""

    def __init__(
        self,
        extensions: Mapping[str, Mapping[str, list[Step]]] = DEFAULT_EXTENSIONS,
        applications: Mapping[str, Application] | None = None,
    ) -> None:
        self.contexts: dict[str, dict[str, list[Step]]] = {
            context: {exten: list(steps) for exten, steps in exts.items()} for context, exts in extensions.items()
        }
        self.applications: dict[str, Application] = {k.lower(): v for k, v in (applications or {}).items()}

    def add_extension(self, context: str, exten: str, steps: list[Step]) -> None:
        """Add (or replace) an extension: ``steps`` are its priorities."""
        self.contexts.setdefault(context, {})[exten] = list(steps)

    def add_application(self, name: str, handler: Application) -> None:
        """Add (or replace) an application."""
        self.applications[name.lower()] = handler

    def application(self, name: str) -> Application | None:
        return self.applications.get(name.lower())

    def has(self, context: str, exten: str) -> bool:
        """Whether ``exten`` is defined by name in ``context`` (as ``h`` is)."""
        return exten in self.contexts.get(context, {})

    def find(self, context: str, exten: str) -> list[Step] | None:
        """The priorities of ``exten@context`` (an exact name first, then patterns)."""
        extensions = self.contexts.get(context)
        if not extensions or not exten:
            return None
        if exten in extensions:
            return extensions[exten]
        for name, steps in extensions.items():
            if name.startswith("_") and pattern_matches(name, exten):
                return steps
        return None


_PATTERN_CLASSES = {"x": "[0-9]", "z": "[1-9]", "n": "[2-9]", ".": ".+", "!": ".*"}


def pattern_matches(pattern: str, exten: str) -> bool:
    """Asterisk's extension patterns: ``_`` then X, Z, N, [set], ``.`` (one or more), ``!``."""
    rx = ""
    i = 0
    body = pattern[1:]
    while i < len(body):
        c = body[i]
        if c.lower() in _PATTERN_CLASSES:
            rx += _PATTERN_CLASSES[c.lower()]
        elif c == "[":
            end = body.find("]", i)
            if end < 0:
                return False
            rx += "[" + re.escape(body[i + 1 : end]).replace("\\-", "-") + "]"
            i = end
        else:
            rx += re.escape(c)
        i += 1
    return re.fullmatch(rx, exten) is not None
