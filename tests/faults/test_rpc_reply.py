"""A reply the broker cannot take leaves the service running: the fix the RabbitMQ
restart scenario found.

nameko sends an RPC reply with three quick retries and, when the broker is still
out, lets the error end the container: a circulation instance answering a desk
while RabbitMQ restarted simply exited. ``shared.rpc.rpc`` puts the request back
on its queue instead, so it is answered once the broker can take the reply.
"""

from unittest.mock import patch

import kombu.exceptions
from nameko.rpc import Responder
from nameko.standalone.rpc import ServiceRpcProxy

from shared.rpc import rpc


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
    send = Responder.send_response
    outages = [kombu.exceptions.OperationalError("[Errno 111] ECONNREFUSED")]

    def broker_out_once(responder, result, exc_info):
        if outages:
            raise outages.pop()
        return send(responder, result, exc_info)

    with patch.object(Responder, "send_response", broker_out_once):
        with ServiceRpcProxy("echo", rabbit_config, timeout=10) as echo:
            assert echo.echo("重试") == "重试"
            assert echo.echo("again") == "again"
    assert not outages
    assert not container._died.ready()
