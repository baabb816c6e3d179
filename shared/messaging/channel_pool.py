"""RPC requests and replies published on channels kept open, one message at a time on each.

nameko builds a ``Publisher`` for every request and every reply, which takes a producer
from kombu's pool, goes through kombu's retry wrapper, parses the broker's address and
builds the message's properties anew: on the HTTP gateway as much CPU per request as the
publish and its confirm themselves (docs/performance.md). Here a message is one
``basic.publish`` on a channel taken from a pool of open connections, one channel each,
lent to one publisher at a time: a connection's frames are written, and its confirms
read, by one caller at a time.

Requests (``shared.messaging.calls``) go on channels in confirm mode, ``mandatory``: one
that no queue takes, because the service is not running, comes back before its confirm
and raises ``UnknownService``, as nameko's proxy does. Replies (``shared.messaging.rpc``)
go without a confirm. A connection that fails is dropped and the message tried once more
on a new one; the second failure is the caller's to handle.
"""

from __future__ import annotations

import threading
from typing import Any

import amqp
import amqp.exceptions
import kombu.exceptions
from kombu import Connection
from nameko.exceptions import UnknownService

BROKER_OUT = (kombu.exceptions.OperationalError, amqp.exceptions.ConnectionError, OSError)
"""What a broker that is out, or dropped the connection, raises."""


class ChannelPool:
    """Open channels to one broker's exchange, each lent to one publisher at a time."""

    def __init__(
        self, uri: str, exchange: str, *, confirm: bool, ssl: Any = None, login_method: Any = None
    ) -> None:
        self.uri = uri
        self.exchange = exchange
        self.confirm = confirm
        self.ssl = ssl
        self.login_method = login_method
        self._idle: list[_Line] = []

    def publish(self, message: amqp.Message, routing_key: str, service: str = "") -> None:
        """Publish ``message``; with confirms, wait for its confirm and raise
        ``UnknownService`` (naming ``service``) when no queue took it. A broker error when
        two connections in a row failed."""
        for attempt in (1, 2):
            line = self._take()
            try:
                returned = line.publish(message, self.exchange, routing_key)
            except BROKER_OUT:
                line.close()
                if attempt == 2:
                    raise
                continue
            except BaseException:  # the channel refused it (closed by the broker), or killed
                line.close()
                raise
            self._idle.append(line)
            if returned:
                raise UnknownService(service)
            return

    def _take(self) -> _Line:
        try:
            return self._idle.pop()
        except IndexError:
            return _Line(self)

    def close(self) -> None:
        idle, self._idle = self._idle, []
        for line in idle:
            line.close()


class _Line:
    """One connection and its channel, with the messages the broker returned on it."""

    def __init__(self, pool: ChannelPool) -> None:
        self.confirm = pool.confirm
        self.connection = Connection(pool.uri, ssl=pool.ssl, login_method=pool.login_method)
        self.channel = self.connection.channel()  # connects (the address list in turn)
        self.channel.exchange_declare(pool.exchange, "topic", durable=True, auto_delete=False)
        self.returned = 0
        if self.confirm:
            self.channel.confirm_select()
            self.channel.events["basic_return"].add(self._on_return)

    def _on_return(self, *_: Any) -> None:
        self.returned += 1

    def publish(self, message: amqp.Message, exchange: str, routing_key: str) -> bool:
        """Publish (and with confirms wait for the confirm); True when it came back."""
        if not self.confirm:
            self.channel.basic_publish(message, exchange=exchange, routing_key=routing_key)
            return False
        before = self.returned
        self.channel.basic_publish_confirm(
            message, exchange=exchange, routing_key=routing_key, mandatory=True
        )
        return self.returned != before

    def close(self) -> None:
        try:
            self.connection.close()
        except Exception:  # noqa: BLE001 - a connection already gone closes as it can
            pass


_POOLS: dict[tuple[Any, ...], ChannelPool] = {}
_LOCK = threading.Lock()


def channel_pool(
    uri: str, exchange: str, *, confirm: bool, ssl: Any = None, login_method: Any = None
) -> ChannelPool:
    """This process's pool of channels to ``exchange`` on the broker at ``uri`` (made on
    first use): with confirms for requests, without for replies."""
    key = (uri, exchange, confirm, repr(ssl), repr(login_method))
    with _LOCK:
        found = _POOLS.get(key)
        if found is None:
            found = _POOLS[key] = ChannelPool(
                uri, exchange, confirm=confirm, ssl=ssl, login_method=login_method
            )
        return found
