"""The ``@subscribe`` entrypoint: a service following other services' events.

Each source is read through the service's own durable queue. Messages arrive
undecoded so that a body that is not a valid event (not JSON, wrong schema,
unknown type, too big) is dead-lettered with its reason instead of upsetting
the consumer. Valid events are handed to the decorated method in batches (see
``EventSubscriber``); if that fails because a server is out, the messages are
requeued after a pause; an event that keeps failing for any other reason is
dead-lettered with its error.
"""

from __future__ import annotations

import threading
import time
import traceback
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from logging import getLogger
from typing import Any

import eventlet
import psycopg2
from kombu import Connection
from nameko.exceptions import ContainerBeingKilled
from nameko.extensions import Entrypoint

from shared.config import amqp_uri
from shared.events.envelope import Envelope, InvalidEnvelope
from shared.eventsourcing.projection import fed_by, types_read
from shared.messaging.dead_letters import DeadLetters
from shared.messaging.names import declare_subscriber, subscriber_queue
from shared.messaging.publisher import PublishNotConfirmed
from shared.messaging.quorum_queues import quorum_wanted
from shared.messaging.rpc import BROKER_OUT, TolerantQueueConsumer

_log = getLogger(__name__)

MAX_ATTEMPTS = 3
OUTAGE_BACKOFF = 1.0
TRANSIENT = (ConnectionError, TimeoutError, OSError, psycopg2.OperationalError)
PREFETCH = 500
"""Messages a subscriber holds unacked: the most one batch can take."""
LINGER_MS = 20
"""How long the first event of a quiet spell waits for others to share its transaction
(``SUBSCRIBER_LINGER_MS`` in the config; 0 hands every event over at once)."""


def linger_seconds(linger_ms: float | None, config: Mapping[str, Any]) -> float:
    """A subscription's own linger if it has one, else ``SUBSCRIBER_LINGER_MS``, in seconds."""
    if linger_ms is None:
        linger_ms = config.get("SUBSCRIBER_LINGER_MS", LINGER_MS)
    return float(linger_ms) / 1000


