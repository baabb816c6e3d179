"""The ``@rpc`` entrypoint every service uses.

nameko's own ``rpc``, told which exceptions are answers rather than faults: bad
input, a missing record, a refused command or a stale stream is returned to the
caller as an error and logged as a warning, without a stack trace.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nameko.rpc import Rpc

from shared.domain import Refused
from shared.exceptions import BadRequest, NotFound
from shared.store import ConcurrencyError

EXPECTED_FAILURES = (BadRequest, NotFound, Refused, ConcurrencyError)


def rpc(method: Callable[..., Any]) -> Callable[..., Any]:
    """Expose ``method`` over nameko RPC."""
    return Rpc.decorator(expected_exceptions=EXPECTED_FAILURES)(method)
