"""Requests and replies published on channels kept open (``shared.messaging.channel_pool``),
on the real broker: a request routed, returned for a service not running, and published
again on a new connection when the broker dropped the one kept; a reply delivered."""

import socket

import amqp
import pytest
from kombu import Connection
from nameko.exceptions import UnknownService
from nameko.rpc import get_rpc_exchange

from services.catalog.service import CatalogService
from shared.messaging.channel_pool import ChannelPool
from tests.helpers import wait_until

pytestmark = pytest.mark.integration


def test_requests_reuse_a_line_survive_a_dropped_one_and_name_a_service_not_running(
    runner_factory, config
):
    runner_factory(config, CatalogService).start()
    pool = ChannelPool(config["AMQP_URI"], get_rpc_exchange(config).name, confirm=True)
    # A request whose reply goes nowhere: what is tested is that the broker took it.
    request = amqp.Message(b'{"args": [], "kwargs": {}}', content_type="application/json")
    try:
        pool.publish(request, "catalog.health", "catalog")
        pool.publish(request, "catalog.health", "catalog")
        [line] = pool._idle  # one connection for requests one after another
        line.channel.connection.sock.shutdown(socket.SHUT_RDWR)  # as the broker dropping it

        pool.publish(request, "catalog.health", "catalog")  # sent again on a new connection
        [again] = pool._idle
        assert again is not line

        with pytest.raises(UnknownService):  # not running here: no queue takes it
            pool.publish(request, "circulation.health", "circulation")
        pool.publish(request, "catalog.health", "catalog")  # that line serves on
        assert pool._idle == [again]
    finally:
        pool.close()


def test_a_reply_without_a_confirm_reaches_its_queue(config):
    exchange = get_rpc_exchange(config).name
    pool = ChannelPool(config["AMQP_URI"], exchange, confirm=False)
    with Connection(config["AMQP_URI"]) as connection:
        channel = connection.channel()
        channel.exchange_declare(exchange, "topic", durable=True, auto_delete=False)
        queue, _, _ = channel.queue_declare("", exclusive=True)
        channel.queue_bind(queue, exchange, routing_key=queue)
        try:
            pool.publish(amqp.Message(b"answer", correlation_id="c-1"), queue)
        finally:
            pool.close()
        # Published without a confirm: it may still be on its way when basic_get first asks.
        got = wait_until(lambda: channel.basic_get(queue, no_ack=True), what="the reply")
        assert (got.body, got.properties["correlation_id"]) == (b"answer", "c-1")
