"""``ami metrics``: the PBX's state for Prometheus, printed or served on /metrics."""

from __future__ import annotations

import sys
import time

import click

from ..context import get_app
from ..errors import AmiError, ExitCode
from ..output import report

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

EPILOG = """\b
Metrics: asterisk_up, asterisk_uptime_seconds, asterisk_info, asterisk_calls,
asterisk_calls_processed_total, asterisk_channels, asterisk_queue_callers,
asterisk_queue_longest_wait_seconds, asterisk_queue_members{status},
asterisk_queue_members_paused, asterisk_queue_members_available,
asterisk_queue_calls_completed_total, asterisk_queue_calls_abandoned_total,
asterisk_queue_service_level_ratio, asterisk_endpoint_available,
asterisk_endpoint_state{state}, asterisk_endpoint_active_channels,
asterisk_contact_status{status}, asterisk_contact_roundtrip_seconds,
asterisk_registration_registered, asterisk_registration_status{status},
ami_collector_success{collector}, ami_scrape_duration_seconds.

\b
With --listen, every scrape of /metrics opens one AMI session, reads the
state and logs off: nothing is kept between scrapes, so a PBX restart or a
network break costs one scrape (asterisk_up 0), never a stale answer.
Scrapes are answered one at a time.

\b
Exit status: 0 done; when the PBX cannot be reached or the login is
refused, `asterisk_up 0` is printed and the exit status says why (3, 4, 5...).

\b
Examples:
  cd /var/lib/node_exporter && ami metrics > ami.prom.tmp; mv ami.prom.tmp ami.prom
  ami metrics --listen 127.0.0.1:9858
"""


def scrape() -> tuple[str, AmiError | None]:
    """One session's worth of metrics, or ``asterisk_up 0`` and the error."""
    from .. import metrics

    started = time.monotonic()
    try:
        with get_app().session(need_booted=True) as client:
            text = metrics.render(metrics.collect(client, started))
    except AmiError as exc:
        return metrics.render(metrics.down(exc)), exc
    return text, None


def parse_listen(text: str) -> tuple[str, int]:
    """``127.0.0.1:9858``, ``:9858`` (all addresses), ``[::1]:9858`` -> (host, port)."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535:
        raise click.BadParameter(f"{text!r}: expected ADDR:PORT, e.g. 127.0.0.1:9858", param_hint="--listen")
    host = host.strip("[]") or "0.0.0.0"
    return host, int(port)


@click.command("metrics", epilog=EPILOG)
@click.option(
    "--listen",
    metavar="ADDR:PORT",
    default=None,
    help="Serve the metrics over HTTP on /metrics instead of printing them once. Example: --listen 127.0.0.1:9858",
)
def metrics(listen: str | None) -> int:
    """Print the PBX's state in the Prometheus text format, or serve it on /metrics.

    Channels, calls, queues (callers, longest wait, members by status,
    completed and abandoned), endpoints, contacts and round-trip times, and
    outbound registrations, read in one AMI session.
    """
    if listen is None:
        text, error = scrape()
        sys.stdout.buffer.write(text.encode("utf-8"))
        sys.stdout.flush()
        if error is not None:
            report(str(error), "error")
            return error.exit_code
        return ExitCode.OK
    host, port = parse_listen(listen)
    return serve(host, port)


def serve(host: str, port: int) -> int:
    """Answer /metrics until Ctrl-C (exit 0)."""
    import socket
    from http.server import BaseHTTPRequestHandler, HTTPServer

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                text, error = scrape()
                if error is not None:
                    report(f"scrape failed: {error}", "warning")
                self._send(200, CONTENT_TYPE, text)
            elif path == "/":
                self._send(200, "text/html; charset=utf-8", '<a href="/metrics">/metrics</a>\n')
            else:
                self._send(404, "text/plain; charset=utf-8", "not found: try /metrics\n")

        def _send(self, code: int, content_type: str, text: str) -> None:
            body = text.encode("utf-8")
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass  # stdout and stderr are not an access log

    server_class = HTTPServer
    if ":" in host:

        class V6Server(HTTPServer):
            address_family = socket.AF_INET6

        server_class = V6Server
    try:
        server = server_class((host, port), Handler)
    except OSError as exc:
        raise click.UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    bound = server.server_address
    report(f"serving metrics on http://{host}:{bound[1]}/metrics (Ctrl-C to stop)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return ExitCode.OK
