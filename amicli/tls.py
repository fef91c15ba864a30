"""TLS for an AMI session: the handshake, and what each way it can fail means."""

from __future__ import annotations

import socket
import sys

from .errors import AmiTimeout, TlsError, UntrustedCertificate


def wrap_tls(
    sock: socket.socket, host: str, address: str, timeout: float, *, ca_file: str | None, insecure: bool
) -> socket.socket:
    """``sock`` after a TLS handshake with ``host``; closed, and an error raised, when it fails."""
    import ssl  # only TLS sessions pay for it

    ctx = ssl.create_default_context(cafile=ca_file)
    if insecure:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
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


def tls_wants_read(exc: OSError) -> bool:
    """Whether ``exc`` says a non-blocking TLS socket has no whole record to read yet (not an error)."""
    ssl = sys.modules.get("ssl")  # not loaded: no TLS socket exists
    return ssl is not None and isinstance(exc, ssl.SSLWantReadError)
