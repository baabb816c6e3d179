"""What RabbitMQ says about the library: its queues, each service's instances, dead letters.

Read once here from the management API, for both ``library status``
(``shared.cli.status``) and the gateway's ``GET /api/status``
(``services.gateway.status``): each queue's depth (messages ready and
unacknowledged), consumers and message rates (published into it and delivered
from it, per second, from the API's ``message_stats``), how many instances consume
each service's RPC queue ``rpc-<service>``, and how many letters wait in each
dead-letter queue (``<queue>.dlq``, ``shared.messaging.dead_letters``).

The API is at ``RABBIT_MANAGEMENT_URI`` (on a cluster, ``;``-separated nodes: the
first that answers is asked), for the virtual host of ``AMQP_URI``. The console
logs in as the URI says (the administrator); the gateway as the broker user it
runs as, which ``shared.runtime.permissions`` tags ``management`` for this (it
lists the vhost's queues and nothing more). A management API that cannot be
reached or refuses the login is not a failure of the whole status:
``look_at_broker`` answers a ``BrokerView`` with no figures and the problem in words.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from shared.config import SERVICES, Config, addresses

API_TIMEOUT = 5.0
REPLY_QUEUE_PREFIX = "rpc.reply-"
RPC_QUEUE_PREFIX = "rpc-"
DLQ_SUFFIX = ".dlq"
SYSTEM_PREFIX = "ext."
GATEWAY = "gateway"
COLUMNS = (
    "name,messages_ready,messages_unacknowledged,consumers,"
    "message_stats.publish_details.rate,message_stats.deliver_get_details.rate"
)


class ManagementUnavailable(Exception):
    """Raised when the management API cannot be reached, refuses the login or fails;
    its message is one line without any password."""


@dataclass(frozen=True)
class QueueState:
    name: str
    ready: int
    unacked: int
    consumers: int
    # Messages per second into the queue and out to its consumers, as RabbitMQ averages
    # them over its last samples (every 5 s); 0 for a queue that has seen none yet.
    publish_rate: float = 0.0
    deliver_rate: float = 0.0

    @property
    def messages(self) -> int:
        """Its depth: ready and unacknowledged."""
        return self.ready + self.unacked

    @property
    def is_dead_letters(self) -> bool:
        return self.name.endswith(DLQ_SUFFIX)

    @property
    def service(self) -> str | None:
        return owner(self.name)


def owner(queue: str) -> str | None:
    """Who consumes ``queue``: ``rpc-circulation`` and ``archives.from.catalog(.dlq)`` are
    their service's, ``gateway.live.*`` the gateway's, ``ext.records.events`` the school
    system ``ext.records``'s; None for a queue the library does not name."""
    if queue.startswith(RPC_QUEUE_PREFIX):
        return queue[len(RPC_QUEUE_PREFIX) :] or None
    if queue.startswith(SYSTEM_PREFIX):
        parts = queue.split(".")
        return ".".join(parts[:2]) if len(parts) > 2 else None
    head, dot, _ = queue.partition(".")
    return head if dot and head in (*SERVICES, GATEWAY) else None


def vhost_of(amqp_uri: str) -> str:
    """The virtual host of an AMQP URI (``/`` when the path is empty; a cluster's nodes
    share it, the first address says which)."""
    path = urlsplit(addresses(amqp_uri)[0]).path
    return unquote(path[1:]) if len(path) > 1 else "/"


def login_of(uri: str) -> tuple[str, str] | None:
    """The user and password an AMQP or HTTP URI logs in with (its first address's); None
    when it names no user."""
    parts = urlsplit(addresses(uri)[0])
    if not parts.username:
        return None
    return unquote(parts.username), unquote(parts.password or "")


def _bare(address: str) -> str:
    """An address without its login: safe to print, and to ask with the login apart."""
    parts = urlsplit(address)
    host = f"[{parts.hostname}]" if ":" in (parts.hostname or "") else (parts.hostname or "")
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit(parts._replace(netloc=host)).rstrip("/")