class RawQueueConsumer(TolerantQueueConsumer):
    """nameko's queue consumer, handing messages over without decoding them.

    It asks the broker for ``PREFETCH`` messages rather than one per worker:
    a subscriber runs one worker at a time and gives it what has arrived.
    Acks and requeues that meet a connection the broker just dropped are left
    to the broker (see ``shared.messaging.rpc.TolerantQueueConsumer``).

    A batch handled is acked with one ``basic.ack`` (``multiple``) when it is every
    message the channel holds unacked up to its last (``ack_batch``), as it is but for a
    batch split after a failure: the broker then takes one frame, not one per event.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._channel: Any = None  # the channel the messages below came on
        self._unacked: set[int] = set()  # their delivery tags, until acked or requeued

    def handle_message(self, provider: Any, body: Any, message: Any) -> None:
        """Hand the message to its subscription at once, in the consumer's thread (nameko
        spawns a thread per message): taking it in costs no I/O (``EventSubscriber``)."""
        if message.channel is not self._channel:  # a new connection: tags start again
            self._channel, self._unacked = message.channel, set()
        self._unacked.add(message.delivery_tag)
        provider.handle_message(body, message)

    def ack_message(self, message: Any) -> None:
        self._settled(message)
        super().ack_message(message)

    def requeue_message(self, message: Any) -> None:
        self._settled(message)
        super().requeue_message(message)

    def ack_batch(self, messages: list[Any]) -> None:
        """Ack ``messages`` with one frame when that acks nothing else, else one by one."""
        channel = messages[0].channel
        last = max(message.delivery_tag for message in messages)
        tags = {message.delivery_tag for message in messages}
        alone = (
            len(messages) == 1
            or channel is not self._channel
            or not channel.connection
            or any(message.channel is not channel for message in messages)
            or {tag for tag in self._unacked if tag <= last} != tags
        )
        if alone:
            for message in messages:
                self.ack_message(message)
            return
        self._unacked -= tags
        try:
            channel.basic_ack(last, multiple=True)
        except BROKER_OUT as error:
            _log.warning("cannot ack, the broker is out (%s): it will deliver again", error)

    def _settled(self, message: Any) -> None:
        if message.channel is self._channel:
            self._unacked.discard(message.delivery_tag)

    def get_consumers(self, consumer_cls: Any, channel: Any) -> Any:
        for provider in self._providers:
            consumer = consumer_cls(
                queues=provider.queues,
                on_message=partial(self.handle_message, provider, None),
            )
            consumer.qos(prefetch_count=PREFETCH)
            self._consumers[provider] = consumer
        return self._consumers.values()


@dataclass
class Delivery:
    """A decoded event and the message it came in, until it is acked."""

    message: Any
    queue: str
    event: Envelope
    alone: bool = False  # to be handled in a batch of its own (its batch failed)


class EventSubscriber(Entrypoint):
    """Delivers the events of the given sources to the decorated method, in batches.

    One worker at a time: it gets every event that arrived while the previous
    one ran (at most ``PREFETCH``), or, after a quiet spell, within ``linger``
    of the first, so a trickle is handled a few events at a time and a busy
    stream in a few large transactions, and events from one queue reach
    the method in the order the broker delivered them. A batch that fails for a
    reason of its own is split up so that one bad event cannot hold back the
    rest: alone, it is retried and then dead-lettered with its error.
    """

    queue_consumer = RawQueueConsumer()
    dead_letters = DeadLetters()

    def __init__(self, *sources: str, linger_ms: float | None = None, **kwargs: Any) -> None:
        """``linger_ms``: this subscription's own linger, for a service that need not
        follow its sources closely (else ``SUBSCRIBER_LINGER_MS``)."""
        if not sources:
            raise ValueError("subscribe to at least one source")
        self.sources = sources
        self.linger_ms = linger_ms
        self._failures: dict[tuple[str, str], int] = {}
        self._pending: deque[Delivery] = deque()
        self._running = False
        self._lingering: Any = None  # the timer of a batch being gathered
        self._lock = threading.Lock()
        super().__init__(**kwargs)

    def setup(self) -> None:
        self.linger = linger_seconds(self.linger_ms, self.container.config)
        service = self.container.service_name
        quorum = quorum_wanted(amqp_uri(self.container.config))
        # Bound to the types its projections read when each names them (types_read).
        fed = fed_by(self.container.dependencies)
        types = {source: types_read(fed, source) for source in self.sources}
        self.queues = [
            subscriber_queue(service, source, quorum=quorum, types=types[source])
            for source in self.sources
        ]
        with Connection(amqp_uri(self.container.config)) as connection:
            for source in self.sources:
                declare_subscriber(connection, service, source, types[source])
        self.queue_consumer.register_provider(self)

    def stop(self) -> None:
        with self._lock:
            if self._lingering is not None:
                self._lingering.cancel()
                self._lingering = None
        self.queue_consumer.unregister_provider(self)

    def handle_message(self, body: Any, message: Any) -> None:
        """Take a delivered message in: checked, queued for a batch, and a worker started or
        a linger begun. Run in the queue consumer's thread, so nothing here waits on I/O:
        a malformed message is dead-lettered by a thread of its own."""
        queue = self._queue_of(message)
        try:
            event = Envelope.from_json(message.body)
            if event.source not in self.sources or f".from.{event.source}" not in queue:
                raise InvalidEnvelope({"source": [f"{event.source!r} does not publish to {queue}"]})
        except InvalidEnvelope as error:
            _log.warning("dead-lettering a malformed message from %s: %s", queue, error)
            self.container.spawn_managed_thread(
                partial(self._dead_letter, message, queue, f"InvalidEnvelope: {error}")
            )
            return
        with self._lock:
            self._pending.append(Delivery(message, queue, event))
            if self._running or self._lingering is not None:
                return  # it joins the batch being gathered, or the next one
            if self.linger and len(self._pending) < PREFETCH:
                # A quiet spell's first event: what follows within the linger shares
                # its transaction (a lone event costs a commit per projection source).
                self._lingering = eventlet.spawn_after(self.linger, self._linger_over)
                return
        # Starting a worker may wait for a free one: not in the consumer's thread.
        self.container.spawn_managed_thread(self._run_next)

    def _linger_over(self) -> None:
        with self._lock:
            self._lingering = None
        self._run_next()

    def _run_next(self) -> None:
        """Start a worker on what is pending, unless one is running or a batch is gathering."""
        with self._lock:
            if self._running or self._lingering is not None or not self._pending:
                return
            self._running = True
            batch = [self._pending.popleft()]
            while self._pending and not batch[0].alone and not self._pending[0].alone:
                batch.append(self._pending.popleft())
        first = batch[0].event
        context = {"correlation_id": first.correlation_id, "causation_id": first.event_id}
        try:
            self.container.spawn_worker(
                self,
                ([delivery.event for delivery in batch],),
                {},
                context_data=context,
                handle_result=partial(self.handle_result, batch),
            )
        except ContainerBeingKilled:
            for delivery in batch:
                self.queue_consumer.requeue_message(delivery.message)
            with self._lock:
                self._running = False

    def handle_result(
        self,
        batch: list[Delivery],
        worker_ctx: Any,
        result: Any = None,
        exc_info: Any = None,
    ) -> tuple[Any, Any]:
        try:
            if exc_info is None:
                self._done(batch)
            elif isinstance(exc_info[1], TRANSIENT):
                self._outage(batch, exc_info[1])
            else:
                self._failed(batch, exc_info[1])
        finally:
            with self._lock:
                self._running = False
            self._run_next()
        return result, exc_info

    def _done(self, batch: list[Delivery]) -> None:
        with self._lock:
            for delivery in batch:
                self._failures.pop((delivery.queue, delivery.event.event_id), None)
        self.queue_consumer.ack_batch([delivery.message for delivery in batch])

    def _outage(self, batch: list[Delivery], error: BaseException) -> None:
        """A server is out: pause, then let the broker deliver the batch again."""
        first = batch[0].event
        _log.warning(
            "outage while handling %d events from %s #%d, will retry: %s",
            len(batch),
            first.type,
            first.position,
            error,
            extra={"correlation_id": first.correlation_id},
        )
        time.sleep(OUTAGE_BACKOFF)
        for delivery in batch:
            self.queue_consumer.requeue_message(delivery.message)

    def _failed(self, batch: list[Delivery], error: BaseException) -> None:
        """Split a failed batch; retry a failed event alone, then dead-letter it."""
        if len(batch) > 1:
            with self._lock:
                for delivery in reversed(batch):
                    delivery.alone = True
                    self._pending.appendleft(delivery)
            return
        delivery = batch[0]
        key = (delivery.queue, delivery.event.event_id)
        with self._lock:
            attempts = self._failures[key] = self._failures.get(key, 0) + 1
            if attempts < MAX_ATTEMPTS:
                self._pending.appendleft(delivery)
                return
            self._failures.pop(key, None)
        reason = "".join(traceback.format_exception_only(type(error), error)).strip()
        self._dead_letter(delivery.message, delivery.queue, reason)

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
