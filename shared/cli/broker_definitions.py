"""The broker's side of a backup: the definitions of the library's virtual host
(exchanges, queues, bindings, policies), read from and loaded into RabbitMQ's management
API, and the subscriber queues a restore empties.

``GET /api/definitions/<vhost>`` is what ``library backup`` keeps; ``POST`` of the same
document is what ``library restore --broker`` does (RabbitMQ adds what is missing and
leaves what is there). Users are not in a virtual host's definitions: the services'
users are made by ``infra/up.sh`` from the config, other systems' by ``library keys``.
On a cluster the first node of ``RABBIT_MANAGEMENT_URI`` that answers is asked.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from shared.cli.errors import CommandFailed, Unreachable
from shared.config import Config, addresses, amqp_uri
from shared.runtime.status_report import vhost_of

TIMEOUT = 10.0


def _nodes(config: Config) -> list[tuple[str, tuple[str, str] | None]]:
    """Each management node's base URL without its login, and the login."""
    try:
        uri = str(config["RABBIT_MANAGEMENT_URI"])
    except KeyError:
        raise Unreachable("no RABBIT_MANAGEMENT_URI in the config") from None
    nodes = []
    for address in addresses(uri):
        parts = urlsplit(address)
        login = (unquote(parts.username), unquote(parts.password or "")) if parts.username else None
        host = parts.hostname or ""
        if parts.port is not None:
            host = f"{host}:{parts.port}"
        nodes.append((urlunsplit(parts._replace(netloc=host)).rstrip("/"), login))
    return nodes


def _call(config: Config, method: str, path: str, body: Any = None) -> Any:
    import requests

    problems = []
    for base, login in _nodes(config):
        try:
            answer = requests.request(method, base + path, json=body, auth=login, timeout=TIMEOUT)
        except requests.RequestException as error:
            problems.append(f"{base}: {type(error).__name__}")
            continue
        if answer.status_code >= 400:
            raise CommandFailed(f"RabbitMQ answered {answer.status_code} to {method} {path}")
        return answer.json() if answer.content else None
    raise Unreachable(f"RabbitMQ's management API cannot be reached ({'; '.join(problems)})")


def vhost(config: Config) -> str:
    return vhost_of(amqp_uri(config))


def export(config: Config) -> dict[str, Any]:
    """The definitions of the config's virtual host, as RabbitMQ gives them."""
    return _call(config, "GET", f"/api/definitions/{quote(vhost(config), safe='')}")


def load(config: Config, definitions: dict[str, Any]) -> None:
    """Load definitions into the config's virtual host (what is missing is added)."""
    _call(config, "POST", f"/api/definitions/{quote(vhost(config), safe='')}", definitions)


def purge_followers(config: Config, sources: list[str]) -> list[str]:
    """Empty every subscriber queue of ``sources`` (``<service>.from.<source>``); their names.

    After a restore they may hold events published after the backup, which the restored
    store no longer has: applied, they would be read models of events that never were.
    The relay publishes again from its restored progress; dead letters are kept.
    """
    from shared.messaging.names import SUBSCRIBER_QUEUE_TEMPLATE

    where = quote(vhost(config), safe="")
    names = {queue["name"] for queue in _call(config, "GET", f"/api/queues/{where}")}
    suffixes = tuple(SUBSCRIBER_QUEUE_TEMPLATE.format("", source) for source in sources)
    emptied = sorted(name for name in names if name.endswith(suffixes))
    for name in emptied:
        _call(config, "DELETE", f"/api/queues/{where}/{quote(name, safe='')}/contents")
    return emptied
