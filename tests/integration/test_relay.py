"""The relay on real PostgreSQL and RabbitMQ: order, durability, crashes, one leader."""

import os
import signal
import subprocess
import sys
import threading
import uuid

import eventlet
import pytest

from shared.eventsourcing.store import NO_STREAM, EventStore
from shared.messaging.relay import Relay
from tests.factories import added_event, repaired_event
from tests.helpers import bind_test_queue, body, drain, wait_until

CRASH_EVENTS = 5_000


def append_events(pool, count: int, per_append: int = 100) -> list[str]:
    store = EventStore("catalog")
    ids = []
    prefix = uuid.uuid4().hex[:8]
    for start in range(0, count, per_append):
        stream = f"copy-{prefix}-{start}"
        events = [repaired_event(stream) for _ in range(min(per_append, count - start))]
        with pool.transaction() as cursor:
            store.append(cursor, stream, NO_STREAM, events)
        ids.extend(event.event_id for event in events)
    return ids


def relay_progress(pool) -> int:
    with pool.transaction() as cursor:
        cursor.execute("SELECT coalesce(max(position), 0) FROM relay_progress")
        return cursor.fetchone()[0]


@pytest.fixture
def pool(pool_for):
    return pool_for("catalog")


def start_relay(config, **options):
    relay = Relay(
        "catalog", config["DATABASES"]["catalog"], config["AMQP_URI"], poll_interval=0.2, **options
    )
    stop = threading.Event()
    thread = eventlet.spawn(relay.run, stop.is_set)
    return relay, stop, thread


def test_events_are_published_in_position_order_persistently(config, pool):
    queue = bind_test_queue(config["AMQP_URI"], "catalog")
    with pool.transaction() as cursor:
        EventStore("catalog").append(
            cursor, "copy-C00000001", NO_STREAM, [added_event("C00000001")]
        )
    ids = append_events(pool, 99, per_append=33)
    relay, stop, thread = start_relay(config)
    try:
        messages = drain(config["AMQP_URI"], queue, 100)
    finally:
        stop.set()
        thread.wait()
    envelopes = [body(message) for message in messages]
    assert [e["position"] for e in envelopes] == list(range(1, 101))
    assert [e["event_id"] for e in envelopes[1:]] == ids
    first = messages[0]
    assert first.delivery_info["routing_key"] == "BookAdded"
    assert first.delivery_info["exchange"] == "catalog.events"
    assert first.properties["delivery_mode"] == 2
    assert first.properties["message_id"] == envelopes[0]["event_id"]
    assert first.headers["campus"] == "north" and first.headers["position"] == 1
    assert relay_progress(pool) == 100


def test_a_relay_killed_mid_stream_resumes_and_loses_nothing(config, pool):
    queue = bind_test_queue(config["AMQP_URI"], "catalog")
    ids = append_events(pool, CRASH_EVENTS)
    env = {
        **os.environ,
        "CATALOG_DSN": config["DATABASES"]["catalog"],
        "AMQP_URI": config["AMQP_URI"],
        "RELAY_BATCH_SIZE": "50",
    }
    command = [sys.executable, "-m", "shared.messaging.relay", "catalog"]

    first = subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: relay_progress(pool) > 0, what="the relay to publish a batch")
        first.send_signal(signal.SIGKILL)
        first.wait()
        at_kill = relay_progress(pool)
        assert 0 < at_kill < CRASH_EVENTS, "the relay must be killed while publishing"
    finally:
        first.kill()

    second = subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: relay_progress(pool) == CRASH_EVENTS, what="the restarted relay")
    finally:
        second.send_signal(signal.SIGKILL)
        second.wait()

    received = [body(message)["event_id"] for message in drain_all(config["AMQP_URI"], queue)]
    assert set(received) == set(ids)
    assert len(received) >= CRASH_EVENTS  # duplicates allowed, loss never


def drain_all(amqp_uri, queue):
    from tests.helpers import queue_depth

    return drain(amqp_uri, queue, queue_depth(amqp_uri, queue))


def test_only_one_relay_leads_and_another_takes_over_when_it_dies(config, pool):
    queue = bind_test_queue(config["AMQP_URI"], "catalog")
    first, stop_first, first_thread = start_relay(config)
    second, stop_second, second_thread = start_relay(config)
    try:
        wait_until(lambda: first.is_leader or second.is_leader, what="a leader")
        leader, follower = (first, second) if first.is_leader else (second, first)
        assert not follower.is_leader

        ids = append_events(pool, 50, per_append=10)
        assert [body(m)["event_id"] for m in drain(config["AMQP_URI"], queue, 50)] == ids
        # published counts a batch once its progress is recorded, just after delivery
        wait_until(lambda: leader.published == 50, what="the leader to record its progress")
        assert follower.published == 0

        # The leader's database session dies (as when its process is killed).
        with pool.transaction() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_locks "
                "WHERE locktype = 'advisory' AND objid = 2 AND granted"
            )
        wait_until(lambda: follower.is_leader, what="the follower to take over")
        more = append_events(pool, 20, per_append=10)
        received = [body(m)["event_id"] for m in drain(config["AMQP_URI"], queue, 20)]
        assert received == more
    finally:
        stop_first.set()
        stop_second.set()
        first_thread.wait()
        second_thread.wait()
