"""Who may do what on the broker: one RabbitMQ user per service, and ``external``.

Services may publish only to their own events exchange (plus RPC and dead
letters); the ``external`` user, for other school systems, may declare, bind
and read its own ``ext.*`` queues and read the events exchanges, and publish
nothing anywhere. Written once here, applied by ``python -m shared.permissions``
(called by infra/up.sh) through the management API, and proven by the tests.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from urllib.parse import quote, urlsplit, urlunsplit

import requests

from shared.config import SERVICES, Config, load_config

EVENT_EXCHANGES = "|".join(f"{service}\\.events" for service in SERVICES)
RPC = r"nameko-rpc|rpc-.*|rpc\.reply-.*"


@dataclass(frozen=True)
class Permissions:
    configure: str
    write: str
    read: str


def service_permissions(service: str) -> Permissions:
    """A service: its RPC, its own events exchange, its consumer and dead-letter queues."""
    own = f"{service}\\.events|{service}\\.from\\..*|library\\.dlx|.*\\.dlq"
    return Permissions(
        # Declaring a consumer queue declares (idempotently) the source's exchange too.
        configure=f"^({RPC}|{own}|{EVENT_EXCHANGES}|library\\.events\\.by_campus)$",
        write=f"^({RPC}|{own})$",
        read=".*",
    )


EXTERNAL = Permissions(
    configure=r"^ext\..*$",
    write=r"^ext\..*$",  # binding its own queues; no exchange is writable
    read=f"^(ext\\..*|{EVENT_EXCHANGES}|library\\.events\\.by_campus)$",
)


def permissions_for(user: str) -> Permissions:
    return EXTERNAL if user == "external" else service_permissions(user)


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


def amqp_uri_for(config: Config, user: str, vhost: str = "/") -> str:
    """The broker address from the config, logged in as ``user``."""
    parts = urlsplit(config["AMQP_URI"])
    password = config["RABBIT_USERS"][user]
    netloc = (
        f"{quote(user, safe='')}:{quote(password, safe='')}@{parts.hostname}:{parts.port or 5672}"
    )
    return urlunsplit(parts._replace(netloc=netloc, path="/" + quote(vhost, safe="")))


def main() -> int:
    config = load_config()
    names = apply(config["RABBIT_MANAGEMENT_URI"], "/", dict(config["RABBIT_USERS"]))
    print(f"[permissions] users with their rights on '/': {', '.join(sorted(names))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
