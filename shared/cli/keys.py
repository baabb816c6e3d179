"""``library keys create|list|revoke``: API keys for machine clients, with their broker login.

A key is made here, on the library's host (the operator's console): its secret
is drawn here, handed to the accounts service (which keeps only its hash) and
printed once. A key that may read events also gets its own RabbitMQ user, named
after it, whose queues are ``ext.<name>.*`` and who may read only the event
exchanges its rights allow (``shared.runtime.permissions``). Revoking the key
deletes that user and its queues.
"""

from __future__ import annotations

import secrets
import uuid
from typing import Any

from shared.cli.errors import UsageError
from shared.cli.rpc import Services
from shared.config import Config
from shared.runtime.rights import KEY_RIGHTS

KEY_PREFIX = "k."  # services/accounts/credentials.KEY_PREFIX: the gateway tells keys by it
FEED_RIGHTS = {"events.read", "events.personal"}


def rights_of(text: str) -> list[str]:
    """``events.read,events.personal`` as a list; ``UsageError`` naming an unknown right."""
    rights = sorted({right.strip() for right in text.split(",") if right.strip()})
    unknown = [right for right in rights if right not in KEY_RIGHTS]
    if unknown or not rights:
        raise UsageError(
            f"unknown right(s): {', '.join(unknown) or '(none given)'}; "
            f"a key may have: {', '.join(sorted(KEY_RIGHTS))}"
        )
    return rights


def sources_for(rights: list[str]) -> list[str]:
    """The event exchanges a key's broker user may read: personal ones need their right."""
    from shared.config import SERVICES
    from shared.events import CATALOGUE

    personal = set(CATALOGUE.personal_sources())
    if "events.personal" in rights:
        return list(SERVICES)
    return [service for service in SERVICES if service not in personal]


def create(config: Config, name: str, rights: list[str], timeout: float) -> dict[str, Any]:
    """Make the key (and its broker user when it reads events); the secrets, once."""
    from shared.runtime import permissions

    if FEED_RIGHTS & set(rights):  # its broker user is named after it: check before making it
        try:
            permissions.system_user_name(name)
        except permissions.SystemUserRefused as error:
            raise UsageError(f"{error} (a key that reads events names a broker user)") from None
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    with Services(config, timeout=timeout) as rpc:
        key = rpc.call(
            "accounts",
            "create_key",
            {"command_id": str(uuid.uuid4()), "name": name, "rights": rights, "secret": secret},
        )
    made = {**key, "api_key": secret}
    if FEED_RIGHTS & set(rights):
        password = secrets.token_urlsafe(24)
        sources = sources_for(rights)
        user = permissions.create_system_user(
            config["RABBIT_MANAGEMENT_URI"],
            permissions.vhost_of(config["AMQP_URI"]),
            name,
            password,
            sources,
        )
        made["broker"] = {
            "user": user,
            "amqp_uri": permissions.amqp_uri_as(config["AMQP_URI"], user, password),
            "queues": [
                permissions.system_queue_name(name, queue) for queue in permissions.DEFAULT_QUEUES
            ],
            "exchanges": [f"{source}.events" for source in sources],
        }
    return made


def listing(config: Config, timeout: float) -> list[dict[str, Any]]:
    with Services(config, timeout=timeout) as rpc:
        return rpc.call("accounts", "keys")


def revoke(config: Config, name: str, timeout: float) -> dict[str, Any]:
    """Stop the key for good, and remove its broker user and queues."""
    from shared.runtime import permissions

    with Services(config, timeout=timeout) as rpc:
        key = rpc.call("accounts", "revoke_key", {"command_id": str(uuid.uuid4()), "name": name})
    permissions.delete_system_user(
        config["RABBIT_MANAGEMENT_URI"], permissions.vhost_of(config["AMQP_URI"]), name
    )
    return key
