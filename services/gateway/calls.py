"""Calling the services over nameko RPC, giving up in time.

nameko 2's ``RpcProxy`` waits for a reply for ever, and a stopped service's
queue simply keeps the request. ``ServiceRpc`` is an ``RpcProxy`` whose calls
wait at most a timeout (then 503), whose requests expire in the queue after the
same time (so a command the gateway gave up on is not carried out later by a
service that comes back), and whose remote errors keep their arguments (a
``BadRequest``'s fields, a ``Refused``'s code) as a ``RemoteFailure``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial
from logging import getLogger
from typing import Any

import eventlet
from kombu.exceptions import OperationalError
from nameko.exceptions import UnknownService
from nameko.rpc import MethodProxy, RpcProxy, RpcReply

from services.gateway.problems import RemoteFailure, ServiceUnavailable
from services.gateway.settings import GatewaySettings
from shared.messaging.rpc import SurvivingReplyListener

_log = getLogger(__name__)


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

    def result(self) -> Any:
        body = None
        with eventlet.Timeout(max(0.0, self.deadline - time.monotonic()), False):
            body = self.reply.reply_event.wait()
        if body is None:
            self._forget()
            raise ServiceUnavailable(
                self.service, f"The {self.service} service did not answer within {self.timeout:g}s."
            )
        error = body.get("error")
        if error:
            raise RemoteFailure(self.service, self.method, error)
        return body.get("result")

    def _forget(self) -> None:
        """Drop the reply listener's entry for a reply that may never come (no leak)."""
        waiting = getattr(self.listener, "_reply_events", None)
        if not isinstance(waiting, dict):
            return
        for correlation_id, event in list(waiting.items()):
            if event is self.reply.reply_event:
                waiting.pop(correlation_id, None)


class ServiceClient:
    """What a worker gets from ``ServiceRpc``: ``client.method(*args)`` or ``client.send(...)``."""

    def __init__(
        self, worker_ctx: Any, service: str, listener: Any, settings: GatewaySettings
    ) -> None:
        self.worker_ctx = worker_ctx
        self.service = service
        self.listener = listener
        self.timeout = settings.rpc_timeout
        self.status_timeout = settings.status_timeout

    def __getattr__(self, method: str) -> Callable[..., Any]:
        if method.startswith("_"):
            raise AttributeError(method)
        return partial(self.call, method)

    def call(self, method: str, *args: Any) -> Any:
        """Call ``method`` and wait for its answer (503 after the timeout)."""
        return self.send(method, *args).result()

    def send(self, method: str, *args: Any, timeout: float | None = None) -> PendingCall:
        """Send the request now; wait for it later with ``.result()``."""
        timeout = timeout or self.timeout
        proxy = MethodProxy(
            self.worker_ctx, self.service, method, self.listener, expiration=timeout
        )
        try:
            reply = proxy.call_async(*args)
        except UnknownService:
            raise ServiceUnavailable(
                self.service, f"The {self.service} service is not running."
            ) from None
        except (OperationalError, OSError) as error:
            _log.warning("cannot reach the broker to call %s.%s: %s", self.service, method, error)
            raise ServiceUnavailable(
                self.service, "The message broker cannot be reached."
            ) from None
        return PendingCall(self.service, method, reply, self.listener, timeout)


class ServiceRpc(RpcProxy):
    """An ``RpcProxy`` to ``target_service`` giving up after ``GATEWAY.rpc_timeout`` seconds.

    Replies arrive on the services' surviving reply listener (``shared.messaging.rpc``): a quorum
    queue the gateway consumes again through another node when its node is lost.
    """

    rpc_reply_listener = SurvivingReplyListener()

    def setup(self) -> None:
        self.settings = GatewaySettings.from_config(self.container.config)

    def get_dependency(self, worker_ctx: Any) -> ServiceClient:
        return ServiceClient(
            worker_ctx, self.target_service, self.rpc_reply_listener, self.settings
        )
