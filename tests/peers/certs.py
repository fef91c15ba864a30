"""TLS certificates for tests, made with the ``openssl`` command."""

from __future__ import annotations

import ssl
import subprocess
import tempfile
import threading
from pathlib import Path

_certs_lock = threading.Lock()
_certs: dict[str, tuple[str, str]] = {}


def make_certs(directory: str | Path | None = None) -> dict[str, tuple[str, str]]:
    """Self-signed certificates made with ``openssl``: name -> (cert, key) paths.

    ``good`` is for localhost and 127.0.0.1; ``other`` for other.example.
    Made once per process (the files live in ``directory`` or a temporary one).
    """
    with _certs_lock:
        if _certs:
            return dict(_certs)
        base = Path(directory or tempfile.mkdtemp(prefix="ami-certs-"))
        for name, san in (("good", "DNS:localhost,IP:127.0.0.1"), ("other", "DNS:other.example")):
            cert, key = base / f"{name}.crt", base / f"{name}.key"
            cn = san.split(":")[1].split(",")[0]
            subprocess.run(
                [
                    "openssl",
                    "req",
                    "-x509",
                    # An EC key: made in milliseconds (RSA 2048 takes most of a second of CPU).
                    "-newkey",
                    "ec",
                    "-pkeyopt",
                    "ec_paramgen_curve:prime256v1",
                    "-nodes",
                    "-keyout",
                    str(key),
                    "-out",
                    str(cert),
                    "-days",
                    "2",
                    "-subj",
                    f"/CN={cn}",
                    "-addext",
                    f"subjectAltName={san}",
                ],
                check=True,
                capture_output=True,
            )
            _certs[name] = (str(cert), str(key))
        return dict(_certs)


def server_tls_context(cert: str, key: str) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    return ctx
