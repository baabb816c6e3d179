"""The SIP2 TCP server as a nameko extension: listeners, connections, one worker a message.

``Sip2Server`` is a shared extension, as nameko's own ``WebServer``: it opens each
listener of ``SIP2.listeners`` (``eventlet.listen``) when the container starts, accepts
kiosks in a managed green thread per listener and serves each connection in a green
thread of its own. ``Sip2`` is the entrypoint a service method is decorated with
(``@sip2``): each whole message a kiosk sends is handed to a nameko worker
(``container.spawn_worker``), so the method's dependencies (RPC to accounts and
circulation) work as in any entrypoint, with the signed-in kiosk as the ``actor`` in the
worker's context data.

A connection reads with ``protocol.take_message`` (at most ``MAX_MESSAGE_BYTES``
without a CR: more closes it), waits at most ``idle_timeout`` seconds for a message to
begin and as long again for it to end (then closes), and never lets an error out of its
thread: nameko ends the whole container when a managed thread fails, and one kiosk's
bad bytes must not stop the others. Beyond ``max_connections`` a kiosk is closed at once.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from functools import partial
from logging import getLogger
from typing import Any

import eventlet
from eventlet.event import Event
from nameko.exceptions import ContainerBeingKilled
from nameko.extensions import Entrypoint, ProviderCollector, SharedExtension

from services.sip2 import protocol as p
from services.sip2.conversation import ConnectionClosed, Conversation, Reply
from services.sip2.session import Session
from services.sip2.settings import Listener, Sip2Settings

_log = getLogger(__name__)

READ_BYTES = 4096


class MessageReader:
    """Whole messages off one socket, within the idle timeout, never buffering without bound."""

    def __init__(self, sock: Any, idle_timeout: float, max_bytes: int = p.MAX_MESSAGE_BYTES):
        self.sock = sock
        self.idle_timeout = idle_timeout
        self.max_bytes = max_bytes
        self.buffer = b""
        self.partial_since: float | None = None

    def next(self) -> bytes:
        """The next message without its terminator; ``ConnectionClosed`` when there is none."""
        while True:
            try:
                message, self.buffer = p.take_message(self.buffer, self.max_bytes)
            except p.MessageTooLong as error:
                raise ConnectionClosed(error.reason) from None
            if message is not None:
                self.partial_since = time.monotonic() if self.buffer else None
                return message
            if self.buffer and self.partial_since is None:
                self.partial_since = time.monotonic()
            waited = 0.0 if self.partial_since is None else time.monotonic() - self.partial_since
            remaining = self.idle_timeout - waited
            if remaining <= 0:
                raise ConnectionClosed("half a message, then silence")
            self.sock.settimeout(remaining)
            try:
                data = self.sock.recv(READ_BYTES)
            except TimeoutError:
                raise ConnectionClosed("silent for longer than the idle timeout") from None
            except OSError as error:
                raise ConnectionClosed(f"read failed: {error}") from None
            if not data:
                raise ConnectionClosed("the kiosk hung up")
            self.buffer += data


class Sip2Server(ProviderCollector, SharedExtension):
    """The listening sockets and the kiosks' connections of one container."""

    def __init__(self) -> None:
        super().__init__()
        self.settings: Sip2Settings | None = None
        self.addresses: dict[str, tuple[str, int]] = {}
        self._sockets: list[Any] = []
        self._threads: list[Any] = []
        self._connections: set[Any] = set()
        self._accepting = False

    def setup(self) -> None:
        self.settings = Sip2Settings.from_config(self.container.config)

    def start(self) -> None:
        if self._accepting:
            return
        self._accepting = True
        for listener in self.settings.listeners:
            sock = eventlet.listen((listener.host, listener.port))
            sock.settimeout(None)
            self._sockets.append(sock)
            self.addresses[listener.name] = sock.getsockname()[:2]
            _log.info("SIP2 listener %s on %s:%d", listener.name, *self.addresses[listener.name])
            self._threads.append(
                self.container.spawn_managed_thread(partial(self._accept, listener, sock))
            )

    def stop(self) -> None:
        self._close_all()
        super().stop()  # waits for the entrypoints to unregister

    def kill(self) -> None:
        self._close_all()  # no waiting: the container is being killed

    def _close_all(self) -> None:
        self._accepting = False
        for thread in self._threads:
            thread.kill()
        for sock in [*self._sockets, *self._connections]:
            _close(sock)
        self._threads.clear()
        self._sockets.clear()
        self._connections.clear()

    @property
    def connections(self) -> int:
        return len(self._connections)

    def _accept(self, listener: Listener, sock: Any) -> None:
        while self._accepting:
            try:
                conn, address = sock.accept()
            except OSError as error:
                if not self._accepting:
                    return
                _log.warning("SIP2 accept on %s failed: %s", listener.name, error)
                eventlet.sleep(0.1)  # a listening socket in trouble: do not spin
                continue
            if len(self._connections) >= self.settings.max_connections:
                _log.warning(
                    "SIP2: %d kiosks connected already; %s refused", self.connections, address[0]
                )
                _close(conn)
                continue
            self._connections.add(conn)
            self.container.spawn_managed_thread(partial(self._serve, listener, conn, address))

    def _serve(self, listener: Listener, conn: Any, address: Any) -> None:
        session = Session(listener.name, listener.encoding, str(address[0]))
        reader = MessageReader(conn, self.settings.idle_timeout)
        try:
            while True:
                raw = reader.next()
                reply = self.conversation(session, raw)
                if reply.delay:
                    eventlet.sleep(reply.delay)  # a wrong password: the kiosk waits
                if reply.data is not None:
                    conn.settimeout(self.settings.idle_timeout)
                    conn.sendall(reply.data)
                if reply.close:
                    break
        except ConnectionClosed as why:
            _log.info("SIP2 connection from %s closed: %s", session.address, why)
        except OSError as error:
            _log.info("SIP2 connection from %s lost: %s", session.address, error)
        except Exception:  # noqa: BLE001 - one kiosk's trouble must not end the container
            _log.exception("SIP2 connection from %s failed", session.address)
        finally:
            self._connections.discard(conn)
            _close(conn)

    def conversation(self, session: Session, raw: bytes) -> Reply:
        """The answer to one message, by the one ``@sip2`` entrypoint of the service."""
        provider = next(iter(self._providers), None)
        if provider is None:
            return Reply(close=True)
        return provider.converse(session, raw)


