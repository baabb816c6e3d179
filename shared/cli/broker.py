"""What RabbitMQ's management API says about the library's queues.

Queue depths, unacknowledged messages and consumers (one consumer on
``rpc-circulation`` per running circulation instance), read from the API at
``RABBIT_MANAGEMENT_URI`` for the virtual host of ``AMQP_URI``. On a cluster
both may list every node (separated by ``;``): the first node that answers is asked.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from shared.cli.errors import Unreachable, redact
from shared.config import Config, addresses, amqp_uri

API_TIMEOUT = 5.0
REPLY_QUEUE_PREFIX = "rpc.reply-"
DLQ_SUFFIX = ".dlq"


@dataclass(frozen=True)
class QueueState:
    name: str
    ready: int
    unacked: int
    consumers: int

    @property
    def messages(self) -> int:
        return self.ready + self.unacked

    @property
    def is_dead_letters(self) -> bool:
        return self.name.endswith(DLQ_SUFFIX)


def vhost_of(uri: str) -> str:
    """The virtual host of an AMQP URI (``/`` when the path is empty; a cluster's nodes
    share it, the first address says which)."""
    path = urlsplit(addresses(uri)[0]).path
    return path[1:] if len(path) > 1 else "/"


def management_uri(config: Config) -> str:
    try:
        return str(config["RABBIT_MANAGEMENT_URI"]).rstrip("/")
    except KeyError:
        raise Unreachable("no RABBIT_MANAGEMENT_URI in the config") from None


def queues(config: Config, include_replies: bool = False) -> list[QueueState]:
    """Every queue of the library's virtual host, by name (nameko's reply queues left out)."""
    import requests

    apis = [address.rstrip("/") for address in addresses(management_uri(config))]
    vhost = quote(vhost_of(amqp_uri(config)), safe="")
    for api in apis:
        try:
            response = requests.get(
                f"{api}/api/queues/{vhost}",
                params={"columns": "name,messages_ready,messages_unacknowledged,consumers"},
                timeout=API_TIMEOUT,
            )
            break
        except requests.RequestException as error:
            if api == apis[-1]:
                raise Unreachable(
                    f"the RabbitMQ management API cannot be reached at "
                    f"{redact(';'.join(apis))}: {type(error).__name__}"
                ) from None
    if response.status_code in (401, 403):
        raise Unreachable(
            f"the RabbitMQ management API at {redact(api)} refused the login "
            f"(HTTP {response.status_code})"
        )
    if not response.ok:
        raise Unreachable(
            f"the RabbitMQ management API at {redact(api)} answered HTTP {response.status_code}"
        )
    found = [_state(item) for item in response.json()]
    if not include_replies:
        found = [q for q in found if not q.name.startswith(REPLY_QUEUE_PREFIX)]
    return sorted(found, key=lambda q: q.name)


def _state(item: dict[str, Any]) -> QueueState:
    return QueueState(
        name=item["name"],
        ready=int(item.get("messages_ready") or 0),
        unacked=int(item.get("messages_unacknowledged") or 0),
        consumers=int(item.get("consumers") or 0),
    )


def rpc_consumers(states: list[QueueState], service: str) -> int | None:
    """How many instances consume ``service``'s RPC queue (None: no such queue)."""
    for state in states:
        if state.name == f"rpc-{service}":
            return state.consumers
    return None
