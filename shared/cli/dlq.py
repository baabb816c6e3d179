"""``library dlq list [queue]`` and ``library dlq retry <queue>``.

Dead-letter queues are named after the queue their messages failed on
(``archives.from.catalog.dlq``); the console takes either name. Listing peeks
without removing anything; retrying sends the letters back to the queue they
came from, to be applied (or dead-lettered again) by the consumer.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from shared.cli.broker import DLQ_SUFFIX
from shared.cli.errors import UsageError
from shared.cli.rpc import check_broker
from shared.config import Config, amqp_uri

DEFAULT_LIMIT = 100


def source_queue(name: str) -> str:
    """The queue a dead-letter queue belongs to (``x.dlq`` and ``x`` both name ``x``)."""
    return name[: -len(DLQ_SUFFIX)] if name.endswith(DLQ_SUFFIX) else name


def require_dead_letter_queue(config: Config, queue: str) -> None:
    """``UsageError`` unless ``<queue>.dlq`` exists (listing would otherwise create it)."""
    from kombu import Connection

    check_broker(config)
    with Connection(amqp_uri(config), connect_timeout=5) as connection:
        channel = connection.channel()
        try:
            channel.queue_declare(queue + DLQ_SUFFIX, passive=True)
        except Exception:  # amqp's NotFound (404) closes the channel
            raise UsageError(
                f"there is no dead-letter queue {queue}{DLQ_SUFFIX}; "
                "`library dlq list` shows them all"
            ) from None
        finally:
            try:
                channel.close()
            except Exception:  # already closed by the broker after the 404
                pass


@dataclass(frozen=True)
class Letter:
    message_id: str
    event: str
    error: str
    failed_at: str
    projection: str


def letters(config: Config, queue: str, limit: int = DEFAULT_LIMIT) -> list[Letter]:
    from shared.messaging.dead_letters import list_dead_letters

    return [_letter(dead) for dead in list_dead_letters(amqp_uri(config), queue, limit)]


def _letter(dead: Any) -> Letter:
    headers = dead.headers
    event = headers.get("type") or ""
    if headers.get("source") and headers.get("position") is not None:
        event = f"{event} {headers['source']}#{headers['position']}".strip()
    if not event:
        event = _peek_type(dead.body)
    return Letter(
        message_id=dead.message_id or "-",
        event=event or "?",
        error=dead.error.strip().splitlines()[-1] if dead.error.strip() else "",
        failed_at=str(headers.get("x-failed-at") or ""),
        projection=str(headers.get("x-projection") or ""),
    )


def _peek_type(body: bytes) -> str:
    try:
        value = json.loads(body)
    except (ValueError, TypeError):
        return "(not JSON)"
    return str(value.get("type", "")) if isinstance(value, dict) else ""


def retry(config: Config, queue: str, limit: int | None = None) -> int:
    from shared.messaging.dead_letters import retry_dead_letters

    return retry_dead_letters(amqp_uri(config), queue, limit)


def check_name(queue: str) -> str:
    name = source_queue(queue.strip())
    if not name:
        raise UsageError("name a queue, e.g. archives.from.catalog")
    return name
