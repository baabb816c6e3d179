"""The gateway's settings, read once from the ``GATEWAY`` section of the nameko config.

People sign in with their accounts (the accounts service). The fixed tokens
per role of ``GATEWAY.tokens`` (or ``<ROLE>_TOKEN``) are for development and
tests only: honoured when ``LIBRARY_DEV_TOKENS=1`` is in the environment, and
never otherwise.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from services.circulation.schemas import MAX_ROSTER_BYTES
from shared.config import ROLES, role_tokens

__all__ = ["ROLES", "GatewaySettings"]

# Seconds to wait for a service before answering 503: commands and queries, and
# the status page, which must answer quickly even when a service is down.
DEFAULT_RPC_TIMEOUT = 30.0
DEFAULT_STATUS_TIMEOUT = 2.0
# Request bodies larger than this are refused with 413 (the roster import has its own:
# circulation's limit for a roster, which the config may lower but not raise).
DEFAULT_MAX_BODY = 1024 * 1024
DEFAULT_MAX_ROSTER_BODY = MAX_ROSTER_BYTES
# Sign-in attempts one address may make in a minute before 429 (a wrong password's
# guessing is slowed here; ten wrong in a row lock the account itself).
DEFAULT_SIGN_INS_PER_MINUTE = 30
# Seconds a client may stay silent mid-request (headers, body) or idle between requests
# before its connection is closed; connections one client address may hold at once.
DEFAULT_READ_TIMEOUT = 10.0
DEFAULT_MAX_CONNECTIONS_PER_CLIENT = 100
# Seconds the gateway keeps who holds a session token (services/gateway/session_cache.py).
DEFAULT_SESSION_CACHE_SECONDS = 5.0


def dev_tokens_enabled() -> bool:
    return os.environ.get("LIBRARY_DEV_TOKENS") == "1"


@dataclass(frozen=True)
class GatewaySettings:
    """Development tokens by role (when enabled), timeouts, body and connection limits, the
    sign-in throttle."""

    tokens: Mapping[str, str] = field(default_factory=dict)
    dev_tokens: bool = False
    sign_ins_per_minute: int = DEFAULT_SIGN_INS_PER_MINUTE
    rpc_timeout: float = DEFAULT_RPC_TIMEOUT
    status_timeout: float = DEFAULT_STATUS_TIMEOUT
    max_body: int = DEFAULT_MAX_BODY
    max_roster_body: int = DEFAULT_MAX_ROSTER_BODY
    read_timeout: float = DEFAULT_READ_TIMEOUT
    max_connections_per_client: int = DEFAULT_MAX_CONNECTIONS_PER_CLIENT
    session_cache_seconds: float = DEFAULT_SESSION_CACHE_SECONDS

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> GatewaySettings:
        section = config.get("GATEWAY") or {}
        max_roster_body = int(section.get("max_roster_bytes") or DEFAULT_MAX_ROSTER_BODY)
        if max_roster_body > MAX_ROSTER_BYTES:
            raise ValueError(
                f"GATEWAY.max_roster_bytes is {max_roster_body}, but circulation imports "
                f"rosters of at most {MAX_ROSTER_BYTES} bytes: a larger body would pass the "
                "gateway only to be refused."
            )
        return cls(
            tokens=role_tokens(config) if dev_tokens_enabled() else {},
            dev_tokens=dev_tokens_enabled(),
            sign_ins_per_minute=int(
                section.get("sign_ins_per_minute") or DEFAULT_SIGN_INS_PER_MINUTE
            ),
            rpc_timeout=float(section.get("rpc_timeout") or DEFAULT_RPC_TIMEOUT),
            status_timeout=float(section.get("status_timeout") or DEFAULT_STATUS_TIMEOUT),
            max_body=int(section.get("max_body_bytes") or DEFAULT_MAX_BODY),
            max_roster_body=max_roster_body,
            read_timeout=float(section.get("read_timeout") or DEFAULT_READ_TIMEOUT),
            max_connections_per_client=int(
                section.get("max_connections_per_client") or DEFAULT_MAX_CONNECTIONS_PER_CLIENT
            ),
            session_cache_seconds=float(
                section.get("session_cache_seconds", DEFAULT_SESSION_CACHE_SECONDS) or 0
            ),
        )
