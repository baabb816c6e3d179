"""Structured logs: one JSON object per line, carrying the correlation id.

Pass context as ``extra={"correlation_id": ..., ...}``; every extra field
becomes a key of the line, so logs can be filtered by command across services.
Inside a worker nothing needs passing: every service declares ``WorkerLog``, and
``WorkerContextFilter`` (on the handler, infra/config.yml) gives each record made
in a worker's green thread the worker's ``correlation_id``, ``actor`` and ``role``:
nameko's own "error handling worker" traceback as much as a service's lines.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any
from weakref import WeakKeyDictionary

from greenlet import getcurrent
from nameko.extensions import DependencyProvider

_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}
# The worker each running worker's green thread serves (gone with the green thread).
_WORKERS: WeakKeyDictionary[Any, Any] = WeakKeyDictionary()


class WorkerLog(DependencyProvider):
    """Declared by every service: notes which worker the current green thread runs, so
    that its log records carry who asked and for which request (``WorkerContextFilter``)."""

    def worker_setup(self, worker_ctx: Any) -> None:
        _WORKERS[getcurrent()] = worker_ctx


def worker_fields(worker_ctx: Any) -> dict[str, Any]:
    """A worker's correlation id (propagated, or its own call id as
    ``shared.runtime.dependencies.correlation_of`` takes it), actor's username and role."""
    data = worker_ctx.context_data
    actor = data.get("actor") if isinstance(data.get("actor"), dict) else {}
    return {
        "correlation_id": data.get("correlation_id") or worker_ctx.call_id.rsplit(".", 1)[-1],
        "actor": actor.get("username"),
        "role": actor.get("role"),
    }


class WorkerContextFilter(logging.Filter):
    """Adds the current worker's ``worker_fields`` to a record, where the record has none."""

    def filter(self, record: logging.LogRecord) -> bool:
        worker_ctx = _WORKERS.get(getcurrent())
        if worker_ctx is not None:
            for key, value in worker_fields(worker_ctx).items():
                if getattr(record, key, None) is None:
                    setattr(record, key, value)
        return True


class JsonFormatter(logging.Formatter):
    """Formats a record as a single JSON line with its extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                line[key] = value
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str, ensure_ascii=False)
