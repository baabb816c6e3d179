"""``library``: the operator's console for the school library's services.

``library status``, ``scale``, ``rebuild``, ``dlq list|retry``, ``import-cards``
and ``demo``; see ``library --help`` and docs/operations.md. The parser and the
commands live in ``shared.cli.app``; each concern (status, the broker's queues,
dead letters, rosters, scaling, RPC with timeouts) has its own module.
"""

from __future__ import annotations

from shared.cli.app import main

__all__ = ["main"]
