"""Live: the library's events pushed to signed-in staff as server-sent events.

``GET /api/live`` answers ``text/event-stream``: each event as it happens, as
``id: <source>:<position>``, ``event: <type>`` and ``data: <the envelope JSON, as on
the replay feed>``, and a comment every ``GATEWAY.live_heartbeat_seconds`` (15) so
proxies keep the connection and a client that left is noticed.

Each gateway process consumes every source's events exchange through one
exclusive, auto-deleted queue of its own (``LiveEvents``, started and stopped with
the container) and fans each event out to its connected streams, each an eventlet
queue of at most ``GATEWAY.live_client_buffer`` events: a stream that falls that far
behind (a slow client) is ended rather than let block the others; it comes back
with ``Last-Event-ID`` and resumes. Streams per process are capped
(``GATEWAY.live_max_streams``, 200): one more is a 503.

Who sees what: the route opens to ``events.read``, ``records.read``, ``desk``,
``operate`` (the operator's screen follows the services), ``events.personal`` or
``patrons.read``; events whose type carries personal data
(the catalogue's marks, ``shared.events``) are sent only to callers with
``events.personal`` or ``patrons.read``.

Resuming: a client sends back the last id it got (``Last-Event-ID: circulation:1234``,
or several as ``circulation:1234,catalog:56``); the stream first sends that source's
events after it, from the events this process received lately (a ring per source)
and, for older ones, from the archives' replay feed, then goes on live. The stream
is registered before the replay is read, so nothing falls between the two; an event
sent twice (a relay's failover) is sent once (positions only grow per source).
"""

from __future__ import annotations

import json
import re
import uuid
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from logging import getLogger
from typing import Any

import eventlet
from eventlet.queue import Empty, Full, LightQueue
from kombu import Connection, Consumer, Queue, binding
from nameko.extensions import DependencyProvider

from services.gateway.auth import Caller, needs
from services.gateway.problems import InvalidRequest, Problem, ServiceUnavailable
from shared.config import SERVICES, amqp_uri
from shared.events import CATALOGUE
from shared.events.registry import UnknownEventType
from shared.messaging.names import events_exchange

_log = getLogger(__name__)

EVENT_STREAM = "text/event-stream; charset=utf-8"
LAST_EVENT_ID = "Last-Event-ID"
# Who may open the stream; who is also shown the events that name people.
LIVE = needs("events.read", "records.read", "desk", "operate", "events.personal", "patrons.read")
PERSONAL_RIGHTS = ("events.personal", "patrons.read")

DEFAULT_MAX_STREAMS = 200
DEFAULT_HEARTBEAT = 15.0
DEFAULT_CLIENT_BUFFER = 1000  # events a stream may fall behind before it is ended
RECENT = 2000  # events kept per source for resuming without asking the archives (live_recent)
MAX_REPLAY = 5000  # events a resume sends at most before going on live
REPLAY_PAGE = 500
RECONNECT_PAUSE, MAX_RECONNECT_PAUSE = 1.0, 15.0
RETRY_MS = 2000  # the reconnection delay the stream suggests to EventSource clients
LAST_ID = re.compile(r"^([a-z][a-z0-9_-]{0,39}):([0-9]{1,15})$")
LAST_ID_RULE = "Must be an id the stream sent: source:position (several: comma separated)."
END = object()  # put in a stream's queue to end it

FeedReader = Callable[[str, int, int], list[dict[str, Any]]]


@dataclass(frozen=True)
class LiveSettings:
    """``GATEWAY.live_*`` of the config."""

    max_streams: int = DEFAULT_MAX_STREAMS
    heartbeat: float = DEFAULT_HEARTBEAT
    client_buffer: int = DEFAULT_CLIENT_BUFFER
    recent: int = RECENT

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> LiveSettings:
        section = config.get("GATEWAY") or {}
        return cls(
            max_streams=int(section.get("live_max_streams") or DEFAULT_MAX_STREAMS),
            heartbeat=float(section.get("live_heartbeat_seconds") or DEFAULT_HEARTBEAT),
            client_buffer=int(section.get("live_client_buffer") or DEFAULT_CLIENT_BUFFER),
            recent=int(section.get("live_recent") or RECENT),
        )


class TooManyStreams(Problem):
    """503: this gateway has as many live streams open as it allows."""

    status, slug, title = 503, "service-unavailable", "Service unavailable"

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"This gateway already pushes events to {limit} streams; try again shortly.",
            code="too_many_streams",
            headers={"Retry-After": "5"},
        )