def _close(sock: Any) -> None:
    try:
        sock.close()
    except OSError:
        pass


class Sip2(Entrypoint):
    """``@sip2``: the method answering each parsed message of a kiosk, in a worker.

    The method gets ``(session, message)`` and returns the response (``protocol.Message``).
    What needs no worker is answered here (``Conversation``): bad input, resends, and
    the refusal of a kiosk that has not signed in.
    """

    server = Sip2Server()

    def setup(self) -> None:
        self.server.register_provider(self)

    def stop(self) -> None:
        self.server.unregister_provider(self)
        super().stop()

    def kill(self) -> None:
        self.server.unregister_provider(self)

    def converse(self, session: Session, raw: bytes) -> Reply:
        return Conversation(session, self.server.settings, self.run_worker).reply(raw)

    def run_worker(self, session: Session, message: p.Message) -> p.Message:
        """Run the service method in a nameko worker; its answer, or the exception it raised."""
        event = Event()
        context = {"correlation_id": str(uuid.uuid4())}
        if session.kiosk is not None:
            context["actor"] = session.kiosk.actor()
        try:
            self.container.spawn_worker(
                self,
                (session, message),
                {},
                context_data=context,
                handle_result=partial(self._result, event),
            )
        except ContainerBeingKilled:
            raise ConnectionClosed("the service is stopping") from None
        return event.wait()

    @staticmethod
    def _result(event: Event, worker_ctx: Any, result: Any, exc_info: Any) -> tuple[Any, Any]:
        event.send(result, exc_info)
        return result, exc_info


sip2: Callable[..., Any] = Sip2.decorator
