"""Exit codes of the ``library`` console, and the failures that choose them.

A script can tell apart a command that failed (1), a mistyped command (2), a
broker or database that cannot be reached (3) and a service that is not
running or not answering (4). Each failure carries one line for the operator;
none of them ends in a traceback.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from shared.config import addresses

OK = 0
FAILED = 1
USAGE = 2
UNREACHABLE = 3
SERVICE_DOWN = 4
INTERRUPTED = 130

EXIT_CODES = {
    OK: "done",
    FAILED: "the command failed (refused, bad input, some rows not imported)",
    USAGE: "usage error (unknown command, service, projection or option)",
    UNREACHABLE: "RabbitMQ or PostgreSQL cannot be reached",
    SERVICE_DOWN: "a service is not running or did not answer in time",
}


class CliError(Exception):
    """Raised to end a command with a one-line message and an exit code."""

    exit_code = FAILED

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class CommandFailed(CliError):
    """Raised when a service refused the command or the input was wrong."""


class UsageError(CliError):
    """Raised when the command line names something that does not exist."""

    exit_code = USAGE


class Unreachable(CliError):
    """Raised when RabbitMQ, its management API or PostgreSQL cannot be reached."""

    exit_code = UNREACHABLE


class ServiceDown(CliError):
    """Raised when a service is not running, or does not answer within the timeout."""

    exit_code = SERVICE_DOWN


def redact(uri: str) -> str:
    """``uri`` with its password replaced by ``***``, safe to print (each address of a
    cluster's ``;``-separated list)."""
    if ";" in uri:
        return ";".join(redact(address) for address in addresses(uri))
    try:
        parts = urlsplit(uri)
    except ValueError:
        return "<unparseable address>"
    if parts.password is None:
        return uri
    user = parts.username or ""
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))
