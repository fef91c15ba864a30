"""TLS for an AMI session: the handshake, and what each way it can fail means."""

from __future__ import annotations

import functools
import socket
import sys
from typing import TYPE_CHECKING

from .errors import AmiTimeout, TlsError, UntrustedCertificate

if TYPE_CHECKING:
    import ssl


def wrap_tls(
    sock: socket.socket, host: str, address: str, timeout: float, *, ca_file: str | None, insecure: bool
) -> socket.socket:
    """``sock`` after a TLS handshake with ``host``; closed, and an error raised, when it fails."""
    import ssl  # only TLS sessions pay for it

    ctx = _client_context(ca_file, insecure)
    try:
        return ctx.wrap_socket(sock, server_hostname=host)
    except ssl.SSLCertVerificationError as exc:
        sock.close()
        raise UntrustedCertificate(f"TLS certificate of {address} not trusted: {exc.verify_message}") from None
    except TimeoutError:
        sock.close()
        raise AmiTimeout(f"TLS handshake with {address} timed out after {timeout:g} s") from None
    except (ssl.SSLError, OSError) as exc:
        sock.close()
        reason = getattr(exc, "reason", None) or str(exc)
        raise TlsError(f"TLS handshake with {address} failed: {reason}") from None


@functools.lru_cache(maxsize=2)
def _system_store_context(insecure: bool) -> ssl.SSLContext:
    """A client context over the system's CA store, made once: loading the
    store costs tens of milliseconds, and a fleet opens one session per PBX."""
    import ssl

    if insecure:  # verifies nothing: no CA store to load
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        return ctx
    return ssl.create_default_context()


def _client_context(ca_file: str | None, insecure: bool) -> ssl.SSLContext:
    """The context of one handshake; a CA file is read anew each time (it may change)."""
    if ca_file is None or insecure:
        return _system_store_context(insecure)
    import ssl

    return ssl.create_default_context(cafile=ca_file)


def tls_wants_read(exc: OSError) -> bool:
    """Whether ``exc`` says a non-blocking TLS socket has no whole record to read yet (not an error)."""
    ssl = sys.modules.get("ssl")  # not loaded: no TLS socket exists
    return ssl is not None and isinstance(exc, ssl.SSLWantReadError)
