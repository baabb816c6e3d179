"""Who may do what on the broker: one RabbitMQ user per service, and one per school system.

A service may publish only to its own events exchange (plus RPC and its dead
letters) and touch only its own queues; the gateway and the SIP2 server only make
and answer RPC calls (the gateway also lists the queues for its status page).
Written once here, applied by ``python -m shared.runtime.permissions`` (called by
infra/up.sh) through the management API, and proven by the tests.

Each other school system (student records, timetables, the district office) gets
a user of its own, ``ext.<system>``, made with its API key (``library keys create``
calls ``create_system_user``; ``library keys revoke`` calls ``delete_system_user``).
Its queues ``ext.<system>.<queue>`` are declared by the library, as the
administrator, when the user is made; the user may then only bind them to the
events exchanges it was given (``sources``) and read them. It has no configure
right at all: it declares no exchange and no queue (its client declares its queues
passively, which needs no right), deletes nothing, and publishes nowhere.

``python -m shared.runtime.permissions uri <user>`` prints the broker address from the
config logged in as that user: infra/services.sh starts each service with it.
``python -m shared.runtime.permissions system-user create|delete NAME ...`` makes or
removes a school system's user by hand (and for tests).

RabbitMQ checks, per resource name (its access-control table): *configure* to
declare (not passively) or delete it, *write* to publish to an exchange or bind a
queue (the queue side of a binding; the destination of an exchange-to-exchange
binding), *read* to consume from, get from or purge a queue, or bind to an
exchange (the exchange side). A passive declare needs no right. The names do not
say whether they are a queue's or an exchange's: a school system's write right on
its queue names would be a publish right on an exchange of the same name, so no
exchange is ever named ``ext.*`` (nobody but the administrator may configure one,
and ``create_system_user`` refuses to make a user while one exists).
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from logging import getLogger
from typing import Any
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import requests

from shared.config import SERVICES, Config, load_config
from shared.messaging.quorum_queues import QUORUM

_log = getLogger(__name__)

EVENT_EXCHANGES = "|".join(f"{service}\\.events" for service in SERVICES)
GATEWAY = "gateway"
CAMPUS_EXCHANGE = "library.events.by_campus"
"""Every source's events again, routed by headers: reading it reads every source."""

SYSTEM_USER_TEMPLATE = "ext.{}"
SYSTEM_QUEUE_TEMPLATE = "ext.{}.{}"
SYSTEM_PREFIX = "ext."
DEFAULT_QUEUES = ("events",)
SYSTEM_NAME = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,48}[a-z0-9])?$")
"""A school system's or queue's name: lower-case letters, digits and inner hyphens, no dot
(``ext.a.b`` must name system ``a``'s queue ``b``, never system ``a.b``'s)."""
SYSTEM_QUEUE_MAX_LENGTH = 100_000
"""Messages a school system's queue keeps; beyond, the oldest are dropped (the quorum
queue's ``drop-head``): a system that stops reading cannot fill the broker, and reads
what was dropped from the replay feed (a subscriber reads every gap from it)."""
RETIRED_USERS = ("external",)
"""Users from before that ``python -m shared.runtime.permissions`` deletes from the broker.

``external`` was shared by every school system: it could declare an ``ext.*``
exchange, bind another system's queue to it and publish forged events into it.
Each system now has a user of its own (``create_system_user``).
"""
MANAGEMENT_TIMEOUT = 10


class SystemUserRefused(ValueError):
    """Raised when a school system's name, queues or sources cannot be given a broker user."""


@dataclass(frozen=True)
class Permissions:
    configure: str
    write: str
    read: str


NO_RIGHTS = Permissions(configure="^$", write="^$", read="^$")


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


LIVE_QUEUES = r"gateway\.live\.[0-9a-f]+"
"""The live stream's queue of each gateway process (``services.gateway.live``)."""


def gateway_permissions() -> Permissions:
    """The gateway calls the services, answers its own health RPC and follows every
    source's events for the screens' live stream: it declares, binds and reads its own
    ``gateway.live.*`` queue, and declares (as every follower may: idempotent, the same
    definition) and reads the events exchanges; it publishes no event (its ``management``
    tag, ``USER_TAGS``, lets it list the queues, not touch them)."""
    own = f"{rpc_names(GATEWAY)}|{LIVE_QUEUES}"
    events = "|".join(f"{source}\\.events" for source in SERVICES)
    return Permissions(
        configure=f"^({own}|{events})$", write=f"^({own})$", read=f"^({own}|{events})$"
    )


SIP2 = "sip2"
"""The SIP2 server (services/sip2): the self-check kiosks' way in, like the gateway a
caller of the services that owns no events and no database."""


