"""Requests published on confirm channels kept open (``shared.messaging.request_channels``),
on the real broker: routed, returned for a service not running, and published again on a
new connection when the broker dropped the one kept."""

import socket
from types import SimpleNamespace

import pytest
from nameko.exceptions import UnknownService

from services.catalog.service import CatalogService
from shared.messaging.request_channels import RequestChannels

pytestmark = pytest.mark.integration

WORKER = SimpleNamespace(context_data={"correlation_id": "request-channels-test"})


def publish(channels, service, method="health"):
    # The reply goes nowhere: what is tested is that the broker took the request.
    channels.publish(WORKER, service, method, (), "nobody-listens", "c-1", 5.0)


def test_requests_reuse_a_line_survive_a_dropped_one_and_name_a_service_not_running(
    runner_factory, config
):
    runner_factory(config, CatalogService).start()
    channels = RequestChannels(config)
    try:
        publish(channels, "catalog")
        publish(channels, "catalog")
        [line] = channels._idle  # one connection for requests one after another
        line.channel.connection.sock.shutdown(socket.SHUT_RDWR)  # as the broker dropping it

        publish(channels, "catalog")  # taken again on a new connection
        [again] = channels._idle
        assert again is not line

        with pytest.raises(UnknownService):
            publish(channels, "circulation")  # not running here: no queue takes it
        publish(channels, "catalog")  # the line that had the request returned serves on
        assert channels._idle == [again]
    finally:
        channels.close()
