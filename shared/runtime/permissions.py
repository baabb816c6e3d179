"""Who may do what on the broker: one RabbitMQ user per service, and ``external``.

A service may publish only to its own events exchange (plus RPC and its dead
letters) and touch only its own queues; the gateway only makes and answers RPC
calls; the ``external`` user, for other school systems, may declare, bind and
read its own ``ext.*`` queues and read the events exchanges, and publish nothing
anywhere. Written once here, applied by ``python -m shared.runtime.permissions`` (called
by infra/up.sh) through the management API, and proven by the tests.

``python -m shared.runtime.permissions uri <user>`` prints the broker address from the
config logged in as that user: infra/services.sh starts each service with it.

RabbitMQ checks, per resource name: *configure* to declare or delete it,
*write* to publish to an exchange or bind a queue (the queue side of a
binding), *read* to consume from a queue or bind to an exchange (the exchange
side of a binding).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import requests

from shared.config import SERVICES, Config, load_config

EVENT_EXCHANGES = "|".join(f"{service}\\.events" for service in SERVICES)
GATEWAY = "gateway"
EXTERNAL = "external"


@dataclass(frozen=True)
class Permissions:
    configure: str
    write: str
    read: str


def rpc_names(user: str) -> str:
    """nameko RPC as ``user``: the RPC exchange (requests and replies both go through it),
    its own request queue ``rpc-<user>`` and its own reply queues ``rpc.reply-<user>-<uuid>``.

    Not another service's request queue: reading it would be answering in its name.
    """
    return f"nameko-rpc|rpc-{user}|rpc\\.reply-{user}-.*"


def follows(service: str) -> list[str]:
    """The sources ``service`` subscribes to, read from its ``@subscribe`` entrypoints."""
    from shared.runtime.topology import subscriptions

    return sorted(set(subscriptions(service)))


def service_permissions(service: str, sources: list[str] | None = None) -> Permissions:
    """A service: its RPC, its own events exchange, its consumer and dead-letter queues
    (``<service>.from.<source>`` and ``<service>.from.<source>.dlq``)."""
    sources = follows(service) if sources is None else sources
    followed = "|".join(f"{source}\\.events" for source in sources) or "(?!)"
    queues = f"{service}\\.from\\..*"
    return Permissions(
        # Starting, a service declares (idempotently) its exchange, its queues, the
        # dead-letter exchange, and the exchange of each source it follows (with the
        # queue bound to it). Not another source's exchange: configure lets delete it.
        configure=f"^({rpc_names(service)}|{service}\\.events|{queues}|library\\.dlx|{followed})$",
        # Publishing: its own events, RPC requests and replies, dead letters; binding
        # its queues (a queue declared with x-dead-letter-exchange needs write on it).
        write=f"^({rpc_names(service)}|{service}\\.events|{queues}|library\\.dlx)$",
        # Consuming its queues; binding them to the followed exchanges and library.dlx.
        read=f"^({rpc_names(service)}|{queues}|library\\.dlx|{followed})$",
    )


def gateway_permissions() -> Permissions:
    """The gateway calls the services and answers its own health RPC: nothing else."""
    names = f"^({rpc_names(GATEWAY)})$"
    return Permissions(configure=names, write=names, read=names)


EXTERNAL_PERMISSIONS = Permissions(
    configure=r"^ext\..*$",
    write=r"^ext\..*$",  # binding its own queues; no exchange is writable
    read=f"^(ext\\..*|{EVENT_EXCHANGES}|library\\.events\\.by_campus)$",
)


def permissions_for(user: str) -> Permissions:
    if user == EXTERNAL:
        return EXTERNAL_PERMISSIONS
    if user == GATEWAY:
        return gateway_permissions()
    if user in SERVICES:
        return service_permissions(user)
    raise ValueError(f"no broker rights are written down for {user!r}")


def apply(
    management_uri: str, vhost: str, passwords: dict[str, str], suffix: str = ""
) -> dict[str, str]:
    """Create or update each user (named ``<user><suffix>``) with its rights on ``vhost``.

    Returns the user names created, by role.
    """
    parts = urlsplit(management_uri)
    base = urlunsplit(
        parts._replace(netloc=parts.hostname + (f":{parts.port}" if parts.port else ""), path="")
    ).rstrip("/")
    auth = (parts.username or "", parts.password or "")
    names = {}
    for role, password in passwords.items():
        name = f"{role}{suffix}"
        rights = permissions_for(role)
        response = requests.put(
            f"{base}/api/users/{quote(name, safe='')}",
            auth=auth,
            timeout=10,
            json={"password": password, "tags": ""},
        )
        response.raise_for_status()
        response = requests.put(
            f"{base}/api/permissions/{quote(vhost, safe='')}/{quote(name, safe='')}",
            auth=auth,
            timeout=10,
            json={"configure": rights.configure, "write": rights.write, "read": rights.read},
        )
        response.raise_for_status()
        names[role] = name
    return names


def vhost_of(amqp_uri: str) -> str:
    """The virtual host an AMQP URI names (``/`` when it names none, as kombu reads it);
    of the first one, when it lists several brokers (``;``-separated, kombu's failover)."""
    path = urlsplit(amqp_uri.split(";")[0].strip()).path
    return unquote(path[1:]) if len(path) > 1 else "/"


def amqp_uri_for(config: Config, user: str, vhost: str | None = None) -> str:
    """The broker address from the config (its hosts, ports and virtual host unless
    ``vhost`` is given), logged in as ``user`` with its password from RABBIT_USERS.

    An AMQP_URI listing several cluster nodes (``;``-separated) gives them all, each
    with ``user``'s login, so that failover keeps working.
    """
    try:
        password = str(config["RABBIT_USERS"][user])
    except KeyError:
        raise ValueError(f"no RABBIT_USERS.{user} (its password) in the config") from None
    login = f"{quote(user, safe='')}:{quote(password, safe='')}"

    def as_user(uri: str) -> str:
        parts = urlsplit(uri.strip())
        host = f"[{parts.hostname}]" if ":" in (parts.hostname or "") else parts.hostname
        netloc = f"{login}@{host}:{parts.port or 5672}"
        path = parts.path if vhost is None else "/" + quote(vhost, safe="")
        return urlunsplit(parts._replace(netloc=netloc, path=path))

    return ";".join(as_user(uri) for uri in str(config["AMQP_URI"]).split(";") if uri.strip())


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    config = load_config()
    if argv[:1] == ["uri"] and len(argv) == 2:
        try:
            print(amqp_uri_for(config, argv[1]))
        except ValueError as error:
            print(f"[permissions] {error}", file=sys.stderr)
            return 1
        return 0
    if argv:
        print("usage: python -m shared.runtime.permissions [uri <user>]", file=sys.stderr)
        return 2
    vhost = vhost_of(config["AMQP_URI"])
    names = apply(config["RABBIT_MANAGEMENT_URI"], vhost, dict(config["RABBIT_USERS"]))
    print(f"[permissions] users with their rights on '{vhost}': {', '.join(sorted(names))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