def rpc_client_permissions(user: str) -> Permissions:
    """A user that only calls the services and answers its own ``health`` RPC (the SIP2
    server): the RPC exchange, its request queue and its reply queues, nothing else. It
    follows no events, publishes none and has no dead letters."""
    own = rpc_names(user)
    return Permissions(configure=f"^({own})$", write=f"^({own})$", read=f"^({own})$")


USER_TAGS = {GATEWAY: "management"}
"""Management-plugin tags of the library's users. The gateway's status page lists the
vhost's queues (depths, consumers, dead letters: ``shared.runtime.status_report``),
which needs ``management``, the least tag there is: it reads the management API of its
own vhosts and changes nothing its AMQP rights above do not already allow (no
``monitoring``: it does not see other users' connections or other vhosts)."""


def tags_for(user: str) -> str:
    """The management tags of a library user named in RABBIT_USERS (none for most)."""
    return USER_TAGS.get(user, "")


def permissions_for(user: str) -> Permissions:
    """The rights of a library user named in RABBIT_USERS (a retired one has none)."""
    if user in RETIRED_USERS:
        return NO_RIGHTS
    if user == GATEWAY:
        return gateway_permissions()
    if user == SIP2:
        return rpc_client_permissions(SIP2)
    if user in SERVICES:
        return service_permissions(user)
    raise ValueError(f"no broker rights are written down for {user!r}")


# ------------------------------------------------------------ school systems


def system_user_name(system: str) -> str:
    """The broker user of school system ``system``: ``ext.<system>``."""
    return SYSTEM_USER_TEMPLATE.format(_checked_name("system", system))


def system_queue_name(system: str, queue: str) -> str:
    """School system ``system``'s queue ``queue``: ``ext.<system>.<queue>``."""
    return SYSTEM_QUEUE_TEMPLATE.format(
        _checked_name("system", system), _checked_name("queue", queue)
    )


def system_permissions(
    system: str, sources: Sequence[str], queues: Sequence[str] = DEFAULT_QUEUES
) -> Permissions:
    """What school system ``system`` may do: bind its own queues to the events exchanges of
    ``sources`` and read them; nothing else.

    * configure: nothing (``^$``). Its queues are the library's to declare and delete;
      its client declares them passively. So it declares no exchange, ever.
    * write: exactly its own queue names, the queue side of ``queue.bind`` (and of
      ``queue.unbind``). No exchange bears such a name, so it publishes nowhere: not to
      the library's exchanges, not to the default exchange (checked as ``amq.default``).
    * read: its own queues (consume, get, purge) and the exchange side of a binding:
      ``<source>.events`` for each of ``sources``, and ``library.events.by_campus``
      only when ``sources`` holds every source, since that exchange carries them all.

    Another system's queues match none of these. Raises ``SystemUserRefused`` for a
    name that is not ``SYSTEM_NAME``, no queue, or a source that is not a service.
    """
    names = _queue_names(system, queues)
    given = _checked_sources(sources)
    own = "|".join(re.escape(name) for name in names)
    exchanges = [re.escape(f"{source}.events") for source in given]
    if set(SERVICES) <= set(given):
        exchanges.append(re.escape(CAMPUS_EXCHANGE))
    return Permissions(
        configure="^$",
        write=f"^({own})$",
        read=f"^({'|'.join([own, *exchanges])})$",
    )


def create_system_user(
    management_uri: str,
    vhost: str,
    system: str,
    password: str,
    sources: Sequence[str],
    queues: Sequence[str] = DEFAULT_QUEUES,
) -> str:
    """Make (or update) school system ``system``'s broker user and its queues; return the
    user's name (``ext.<system>``).

    ``sources`` are the services whose ``<service>.events`` exchange it may read; the
    caller decides which (circulation, activities and accounts name people: their
    events need a right of their own, ``events.personal``). ``queues`` are its queues'
    short names: each becomes ``ext.<system>.<queue>``, a durable quorum queue of at
    most ``SYSTEM_QUEUE_MAX_LENGTH`` messages, declared here as the administrator
    (``management_uri`` carries the administrator's login). A queue of the system's
    that is no longer listed is deleted; the others keep their messages and
    bindings. Idempotent: calling it again changes the password and rights.

    Raises ``SystemUserRefused`` for a bad name, queue or source, or when an exchange
    is named like one of its queues (its write right would be a publish right on it);
    ``requests.HTTPError`` when the management API refuses.
    """
    rights = system_permissions(system, sources, queues)
    names = _queue_names(system, queues)
    if not password:
        raise SystemUserRefused("a school system's broker user needs a password")
    api = Management(management_uri)
    for name in names:
        if api.get(f"exchanges/{_q(vhost)}/{_q(name)}").status_code != 404:
            raise SystemUserRefused(
                f"an exchange is named {name!r}: {system}'s write right on its queue of "
                "that name would let it publish to it; delete that exchange first"
            )
    user = system_user_name(system)
    api.put(f"users/{_q(user)}", {"password": password, "tags": ""})
    api.put(
        f"permissions/{_q(vhost)}/{_q(user)}",
        {"configure": rights.configure, "write": rights.write, "read": rights.read},
    )
    arguments = {**QUORUM, "x-max-length": SYSTEM_QUEUE_MAX_LENGTH}
    for name in names:
        api.put(
            f"queues/{_q(vhost)}/{_q(name)}",
            {"durable": True, "auto_delete": False, "arguments": arguments},
        )
    for stale in set(system_queues(management_uri, vhost, system)) - set(names):
        api.delete(f"queues/{_q(vhost)}/{_q(stale)}")
    _log.info("school system %s: user %s, queues %s, reads %s", system, user, names, sources)
    return user


