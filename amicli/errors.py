"""Exceptions raised by the library, and the exit codes they map to.

Every exit status `ami` can return is defined here and only here.  The
library raises these exceptions; the CLI turns them into one stderr line and
the code below, in one place (``amicli.cli.main``).
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Exit statuses of ``ami``.

    The values follow Unix habit first and keep clear of the codes shells
    give meaning to (126-165), so a script can tell every failure apart.
    """

    #: Everything worked.
    OK = 0
    #: The PBX answered, but with an error (or a list/CLI command failed).
    #: 1 is what `asterisk -rx` scripts already test for.
    ACTION_FAILED = 1
    #: Bad command line: click's own convention, kept for every command.
    USAGE = 2
    #: Nothing to talk to: refused, unreachable host, DNS failure.
    CONNECT = 3
    #: Login refused (wrong secret, unknown user, ACL) or permission denied.
    AUTH = 4
    #: No answer within --timeout (connect, banner, or a reply).
    TIMEOUT = 5
    #: The peer is not AMI, broke the framing, or exceeded a size bound.
    PROTOCOL = 6
    #: Configuration problem (unreadable or unsafe profile file, bad value).
    CONFIG = 7
    #: TLS handshake or certificate verification failed.
    TLS = 8
    # 9: the next free general code, below originate's block (10-14).  A
    # fleet that partly worked is a general outcome of every command, and 1
    # would hide that the other PBXs succeeded.
    #: Several PBXs were named and some failed (each named on stderr), or they failed in different ways.
    SOME_SERVERS_FAILED = 9
    #: Interrupted by Ctrl-C (SIGINT): 128 + 2, as a shell reports it.
    INTERRUPTED = 130

    # `ami originate`: how a placed call ended.  A block of its own from 10
    # up, clear of the general codes above (0-8) and of the shell's (126+),
    # so a script can tell "the call ended badly" from "ami failed".
    #: The callee was busy (OriginateResponse Reason 5).
    BUSY = 10
    #: It rang until the ring timeout without an answer (Reason 3).
    NO_ANSWER = 11
    #: The network or the far end was congested (Reason 8).
    CONGESTION = 12
    #: Any other failure: no such channel, the far end hung up, ... (Reason 0, 1).
    CALL_FAILED = 13
    #: The Originate was sent but its outcome never came (no call events reach
    #: the session, none within ring timeout + grace, or the session broke
    #: after sending).  Distinct from CONNECT on purpose: the call may have
    #: rung, so a script must not retry it.
    OUTCOME_UNKNOWN = 14


class AmiError(Exception):
    """Base of every error the library raises on purpose."""

    exit_code: ExitCode = ExitCode.ACTION_FAILED


class ActionError(AmiError):
    """The PBX answered an action with ``Response: Error``."""

    exit_code = ExitCode.ACTION_FAILED

    def __init__(self, message: str, reply: object | None = None) -> None:
        super().__init__(message)
        self.reply = reply


class ConnectError(AmiError):
    """The TCP connection could not be made, or was lost."""

    exit_code = ExitCode.CONNECT


class ConnectionLost(ConnectError):
    """The peer closed the connection while we were waiting for it."""


class AuthError(AmiError):
    """Login refused, or the user lacks the permission for an action."""

    exit_code = ExitCode.AUTH


class PermissionDenied(AuthError):
    """``Message: Permission denied`` in reply to an action."""


class ChallengeRefused(AuthError):
    """The PBX would not give an MD5 challenge (plain login may still work)."""


class AmiTimeout(AmiError):
    """No answer within the timeout."""

    exit_code = ExitCode.TIMEOUT


class ProtocolError(AmiError):
    """The byte stream is not AMI, or breaks a hard bound."""

    exit_code = ExitCode.PROTOCOL


class ConfigError(AmiError):
    """A configuration source is unusable (unsafe permissions, bad syntax)."""

    exit_code = ExitCode.CONFIG


class UsageError(AmiError):
    """Options that cannot go together (found outside the command-line parser)."""

    exit_code = ExitCode.USAGE


class TlsError(AmiError):
    """TLS handshake or certificate verification failed."""

    exit_code = ExitCode.TLS


class UntrustedCertificate(TlsError):
    """The PBX's TLS certificate is not signed by a trusted CA."""


class SomeServersFailed(AmiError):
    """Of several PBXs named, some failed (or they failed in different ways); the others answered."""

    exit_code = ExitCode.SOME_SERVERS_FAILED
