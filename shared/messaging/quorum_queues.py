"""Which queues are quorum queues, and converting a broker's queues from one type to the other.

On a cluster (``AMQP_URI`` names several nodes) the services' queues are quorum
queues, replicated on a majority of the nodes, so they outlive a node. On a single
broker there is nothing to replicate to: a quorum queue there still writes every
message to its Raft log and waits for it before confirming, for nothing, so the
queues are classic (durable) ones. ``quorum_wanted`` decides, from the number of
addresses; ``LIBRARY_QUEUE_TYPE=quorum`` (or ``classic``) in the environment
overrides it, e.g. for a cluster reached through one load-balanced address.

A queue's type cannot change: declaring a queue of one type where one of the other
exists fails with ``PRECONDITION_FAILED`` (and closes the channel). ``declare``
then converts it, keeping every message:

1. a broker-side lock: an exclusive queue ``<name>.migration-lock`` (a second
   process converting the same queue gets ``RESOURCE_LOCKED`` and waits; the lock
   goes with its connection, so a crashed converter leaves none behind);
2. a holding queue ``<name>.migrating`` of the new type with the same binding, so
   that what the exchange routes meanwhile is kept;
3. the old queue's messages moved into it (get, publish with confirms and
   ``mandatory``, ack), then the old queue deleted: a classic one once it is empty
   and unused (``if-empty``, ``if-unused``); a quorum one takes neither, so it is
   unbound first (nothing reaches it any more), emptied, and deleted if it still
   has no consumer;
4. the queue declared with its new type and bound, the holding queue unbound,
   emptied into it and deleted.

A queue that has consumers is left alone (``QueueInUse``): its service instances
are from before, stop them first. A user without the rights to convert it (a
service's own user may not publish to the default exchange, nor declare
``rpc-<service>.migrating``) gets ``CannotConvert``: ``python -m shared.runtime.topology``
as the administrator (as infra/up.sh runs it) converts everything. Messages may
change order, which every consumer here tolerates (redelivery reorders them anyway).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from logging import getLogger
from typing import Any

import amqp.exceptions
from kombu import Connection, Queue

from shared.config import addresses

# The queue argument that makes a queue a quorum queue (replicated on a cluster's nodes).
QUORUM = {"x-queue-type": "quorum"}
# quorum or classic: the services' queues of that type whatever the number of nodes.
QUEUE_TYPE_ENV = "LIBRARY_QUEUE_TYPE"

_log = getLogger(__name__)

LOCK_TEMPLATE = "{}.migration-lock"
HOLDING_TEMPLATE = "{}.migrating"
LOCK_TIMEOUT = 60.0
LOCK_RETRY = 0.2


class CannotConvert(RuntimeError):
    """Raised when a queue cannot be given its other type now."""


class QueueInUse(CannotConvert):
    """Raised when a queue to convert has consumers (instances from before)."""


def quorum_wanted(uri: str) -> bool:
    """Whether the services' queues on the broker at ``uri`` are quorum queues: on a
    cluster (several addresses) yes, on a single broker no; ``LIBRARY_QUEUE_TYPE`` decides
    when set."""
    chosen = os.environ.get(QUEUE_TYPE_ENV, "").strip().lower()
    if chosen in ("quorum", "classic"):
        return chosen == "quorum"
    return len(addresses(uri)) > 1


def quorum_for(connection: Connection) -> bool:
    """``quorum_wanted`` for the broker ``connection`` was made to (its address list)."""
    return quorum_wanted(";".join(connection.alt) or connection.as_uri())


def queue_type(quorum: bool) -> dict[str, str]:
    """The queue arguments that give a queue its type (none for a classic queue)."""
    return dict(QUORUM) if quorum else {}


def is_quorum(queue: Queue) -> bool:
    return (queue.queue_arguments or {}).get("x-queue-type") == "quorum"


def type_name(queue: Queue) -> str:
    return "quorum" if is_quorum(queue) else "classic"


def is_type_mismatch(error: BaseException) -> bool:
    return isinstance(error, amqp.exceptions.PreconditionFailed) and "x-queue-type" in str(error)


def declare(connection: Connection, queue: Queue) -> Queue:
    """Declare ``queue`` (and its binding); a queue of that name of the other type is
    converted first.

    Returns ``queue``. Raises ``QueueInUse`` when the classic queue has consumers,
    ``CannotConvert`` when this user may not convert it.
    """
    # every node of a cluster's address list once, not just the first two
    connection.ensure_connection(max_retries=max(1, len(connection.alt) - 1))
    try:
        _declare(connection, queue)
        return queue
    except amqp.exceptions.PreconditionFailed as error:
        if not is_type_mismatch(error):
            raise
    try:
        convert(connection, queue)
    except amqp.exceptions.AccessRefused as error:
        raise CannotConvert(
            f"{queue.name} is not a {type_name(queue)} queue and this user may not convert it "
            f"({error}): run python -m shared.runtime.topology as the administrator"
        ) from error
    return queue


def convert(connection: Connection, queue: Queue) -> int:
    """Make ``queue`` (declared with its type) replace the queue of its name of the other
    type; returns how many messages were carried over.

    Stopped half-way (a lost connection, refused rights) it is safe to run again: the
    holding queue keeps what it took and the next run empties it into the new queue.
    """
    with _locked(connection, queue.name):
        try:
            _declare(connection, queue)
            return 0  # another process converted it while we waited for the lock
        except amqp.exceptions.PreconditionFailed as error:
            if not is_type_mismatch(error):
                raise
        consumers = _consumers(connection, queue.name)
        if consumers:
            raise QueueInUse(
                f"{queue.name} is not a {type_name(queue)} queue and has {consumers} "
                "consumer(s), instances from before: stop them, then start the services "
                "again (or run python -m shared.runtime.topology)"
            )
        holding = _holding(queue)
        _declare(connection, holding)
        if is_quorum(queue):
            moved = _retire_classic(connection, queue.name, holding.name)
        else:
            moved = _retire_quorum(connection, queue, holding.name)
        _declare(connection, queue)
        _unbind(connection, holding)  # from here on nothing reaches it
        while _move(connection, holding.name, queue.name) or _depth(connection, holding.name):
            pass
        _delete(connection, holding.name)
    _log.warning(
        "%s is a %s queue now (%d messages carried over)", queue.name, type_name(queue), moved
    )
    return moved


def _retire_classic(connection: Connection, name: str, holding: str) -> int:
    """Empty the classic queue ``name`` into ``holding`` and delete it once empty and unused."""
    moved = 0
    while True:
        moved += _move(connection, name, holding)
        if _delete_if_idle(connection, name):
            return moved


def _retire_quorum(connection: Connection, queue: Queue, holding: str) -> int:
    """Unbind the quorum queue of ``queue``'s name (it takes no if-empty delete), empty it
    into ``holding`` and delete it; bound again and ``QueueInUse`` if a consumer came."""
    _unbind(connection, queue)  # its binding is the new queue's: the same exchange and key
    moved = 0
    while True:
        moved += _move(connection, queue.name, holding)
        if not _depth(connection, queue.name):
            break
    consumers = _consumers(connection, queue.name)
    if consumers:
        _bind(connection, queue)
        raise QueueInUse(f"{queue.name} got a consumer while it was being converted")
    _delete(connection, queue.name)
    return moved


def _holding(queue: Queue) -> Queue:
    return Queue(
        HOLDING_TEMPLATE.format(queue.name),
        exchange=queue.exchange,
        routing_key=queue.routing_key,
        binding_arguments=queue.binding_arguments,
        bindings=queue.bindings,
        durable=True,
        queue_arguments=queue_type(is_quorum(queue)),
    )


@contextmanager
def _channel(connection: Connection) -> Iterator[Any]:
    channel = connection.channel()
    try:
        yield channel
    finally:
        try:
            channel.close()
        except Exception:  # already closed by a channel error
            _log.debug("closing a channel", exc_info=True)


def _declare(connection: Connection, queue: Queue) -> None:
    with _channel(connection) as channel:
        queue(channel).declare()


def _consumers(connection: Connection, name: str) -> int:
    with _channel(connection) as channel:
        return channel.queue_declare(name, passive=True).consumer_count


def _depth(connection: Connection, name: str) -> int:
    with _channel(connection) as channel:
        return channel.queue_declare(name, passive=True).message_count


def _delete(connection: Connection, name: str) -> None:
    """Delete a queue whatever is in it (quorum queues take neither if-empty nor if-unused)."""
    with _channel(connection) as channel:
        channel.queue_delete(name)


def _unbind(connection: Connection, queue: Queue) -> None:
    _binding(connection, queue, "queue_unbind")


def _bind(connection: Connection, queue: Queue) -> None:
    _binding(connection, queue, "queue_bind")


def _binding(connection: Connection, queue: Queue, method: str) -> None:
    """Bind or unbind ``queue`` to its exchange as declared, and to each of its
    ``bindings`` (a queue of neither: nothing)."""
    routes = [
        (route.exchange, route.routing_key, route.arguments) for route in queue.bindings or ()
    ]
    if queue.exchange is not None and queue.exchange.name:
        routes.insert(0, (queue.exchange, queue.routing_key, queue.binding_arguments))
    if not routes:
        return
    with _channel(connection) as channel:
        for exchange, routing_key, arguments in routes:
            getattr(channel, method)(
                queue.name, exchange.name, routing_key=routing_key or "", arguments=arguments
            )


def _move(connection: Connection, source: str, target: str) -> int:
    """Move every message of ``source`` to ``target``; each is acked once confirmed there."""
    moved = 0
    with _channel(connection) as channel:
        channel.confirm_select()
        while (message := channel.basic_get(source, no_ack=False)) is not None:
            # mandatory: a message the target cannot take raises instead of vanishing
            channel.basic_publish_confirm(message, exchange="", routing_key=target, mandatory=True)
            channel.basic_ack(message.delivery_tag)
            moved += 1
    return moved


def _delete_if_idle(connection: Connection, name: str) -> bool:
    """Delete the classic queue ``name`` if it is empty and unused; false when a message
    arrived meanwhile."""
    with _channel(connection) as channel:
        try:
            channel.queue_delete(name, if_unused=True, if_empty=True)
            return True
        except amqp.exceptions.PreconditionFailed as error:
            if "in use" in str(error):
                raise QueueInUse(f"{name} got a consumer while it was being converted") from error
            return False


@contextmanager
def _locked(connection: Connection, name: str, timeout: float = LOCK_TIMEOUT) -> Iterator[None]:
    """Hold the broker-side lock for converting ``name`` (an exclusive queue)."""
    lock = LOCK_TEMPLATE.format(name)
    deadline = time.monotonic() + timeout
    channel = connection.channel()
    try:
        while True:
            try:
                channel.queue_declare(lock, exclusive=True, auto_delete=True)
                break
            except amqp.exceptions.ResourceLocked:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{lock} held for more than {timeout}s") from None
                time.sleep(LOCK_RETRY)  # another process converts it: nothing to wait on
                channel = connection.channel()
        yield
    finally:
        try:
            channel.queue_delete(lock)
            channel.close()
        except Exception:  # the connection is gone, and the lock with it
            _log.debug("releasing %s", lock, exc_info=True)