def delete_system_user(management_uri: str, vhost: str, system: str) -> list[str]:
    """Delete school system ``system``'s broker user and every queue ``ext.<system>.*`` on
    ``vhost``; return the queues deleted.

    RabbitMQ closes the connections of a deleted user, and deleting a queue cancels its
    consumers: the system is cut off at once. Deleting what is already gone is not
    an error.
    """
    user = system_user_name(system)
    api = Management(management_uri)
    api.delete(f"users/{_q(user)}")
    deleted = system_queues(management_uri, vhost, system)
    for name in deleted:
        api.delete(f"queues/{_q(vhost)}/{_q(name)}")
    _log.info("school system %s: user %s and queues %s deleted", system, user, deleted)
    return deleted


def system_queues(management_uri: str, vhost: str, system: str) -> list[str]:
    """The names of the queues of school system ``system`` on ``vhost`` (``ext.<system>.*``)."""
    prefix = f"{system_user_name(system)}."
    answer = Management(management_uri).get(
        f"queues/{_q(vhost)}", params={"columns": "name"}, expect=(200, 404)
    )
    listed = answer.json() if answer.status_code == 200 else []
    return sorted(queue["name"] for queue in listed if queue["name"].startswith(prefix))


def _checked_name(kind: str, name: str) -> str:
    if not isinstance(name, str) or not SYSTEM_NAME.fullmatch(name):
        raise SystemUserRefused(
            f"{kind} name {name!r}: use 1 to 50 lower-case letters, digits and inner hyphens"
        )
    return name


def _queue_names(system: str, queues: Sequence[str]) -> list[str]:
    if isinstance(queues, str) or not queues:
        raise SystemUserRefused("a school system needs at least one queue (a list of names)")
    return sorted({system_queue_name(system, queue) for queue in queues})


def _checked_sources(sources: Sequence[str]) -> list[str]:
    if isinstance(sources, str):
        raise SystemUserRefused("sources is a list of service names, not one string")
    unknown = sorted(set(sources) - set(SERVICES))
    if unknown:
        raise SystemUserRefused(f"no such source {unknown}: the sources are {list(SERVICES)}")
    return sorted(set(sources))


# ------------------------------------------------------------ the management API


class Management:
    """The RabbitMQ management API at ``management_uri`` (its login in the URI)."""

    def __init__(self, management_uri: str) -> None:
        parts = urlsplit(management_uri)
        netloc = parts.hostname + (f":{parts.port}" if parts.port else "")
        self.base = urlunsplit(parts._replace(netloc=netloc, path="")).rstrip("/") + "/api/"
        self.auth = (unquote(parts.username or ""), unquote(parts.password or ""))

    def get(
        self, path: str, params: dict[str, str] | None = None, expect: tuple[int, ...] = ()
    ) -> requests.Response:
        answer = requests.get(
            self.base + path, params=params, auth=self.auth, timeout=MANAGEMENT_TIMEOUT
        )
        if expect and answer.status_code not in expect:
            answer.raise_for_status()
        return answer

    def put(self, path: str, body: dict[str, Any]) -> None:
        answer = requests.put(
            self.base + path, json=body, auth=self.auth, timeout=MANAGEMENT_TIMEOUT
        )
        answer.raise_for_status()

    def delete(self, path: str) -> bool:
        """Delete ``path``; False when it was not there."""
        answer = requests.delete(self.base + path, auth=self.auth, timeout=MANAGEMENT_TIMEOUT)
        if answer.status_code == 404:
            return False
        answer.raise_for_status()
        return True


def _q(name: str) -> str:
    return quote(name, safe="")


