"""Secrets the PBX sends back: masked as they arrive, in every output.

Asterisk sends ``Password:`` in clear text in ``AuthDetail`` events (to a
read-only user too), and the hashed or token forms beside it are as good as
the password.  The client masks them on receipt, before any trace, command
or format sees them, unless the user asked for them (``--show-secrets``).
"""

from __future__ import annotations

import re

from .protocol import Message

MASK = "********"

#: Header names (lower case) whose values are secrets when the PBX sends them.
RECEIVED_SECRETS = frozenset({"password", "md5cred", "oauthsecret", "refreshtoken"})

# A secret header line with a non-empty value, in the raw bytes.
_SECRET_LINE = re.compile(rb"(?im)^((?:password|md5cred|oauthsecret|refreshtoken)[ \t]*:[ \t]*)[^\r\n \t][^\r\n]*")
_MASK_BYTES = MASK.encode("ascii")


def mask_message(msg: Message) -> Message:
    """``msg`` with every secret value replaced by ``********`` (``msg`` itself when it has none)."""
    raw = msg.raw
    if raw:
        # A cheap look first, in any case as the regex: the names in the lowered bytes.
        lowered = raw.lower()
        if not (
            b"password" in lowered or b"md5cred" in lowered or b"oauthsecret" in lowered or b"refreshtoken" in lowered
        ):
            return msg
        if _SECRET_LINE.search(raw) is None:
            return msg
        new_raw = _SECRET_LINE.sub(lambda m: m.group(1) + _MASK_BYTES, raw)
    elif msg.kind == "text" or not any(k.lower() in RECEIVED_SECRETS for k, _ in msg.headers):
        return msg
    else:
        new_raw = raw
    headers = [(k, MASK if k.lower() in RECEIVED_SECRETS and v else v) for k, v in msg.headers]
    return Message(headers, msg.kind, new_raw, msg.text, msg.legacy)
