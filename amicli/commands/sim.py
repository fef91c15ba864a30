"""``ami sim``: run the simulated PBX in the foreground."""

from __future__ import annotations

import sys

import click


@click.command()
@click.option(
    "--listen",
    default="127.0.0.1",
    show_default=True,
    metavar="ADDRESS",
    help="Address to listen on (loopback by default).",
)
@click.option(
    "--port",
    "-p",
    default=5038,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Port to listen on; 0 picks a free one (printed on stderr).",
)
@click.option(
    "--tls-cert",
    metavar="PEM",
    help="Speak TLS with this certificate (PEM). Example: --tls-cert ami.crt --tls-key ami.key",
)
@click.option("--tls-key", metavar="PEM", help="The private key for --tls-cert (PEM).")
@click.option("--manager-conf", metavar="PATH", help="Take users from this manager.conf instead of the built-in ones.")
@click.option(
    "--asterisk13", is_flag=True, help="Answer as Asterisk 13 does (AMI 2.10 banner, Command as 'Response: Follows')."
)
@click.option(
    "--boot-delay",
    type=click.FloatRange(0),
    default=0.0,
    metavar="SECONDS",
    help="Say FullyBooted only after SECONDS, as a PBX still loading modules does.",
)
@click.option("--demo", is_flag=True, help="Start busy: calls up and a caller waiting in queue 'support', as recorded.")
def sim(
    listen: str,
    port: int,
    tls_cert: str | None,
    tls_key: str | None,
    manager_conf: str | None,
    asterisk13: bool,
    boot_delay: float,
    demo: bool,
) -> int:
    """Run a simulated Asterisk PBX that speaks AMI, until Ctrl-C.

    It answers as a real Asterisk 22 does (shapes taken from recorded
    sessions), with the users of the recorded PBX:

    \b
      admin / s3cret-Admin     read all, write all
      monitor / m0nitor        read system,call,agent,reporting; write reporting
      caller / dial-0ut        read call; write originate,call
      elsewhere / fromafar     refused from 127.0.0.1 (ACL)

    It answers the banner, Login (with the one-second pause and close after a
    failure) and Challenge/MD5, Ping, Events, Filter, Command (a few CLI
    commands, `queue show` among them), ListCommands, CoreSettings,
    CoreStatus, UserEvent, Originate (Local channels into the recorded
    dialplan, with the recorded events), CoreShowChannels, Hangup, Getvar,
    Status, QueueStatus, QueueSummary, QueueAdd, QueueRemove and QueuePause,
    the errors for unknown actions and missing permissions, and the server's
    own limits.  Its queues are those of the recorded queues.conf: support
    (ringall; Alice and Bob), sales (rrmemory, service level 60 s; Carol) and
    empty.  Before FullyBooted (--boot-delay) the queue actions do not exist
    yet.  `ami command 'core stop now'` sends Event: Shutdown and stops it;
    `core restart now` closes the sessions and boots again.  `ami raw SimLoad
    Events=N` sends N recorded events as fast as the socket takes them to
    the other sessions that get call events (Target=self: to the asking one).

    \b
    Examples:
      ami sim &
      AMI_USER=admin AMI_SECRET=s3cret-Admin ami login-test
      ami sim --port 0 --asterisk13
      ami sim --demo            # calls up, a caller waiting in 'support'
      AMI_SIM_TIME_SCALE=0.05 ami sim   # answered calls run 20 times faster

    \b
    Environment:
      AMI_SIM_TIME_SCALE  How many times faster than real time a call runs once
                          answered (Wait(600) of extension 200, say); ring
                          timeouts stay real.  A number; 1 when unset.
    """
    from ..errors import ConfigError
    from ..sim import SimServer

    users = None
    if manager_conf:
        from ..sim.users import load_manager_conf

        try:
            users = load_manager_conf(manager_conf)
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot read {manager_conf}: {exc}") from None
    if tls_key and not tls_cert:
        raise click.UsageError("--tls-key needs --tls-cert")
    if tls_cert and not tls_key:
        tls_key = tls_cert  # one PEM file holding both
    try:
        server = SimServer(
            listen, port, users=users, tls_cert=tls_cert, tls_key=tls_key, boot_delay=boot_delay, asterisk13=asterisk13
        )
    except OSError as exc:
        raise ConfigError(f"cannot listen on {listen}:{port}: {exc.strerror or exc}") from None
    if demo:
        from ..sim.channels import populate_demo

        populate_demo(server.pbx)
    kind = "TLS" if tls_cert else "TCP"
    sys.stderr.write(f"ami sim: listening on {server.host}:{server.port} ({kind}, {server.banner})\n")
    sys.stderr.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        sys.stderr.write("ami sim: stopped\n")
        return 0
    finally:
        server.close()
    return 0
