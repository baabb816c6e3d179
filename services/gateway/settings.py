"""The gateway's settings, read once from the ``GATEWAY`` section of the nameko config.

Tokens are never written in code: they come from the config, whose defaults are
for local development only, or else from ``<ROLE>_TOKEN`` environment variables.
A role without a token cannot sign in at all.
"""

from __future__ import annotations

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


@dataclass(frozen=True)
class GatewaySettings:
    """Tokens by role, timeouts and body limits."""

    tokens: Mapping[str, str] = field(default_factory=dict)
    rpc_timeout: float = DEFAULT_RPC_TIMEOUT
    status_timeout: float = DEFAULT_STATUS_TIMEOUT
    max_body: int = DEFAULT_MAX_BODY
    max_roster_body: int = DEFAULT_MAX_ROSTER_BODY

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
            tokens=role_tokens(config),
            rpc_timeout=float(section.get("rpc_timeout") or DEFAULT_RPC_TIMEOUT),
            status_timeout=float(section.get("status_timeout") or DEFAULT_STATUS_TIMEOUT),
            max_body=int(section.get("max_body_bytes") or DEFAULT_MAX_BODY),
            max_roster_body=max_roster_body,
        )