def apply(
    management_uri: str, vhost: str, passwords: dict[str, str], suffix: str = ""
) -> dict[str, str]:
    """Create or update each user (named ``<user><suffix>``) with its rights on ``vhost``;
    a retired user (``RETIRED_USERS``) is deleted instead.

    Returns the user names created, by role.
    """
    api = Management(management_uri)
    names = {}
    for role, password in passwords.items():
        name = f"{role}{suffix}"
        if role in RETIRED_USERS:
            if api.delete(f"users/{_q(name)}"):
                _log.info("deleted the retired broker user %s", name)
            continue
        rights = permissions_for(role)
        api.put(f"users/{_q(name)}", {"password": password, "tags": tags_for(role)})
        api.put(
            f"permissions/{_q(vhost)}/{_q(name)}",
            {"configure": rights.configure, "write": rights.write, "read": rights.read},
        )
        names[role] = name
    return names


def retire_users(management_uri: str, users: Sequence[str] = RETIRED_USERS) -> list[str]:
    """Delete the retired users still on the broker; return those deleted."""
    api = Management(management_uri)
    return [user for user in users if api.delete(f"users/{_q(user)}")]


def vhost_of(amqp_uri: str) -> str:
    """The virtual host an AMQP URI names (``/`` when it names none, as kombu reads it);
    of the first one, when it lists several brokers (``;``-separated, kombu's failover)."""
    path = urlsplit(amqp_uri.split(";")[0].strip()).path
    return unquote(path[1:]) if len(path) > 1 else "/"


def amqp_uri_as(amqp_uri: str, user: str, password: str, vhost: str | None = None) -> str:
    """``amqp_uri`` (its hosts, ports and virtual host unless ``vhost`` is given) logged in
    as ``user`` with ``password``; every node of a ``;``-separated cluster list gets the
    login, so that failover keeps working."""
    login = f"{quote(user, safe='')}:{quote(password, safe='')}"

    def as_user(uri: str) -> str:
        parts = urlsplit(uri.strip())
        host = f"[{parts.hostname}]" if ":" in (parts.hostname or "") else parts.hostname
        netloc = f"{login}@{host}:{parts.port or 5672}"
        path = parts.path if vhost is None else "/" + quote(vhost, safe="")
        return urlunsplit(parts._replace(netloc=netloc, path=path))

    return ";".join(as_user(uri) for uri in str(amqp_uri).split(";") if uri.strip())


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
    return amqp_uri_as(str(config["AMQP_URI"]), user, password, vhost)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m shared.runtime.permissions",
        description="apply the library's broker users and rights (no command), print a "
        "user's broker address, or make or remove a school system's user",
    )
    commands = parser.add_subparsers(dest="command")
    uri = commands.add_parser("uri", help="the broker address logged in as a library user")
    uri.add_argument("user")
    system = commands.add_parser("system-user", help="a school system's own broker user")
    actions = system.add_subparsers(dest="action", required=True)
    create = actions.add_parser("create", help="make it (or update it) and its queues")
    create.add_argument("name", help="the school system: lower-case letters, digits, hyphens")
    create.add_argument(
        "--sources", required=True, help="comma-separated services whose events it may read"
    )
    create.add_argument("--queues", default=",".join(DEFAULT_QUEUES), help="its queues' names")
    create.add_argument(
        "--password",
        default=os.environ.get("SYSTEM_AMQP_PASSWORD", ""),
        help="default: SYSTEM_AMQP_PASSWORD, or a new random one (printed)",
    )
    delete = actions.add_parser("delete", help="delete it and its queues")
    delete.add_argument("name")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(sys.argv[1:] if argv is None else argv)
    config = load_config()
    vhost = vhost_of(config["AMQP_URI"])
    management_uri = config["RABBIT_MANAGEMENT_URI"]
    try:
        if args.command == "uri":
            print(amqp_uri_for(config, args.user))
        elif args.command == "system-user" and args.action == "create":
            password = args.password or secrets.token_urlsafe(24)
            sources = [source for source in args.sources.split(",") if source]
            queues = [queue for queue in args.queues.split(",") if queue]
            user = create_system_user(management_uri, vhost, args.name, password, sources, queues)
            print(f"user: {user}")
            print(f"amqp: {amqp_uri_as(config['AMQP_URI'], user, password)}")
            for queue in queues:
                print(f"queue: {system_queue_name(args.name, queue)}")
        elif args.command == "system-user":
            deleted = delete_system_user(management_uri, vhost, args.name)
            print(f"deleted {system_user_name(args.name)} and {len(deleted)} queue(s)")
        else:
            names = apply(management_uri, vhost, dict(config["RABBIT_USERS"]))
            retired = retire_users(management_uri)
            print(f"[permissions] users with their rights on '{vhost}': {', '.join(sorted(names))}")
            if retired:
                print(f"[permissions] deleted retired users: {', '.join(retired)}")
    except ValueError as error:  # SystemUserRefused, or a user without a password
        print(f"[permissions] {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
