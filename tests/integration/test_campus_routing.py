"""A subscriber takes only one campus's events, filtered by the broker on message headers."""

import threading

import eventlet
from kombu import Connection

from shared.eventsourcing.store import ANY_VERSION, EventStore
from shared.messaging.names import campus_queue, declare_campus_routing
from shared.messaging.relay import Relay
from tests.factories import added_event
from tests.helpers import body, drain, queue_depth, wait_until


def test_a_north_subscriber_receives_north_events_only(config, pool_for):
    uri = config["AMQP_URI"]
    with Connection(uri) as connection:
        declare_campus_routing(connection, ["catalog", "circulation"])
        campus_queue("ext.north-only", "north")(connection.default_channel).declare()
        campus_queue("ext.south-catalog", "south", source="catalog")(
            connection.default_channel
        ).declare()
    events = [added_event(f"C{n:08d}", campus=("north", "south")[n % 2]) for n in range(1, 11)]
    with pool_for("catalog").transaction() as cursor:
        for event in events:
            EventStore("catalog").append(cursor, event.stream_id, ANY_VERSION, [event])

    relay = Relay("catalog", config["DATABASES"]["catalog"], uri, poll_interval=0.2)
    stop = threading.Event()
    thread = eventlet.spawn(relay.run, stop.is_set)
    try:
        wait_until(lambda: relay.published == 10, what="the relay to publish")
    finally:
        stop.set()
        thread.wait()

    north = [body(m) for m in drain(uri, "ext.north-only", 5)]
    assert {e["campus"] for e in north} == {"north"}
    assert [e["position"] for e in north] == [2, 4, 6, 8, 10]
    south = [body(m) for m in drain(uri, "ext.south-catalog", 5)]
    assert {e["campus"] for e in south} == {"south"}
    assert queue_depth(uri, "ext.north-only") == 0 and queue_depth(uri, "ext.south-catalog") == 0
