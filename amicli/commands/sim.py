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
    type=click.Path(dir_okay=False),
    metavar="PEM",
    help="Speak TLS with this certificate (PEM). Example: --tls-cert ami.crt --tls-key ami.key",
)
@click.option("--tls-key", type=click.Path(dir_okay=False), metavar="PEM", help="The private key for --tls-cert (PEM).")
@click.option(
    "--manager-conf",
    type=click.Path(dir_okay=False),
    metavar="PATH",
    help="Take users from this manager.conf instead of the built-in ones.",
)
@click.option(
    "--asterisk13",
    is_flag=True,
    help="Answer as Asterisk 13 does (AMI 2.10 banner, Command as 'Response: Follows', chan_sip and IAX2 peers"
    " instead of PJSIP).",
)
@click.option(
    "--boot-delay",
    type=click.FloatRange(0),
    default=0.0,
    metavar="SECONDS",
    help="Say FullyBooted only after SECONDS, as a PBX still loading modules does; then the PJSIP contacts"
    " are qualified and the registrations sent, one by one, with their events.",
)
@click.option(
    "--demo",
    is_flag=True,
    help="Start busy: calls up and a caller waiting in queue 'support', as recorded; bob's contact"
    " goes Unreachable and back every 10 seconds.",
)
@click.option(
    "--endpoints",
    type=click.IntRange(0, 100000),
    default=0,
    show_default=True,
    metavar="N",
    help="Add N registered PJSIP phones (phone00001...) to the recorded six, for benchmarks.",
)
def sim(
    listen: str,
    port: int,
    tls_cert: str | None,
    tls_key: str | None,
    manager_conf: str | None,
    asterisk13: bool,
    boot_delay: float,
    demo: bool,
    endpoints: int,
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
    commands, `queue show` and `pjsip show endpoints|contacts|registrations`
    among them), ListCommands, CoreSettings, CoreStatus, UserEvent, Originate
    (Local channels into the recorded dialplan, with the recorded events),
    CoreShowChannels, Hangup, Getvar, Status, QueueStatus, QueueSummary,
    QueueAdd, QueueRemove and QueuePause, PJSIPShowEndpoints,
    PJSIPShowEndpoint, PJSIPShowContacts, PJSIPShowAors,
    PJSIPShowRegistrationsOutbound, PJSIPShowRegistrationsInbound,
    PJSIPShowRegistrationInboundContactStatuses, PJSIPRegister,
    PJSIPUnregister, DeviceStateList, ExtensionStateList and ExtensionState,
    the errors for unknown actions and missing permissions, and the server's
    own limits.  Its queues are those of the recorded queues.conf: support
    (ringall; Alice and Bob), sales (rrmemory, service level 60 s; Carol) and
    empty.  Before FullyBooted (--boot-delay) the queue and PJSIP actions do
    not exist yet.  `ami command 'core stop now'` sends Event: Shutdown and stops it;
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
      ami sim --endpoints 5000  # 5,006 PJSIP endpoints

    PJSIP (not with --asterisk13): endpoints alice and bob registered,
    carol never registered, doorphone static and not qualified, trunk-up
    Registered, trunk-down Rejected.  The sim's own CLI commands change their
    state while it runs, with the events Asterisk sends (ContactStatus,
    PeerStatus, DeviceStateChange, ExtensionStatus, Registry):

    \b
      sim contact NAME reachable|unreachable|nonqualified|unknown|removed|registered
      sim registration NAME registered|unregistered|rejected
      sim peer NAME reachable|unreachable       (--asterisk13: SIP peers)

    \b
      ami command 'sim contact alice unreachable'
      ami command 'sim registration trunk-up rejected'

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
            listen,
            port,
            users=users,
            tls_cert=tls_cert,
            tls_key=tls_key,
            boot_delay=boot_delay,
            asterisk13=asterisk13,
            endpoints=endpoints,
        )
    except OSError as exc:
        raise ConfigError(f"cannot listen on {listen}:{port}: {exc.strerror or exc}") from None
    if demo:
        from ..sim.channels import populate_demo

        populate_demo(server.pbx)
        if server.pbx.pjsip is not None:
            from ..sim.pjsip import start_flapping

            start_flapping(server.pbx)
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
