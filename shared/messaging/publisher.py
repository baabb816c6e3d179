"""Publishing with publisher confirms, a batch at a time.

Waiting for the broker's confirm after every message costs a round trip each;
here a batch is published and then the confirms are awaited together, so the
broker has taken responsibility for every message (persistent, routed to its
durable queues) before ``publish_batch`` returns. A nack or a lost connection
raises, and the caller publishes the batch again (duplicates allowed, loss never).

``amqp_uri`` may list a cluster's nodes separated by ``;``: each (re)connection
tries them in turn, so a lost node costs one failed batch, published again
through the next node.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from logging import getLogger
from typing import Any

import amqp
import kombu.exceptions
from kombu import Connection

from shared.config import connect_retries
from shared.messaging.names import PERSISTENT

_log = getLogger(__name__)

CONFIRM_TIMEOUT = 30.0
# A broker that is out: socket errors (TimeoutError among them), AMQP errors, and
# kombu's OperationalError, which is how it reports a refused connection.
BROKER_ERRORS = (OSError, amqp.exceptions.AMQPError, kombu.exceptions.OperationalError)


class PublishNotConfirmed(Exception):
    """Raised when the broker nacked a message or did not confirm it in time."""


@dataclass(frozen=True)
class OutgoingMessage:
    routing_key: str
    body: bytes
    message_id: str
    headers: dict[str, Any] = field(default_factory=dict)
    content_type: str = "application/json"


class ConfirmingPublisher:
    """One connection and confirm-mode channel, reconnecting after failures."""

    def __init__(self, amqp_uri: str, confirm_timeout: float = CONFIRM_TIMEOUT) -> None:
        self.amqp_uri = amqp_uri
        self.confirm_timeout = confirm_timeout
        self._connection: Connection | None = None
        self._channel: Any = None
        self._acked = 0
        self._nacked: list[int] = []
        self._next_tag = 1

    def _on_ack(self, delivery_tag: int, multiple: bool) -> None:
        self._acked = max(self._acked, delivery_tag)

    def _on_nack(self, delivery_tag: int, multiple: bool) -> None:
        self._nacked.append(delivery_tag)  # any nack fails the whole batch

    def connect(self) -> Any:
        if self._channel is not None:
            return self._channel
        connection = Connection(self.amqp_uri, heartbeat=0, connect_timeout=10)
        connection.ensure_connection(max_retries=connect_retries(self.amqp_uri))
        channel = connection.channel()
        channel.confirm_select()
        channel.events["basic_ack"].add(self._on_ack)
        channel.events["basic_nack"].add(self._on_nack)
        self._connection, self._channel = connection, channel
        self._acked, self._nacked, self._next_tag = 0, [], 1
        return channel

    def declare(self, *entities: Any) -> None:
        """Declare exchanges or queues on this publisher's channel.

        An unreachable broker raises ``PublishNotConfirmed`` here too, so callers
        that pause on a failed publish (the relay) pause on this as well.
        """
        try:
            channel = self.connect()
            for entity in entities:
                entity(channel).declare()
        except BROKER_ERRORS as error:
            self.close()
            raise PublishNotConfirmed(f"declaring on the broker failed: {error}") from error

    def publish_batch(self, exchange: str, messages: Sequence[OutgoingMessage]) -> None:
        """Publish ``messages`` persistently and return once the broker confirmed all."""
        if not messages:
            return
        try:
            channel = self.connect()
            for message in messages:
                channel.basic_publish(
                    amqp.Message(
                        message.body,
                        content_type=message.content_type,
                        delivery_mode=PERSISTENT,
                        message_id=message.message_id,
                        application_headers=message.headers,
                    ),
                    exchange=exchange,
                    routing_key=message.routing_key,
                )
                self._next_tag += 1
            last = self._next_tag - 1
            deadline = time.monotonic() + self.confirm_timeout
            while self._acked < last:
                if self._nacked:
                    raise PublishNotConfirmed(f"broker nacked a message in {exchange}")
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise PublishNotConfirmed(
                        f"no confirm from the broker within {self.confirm_timeout}s"
                    )
                try:
                    self._connection.drain_events(timeout=min(remaining, 1.0))
                except TimeoutError:
                    continue
        except PublishNotConfirmed:
            self.close()
            raise
        except BROKER_ERRORS as error:
            self.close()
            raise PublishNotConfirmed(f"publishing to {exchange} failed: {error}") from error

    def close(self) -> None:
        connection, self._connection, self._channel = self._connection, None, None
        if connection is not None:
            try:
                connection.release()
            except Exception:  # the connection is already gone; nothing to release
                _log.debug("error closing publisher connection", exc_info=True)
