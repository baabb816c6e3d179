"""Calling circulation and accounts over nameko RPC, as the kiosk's worker, giving up in time.

Through ``shared.messaging.calls``, as the gateway calls: each call waits at most
``SIP2.rpc_timeout`` seconds and its request expires in the queue after as long (a kiosk
that was told "try at the desk" must not find the book lent later). The worker's context
data goes with every call, so the kiosk is the ``actor`` of what circulation records. A
remote error is a ``RemoteFailure`` keeping its arguments (a ``Refused``'s code is its
``code``); no answer is ``Unanswered``, which the kiosk hears as "ask at the desk".
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from nameko.rpc import RpcProxy

from services.sip2.settings import Sip2Settings
from shared.messaging import calls
from shared.messaging.rpc import SurvivingReplyListener


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
        pending = calls.send(
            self.worker_ctx, self.service, method, self.listener, self.timeout, *args
        )
        return pending.result()


class ServiceRpc(RpcProxy):
    """An ``RpcProxy`` to ``target_service`` whose calls give up after ``SIP2.rpc_timeout``."""

    rpc_reply_listener = SurvivingReplyListener()

    def setup(self) -> None:
        self.timeout = Sip2Settings.from_config(self.container.config).rpc_timeout

    def get_dependency(self, worker_ctx: Any) -> ServiceCall:
        return ServiceCall(worker_ctx, self.target_service, self.rpc_reply_listener, self.timeout)
