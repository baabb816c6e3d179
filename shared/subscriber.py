"""The ``@subscribe`` entrypoint: a service following other services' events.

Each source is read through the service's own durable queue. Messages arrive
undecoded so that a body that is not a valid event (not JSON, wrong schema,
unknown type, too big) is dead-lettered with its reason instead of upsetting
the consumer. A valid event is handed to the decorated method; if that fails
because a server is out, the message is requeued after a pause; if it keeps
failing for any other reason, it is dead-lettered with its error.
"""

from __future__ import annotations

import threading
import time
import traceback
from functools import partial
from logging import getLogger
from typing import Any

import psycopg2
from kombu import Connection
from nameko.exceptions import ContainerBeingKilled
from nameko.extensions import Entrypoint

from shared.config import amqp_uri
from shared.dependencies import DeadLetters
from shared.envelope import Envelope, InvalidEnvelope
from shared.messaging import declare_subscriber, subscriber_queue
from shared.publisher import PublishNotConfirmed
from shared.rpc import TolerantQueueConsumer

_log = getLogger(__name__)

MAX_ATTEMPTS = 3
OUTAGE_BACKOFF = 1.0
TRANSIENT = (ConnectionError, TimeoutError, OSError, psycopg2.OperationalError)


class RawQueueConsumer(TolerantQueueConsumer):
    """nameko's queue consumer, handing messages over without decoding them.

    Acks and requeues that meet a connection the broker just dropped are left
    to the broker (see ``shared.rpc.TolerantQueueConsumer``).
    """

    def get_consumers(self, consumer_cls: Any, channel: Any) -> Any:
        for provider in self._providers:
            consumer = consumer_cls(
                queues=provider.queues,
                on_message=partial(self.handle_message, provider, None),
            )
            consumer.qos(prefetch_count=self.prefetch_count)
            self._consumers[provider] = consumer
        return self._consumers.values()


class EventSubscriber(Entrypoint):
    """Delivers every event of the given sources to the decorated method."""

    queue_consumer = RawQueueConsumer()
    dead_letters = DeadLetters()

    def __init__(self, *sources: str, **kwargs: Any) -> None:
        if not sources:
            raise ValueError("subscribe to at least one source")
        self.sources = sources
        self._failures: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()
        super().__init__(**kwargs)

    def setup(self) -> None:
        service = self.container.service_name
        self.queues = [subscriber_queue(service, source) for source in self.sources]
        with Connection(amqp_uri(self.container.config)) as connection:
            for source in self.sources:
                declare_subscriber(connection, service, source)
        self.queue_consumer.register_provider(self)

    def stop(self) -> None:
        self.queue_consumer.unregister_provider(self)

    def handle_message(self, body: Any, message: Any) -> None:
        queue = self._queue_of(message)
        try:
            event = Envelope.from_json(message.body)
            if event.source not in self.sources or f".from.{event.source}" not in queue:
                raise InvalidEnvelope({"source": [f"{event.source!r} does not publish to {queue}"]})
        except InvalidEnvelope as error:
            _log.warning("dead-lettering a malformed message from %s: %s", queue, error)
            self._dead_letter(message, queue, f"InvalidEnvelope: {error}")
            return
        context = {"correlation_id": event.correlation_id, "causation_id": event.event_id}
        try:
            self.container.spawn_worker(
                self,
                (event,),
                {},
                context_data=context,
                handle_result=partial(self.handle_result, message, queue, event),
            )
        except ContainerBeingKilled:
            self.queue_consumer.requeue_message(message)

    def handle_result(
        self,
        message: Any,
        queue: str,
        event: Envelope,
        worker_ctx: Any,
        result: Any = None,
        exc_info: Any = None,
    ) -> tuple[Any, Any]:
        key = (queue, event.event_id)
        if exc_info is None:
            with self._lock:
                self._failures.pop(key, None)
            self.queue_consumer.ack_message(message)
            return result, exc_info
        error = exc_info[1]
        if isinstance(error, TRANSIENT):
            _log.warning(
                "outage while handling %s #%d, will retry: %s",
                event.type,
                event.position,
                error,
                extra={"correlation_id": event.correlation_id},
            )
            time.sleep(OUTAGE_BACKOFF)
            self.queue_consumer.requeue_message(message)
            return result, exc_info
        with self._lock:
            attempts = self._failures[key] = self._failures.get(key, 0) + 1
        if attempts < MAX_ATTEMPTS:
            self.queue_consumer.requeue_message(message)
        else:
            with self._lock:
                self._failures.pop(key, None)
            reason = "".join(traceback.format_exception_only(type(error), error)).strip()
            self._dead_letter(message, queue, reason)
        return result, exc_info

    def _dead_letter(self, message: Any, queue: str, reason: str) -> None:
        headers = dict(message.headers or {})
        headers["x-error"] = reason[:2000]
        try:
            self.dead_letters.publish(
                queue,
                message.body,
                headers,
                message.properties.get("message_id") or "",
            )
        except PublishNotConfirmed as error:  # the broker is out: it will deliver again
            _log.warning("cannot dead-letter a message from %s now: %s", queue, error)
            self.queue_consumer.requeue_message(message)
            return
        self.queue_consumer.ack_message(message)

    def _queue_of(self, message: Any) -> str:
        exchange = message.delivery_info.get("exchange", "")
        for source, queue in zip(self.sources, self.queues, strict=True):
            if exchange == f"{source}.events":
                return queue.name
        # Retried dead letters arrive through the default exchange, routed by queue name.
        return message.delivery_info.get("routing_key", "")


subscribe = EventSubscriber.decorator
