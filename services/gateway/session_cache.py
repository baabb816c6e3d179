"""Who holds a session token, remembered for a few seconds by the gateway process.

Asking the accounts service on every request was a third of a desk command's way
through the system (an RPC there and back, a query, the accounts worker): a desk
signed in sends several requests a second with the same token. The answer for a
session is kept ``GATEWAY.session_cache_seconds`` (0: never kept), never past the
session's own end. API keys are always asked (``library keys revoke`` ends a key
at once). A change made through this gateway to accounts or sessions (sign-out,
disable, roles, passwords...) empties the cache at once; one made elsewhere (the
operator's console, another gateway) reaches this gateway within those seconds.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from services.gateway.auth import Caller

MAX_SESSIONS = 10_000  # past this many, the oldest are forgotten first


class SessionCache:
    """Token -> (Caller, until when on the monotonic clock), for sessions only."""

    def __init__(self, seconds: float, size: int = MAX_SESSIONS) -> None:
        self.seconds = seconds
        self.size = size
        self._callers: dict[str, tuple[Caller, float]] = {}
        # Bumped by ``clear``: an answer asked for before a clear is not kept after it.
        self.generation = 0

    def get(self, token: str, now: float | None = None) -> Caller | None:
        """The caller kept for ``token``, if still fresh."""
        kept = self._callers.get(token)
        if kept is None:
            return None
        caller, until = kept
        if (time.monotonic() if now is None else now) >= until:
            self._callers.pop(token, None)
            return None
        return caller

    def keep(self, caller: Caller, asked_at: int, now: float | None = None) -> None:
        """Remember a session's caller for ``seconds``, but not past the session's end,
        unless the cache was cleared since it was asked for (``asked_at``: the generation
        then)."""
        if self.seconds <= 0 or caller.kind != "session" or caller.token is None:
            return
        if asked_at != self.generation:
            return
        now = time.monotonic() if now is None else now
        until = now + self.seconds
        if caller.expires_at:
            ends = datetime.fromisoformat(caller.expires_at)
            ends = ends if ends.tzinfo else ends.replace(tzinfo=UTC)
            left = ends - datetime.now(UTC)
            until = min(until, now + left.total_seconds())
        if until <= now:
            return
        if len(self._callers) >= self.size:
            self._callers.pop(next(iter(self._callers)))
        self._callers[caller.token] = (caller, until)

    def clear(self) -> None:
        """Forget every session: something about accounts or sessions changed."""
        self.generation += 1
        self._callers.clear()
