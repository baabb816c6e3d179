"""The ``@rpc`` entrypoint every service uses.

nameko's own ``rpc``, told which exceptions are answers rather than faults: bad
input, a missing record, a refused command or a stale stream is returned to the
caller as an error and logged as a warning, without a stack trace.

One change to how it ends a call: nameko publishes the reply with three quick
retries and, when the broker is still out, lets the error end the whole
container (every entrypoint of the process). Here the request goes back to its
queue instead (when the broker dropped the connection it is back there
already), so a worker answers it again once the broker returns; a caller that
gave up meanwhile asks again with the same ``command_id``.

And one to acks: nameko's queue consumer forgives only amqp's own
``ConnectionError`` around an ack or a requeue, while a connection the broker
has just dropped raises a socket error there, which ends the container too.
``TolerantQueueConsumer`` leaves such a message to the broker, which delivers it
again; the RPC entrypoint and ``SurvivingReplyListener`` (for calls a service
makes) consume through it.

And the queues are quorum queues on a cluster (``shared.messaging.names``): the
request queue ``rpc-<service>`` and the reply queue of a service's own calls, so that
both outlive the loss of the broker node they were led from.

The messages themselves, requests and replies, are transient (``RPC_DELIVERY_MODE``):
a call's caller waits seconds for its answer, and a single broker restarting drops
its connection anyway, so it asks again with the same ``command_id`` (a repeat is
answered, not done twice) rather than count on a request kept on disk. A classic
queue then keeps them in memory only: a third of the broker's work per command went
on writing them (RabbitMQ 3.2 -> 2.5-2.8 ms per lend in the HTTP desk bench). A
quorum queue stores every message whatever its mode, so a cluster loses none.

A reply goes without a publisher confirm. The confirm told the service only that the
broker had taken the reply, and what it guards against is the case above: a broker
gone between the reply written and the reply routed. A reply the broker cannot take
at all still fails the publish (a closed connection), and the request goes back to
its queue; one lost in the broker's fall is asked for again by its caller, with the
same ``command_id``. Waiting for the confirm cost the service a round trip to the
broker on every call, and the broker a frame. It goes on a channel kept open
(``shared.messaging.channel_pool``), not through a publisher built for each reply.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import partial
from logging import getLogger
from typing import Any

import amqp
import kombu.serialization
from kombu import Connection
from nameko.constants import (
    AMQP_SSL_CONFIG_KEY,
    AMQP_URI_CONFIG_KEY,
    DEFAULT_SERIALIZER,
    LOGIN_METHOD_CONFIG_KEY,
    SERIALIZER_CONFIG_KEY,
)
from nameko.exceptions import UnserializableValueError, serialize
from nameko.messaging import QueueConsumer
from nameko.rpc import ReplyListener, Responder, Rpc, RpcConsumer, get_rpc_exchange
from nameko.utils import sanitize_url

from shared.config import addresses, amqp_uri
from shared.errors import BadRequest, NotFound
from shared.eventsourcing.decider import Refused
from shared.eventsourcing.store import ConcurrencyError
from shared.messaging.channel_pool import BROKER_OUT, channel_pool
from shared.messaging.names import quorum_reply_queue, rpc_queue
from shared.messaging.quorum_queues import declare, quorum_wanted

_log = getLogger(__name__)

EXPECTED_FAILURES = (BadRequest, NotFound, Refused, ConcurrencyError)
RPC_DELIVERY_MODE = 1  # transient: see the module docstring


class TolerantQueueConsumer(QueueConsumer):
    """nameko's queue consumer; an ack or requeue on a dropped connection is left to the broker.

    Its reconnection warning names every address of a cluster's list without its
    password (nameko's hides only the first one's).
    """

    def on_connection_error(self, exc: Exception, interval: float) -> None:
        _log.warning(
            "Error connecting to broker at %s (%s). Retrying in %s seconds.",
            ";".join(sanitize_url(address) for address in addresses(self.amqp_uri)),
            exc,
            interval,
        )

    def ack_message(self, message: Any) -> None:
        try:
            super().ack_message(message)
        except BROKER_OUT as error:
            _log.warning("cannot ack, the broker is out (%s): it will deliver again", error)

    def requeue_message(self, message: Any) -> None:
        try:
            super().requeue_message(message)
        except BROKER_OUT as error:
            _log.warning("cannot requeue, the broker is out (%s): it will deliver again", error)


class SurvivingRpcConsumer(RpcConsumer):
    """nameko's RPC consumer on a durable request queue, a quorum queue on a cluster (one
    declared of the other type before is converted first, see
    ``shared.messaging.quorum_queues``)."""

    queue_consumer = TolerantQueueConsumer()

    def setup(self) -> None:
        if self.queue is None:
            config = self.container.config
            queue = rpc_queue(
                self.container.service_name,
                get_rpc_exchange(config),
                quorum=quorum_wanted(amqp_uri(config)),
            )
            with Connection(amqp_uri(self.container.config), connect_timeout=10) as connection:
                declare(connection, queue)
            self.queue = queue
            self.queue_consumer.register_provider(self)
            self._registered = True


class TransientResponder(Responder):
    """nameko's responder, its reply a transient message sent without a confirm on a
    channel kept open (``shared.messaging.channel_pool``); ``payload`` may add to it."""

    def send_response(self, result: Any, exc_info: Any) -> tuple[Any, Any]:
        # As nameko's: an answer that cannot be serialised is answered as an error.
        error = None if exc_info is None else serialize(exc_info[1])
        content_type = self.message.properties["content_type"]
        serializer = kombu.serialization.registry.type_to_name[content_type]
        try:
            _, encoding, body = kombu.serialization.dumps(self.payload(result, error), serializer)
        except Exception:
            exc_info = sys.exc_info()
            result, error = None, serialize(UnserializableValueError(result))
            _, encoding, body = kombu.serialization.dumps(self.payload(result, error), serializer)
        reply = amqp.Message(
            body,
            content_type=content_type,
            content_encoding=encoding,
            delivery_mode=RPC_DELIVERY_MODE,
            correlation_id=self.message.properties.get("correlation_id"),
        )
        pool = channel_pool(
            self.amqp_uri, self.exchange.name, confirm=False, ssl=self.ssl,
            login_method=self.login_method,
        )  # fmt: skip
        pool.publish(reply, self.message.properties["reply_to"])
        return result, exc_info

    def payload(self, result: Any, error: Any) -> dict[str, Any]:
        """The reply's body: nameko's ``result`` and ``error``."""
        return {"result": result, "error": error}


class ReplyQueueConsumer(TolerantQueueConsumer):
    """The consumer of a service's replies, on a connection of its own: without acks.

    nameko's reply listener acks a reply the moment it arrives, before reading it, so
    the broker's tracking of it bought nothing; and it hands each reply over in the
    consumer's own thread (waking the caller waits on nothing), not one spawned per reply.
    """

    def get_consumers(self, consumer_cls: Any, channel: Any) -> Any:
        for provider in self._providers:
            self._consumers[provider] = consumer_cls(
                queues=[provider.queue],
                callbacks=[partial(self.handle_message, provider)],
                accept=self.accept,
                no_ack=True,
            )
        return self._consumers.values()

    def handle_message(self, provider: Any, body: Any, message: Any) -> None:
        provider.handle_message(body, message)

    def ack_message(self, message: Any) -> None:
        """Nothing to ack: a reply is taken as it is delivered."""


class SurvivingReplyListener(ReplyListener):
    """Receives the replies to the RPCs a service makes (a consumer reading a feed), on a
    durable reply queue, a quorum queue on a cluster."""

    queue_consumer = ReplyQueueConsumer()

    def setup(self) -> None:
        super().setup()
        quorum = quorum_wanted(amqp_uri(self.container.config))
        self.queue = quorum_reply_queue(self.queue, quorum=quorum)


class SurvivingRpc(Rpc):
    """nameko's RPC entrypoint, except that a reply the broker cannot take keeps the service up."""

    rpc_consumer = SurvivingRpcConsumer()

    def responder(self, message: Any, worker_ctx: Any,
                  responder_cls: type = TransientResponder, **extra: Any) -> Responder:  # fmt: skip
        """What sends the reply: ``TransientResponder`` (a subclass may add to the reply)."""
        config = self.container.config
        return responder_cls(
            config[AMQP_URI_CONFIG_KEY],
            get_rpc_exchange(config),
            config.get(SERIALIZER_CONFIG_KEY, DEFAULT_SERIALIZER),
            message,
            ssl=config.get(AMQP_SSL_CONFIG_KEY),
            login_method=config.get(LOGIN_METHOD_CONFIG_KEY),
            **extra,
        )

    def handle_result(
        self, message: Any, worker_ctx: Any, result: Any, exc_info: Any
    ) -> tuple[Any, Any]:
        # As nameko's Rpc.handle_result, with the broker's absence survived.
        try:
            result, exc_info = self.responder(message, worker_ctx).send_response(result, exc_info)
        except BROKER_OUT as error:
            _log.warning(
                "cannot answer %s.%s, the broker is out (%s): the request goes back to its queue",
                self.container.service_name,
                self.method_name,
                error,
            )
            self.rpc_consumer.requeue_message(message)
            return result, exc_info
        self.rpc_consumer.queue_consumer.ack_message(message)
        return result, exc_info


def rpc(method: Callable[..., Any]) -> Callable[..., Any]:
    """Expose ``method`` over nameko RPC."""
    return SurvivingRpc.decorator(expected_exceptions=EXPECTED_FAILURES)(method)
