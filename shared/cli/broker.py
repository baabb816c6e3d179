"""What RabbitMQ's management API says about the library's queues, for the console.

Read by ``shared.runtime.status_report`` (the gateway's status page reads it there
too): queue depths, unacknowledged messages and consumers (one consumer on
``rpc-circulation`` per running circulation instance), from the API at
``RABBIT_MANAGEMENT_URI`` for the virtual host of ``AMQP_URI``, logged in as that
URI says. On a cluster both may list every node (separated by ``;``): the first
node that answers is asked. Here an API that does not answer ends the command
(``Unreachable``).
"""

from __future__ import annotations

from shared.cli.errors import Unreachable
from shared.config import Config, amqp_uri
from shared.runtime.status_report import (
    API_TIMEOUT,
    DLQ_SUFFIX,
    REPLY_QUEUE_PREFIX,
    ManagementUnavailable,
    QueueState,
    read_queues,
    rpc_consumers,
    vhost_of,
)

__all__ = [
    "API_TIMEOUT",
    "DLQ_SUFFIX",
    "REPLY_QUEUE_PREFIX",
    "QueueState",
    "management_uri",
    "queues",
    "rpc_consumers",
    "vhost_of",
]


def management_uri(config: Config) -> str:
    try:
        return str(config["RABBIT_MANAGEMENT_URI"]).rstrip("/")
    except KeyError:
        raise Unreachable("no RABBIT_MANAGEMENT_URI in the config") from None


def queues(config: Config, include_replies: bool = False) -> list[QueueState]:
    """Every queue of the library's virtual host, by name (nameko's reply queues left out)."""
    try:
        return read_queues(
            management_uri(config), vhost_of(amqp_uri(config)), include_replies=include_replies
        )
    except ManagementUnavailable as error:
        raise Unreachable(str(error)) from None
