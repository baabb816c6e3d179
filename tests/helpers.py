"""Waiting on conditions and reading queues, for integration tests."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable
from typing import Any

import eventlet
from kombu import Connection, Queue

from shared.messaging.names import events_exchange

DEFAULT_TIMEOUT = 30.0


def wait_until(
    condition: Callable[[], Any], timeout: float = DEFAULT_TIMEOUT, what: str = ""
) -> Any:
    """Poll ``condition`` until it returns something truthy; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or condition}")
        eventlet.sleep(0.01)


def bind_test_queue(amqp_uri: str, source: str, name: str = "test-listener") -> str:
    """A durable queue receiving every event of ``source``, as an outside subscriber would."""
    with Connection(amqp_uri) as connection:
        Queue(name, exchange=events_exchange(source), routing_key="#", durable=True)(
            connection.default_channel
        ).declare()
    return name


def drain(amqp_uri: str, queue: str, count: int, timeout: float = DEFAULT_TIMEOUT) -> list[Any]:
    """Take messages off ``queue`` until ``count`` arrived (or fail after ``timeout``)."""
    messages: list[Any] = []
    deadline = time.monotonic() + timeout
    with Connection(amqp_uri) as connection:
        simple = connection.SimpleQueue(queue, no_ack=True)
        while len(messages) < count:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"only {len(messages)} of {count} messages on {queue}")
            try:
                messages.append(simple.get(block=True, timeout=min(remaining, 1.0)))
            except simple.Empty:
                continue
        simple.close()
    return messages


def queue_depth(amqp_uri: str, queue: str) -> int:
    with Connection(amqp_uri) as connection:
        _, depth, _ = connection.default_channel.queue_declare(queue, passive=True)
    return depth


def body(message: Any) -> dict[str, Any]:
    return json.loads(message.body)


def free_port() -> int:
    """A TCP port nobody listens on now, for a gateway started by a test."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def with_web_address(config: dict[str, Any]) -> dict[str, Any]:
    """The test config with the gateway on a port of its own."""
    return {**config, "WEB_SERVER_ADDRESS": f"127.0.0.1:{free_port()}"}


def with_sip2_listener(config: dict[str, Any]) -> dict[str, Any]:
    """The test config with the SIP2 server listening on a port of its own (UTF-8)."""
    listener = {"name": "school", "host": "127.0.0.1", "port": free_port(), "encoding": "utf-8"}
    return {**config, "SIP2": {**config["SIP2"], "listeners": [listener]}}
