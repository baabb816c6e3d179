"""A worker calling another service over nameko RPC, giving up in time.

nameko 2's ``RpcProxy`` waits for a reply for ever, and a stopped service's queue
simply keeps the request. ``send`` publishes a request that expires in the queue after
the caller's timeout (so a command the caller gave up on is not carried out later by a
service that comes back), and ``PendingCall.result`` waits at most until that deadline.
Both edges that serve people through other services (the HTTP gateway, the SIP2
server) call through here and word the two outcomes their own way:

* ``Unanswered``: the service is not running, the broker cannot be reached, or no
  answer came in time;
* ``RemoteFailure``: the service answered with an error, whose arguments are kept
  (nameko's ``RemoteError`` keeps only the type and text, but a ``BadRequest``'s fields
  and a ``Refused``'s code travel in them).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from logging import getLogger
from typing import Any

import amqp
import eventlet
import kombu.serialization
from nameko.constants import AMQP_SSL_CONFIG_KEY, AMQP_URI_CONFIG_KEY, LOGIN_METHOD_CONFIG_KEY
from nameko.exceptions import UnknownService
from nameko.messaging import HeaderEncoder
from nameko.rpc import RpcReply, get_rpc_exchange

from shared.messaging.channel_pool import BROKER_OUT, channel_pool
from shared.messaging.rpc import RPC_DELIVERY_MODE

_HEADERS = HeaderEncoder()  # nameko's: the worker's context data as the request's headers

_log = getLogger(__name__)


class Unanswered(Exception):
    """Raised when a call got no answer; ``detail`` says why, in a sentence."""

    def __init__(self, service: str, method: str, detail: str) -> None:
        super().__init__(detail)
        self.service = service
        self.method = method
        self.detail = detail


class RemoteFailure(Exception):
    """Raised when a service answered an RPC with an error; keeps the error's arguments."""

    def __init__(self, service: str, method: str, error: Mapping[str, Any]) -> None:
        self.service = service
        self.method = method
        self.exc_path = str(error.get("exc_path") or "")
        self.exc_type = str(error.get("exc_type") or "")
        self.exc_args = list(error.get("exc_args") or [])
        self.value = str(error.get("value") or "")
        super().__init__(f"{service}.{method}: {self.exc_type} {self.value}")

    def arg(self, index: int, default: Any = None) -> Any:
        return self.exc_args[index] if len(self.exc_args) > index else default

    @property
    def code(self) -> str | None:
        """A refusal's code (the second argument of a ``Refused``), or None."""
        code = self.arg(1)
        return code if isinstance(code, str) else None


class PendingCall:
    """An RPC request on its way; ``result()`` waits for the reply until the deadline."""

    def __init__(
        self, service: str, method: str, reply: RpcReply, listener: Any, timeout: float
    ) -> None:
        self.service = service
        self.method = method
        self.reply = reply
        self.listener = listener
        self.timeout = timeout
        self.deadline = time.monotonic() + timeout

    def reply_body(self) -> dict[str, Any]:
        """The whole reply (``result``, and what a command adds); raises as ``result``."""
        body = None
        with eventlet.Timeout(max(0.0, self.deadline - time.monotonic()), False):
            body = self.reply.reply_event.wait()
        if body is None:
            self._forget()
            raise Unanswered(
                self.service,
                self.method,
                f"The {self.service} service did not answer within {self.timeout:g}s.",
            )
        error = body.get("error")
        if error:
            raise RemoteFailure(self.service, self.method, error)
        return body

    def result(self) -> Any:
        """What the service answered; ``Unanswered`` or ``RemoteFailure`` otherwise."""
        return self.reply_body().get("result")

    def _forget(self) -> None:
        """Drop the reply listener's entry for a reply that may never come (no leak)."""
        waiting = getattr(self.listener, "_reply_events", None)
        if not isinstance(waiting, dict):
            return
        for correlation_id, event in list(waiting.items()):
            if event is self.reply.reply_event:
                waiting.pop(correlation_id, None)


def send(
    worker_ctx: Any, service: str, method: str, listener: Any, timeout: float, *args: Any
) -> PendingCall:
    """Send ``service.method(*args)`` now, as ``worker_ctx`` (its context data goes along:
    the actor, the correlation id); wait for it later with ``.result()``. Published as
    nameko's proxy would (the same body and headers), on a channel kept open
    (``shared.messaging.channel_pool``); it expires in the queue after ``timeout``."""
    config = worker_ctx.container.config
    correlation_id = str(uuid.uuid4())
    reply = RpcReply(listener.get_reply_event(correlation_id))
    pending = PendingCall(service, method, reply, listener, timeout)
    content_type, encoding, body = kombu.serialization.dumps({"args": args, "kwargs": {}}, "json")
    request = amqp.Message(
        body,
        content_type=content_type,
        content_encoding=encoding,
        application_headers=_HEADERS.get_message_headers(worker_ctx),
        delivery_mode=RPC_DELIVERY_MODE,
        reply_to=listener.routing_key,
        correlation_id=correlation_id,
        expiration=str(max(1, int(timeout * 1000))),
    )
    pool = channel_pool(
        config[AMQP_URI_CONFIG_KEY],
        get_rpc_exchange(config).name,
        confirm=True,
        ssl=config.get(AMQP_SSL_CONFIG_KEY),
        login_method=config.get(LOGIN_METHOD_CONFIG_KEY),
    )
    try:
        pool.publish(request, f"{service}.{method}", service)
    except UnknownService:
        pending._forget()
        raise Unanswered(service, method, f"The {service} service is not running.") from None
    except BROKER_OUT as error:
        pending._forget()
        _log.warning("cannot reach the broker to call %s.%s: %s", service, method, error)
        raise Unanswered(service, method, "The message broker cannot be reached.") from None
    return pending
