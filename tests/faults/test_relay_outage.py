"""A relay that cannot reach the broker pauses: the fix the RabbitMQ restart scenario found.

The relay caught a failed publish, but not the broker refusing the connection
when it (re)took the lead and declared its exchange: kombu reports that as its
own ``OperationalError``, the relay's thread died, and with it the whole
circulation process. Both instances died this way while RabbitMQ restarted.
"""

import time

from shared.messaging.relay import Relay

CLOSED_PORT = "amqp://library:library@127.0.0.1:1/"  # nothing listens: refused at once
RUN_FOR = 1.5


def test_a_relay_whose_broker_refuses_connections_pauses_and_keeps_trying(clean_databases):
    relay = Relay("catalog", clean_databases["catalog"], CLOSED_PORT, poll_interval=0.05)
    until = time.monotonic() + RUN_FOR
    relay.run(lambda: time.monotonic() > until)  # returns when told to stop, without raising
    assert not relay.is_leader and relay.published == 0