def carries_personal_data(event_type: str) -> bool:
    """Whether events of this type name people (an unknown type is taken to)."""
    try:
        return CATALOGUE.carries_personal_data(event_type)
    except UnknownEventType:
        return True


@dataclass(frozen=True)
class Pushed:
    """One event as the streams send it."""

    source: str
    position: int
    type: str
    data: str  # the envelope as one line of JSON
    personal: bool

    @classmethod
    def of(cls, envelope: Mapping[str, Any]) -> Pushed:
        event_type = str(envelope["type"])
        return cls(
            source=str(envelope["source"]),
            position=int(envelope["position"]),
            type=event_type,
            data=json.dumps(envelope, ensure_ascii=False, separators=(",", ":")),
            personal=carries_personal_data(event_type),
        )

    def message(self) -> bytes:
        """The SSE message: ``id``, ``event`` and ``data`` lines and a blank line."""
        text = f"id: {self.source}:{self.position}\nevent: {self.type}\ndata: {self.data}\n\n"
        return text.encode("utf-8")


def parse_last_event_id(text: str | None, sources: tuple[str, ...]) -> dict[str, int]:
    """``circulation:1234`` (or several, comma separated) as ``{source: position}``;
    ``InvalidRequest`` naming the header when it is not one the stream sent."""
    if text is None or not text.strip():
        return {}
    after: dict[str, int] = {}
    for part in text.split(","):
        matched = LAST_ID.fullmatch(part.strip())
        if matched is None or matched.group(1) not in sources:
            raise InvalidRequest(
                f"The {LAST_EVENT_ID} header is not an id this stream sends.",
                errors={LAST_EVENT_ID: [LAST_ID_RULE]},
            )
        source, position = matched.group(1), int(matched.group(2))
        after[source] = max(after.get(source, 0), position)
    return after


@dataclass(eq=False)
class Client:
    """A connected stream: its queue, whether it is shown personal data, what it sent."""

    personal: bool
    size: int
    queue: LightQueue = field(init=False)
    closed: bool = False
    sent: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.queue = LightQueue(self.size)

    def offer(self, event: Pushed) -> bool:
        """Queue the event if it is for this client; False when the client is too far behind."""
        if event.personal and not self.personal:
            return True
        try:
            self.queue.put_nowait(event)
        except Full:
            return False
        return True

    def fresh(self, event: Pushed) -> bool:
        """True the first time an event (or a later one of its source) is to be sent."""
        if event.position <= self.sent.get(event.source, 0):
            return False
        self.sent[event.source] = event.position
        return True


class LiveStream:
    """The response body: the resumed events, then live ones and heartbeats, until the
    client leaves, is dropped or the gateway stops; ``close`` frees its slot."""

    def __init__(self, hub: LiveEvents, client: Client, replay: list[Pushed]) -> None:
        self.hub = hub
        self.client = client
        self.replay = replay

    def __iter__(self) -> Iterator[bytes]:
        client, heartbeat = self.client, self.hub.settings.heartbeat
        # The first chunk sends the headers at once: the client knows it is connected.
        yield f"retry: {RETRY_MS}\n: live\n\n".encode()
        for event in self.replay:
            if client.fresh(event):
                yield event.message()
        self.replay = []
        while not client.closed:
            try:
                item = client.queue.get(timeout=heartbeat)
            except Empty:
                yield b": heartbeat\n\n"
                continue
            if item is END or client.closed:
                return
            if client.fresh(item):
                yield item.message()

    def close(self) -> None:
        self.hub.leave(self.client)


