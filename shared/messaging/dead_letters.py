"""Dead-letter queues: where messages go that a consumer could not process.

A message is dead-lettered with its original body and headers plus why it
failed (``x-error``), where it came from (``x-queue``) and when. Nothing is
dropped: an operator lists them and, once the cause is fixed, sends them back
to the queue they came from.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import amqp.exceptions
from kombu import Connection
from nameko.extensions import SharedExtension

from shared.config import amqp_uri
from shared.messaging.names import DEAD_LETTER_EXCHANGE, dead_letter_queue
from shared.messaging.publisher import ConfirmingPublisher, OutgoingMessage
from shared.messaging.quorum_queues import declare, quorum_wanted


def dead_letter(
    publisher: ConfirmingPublisher,
    queue_name: str,
    body: bytes,
    headers: dict[str, Any],
    message_id: str,
    routing_key: str | None = None,
) -> None:
    """Publish ``body`` to ``queue_name``'s dead-letter queue, confirmed."""
    quorum = quorum_wanted(publisher.amqp_uri)
    publisher.declare(DEAD_LETTER_EXCHANGE, dead_letter_queue(queue_name, quorum=quorum))
    stamped = {
        **headers,
        "x-queue": queue_name,
        "x-failed-at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    if routing_key is not None:
        stamped["x-original-routing-key"] = routing_key
    publisher.publish_batch(
        DEAD_LETTER_EXCHANGE.name,
        [
            OutgoingMessage(
                routing_key=queue_name, body=body, message_id=message_id, headers=stamped
            )
        ],
    )


def count_waiting(amqp_uri: str, dead_letter_queues: list[str]) -> dict[str, int]:
    """Messages waiting in each of these dead-letter queues (one not declared yet: 0),
    asked with passive declarations: nothing is created or read."""
    counts: dict[str, int] = {}
    with Connection(amqp_uri, connect_timeout=5) as connection:
        for name in dead_letter_queues:
            channel = connection.channel()
            try:
                counts[name] = channel.queue_declare(name, passive=True).message_count
            except amqp.exceptions.NotFound:
                counts[name] = 0
            finally:
                try:
                    channel.close()
                except Exception:  # closed by the broker with the 404
                    pass
    return counts


@dataclass(frozen=True)
class DeadLetter:
    queue: str
    message_id: str | None
    error: str
    headers: dict[str, Any]
    body: bytes


def list_dead_letters(amqp_uri: str, queue_name: str, limit: int = 100) -> list[DeadLetter]:
    """Peek at up to ``limit`` dead letters of a queue without removing them."""
    letters: list[DeadLetter] = []
    queue = dead_letter_queue(queue_name, quorum=quorum_wanted(amqp_uri))
    with Connection(amqp_uri) as connection:
        declare(connection, queue)
        channel = connection.channel()
        dlq = queue(channel)
        for _ in range(limit):
            message = dlq.get(no_ack=False)
            if message is None:
                break
            headers = dict(message.headers or {})
            letters.append(
                DeadLetter(
                    queue_name,
                    message.properties.get("message_id"),
                    str(headers.get("x-error", "")),
                    headers,
                    message.body,
                )
            )
        channel.close()  # unacked messages go back to the queue, in order
    return letters


def retry_dead_letters(amqp_uri: str, queue_name: str, limit: int | None = None) -> int:
    """Send dead letters back to the queue they came from; return how many."""
    publisher = ConfirmingPublisher(amqp_uri)
    moved = 0
    try:
        queue = dead_letter_queue(queue_name, quorum=quorum_wanted(amqp_uri))
        with Connection(amqp_uri) as connection:
            declare(connection, queue)
            channel = connection.channel()
            dlq = queue(channel)
            while limit is None or moved < limit:
                message = dlq.get(no_ack=False)
                if message is None:
                    break
                headers = {
                    k: v for k, v in (message.headers or {}).items() if not k.startswith("x-")
                }
                publisher.publish_batch(
                    "",  # the default exchange routes by queue name
                    [
                        OutgoingMessage(
                            routing_key=queue_name,
                            body=message.body,
                            message_id=message.properties.get("message_id") or "",
                            headers=headers,
                        )
                    ],
                )
                message.ack()
                moved += 1
    finally:
        publisher.close()
    return moved


class DeadLetters(SharedExtension):
    """Publishes messages a service could not process to their dead-letter queues."""

    def setup(self) -> None:
        self.publisher = ConfirmingPublisher(amqp_uri(self.container.config))
        self._lock = threading.Lock()

    def publish(
        self, queue_name: str, body: bytes, headers: dict[str, Any], message_id: str
    ) -> None:
        with self._lock:
            dead_letter(self.publisher, queue_name, body, headers, message_id)

    def stop(self) -> None:
        self.publisher.close()

    kill = stop
