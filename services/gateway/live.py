"""Live: the library's events pushed to signed-in staff as server-sent events.

``GET /api/live`` answers ``text/event-stream``: each event as it happens, as
``id: <source>:<position>``, ``event: <type>`` and ``data: <the envelope JSON, as on
the replay feed>``, and a comment every ``GATEWAY.live_heartbeat_seconds`` (15) so
proxies keep the connection and a client that left is noticed.

Each gateway process consumes every source's events exchange through one
exclusive, auto-deleted queue of its own (``LiveEvents``), bound while a stream is open
and for ``GATEWAY.live_idle_seconds`` (60) after the last one closes, so a gateway
nobody watches costs the broker and itself nothing per event; opening a stream waits
(up to ``BIND_WAIT`` seconds) for the queue to be bound, so what happens after the
stream opened reaches it. It fans each event out to its connected streams, each an
eventlet queue of at most ``GATEWAY.live_client_buffer`` events: a stream that falls
that far behind (a slow client) is ended rather than let block the others; it comes
back with ``Last-Event-ID`` and resumes. Streams per process are capped
(``GATEWAY.live_max_streams``, 200): one more is a 503.

Who sees what: the route opens to ``events.read``, ``records.read``, ``desk``,
``operate`` (the operator's screen follows the services), ``events.personal`` or
``patrons.read``; events whose type carries personal data
(the catalogue's marks, ``shared.events``) are sent only to callers with
``events.personal`` or ``patrons.read``.

Resuming: a client sends back the last id it got (``Last-Event-ID: circulation:1234``,
or several as ``circulation:1234,catalog:56``); the stream first sends that source's
events after it, from the events this process received lately (a ring per source,
emptied whenever the queue is bound anew) and, for older ones, from the archives'
replay feed, then goes on live. An event sent twice (a relay's failover) is sent once
(positions only grow per source).

No holes: positions are gapless per source, so once a stream has sent (or withheld)
a source's event N, it never sends a later one before N+1. A hole (events published
before the queue was bound and not archived yet, the ring's oldest past the feed's
end, events published while the broker was out) is filled from the archives' feed
before the event after it, waiting up to ``FILL_WAIT`` seconds for the archives to
catch up. A resumed stream also asks each resumed source for its head once the queue
is bound, and sends everything up to it from the feed the same way: what was
committed before the bind is sent from the feed, what after it arrives live. A hole
larger than ``MAX_REPLAY`` is left, as a resume that far back is: the client pages
the feed.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import partial
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
DEFAULT_IDLE = 60.0  # seconds the queue stays bound after the last stream closed
BIND_WAIT = 5.0  # seconds a stream opening waits for the queue to be bound
FILL_WAIT, FILL_PAUSE = 10.0, 0.1  # a hole waits this long for the archives, asking every pause
RECONNECT_PAUSE, MAX_RECONNECT_PAUSE = 1.0, 15.0
RETRY_MS = 2000  # the reconnection delay the stream suggests to EventSource clients
LAST_ID = re.compile(r"^([a-z][a-z0-9_-]{0,39}):([0-9]{1,15})$")
LAST_ID_RULE = "Must be an id the stream sent: source:position (several: comma separated)."
END = object()  # put in a stream's queue to end it

FeedReader = Callable[[str, int, int], list[dict[str, Any]]]
HeadReader = Callable[[str], int]  # a source's newest position, asked of the source


@dataclass(frozen=True)
class LiveSettings:
    """``GATEWAY.live_*`` of the config."""

    max_streams: int = DEFAULT_MAX_STREAMS
    heartbeat: float = DEFAULT_HEARTBEAT
    client_buffer: int = DEFAULT_CLIENT_BUFFER
    recent: int = RECENT
    idle: float = DEFAULT_IDLE

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> LiveSettings:
        section = config.get("GATEWAY") or {}
        return cls(
            max_streams=int(section.get("live_max_streams") or DEFAULT_MAX_STREAMS),
            heartbeat=float(section.get("live_heartbeat_seconds") or DEFAULT_HEARTBEAT),
            client_buffer=int(section.get("live_client_buffer") or DEFAULT_CLIENT_BUFFER),
            recent=int(section.get("live_recent") or RECENT),
            idle=float(section.get("live_idle_seconds") or DEFAULT_IDLE),
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
    def of(cls, envelope: Mapping[str, Any], text: str | None = None) -> Pushed:
        """The event of ``envelope``; ``text``: the envelope as one line of JSON already
        (the message body as the relay wrote it), else it is written here."""
        event_type = str(envelope["type"])
        if text is None or "\n" in text:
            text = json.dumps(envelope, ensure_ascii=False, separators=(",", ":"))
        return cls(
            source=str(envelope["source"]),
            position=int(envelope["position"]),
            type=event_type,
            data=text,
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
    """A connected stream: its queue, whether it is shown personal data, and the highest
    position of each source it has handled (sent, or withheld as personal)."""

    personal: bool
    size: int
    queue: LightQueue = field(init=False)
    closed: bool = False
    seen: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.queue = LightQueue(self.size)

    def offer(self, event: Pushed) -> bool:
        """Queue the event (every one: the stream must see each position to tell a hole);
        False when the client is too far behind."""
        try:
            self.queue.put_nowait(event)
        except Full:
            return False
        return True

    def shown(self, event: Pushed) -> bool:
        """Whether this client may be sent the event (personal data needs a right)."""
        return self.personal or not event.personal

    def fresh(self, event: Pushed) -> bool:
        """True the first time an event (or a later one of its source) is handled."""
        if event.position <= self.seen.get(event.source, 0):
            return False
        self.seen[event.source] = event.position
        return True

    def hole_before(self, event: Pushed) -> int | None:
        """The position after which events are missing before ``event`` (None: no hole, or
        a source this stream has not begun, or a hole too large to fill)."""
        last = self.seen.get(event.source)
        if last is None or not last + 1 < event.position <= last + 1 + MAX_REPLAY:
            return None
        return last


def feed_events(
    read_feed: FeedReader, source: str, after: int, before: int | None = None, wait: float = 0.0
) -> Iterator[Pushed]:
    """``source``'s events after ``after`` (and before ``before``) from the archives' feed,
    ``MAX_REPLAY`` at most; with ``wait``, up to that many seconds for the archives, a
    moment behind, to hold every one before ``before``. A feed that fails raises."""
    deadline = time.monotonic() + wait
    cursor = after
    count = 0
    while count < MAX_REPLAY and (before is None or cursor + 1 < before):
        page = read_feed(source, cursor, REPLAY_PAGE)
        for envelope in page:
            if before is not None and int(envelope["position"]) >= before:
                return
            yield Pushed.of(envelope)
            cursor, count = int(envelope["position"]), count + 1
            if count >= MAX_REPLAY:
                return
        if len(page) == REPLAY_PAGE:
            continue  # more to read at once
        if before is None or cursor + 1 >= before:
            return  # the feed's end, or every one before ``before``
        if time.monotonic() >= deadline:
            if wait:
                _log.warning(
                    "live events: %s's feed still ends at #%d after %gs; #%d-#%d not sent",
                    source, cursor, wait, cursor + 1, before - 1,
                )  # fmt: skip
            return
        eventlet.sleep(FILL_PAUSE)


class LiveStream:
    """The response body: the resumed events, then live ones and heartbeats, until the
    client leaves, is dropped or the gateway stops; ``close`` frees its slot."""

    def __init__(
        self,
        hub: LiveEvents,
        client: Client,
        replay: list[Pushed],
        read_feed: FeedReader,
        heads: Mapping[str, int] | None = None,
    ) -> None:
        self.hub = hub
        self.client = client
        self.replay = replay
        self.read_feed = read_feed
        self.heads = dict(heads or {})  # each resumed source's head once the queue was bound

    def __iter__(self) -> Iterator[bytes]:
        client, heartbeat = self.client, self.hub.settings.heartbeat
        # The first chunk sends the headers at once: the client knows it is connected.
        yield f"retry: {RETRY_MS}\n: live\n\n".encode()
        replay, self.replay = self.replay, []
        for event in replay:
            yield from self._sent(event)
        for source, head in self.heads.items():  # committed before the bind, not yet archived
            after = client.seen.get(source, 0)
            if after < head <= after + MAX_REPLAY:
                for event in self._feed(source, after, head + 1):
                    yield from self._sent(event)
        while not client.closed:
            try:
                item = client.queue.get(timeout=heartbeat)
            except Empty:
                yield b": heartbeat\n\n"
                continue
            if item is END or client.closed:
                return
            yield from self._sent(item)

    def _sent(self, event: Pushed) -> Iterator[bytes]:
        """``event``'s message, after the events of a hole before it, each once and only
        to whom it may be shown."""
        after = self.client.hole_before(event)
        missing = [] if after is None else self._feed(event.source, after, event.position)
        for each in [*missing, event]:
            if self.client.fresh(each) and self.client.shown(each):
                yield each.message()

    def _feed(self, source: str, after: int, before: int) -> list[Pushed]:
        """The source's events after ``after`` and before ``before`` from the archives'
        feed, waiting up to ``FILL_WAIT`` for the archives to hold them all; what it read
        before the feed failed (the hole stays, the stream goes on)."""
        found: list[Pushed] = []
        try:
            found.extend(feed_events(self.read_feed, source, after, before, FILL_WAIT))
        except Exception as error:  # the archives are out
            last = found[-1].position if found else after
            _log.warning("live events: cannot read %s's feed after #%d: %s", source, last, error)
        return found

    def close(self) -> None:
        self.hub.leave(self.client)


class LiveEvents(DependencyProvider):
    """Consumes every source's events exchange for this gateway process while streams are
    open and hands each event to them; the handler opens streams with ``open``."""

    def setup(self) -> None:
        self.settings = LiveSettings.from_config(self.container.config)
        self.sources: tuple[str, ...] = tuple(SERVICES)
        self.clients: set[Client] = set()
        self.recent: dict[str, deque[Pushed]] = {
            source: deque(maxlen=self.settings.recent) for source in self.sources
        }
        self.queue_name = ""
        self.consuming = False
        self._stopping = False
        self._last_client = time.monotonic()
        self._thread: Any = None  # the consumer, None once it has let its queue go
        self._generation = 0  # the consumer's: one letting go leaves a new one alone

    def stop(self) -> None:
        """End every stream (their responses finish) and the consumer."""
        self._stopping = True
        for client in list(self.clients):
            self._end(client)
        consumer = self._thread  # it lets go of itself (``_kept``) as it stops
        if consumer is not None:
            with eventlet.Timeout(5, False):
                consumer.wait()
            consumer.kill()

    def kill(self) -> None:
        self._stopping = True
        for client in list(self.clients):
            self._end(client)
        consumer = self._thread
        if consumer is not None:
            consumer.kill()

    def get_dependency(self, worker_ctx: Any) -> LiveEvents:
        return self

    # ------------------------------------------------------------ streams

    def open(
        self,
        caller: Caller,
        last_event_id: str | None,
        read_feed: FeedReader,
        head_of: HeadReader,
    ) -> LiveStream:
        """A stream for ``caller``, resuming after ``last_event_id`` when given (from the
        archives' ``read_feed``, up to each source's head, ``head_of``, once bound).

        503 when the gateway is stopping or has ``max_streams`` open.
        """
        after = parse_last_event_id(last_event_id, self.sources)
        if self._stopping:
            raise ServiceUnavailable("gateway", "The gateway is shutting down.")
        if len(self.clients) >= self.settings.max_streams:
            raise TooManyStreams(self.settings.max_streams)
        personal = any(caller.has(right) for right in PERSONAL_RIGHTS)
        client = Client(personal, self.settings.client_buffer, seen=dict(after))
        self.clients.add(client)  # first: what comes while the replay is read is queued
        try:
            self._bound()
            heads = self._heads(after, head_of)
            replay = self._replay(after, read_feed)
        except BaseException:
            self.leave(client)
            raise
        return LiveStream(self, client, replay, read_feed, heads)

    def leave(self, client: Client) -> None:
        """A stream ended (the client left, was dropped, or the gateway stops)."""
        client.closed = True
        self.clients.discard(client)
        self._last_client = time.monotonic()

    def _bound(self) -> None:
        """Start the consumer unless it runs, and wait (at most ``BIND_WAIT``) until its queue
        is bound. A broker that is out does not keep the stream from opening: its events
        come once the consumer is back, a resumed source's holes filled from the feed."""
        if self._thread is None or self._thread.dead:
            self._generation += 1
            self._thread = self.container.spawn_managed_thread(
                partial(self._consume, self._generation), identifier="live"
            )
        deadline = time.monotonic() + BIND_WAIT
        while not self.consuming and time.monotonic() < deadline and not self._stopping:
            eventlet.sleep(0.01)

    def _heads(self, after: Mapping[str, int], head_of: HeadReader) -> dict[str, int]:
        """Each resumed source's head, asked once the queue is bound (a source that does
        not answer has none: its events come when the next one arrives live)."""
        heads: dict[str, int] = {}
        for source in after:
            try:
                heads[source] = int(head_of(source))
            except Exception as error:  # the source is out: no anchor, the stream goes on
                _log.warning("live events: %s's head: %s", source, error)
        return heads

    def _end(self, client: Client) -> None:
        self.leave(client)
        try:
            client.queue.put_nowait(END)
        except Full:
            pass  # it sees ``closed`` when its socket takes the next chunk

    def _replay(self, after: Mapping[str, int], read_feed: FeedReader) -> list[Pushed]:
        """The events after each named position: the archives' feed up to what this
        process has received lately, then those (a hole between the two is the stream's
        to fill: ``LiveStream``)."""
        replay: list[Pushed] = []
        for source, position in after.items():
            recent = [event for event in self.recent[source] if event.position > position]
            first_recent = recent[0].position if recent else None
            replay.extend(feed_events(read_feed, source, position, first_recent))
            replay.extend(recent)
        return replay

    # ------------------------------------------------------------ the broker

    def _wanted(self) -> bool:
        """Whether the queue should stay bound: a stream is open or closed lately."""
        idle = time.monotonic() - self._last_client
        return not self._stopping and (bool(self.clients) or idle < self.settings.idle)

    def _consume(self, generation: int) -> None:
        """Consume while wanted, connecting again after a pause when the broker is out."""
        pause = RECONNECT_PAUSE
        while self._kept(generation):
            try:
                self._consume_once(generation)
            except Exception as error:  # the broker is out: connect again, less and less often
                if generation == self._generation:
                    if self.consuming:
                        pause = RECONNECT_PAUSE  # it was up: the first retry comes soon
                    self.consuming = False
                if not self._kept(generation):
                    break
                _log.warning("live events: %s; connecting again in %gs", error, pause)
                eventlet.sleep(pause)
                pause = min(pause * 2, MAX_RECONNECT_PAUSE)

    def _kept(self, generation: int) -> bool:
        """Whether consumer ``generation`` goes on; when it is the current one and no longer
        wanted, it lets go at once (before any switch), so a stream opening after this
        starts a new consumer rather than count on this one."""
        if generation != self._generation:
            return False
        if self._wanted():
            return True
        self._thread, self.consuming = None, False
        return False

    def _consume_once(self, generation: int) -> None:
        with Connection(amqp_uri(self.container.config), connect_timeout=10) as connection:
            channel = connection.channel()
            for source in self.sources:  # as any follower does: the same definition, idempotent
                events_exchange(source)(channel).declare()
            self.queue_name = f"gateway.live.{uuid.uuid4().hex[:16]}"  # new: the old may linger
            queue = Queue(
                self.queue_name,
                bindings=[binding(events_exchange(s), routing_key="#") for s in self.sources],
                exclusive=True,
                auto_delete=True,
                durable=False,
            )
            received = partial(self._on_message, generation)
            with Consumer(channel, [queue], on_message=received, no_ack=True):
                if generation != self._generation:
                    return
                for ring in self.recent.values():  # received before now is not followed on
                    ring.clear()
                self.consuming = True
                while self._kept(generation):
                    try:
                        connection.drain_events(timeout=1)
                    except TimeoutError:
                        pass

    def _on_message(self, generation: int, message: Any) -> None:
        if generation != self._generation:
            return  # a consumer letting go: the new one delivers
        try:
            text = message.body.decode("utf-8") if isinstance(message.body, bytes) else message.body
            event = Pushed.of(json.loads(text), text)
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
