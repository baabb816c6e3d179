"""A subscriber that meets a dropped broker connection leaves the message to the broker:
the fix the RabbitMQ restart scenario found.

nameko's queue consumer catches only amqp's own ``ConnectionError`` around an
ack; a socket reset at that moment (the broker stopping) ended the catalog
service. Dead-lettering while the broker is out did the same. The broker gives
back every message it was not told about, so there is nothing to do but wait.
"""

from types import SimpleNamespace

from shared.messaging.publisher import PublishNotConfirmed
from shared.messaging.subscriber import EventSubscriber, RawQueueConsumer


class DroppedMessage:
    """A delivery whose connection the broker has just reset."""

    channel = SimpleNamespace(connection=object())  # not yet known to be dead
    headers = {}
    body = b"{}"
    properties = {"message_id": "m-1"}

    def ack(self):
        raise ConnectionResetError(104, "Connection reset by peer")

    requeue = ack


def test_an_ack_or_requeue_on_a_reset_connection_is_left_to_the_broker():
    consumer = RawQueueConsumer()
    consumer.ack_message(DroppedMessage())
    consumer.requeue_message(DroppedMessage())


def test_a_message_that_cannot_be_dead_lettered_now_is_delivered_again_later():
    requeued = []

    def out(*args):
        raise PublishNotConfirmed("publishing to library.dlx failed: [Errno 111] ECONNREFUSED")

    subscriber = EventSubscriber("catalog")
    subscriber.dead_letters = SimpleNamespace(publish=out)
    subscriber.queue_consumer = SimpleNamespace(requeue_message=requeued.append)
    message = DroppedMessage()
    subscriber._dead_letter(message, "circulation.from.catalog", "KeyError: 'barcode'")
    assert requeued == [message]
