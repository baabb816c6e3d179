"""Calling the services over nameko RPC, giving up in time.

``ServiceRpc`` is an ``RpcProxy`` whose calls go through ``shared.messaging.calls``:
they wait at most a timeout (then 503), their requests expire in the queue after the
same time, and remote errors keep their arguments as a ``RemoteFailure``.

Read your own writes (``shared.runtime.read_after``): a command's reply names the
positions its events got, kept on the worker for the ``X-Event-Positions`` header;
when the request named positions to read after (``X-Read-After``), the first call
to each service first asks it to wait until its read models have them
(``caught_up``), and answers 503 ``catching_up`` when they do not in time.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from nameko.rpc import RpcProxy

from services.gateway.problems import Problem, ServiceUnavailable
from services.gateway.settings import GatewaySettings
from shared.messaging import calls
from shared.messaging.rpc import SurvivingReplyListener
from shared.runtime import read_after

# Where a worker keeps the services already asked to wait for its request's positions.
WAITED_ATTRIBUTE = "read_after_waited"
# Seconds a query waits for the read models (GATEWAY.read_after_timeout) before 503.
DEFAULT_READ_AFTER_TIMEOUT = 3.0


def read_after_timeout(config: Any) -> float:
    """``GATEWAY.read_after_timeout`` of the config, or the default."""
    section = config.get("GATEWAY") or {}
    return float(section.get("read_after_timeout") or DEFAULT_READ_AFTER_TIMEOUT)


def read_after_of(worker_ctx: Any) -> dict[str, int]:
    """What the worker's request asked to read after (``ApiRequest.read_after``), if any."""
    args = getattr(worker_ctx, "args", None) or ()
    return dict(getattr(args[0], "read_after", None) or {}) if args else {}


class CatchingUp(Problem):
    """503: a read model has not reached the positions the request named in time."""

    status, slug, title = 503, "catching-up", "Still catching up"

    def __init__(self, service: str, behind: dict[str, int], timeout: float) -> None:
        named = ", ".join(f"{source} at {position}" for source, position in sorted(behind.items()))
        super().__init__(
            f"The {service} service's read models are still catching up ({named}); "
            f"they did not reach the positions of X-Read-After within {timeout:g}s. "
            "Ask again in a moment.",
            code="catching_up",
            headers={"Retry-After": "1"},
            members={"service": service, "behind": behind},
        )


class PendingCall(calls.PendingCall):
    """A request on its way (``shared.messaging.calls``): no answer in time is a 503, and a
    command's answer notes the positions its events got on the worker."""

    def __init__(self, pending: calls.PendingCall, worker_ctx: Any = None) -> None:
        super().__init__(
            pending.service, pending.method, pending.reply, pending.listener, pending.timeout
        )
        self.worker_ctx = worker_ctx

    def result(self) -> Any:
        try:
            body = self.reply_body()
        except calls.Unanswered as unanswered:
            raise ServiceUnavailable(self.service, unanswered.detail) from None
        positions = body.get(read_after.REPLY_KEY)
        if positions and self.worker_ctx is not None:
            read_after.note(self.worker_ctx, positions)
        return body.get("result")


class ServiceClient:
    """What a worker gets from ``ServiceRpc``: ``client.method(*args)`` or ``client.send(...)``."""

    def __init__(
        self,
        worker_ctx: Any,
        service: str,
        listener: Any,
        settings: GatewaySettings,
        read_after_timeout: float = DEFAULT_READ_AFTER_TIMEOUT,
    ) -> None:
        self.worker_ctx = worker_ctx
        self.service = service
        self.listener = listener
        self.timeout = settings.rpc_timeout
        self.status_timeout = settings.status_timeout
        self.read_after_timeout = read_after_timeout

    def __getattr__(self, method: str) -> Callable[..., Any]:
        if method.startswith("_"):
            raise AttributeError(method)
        return partial(self.call, method)

    def call(self, method: str, *args: Any) -> Any:
        """Call ``method`` and wait for its answer (503 after the timeout)."""
        return self.send(method, *args).result()

    def send(self, method: str, *args: Any, timeout: float | None = None) -> PendingCall:
        """Send the request now; wait for it later with ``.result()``.

        The request's first call to this service first waits for the positions it
        named (``X-Read-After``), if any.
        """
        self.catch_up()
        return self._send(method, *args, timeout=timeout)

    def catch_up(self) -> None:
        """Wait until this service's read models have the request's ``X-Read-After``
        positions: once per request and service; ``CatchingUp`` (503) after the timeout."""
        positions = read_after_of(self.worker_ctx)
        if not positions:
            return
        waited = getattr(self.worker_ctx, WAITED_ATTRIBUTE, None)
        if waited is None:
            waited = set()
            setattr(self.worker_ctx, WAITED_ATTRIBUTE, waited)
        if self.service in waited:
            return
        wait = self.read_after_timeout
        answer = self._send(
            "caught_up", positions, wait, timeout=wait + self.status_timeout
        ).result()
        if not answer.get("caught_up"):
            raise CatchingUp(self.service, dict(answer.get("behind") or {}), wait)
        waited.add(self.service)

    def _send(self, method: str, *args: Any, timeout: float | None = None) -> PendingCall:
        timeout = timeout or self.timeout
        try:
            pending = calls.send(
                self.worker_ctx, self.service, method, self.listener, timeout, *args
            )
        except calls.Unanswered as unanswered:
            raise ServiceUnavailable(self.service, unanswered.detail) from None
        return PendingCall(pending, self.worker_ctx)


class ServiceRpc(RpcProxy):
    """An ``RpcProxy`` to ``target_service`` giving up after ``GATEWAY.rpc_timeout`` seconds.

    Replies arrive on the services' surviving reply listener (``shared.messaging.rpc``): a quorum
    queue the gateway consumes again through another node when its node is lost.
    """

    rpc_reply_listener = SurvivingReplyListener()

    def setup(self) -> None:
        self.settings = GatewaySettings.from_config(self.container.config)
        self.read_after_timeout = read_after_timeout(self.container.config)

    def get_dependency(self, worker_ctx: Any) -> ServiceClient:
        return ServiceClient(
            worker_ctx,
            self.target_service,
            self.rpc_reply_listener,
            self.settings,
            self.read_after_timeout,
        )
