"""Calling circulation and accounts over nameko RPC, as the kiosk's worker, giving up in time.

The same shape as the gateway's calls (services/gateway/calls.py), kept here because a
service imports no other service's modules: each call waits at most ``SIP2.rpc_timeout``
seconds and its request expires in the queue after as long (a kiosk that was told "try at
the desk" must not find the book lent later). The worker's context data goes with every
call, so the kiosk is the ``actor`` of what circulation records. A remote error keeps
its arguments: a ``Refused``'s code is ``Failure.code``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial
from logging import getLogger
from typing import Any

import eventlet
from kombu.exceptions import OperationalError
from nameko.exceptions import UnknownService
from nameko.rpc import MethodProxy, RpcProxy

from services.sip2.settings import Sip2Settings
from shared.messaging.rpc import SurvivingReplyListener

_log = getLogger(__name__)


class Unavailable(Exception):
    """Raised when a service did not answer in time, is not running, or the broker is out."""


class Failure(Exception):
    """Raised when a service answered with an error; ``kind`` is its type's name
    (``Refused``, ``NotFound``, ``SignInRefused``, ``BadRequest``), ``code`` a refusal's code."""

    def __init__(self, service: str, method: str, error: Mapping[str, Any]) -> None:
        self.service = service
        self.method = method
        self.kind = str(error.get("exc_type") or "")
        self.args_sent = list(error.get("exc_args") or [])
        self.text = str(error.get("value") or "")
        code = self.args_sent[1] if len(self.args_sent) > 1 else None
        self.code = code if isinstance(code, str) else None
        super().__init__(f"{service}.{method}: {self.kind} {self.text}")


class ServiceCall:
    """What a worker gets: ``client.method(*args)`` waits for the answer or raises."""

    def __init__(self, worker_ctx: Any, service: str, listener: Any, timeout: float) -> None:
        self.worker_ctx = worker_ctx
        self.service = service
        self.listener = listener
        self.timeout = timeout

    def __getattr__(self, method: str) -> Callable[..., Any]:
        if method.startswith("_"):
            raise AttributeError(method)
        return partial(self.call, method)

    def call(self, method: str, *args: Any) -> Any:
        proxy = MethodProxy(
            self.worker_ctx, self.service, method, self.listener, expiration=self.timeout
        )
        try:
            reply = proxy.call_async(*args)
        except UnknownService:
            raise Unavailable(f"the {self.service} service is not running") from None
        except (OperationalError, OSError) as error:
            _log.warning("cannot reach the broker to call %s.%s: %s", self.service, method, error)
            raise Unavailable("the message broker cannot be reached") from None
        body = None
        with eventlet.Timeout(self.timeout, False):
            body = reply.reply_event.wait()
        if body is None:
            self._forget(reply)
            raise Unavailable(f"{self.service}.{method} did not answer in {self.timeout:g}s")
        if body.get("error"):
            raise Failure(self.service, method, body["error"])
        return body.get("result")

    def _forget(self, reply: Any) -> None:
        """Drop the listener's entry for a reply that may never come (no leak)."""
        waiting = getattr(self.listener, "_reply_events", None)
        if isinstance(waiting, dict):
            for correlation_id, event in list(waiting.items()):
                if event is reply.reply_event:
                    waiting.pop(correlation_id, None)


class ServiceRpc(RpcProxy):
    """An ``RpcProxy`` to ``target_service`` whose calls give up after ``SIP2.rpc_timeout``."""

    rpc_reply_listener = SurvivingReplyListener()

    def setup(self) -> None:
        self.timeout = Sip2Settings.from_config(self.container.config).rpc_timeout

    def get_dependency(self, worker_ctx: Any) -> ServiceCall:
        return ServiceCall(worker_ctx, self.target_service, self.rpc_reply_listener, self.timeout)
