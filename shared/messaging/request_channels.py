"""RPC requests published on confirm channels kept open, one request at a time on each.

nameko's ``MethodProxy`` builds a ``Publisher`` for every call, which takes a producer
from kombu's pool, goes through kombu's retry wrapper, parses the broker's address and
builds the message's properties anew: a tenth of the HTTP gateway's CPU per request,
as much again as the publish and its confirm (docs/performance.md). Here a request is
one ``basic.publish`` on a channel already in confirm mode, taken from a pool of open
connections, and the wait for its confirm. A connection carries one channel, lent to
one request at a time: a connection's frames are read by one waiter only.

The request is what nameko's would be (the same JSON body, headers, ``reply_to`` and
``correlation_id``), ``mandatory``: one that no queue takes, because the service is not
running, comes back before its confirm and raises ``UnknownService``, as nameko's does.
A connection that fails is dropped and the request tried once more on a new one.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

import amqp
import kombu.serialization
from kombu import Connection
from nameko.constants import AMQP_SSL_CONFIG_KEY, AMQP_URI_CONFIG_KEY, LOGIN_METHOD_CONFIG_KEY
from nameko.exceptions import UnknownService
from nameko.messaging import HeaderEncoder
from nameko.rpc import get_rpc_exchange

from shared.messaging.rpc import BROKER_OUT, RPC_DELIVERY_MODE

_HEADERS = HeaderEncoder()


class RequestChannels:
    """Open confirm channels to one broker, each lent to one request at a time."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.uri = config[AMQP_URI_CONFIG_KEY]
        self.ssl = config.get(AMQP_SSL_CONFIG_KEY)
        self.login_method = config.get(LOGIN_METHOD_CONFIG_KEY)
        self.exchange = get_rpc_exchange(config).name
        self._idle: list[_Line] = []

    def publish(
        self,
        worker_ctx: Any,
        service: str,
        method: str,
        args: tuple[Any, ...],
        reply_to: str,
        correlation_id: str,
        timeout: float,
    ) -> None:
        """Publish ``service.method(*args)`` as ``worker_ctx``, its reply to go to ``reply_to``;
        it expires in the queue after ``timeout`` seconds. ``UnknownService`` when no
        queue takes it; a broker error when two connections in a row failed."""
        content_type, encoding, body = kombu.serialization.dumps(
            {"args": args, "kwargs": {}}, "json"
        )
        message = amqp.Message(
            body,
            content_type=content_type,
            content_encoding=encoding,
            application_headers=_HEADERS.get_message_headers(worker_ctx),
            delivery_mode=RPC_DELIVERY_MODE,
            reply_to=reply_to,
            correlation_id=correlation_id,
            expiration=str(max(1, int(timeout * 1000))),
        )
        routing_key = f"{service}.{method}"
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
    """One connection and its confirm channel, with the requests it returned."""

    def __init__(self, channels: RequestChannels) -> None:
        self.connection = Connection(
            channels.uri, ssl=channels.ssl, login_method=channels.login_method
        )
        self.channel = self.connection.channel()  # connects (the address list in turn)
        self.channel.confirm_select()
        self.channel.exchange_declare(channels.exchange, "topic", durable=True, auto_delete=False)
        self.returned = 0
        self.channel.events["basic_return"].add(self._on_return)

    def _on_return(self, *_: Any) -> None:
        self.returned += 1

    def publish(self, message: amqp.Message, exchange: str, routing_key: str) -> bool:
        """Publish and wait for the confirm; True when the broker returned the message."""
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


_CHANNELS: dict[tuple[str, str, str], RequestChannels] = {}
_LOCK = threading.Lock()


def request_channels(config: Mapping[str, Any]) -> RequestChannels:
    """This process's request channels to the config's broker (made on first use)."""
    key = (
        str(config[AMQP_URI_CONFIG_KEY]),
        repr(config.get(AMQP_SSL_CONFIG_KEY)),
        str(config.get(LOGIN_METHOD_CONFIG_KEY)),
    )
    with _LOCK:
        found = _CHANNELS.get(key)
        if found is None:
            found = _CHANNELS[key] = RequestChannels(config)
        return found
