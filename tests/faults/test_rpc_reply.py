"""A reply the broker cannot take leaves the service running: fixes the RabbitMQ
restart scenario found.

nameko sends an RPC reply with three quick retries and, when the broker is still
out, lets the error end the container: a circulation instance answering a desk
while RabbitMQ restarted simply exited. ``shared.messaging.rpc.rpc`` puts the request back
on its queue instead, so it is answered once the broker can take the reply.

Acking a request or a reply on a connection the broker has just dropped raised
a socket error that nameko does not forgive: the archives exited while it read
a feed. Those acks are left to the broker, which delivers the message again.
"""

from types import SimpleNamespace
from unittest.mock import patch

import kombu.exceptions
from nameko.standalone.rpc import ServiceRpcProxy

from shared.messaging.channel_pool import ChannelPool
from shared.messaging.rpc import SurvivingRpc, rpc
from shared.runtime.dependencies import Projections


class DroppedMessage:
    """A delivery whose connection the broker has just reset."""

    channel = SimpleNamespace(connection=object())  # not yet known to be dead

    def ack(self):
        raise BrokenPipeError(32, "Broken pipe")

    requeue = ack


class Echo:
    name = "echo"

    @rpc
    def echo(self, value):
        return value


def test_a_reply_the_broker_refuses_is_answered_again_and_the_service_lives_on(
    container_factory, rabbit_config
):
    container = container_factory(Echo, rabbit_config)
    container.start()
    publish = ChannelPool.publish
    outages = [kombu.exceptions.OperationalError("[Errno 111] ECONNREFUSED")]

    def broker_out_once(pool, *args, **kwargs):  # the reply's publish, twice over
        if outages:
            raise outages.pop()
        return publish(pool, *args, **kwargs)

    with patch.object(ChannelPool, "publish", broker_out_once):
        with ServiceRpcProxy("echo", rabbit_config, timeout=10) as echo:
            assert echo.echo("重试") == "重试"
            assert echo.echo("again") == "again"
    assert not outages
    assert not container._died.ready()


def test_acks_of_requests_and_replies_on_a_dropped_connection_are_left_to_the_broker():
    for consumer in (
        SurvivingRpc.rpc_consumer.queue_consumer,  # the requests a service answers
        Projections.rpc_reply_listener.queue_consumer,  # the replies to the feeds it reads
    ):
        consumer.ack_message(DroppedMessage())
        consumer.requeue_message(DroppedMessage())
