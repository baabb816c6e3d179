"""The sign-in throttle: an address that keeps failing to sign in is slowed down.

Wrong passwords from one address are counted over a sliding minute; past the
limit, sign-ins from it are answered 429 with ``Retry-After`` until the oldest
failure is a minute old. Per gateway process, in memory: it slows guessing,
while the account's own lock (ten wrong in a row) is the accounts service's.
"""

from __future__ import annotations

import time
from collections import deque
from typing import Any

from nameko.extensions import DependencyProvider

from services.gateway.problems import TooManyRequests
from services.gateway.settings import GatewaySettings

WINDOW = 60.0
MAX_ADDRESSES = 10_000  # forget the quietest addresses past this many


class Throttle:
    def __init__(self, limit: int, window: float = WINDOW) -> None:
        self.limit = limit
        self.window = window
        self.failures: dict[str, deque[float]] = {}

    def attempt(self, address: str | None, now: float | None = None) -> None:
        """``TooManyRequests`` if ``address`` failed ``limit`` times in the last minute."""
        now = time.monotonic() if now is None else now
        recent = self._recent(address or "-", now)
        if len(recent) >= self.limit:
            wait = max(1, int(recent[0] + self.window - now) + 1)
            raise TooManyRequests(
                f"Too many failed sign-ins from this address: try again in {wait} seconds.",
                code="too_many_sign_ins",
                headers={"Retry-After": str(wait)},
            )

    def failed(self, address: str | None, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        if len(self.failures) >= MAX_ADDRESSES:
            self.failures.pop(next(iter(self.failures)))
        self._recent(address or "-", now).append(now)

    def _recent(self, address: str, now: float) -> deque[float]:
        recent = self.failures.setdefault(address, deque())
        while recent and recent[0] <= now - self.window:
            recent.popleft()
        return recent


class SignInThrottle(DependencyProvider):
    """Gives workers the gateway process's ``Throttle``."""

    def setup(self) -> None:
        settings = GatewaySettings.from_config(self.container.config)
        self.throttle = Throttle(settings.sign_ins_per_minute)

    def get_dependency(self, worker_ctx: Any) -> Throttle:
        return self.throttle
