"""Calling the services from the console, giving up in time and saying why.

nameko's standalone proxy waits for a reply as long as its timeout, and a
stopped service's queue keeps the request for when it comes back. ``Services``
sends each request with an expiry equal to the timeout (a health check the
console gave up on is not answered an hour later) and turns every way a call
can fail into one of the console's errors: the broker is unreachable, the
service is not running or silent, its database is down, or it refused.
"""

from __future__ import annotations

import getpass
from logging import getLogger
from typing import Any

from shared.cli.errors import CommandFailed, ServiceDown, Unreachable, redact
from shared.config import Config, addresses, amqp_uri

_log = getLogger(__name__)

DEFAULT_TIMEOUT = 3.0
BROKER_CONNECT_TIMEOUT = 3.0
# Errors a service answers with when its own database is out of reach.
DATABASE_ERRORS = ("OperationalError", "InterfaceError", "DatabaseUnavailable")
# Errors that are answers about the request, not faults of the service.
REFUSALS = ("BadRequest", "NotFound", "Refused", "ConcurrencyError")


class RemoteFailure(CommandFailed):
    """Raised when a service answered with an error; keeps its type and arguments."""

    def __init__(self, service: str, method: str, error: dict[str, Any]) -> None:
        self.service = service
        self.method = method
        self.exc_type = str(error.get("exc_type") or "")
        self.exc_args = list(error.get("exc_args") or [])
        value = self.exc_args[0] if self.exc_args else error.get("value", "")
        fields = self.exc_args[1] if len(self.exc_args) > 1 else None
        if self.exc_type == "BadRequest" and isinstance(fields, dict) and fields:
            # A bad field's own words ("A password has 8 to 128 characters."), not just its name.
            value = "; ".join(f"{name}: {_words(why)}" for name, why in fields.items())
        super().__init__(f"{service} refused {method}: {value}")
        self.detail = str(value)


def _words(why: Any) -> str:
    return " ".join(map(str, why)) if isinstance(why, list) else str(why)


def check_broker(config: Config, timeout: float = BROKER_CONNECT_TIMEOUT) -> None:
    """``Unreachable`` unless RabbitMQ accepts a connection at the configured AMQP_URI
    (one of its addresses, for a cluster)."""
    from kombu import Connection

    uri = amqp_uri(config)
    tries = len(addresses(uri))
    try:
        with Connection(uri, connect_timeout=timeout) as connection:
            connection.ensure_connection(max_retries=tries - 1, timeout=timeout * tries)
    except Exception as error:  # socket errors, refused logins, kombu's own wrappers
        raise Unreachable(
            f"RabbitMQ cannot be reached at {redact(uri)}: {_reason(error)}"
        ) from None


def _reason(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    return text.splitlines()[0]


def console_actor() -> dict[str, str]:
    """The actor of a console command: the host's user, acting as the operator."""
    user = getpass.getuser()
    return {"id": f"console:{user}", "username": f"console:{user}", "role": "operator"}


class Services:
    """RPC to the services with a timeout; use as a context manager.

    ``call(service, method, *args)`` answers the result or raises ``ServiceDown``
    (not running, no answer in time), ``Unreachable`` (broker, or the service's
    database) or ``RemoteFailure`` (the service refused or failed).
    """

    def __init__(self, config: Config, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.config = config
        self.timeout = timeout
        self._proxy: Any = None

    def __enter__(self) -> Services:
        from nameko.standalone.rpc import StandaloneProxyBase

        check_broker(self.config)
        # What the console does is done by whoever runs it on the library's host.
        context = {"actor": console_actor()}
        self._proxy = StandaloneProxyBase(self.config, context_data=context, timeout=self.timeout)
        try:
            self._proxy.start()
        except OSError as error:
            raise Unreachable(
                f"RabbitMQ cannot be reached at {redact(amqp_uri(self.config))}: {_reason(error)}"
            ) from None
        return self

    def __exit__(self, *exc_info: object) -> None:
        try:
            self._proxy.stop()
        except Exception as error:  # the connection may already be gone; nothing to keep
            _log.debug("closing the RPC proxy: %s", error)

    def call(self, service: str, method: str, *args: Any) -> Any:
        from nameko.exceptions import RpcTimeout, UnknownService
        from nameko.rpc import MethodProxy

        proxy = MethodProxy(
            self._proxy._worker_ctx,
            service,
            method,
            self._proxy._reply_listener,
            expiration=self.timeout,
        )
        try:
            reply = proxy.call_async(*args)
            body = reply.reply_event.wait()
        except UnknownService:
            raise ServiceDown(f"{service} is not running (nothing serves its RPC queue)") from None
        except RpcTimeout:
            raise ServiceDown(
                f"{service} did not answer {method} within {self.timeout:g}s "
                "(not running, or too busy)"
            ) from None
        except OSError as error:
            raise Unreachable(
                f"lost RabbitMQ at {redact(amqp_uri(self.config))}: {_reason(error)}"
            ) from None
        error = body.get("error")
        if error:
            failure = RemoteFailure(service, method, error)
            if failure.exc_type in DATABASE_ERRORS:
                raise Unreachable(
                    f"{service} cannot reach its PostgreSQL database: {failure.detail}"
                )
            if failure.exc_type not in REFUSALS:
                failure.message = f"{service}.{method} failed: {failure.exc_type} {failure.detail}"
            raise failure
        return body.get("result")