class LiveEvents(DependencyProvider):
    """Consumes every source's events exchange for this gateway process and hands each
    event to the connected streams; the handler opens streams with ``open``."""

    def setup(self) -> None:
        self.settings = LiveSettings.from_config(self.container.config)
        self.sources: tuple[str, ...] = tuple(SERVICES)
        self.clients: set[Client] = set()
        self.recent: dict[str, deque[Pushed]] = {
            source: deque(maxlen=self.settings.recent) for source in self.sources
        }
        self.queue_name = f"gateway.live.{uuid.uuid4().hex[:16]}"
        self.consuming = False
        self._stopping = False
        self._thread: Any = None

    def start(self) -> None:
        self._thread = self.container.spawn_managed_thread(self._consume, identifier="live")

    def stop(self) -> None:
        """End every stream (their responses finish) and the consumer."""
        self._stopping = True
        for client in list(self.clients):
            self._end(client)
        if self._thread is not None:
            with eventlet.Timeout(5, False):
                self._thread.wait()
            self._thread.kill()

    def kill(self) -> None:
        self._stopping = True
        for client in list(self.clients):
            self._end(client)
        if self._thread is not None:
            self._thread.kill()

    def get_dependency(self, worker_ctx: Any) -> LiveEvents:
        return self

    # ------------------------------------------------------------ streams

    def open(self, caller: Caller, last_event_id: str | None, read_feed: FeedReader) -> LiveStream:
        """A stream for ``caller``, resuming after ``last_event_id`` when given.

        503 when the gateway is stopping or has ``max_streams`` open.
        """
        after = parse_last_event_id(last_event_id, self.sources)
        if self._stopping:
            raise ServiceUnavailable("gateway", "The gateway is shutting down.")
        if len(self.clients) >= self.settings.max_streams:
            raise TooManyStreams(self.settings.max_streams)
        personal = any(caller.has(right) for right in PERSONAL_RIGHTS)
        client = Client(personal, self.settings.client_buffer)
        self.clients.add(client)  # first: what comes while the replay is read is queued
        try:
            replay = self._replay(after, read_feed, personal)
        except BaseException:
            self.leave(client)
            raise
        return LiveStream(self, client, replay)

    def leave(self, client: Client) -> None:
        """A stream ended (the client left, was dropped, or the gateway stops)."""
        client.closed = True
        self.clients.discard(client)

    def _end(self, client: Client) -> None:
        self.leave(client)
        try:
            client.queue.put_nowait(END)
        except Full:
            pass  # it sees ``closed`` when its socket takes the next chunk

    def _replay(
        self, after: Mapping[str, int], read_feed: FeedReader, personal: bool
    ) -> list[Pushed]:
        """The events after each named position: the archives' feed up to what this
        process has received lately, then those."""
        replay: list[Pushed] = []
        for source, position in after.items():
            recent = [event for event in self.recent[source] if event.position > position]
            first_recent = recent[0].position if recent else None
            older: list[Pushed] = []
            cursor = position
            while first_recent is None or cursor + 1 < first_recent:
                page = read_feed(source, cursor, REPLAY_PAGE)
                for envelope in page:
                    if first_recent is not None and envelope["position"] >= first_recent:
                        break
                    older.append(Pushed.of(envelope))
                if not page or len(page) < REPLAY_PAGE or len(older) >= MAX_REPLAY:
                    break
                cursor = int(page[-1]["position"])
            replay.extend(older[:MAX_REPLAY])
            replay.extend(recent)
        return [event for event in replay if personal or not event.personal]

    # ------------------------------------------------------------ the broker

    def _consume(self) -> None:
        """Consume until stopped, connecting again after a pause when the broker is out."""
        pause = RECONNECT_PAUSE
        while not self._stopping:
            try:
                self._consume_once()
            except Exception as error:  # the broker is out: connect again, less and less often
                if self.consuming:
                    pause = RECONNECT_PAUSE  # it was up: the first retry comes soon
                self.consuming = False
                if self._stopping:
                    return
                _log.warning("live events: %s; connecting again in %gs", error, pause)
                eventlet.sleep(pause)
                pause = min(pause * 2, MAX_RECONNECT_PAUSE)

    def _consume_once(self) -> None:
        with Connection(amqp_uri(self.container.config), connect_timeout=10) as connection:
            channel = connection.channel()
            for source in self.sources:  # as any follower does: the same definition, idempotent
                events_exchange(source)(channel).declare()
            queue = Queue(
                self.queue_name,
                bindings=[binding(events_exchange(s), routing_key="#") for s in self.sources],
                exclusive=True,
                auto_delete=True,
                durable=False,
            )
            with Consumer(channel, [queue], on_message=self._on_message, no_ack=True):
                self.consuming = True
                while not self._stopping:
                    try:
                        connection.drain_events(timeout=1)
                    except TimeoutError:
                        pass
        self.consuming = False

    def _on_message(self, message: Any) -> None:
        try:
            envelope = json.loads(message.body)
            event = Pushed.of(envelope)
        except (ValueError, KeyError, TypeError) as error:
            _log.warning("live events: a message that is not an event (%s) is skipped", error)
            return
        if event.source not in self.recent:
            return
        self.recent[event.source].append(event)
        for client in list(self.clients):
            if not client.offer(event):
                _log.info("live events: a stream %d events behind is ended", client.size)
                self._end(client)