def read_queues(
    management_uri: str,
    vhost: str,
    login: tuple[str, str] | None = None,
    timeout: float = API_TIMEOUT,
    include_replies: bool = False,
) -> list[QueueState]:
    """Every queue of ``vhost`` by name (nameko's reply queues left out unless asked), read
    from the first node of ``management_uri`` that answers, logged in as ``login`` (by
    default as the URI says). Raises ``ManagementUnavailable``."""
    import requests

    apis = addresses(management_uri)
    if not apis:
        raise ManagementUnavailable("no RABBIT_MANAGEMENT_URI in the config")
    for api in apis:
        base = _bare(api)
        user = login or login_of(api) or ("", "")
        try:
            response = requests.get(
                f"{base}/api/queues/{quote(vhost, safe='')}",
                params={"columns": COLUMNS},
                auth=user,
                timeout=timeout,
            )
            break
        except requests.RequestException as error:
            if api == apis[-1]:
                where = ";".join(_bare(api) for api in apis)
                raise ManagementUnavailable(
                    f"the RabbitMQ management API cannot be reached at {where}: "
                    f"{type(error).__name__}"
                ) from None
    if response.status_code in (401, 403):
        raise ManagementUnavailable(
            f"the RabbitMQ management API at {base} refused the login of {user[0]!r} "
            f"(HTTP {response.status_code}): it needs the 'management' tag "
            "(python -m shared.runtime.permissions gives the gateway's user it)"
        )
    if not response.ok:
        raise ManagementUnavailable(
            f"the RabbitMQ management API at {base} answered HTTP {response.status_code}"
        )
    found = [queue_state(item) for item in response.json()]
    if not include_replies:
        found = [q for q in found if not q.name.startswith(REPLY_QUEUE_PREFIX)]
    return sorted(found, key=lambda q: q.name)


def queue_state(item: dict[str, Any]) -> QueueState:
    """A queue as the management API describes it (rates 0 before it has seen a message)."""
    stats = item.get("message_stats") or {}
    return QueueState(
        name=item["name"],
        ready=int(item.get("messages_ready") or 0),
        unacked=int(item.get("messages_unacknowledged") or 0),
        consumers=int(item.get("consumers") or 0),
        publish_rate=_rate(stats, "publish_details"),
        deliver_rate=_rate(stats, "deliver_get_details"),
    )


def _rate(stats: dict[str, Any], key: str) -> float:
    return round(float((stats.get(key) or {}).get("rate") or 0.0), 1)


def rpc_consumers(states: list[QueueState], service: str) -> int | None:
    """How many instances consume ``service``'s RPC queue (None: no such queue)."""
    for state in states:
        if state.name == f"{RPC_QUEUE_PREFIX}{service}":
            return state.consumers
    return None


def queue_row(queue: QueueState) -> dict[str, Any]:
    """A queue as both status reports give it."""
    return {
        "name": queue.name,
        "service": queue.service,
        "messages": queue.messages,
        "ready": queue.ready,
        "unacked": queue.unacked,
        "consumers": queue.consumers,
        "publish_rate": queue.publish_rate,
        "deliver_rate": queue.deliver_rate,
    }


@dataclass
class BrokerView:
    """The broker's figures, or (``queues`` None) why there are none (``problems``)."""

    queues: list[QueueState] | None = None
    problems: list[str] = field(default_factory=list)

    def instances(self, service: str) -> int | None:
        """Instances consuming ``service``'s RPC queue; None when not known."""
        return None if self.queues is None else rpc_consumers(self.queues, service)

    def queue_rows(self) -> list[dict[str, Any]] | None:
        """Every queue but the dead-letter queues: ``{name, service, messages, ready,
        unacked, consumers, publish_rate, deliver_rate}`` (rates in messages/s)."""
        if self.queues is None:
            return None
        return [queue_row(q) for q in self.queues if not q.is_dead_letters]

    def dead_letter_queues(self) -> list[QueueState] | None:
        return None if self.queues is None else [q for q in self.queues if q.is_dead_letters]

    def dead_letter_rows(self) -> list[dict[str, Any]] | None:
        """Each dead-letter queue and the letters in it (0 too): ``{queue, service, messages}``."""
        dead = self.dead_letter_queues()
        if dead is None:
            return None
        return [{"queue": q.name, "service": q.service, "messages": q.messages} for q in dead]


def look_at_broker(
    config: Config, as_amqp_user: bool = False, timeout: float = API_TIMEOUT
) -> BrokerView:
    """The queues of the library's vhost, or the problem that kept them from view.

    ``as_amqp_user``: log in as the user of ``AMQP_URI`` (the process's own broker
    user, e.g. the gateway's) rather than as ``RABBIT_MANAGEMENT_URI`` says."""
    try:
        management = str(config["RABBIT_MANAGEMENT_URI"])
        amqp = str(config["AMQP_URI"])
    except KeyError as missing:
        return BrokerView(problems=[f"no {missing.args[0]} in the config"])
    login = login_of(amqp) if as_amqp_user else None
    try:
        return BrokerView(read_queues(management, vhost_of(amqp), login, timeout))
    except ManagementUnavailable as error:
        return BrokerView(problems=[str(error)])
