"""An external school system following the library's events: plain kombu, no nameko.

    export LIBRARY_AMQP_URI=amqp://ext.student-records:PASSWORD@127.0.0.1:5672/
    export LIBRARY_API=http://127.0.0.1:8000 LIBRARY_API_KEY=THE_KEY
    python subscriber.py --queue ext.student-records.events \\
        --source circulation --types CardIssued,CardRetired \\
        [--campus north] --state state.json --out events.jsonl

(``--amqp``, ``--api`` and ``--token`` may replace the three variables; on a shared
machine prefer the variables, which other users cannot read in the process list.)

1. Bind its queue (declared by the library with its key, ``library keys create``)
   first, so nothing published from now on is missed.
2. Catch up from the library's replay feed (GET /api/events), from its checkpoint.
3. Follow the queue. A message is a doorbell: what is handled is always the
   replay feed's copy of an event, read up to the message's position. So an event
   at or below the checkpoint is a duplicate (acknowledged, skipped); one beyond
   means the feed is read up to it, filling any gap (events this queue does not
   carry, or not yet); a message the feed does not have at its position (forged),
   from another source, or that is not a valid envelope is dropped and logged. The
   feed is the truth; the broker only says when to look.
4. Checkpoint after every event (atomically), then acknowledge: a restart resumes
   where it stopped.

It never waits forever: the feed is waited for at most ``--feed-wait`` seconds for
a message's event (the archive may be a moment behind), every HTTP request and
broker connection has a timeout, and when the broker is lost it reconnects. It
stops within a second or two on SIGTERM or SIGINT, between two events.

"Handling" an event here means appending it to --out as one JSON line.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests
from kombu import Connection, Consumer, Queue
from kombu.exceptions import OperationalError

_log = logging.getLogger("subscriber")

PAGE = 500
"""Events asked of the replay feed at a time."""
FEED_WAIT = 10.0
"""Seconds a message's event is waited for in the feed before the message is dropped."""
POLL = 30.0
"""Quiet seconds after which the feed is read anyway (what a dropped doorbell missed)."""
HTTP_TIMEOUT = (5.0, 15.0)  # connect, read
BROKER_TIMEOUT = 10.0
HEARTBEAT = 30
PREFETCH = 100
RETRY_MAX = 30.0
"""Longest pause between two attempts while the broker or the feed is out."""
MAX_BODY_BYTES = 1_000_000
ENVELOPE_FIELDS: dict[str, type] = {
    "event_id": str,
    "type": str,
    "schema_version": int,
    "source": str,
    "position": int,
    "stream_id": str,
    "stream_version": int,
    "occurred_at": str,
    "recorded_at": str,
    "data": dict,
}


class Stopped(BaseException):
    """Raised in a wait when SIGTERM or SIGINT asks the subscriber to stop.

    A BaseException, like KeyboardInterrupt, so that no library's ``except
    Exception`` swallows it.
    """


class Refused(Exception):
    """Raised when the library refuses this subscriber (its key, its queue, its rights):
    trying again will not help, so it stops with the reason."""


class FeedUnavailable(Exception):
    """Raised when the replay feed does not answer (down, timing out, a 5xx or 429)."""


def envelope_problem(event: Any) -> str | None:
    """What is wrong with ``event`` as an event envelope, or None if nothing is.

    Only the fields this subscriber relies on are checked; a field it does not
    know is ignored (the contract only ever adds optional ones).
    """
    if not isinstance(event, dict):
        return "not a JSON object"
    for name, kind in ENVELOPE_FIELDS.items():
        value = event.get(name)
        if not isinstance(value, kind) or isinstance(value, bool):
            return f"{name}: not a {kind.__name__}"
    try:
        uuid.UUID(event["event_id"])
    except ValueError:
        return "event_id: not a UUID"
    if event["position"] < 1 or event["schema_version"] < 1:
        return "position and schema_version count from 1"
    if event.get("campus") is not None and not isinstance(event["campus"], str):
        return "campus: not a string or null"
    return None


class Checkpoint:
    """The last position handled, per source, kept in a small JSON file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.positions: dict[str, int] = json.loads(path.read_text()) if path.exists() else {}

    def get(self, source: str) -> int:
        return self.positions.get(source, 0)

    def advance(self, source: str, position: int) -> None:
        self.positions[source] = position
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps(self.positions))
        os.replace(temporary, self.path)  # atomic: never a half-written checkpoint


class Subscriber:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.source = args.source
        self.types = set(args.types.split(",")) if args.types else None
        self.checkpoint = Checkpoint(Path(args.state))
        self.out = open(args.out, "a", encoding="utf-8")  # noqa: SIM115 (closed in run)
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {args.token}"
        self.handled = 0
        self.stopping = False
        self._interruptible = False
        broker = Connection(args.amqp)  # not connected: only its transport's error classes
        # Lost or unreachable: reconnect. Refused (a login, a queue that is not there or
        # not ours, a binding not allowed): say so and stop.
        self.broker_lost = (OSError, OperationalError, *broker.connection_errors)
        self.broker_refused = tuple(broker.channel_errors)

    # -- what this system does with an event
    def wanted(self, event: dict[str, Any]) -> bool:
        if self.types is not None and event["type"] not in self.types:
            return False
        return self.args.campus is None or event.get("campus") == self.args.campus

    def handle(self, event: dict[str, Any]) -> None:
        if self.wanted(event):
            self.out.write(json.dumps(event, ensure_ascii=False) + "\n")
            self.out.flush()
            self.handled += 1

    # -- stopping: a signal only sets a flag, and interrupts a wait (never an event)
    def on_signal(self, signum: int, frame: Any) -> None:
        self.stopping = True
        if self._interruptible:
            raise Stopped

    @contextmanager
    def interruptible(self) -> Iterator[None]:
        """A wait that a stop may cut short (raising ``Stopped``): nothing is half done in it."""
        if self.stopping:
            raise Stopped
        self._interruptible = True
        try:
            yield
        finally:
            self._interruptible = False

    def pause(self, seconds: float) -> None:
        with self.interruptible():
            time.sleep(seconds)

    # -- the replay feed: the truth
    def feed_page(self, after: int) -> list[dict[str, Any]]:
        """The feed's events of our source after ``after`` (at most ``PAGE``), checked."""
        url = f"{self.args.api.rstrip('/')}/api/events"
        params = {"source": self.source, "after": after, "limit": PAGE}
        try:
            with self.interruptible():
                response = self.http.get(url, params=params, timeout=HTTP_TIMEOUT)
        except requests.RequestException as error:
            raise FeedUnavailable(f"the replay feed did not answer: {error}") from None
        status = response.status_code
        if status == 429 or status >= 500:
            raise FeedUnavailable(f"the replay feed answered {status}")
        if status != 200:  # a key that is wrong, revoked or without the right; a wrong URL
            raise Refused(f"the replay feed answered {status}: {response.text[:300]}")
        try:
            page = response.json()["events"]
        except (ValueError, KeyError, TypeError):
            raise FeedUnavailable("the replay feed's answer is not a page of events") from None
        if not isinstance(page, list):
            raise FeedUnavailable("the replay feed's answer is not a page of events")
        last = after
        for event in page:
            problem = envelope_problem(event)
            if problem is None and event["source"] != self.source:
                problem = f"source {event['source']!r}"
            if problem is None and event["position"] <= last:
                problem = f"position {event['position']} after {last}"
            if problem is not None:
                raise FeedUnavailable(f"the replay feed sent a bad event ({problem})")
            last = event["position"]
        return page

    def read_feed(self, until: int | None = None) -> dict[int, str]:
        """Handle the feed's events from the checkpoint to its end (or past ``until``);
        return the event id the feed has at each position read."""
        seen: dict[int, str] = {}
        while until is None or self.checkpoint.get(self.source) < until:
            page = self.feed_page(self.checkpoint.get(self.source))
            if not page:
                break
            for event in page:
                self.handle(event)
                self.checkpoint.advance(self.source, event["position"])
                seen[event["position"]] = event["event_id"]
        return seen

    # -- the queue: a doorbell
    def on_message(self, message: Any) -> None:
        event, problem = self.decode(message)
        if problem is not None:
            _log.warning("dropped a message from the queue: %s", problem)
            self.read_feed()  # whatever it was, the feed has what is real
        elif event["position"] <= self.checkpoint.get(self.source):
            pass  # already handled: a duplicate (the switch-over, or a redelivery)
        else:
            self.confirm(event)
        message.ack()  # only after the checkpoint moved

    def decode(self, message: Any) -> tuple[dict[str, Any], str | None]:
        body = message.body
        if len(body) > MAX_BODY_BYTES:
            return {}, f"larger than {MAX_BODY_BYTES} bytes"
        try:
            event = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError):
            return {}, "not JSON"
        problem = envelope_problem(event)
        if problem is not None:
            return event, f"not a valid envelope ({problem})"
        if event["source"] != self.source:
            return event, f"from source {event['source']!r}, not {self.source!r}"
        headers = message.headers or {}
        for name in ("source", "position"):
            if name in headers and headers[name] != event[name]:
                return event, f"header {name}={headers[name]!r} but the body says {event[name]!r}"
        return event, None

    def confirm(self, event: dict[str, Any]) -> None:
        """Read the feed up to ``event``'s position, waiting at most ``--feed-wait`` seconds
        for the archive to have it; the feed's copy is the one handled."""
        position, deadline = event["position"], time.monotonic() + self.args.feed_wait
        interval = 0.05
        while True:
            seen = self.read_feed(until=position)
            if self.checkpoint.get(self.source) >= position:
                if seen.get(position) != event["event_id"]:
                    _log.warning(
                        "dropped event %s at %s %s: the replay feed has %s there (taken)",
                        event["event_id"],
                        self.source,
                        position,
                        seen.get(position, "nothing"),
                    )
                return
            if time.monotonic() >= deadline:
                _log.warning(
                    "dropped event %s at %s %s: not in the replay feed within %ss "
                    "(forged, or the archive is behind: then the next read of the feed takes it)",
                    event["event_id"],
                    self.source,
                    position,
                    self.args.feed_wait,
                )
                return
            if interval >= 0.4 and interval < 0.8:  # once, after a few quick looks
                _log.info(
                    "event %s at %s %s is not in the replay feed yet: waiting up to %ss",
                    event["event_id"],
                    self.source,
                    position,
                    self.args.feed_wait,
                )
            self.pause(min(interval, max(0.0, deadline - time.monotonic())))
            interval = min(interval * 2, 1.0)

    def bind(self, channel: Any) -> None:
        """Bind our queue (declared passively: it is the library's) to what we follow."""
        name = self.args.queue
        channel.queue_declare(queue=name, passive=True)
        if self.args.campus:
            arguments = {"x-match": "all", "campus": self.args.campus, "source": self.source}
            channel.queue_bind(queue=name, exchange="library.events.by_campus", arguments=arguments)
            return
        for key in sorted(self.types) if self.types else ["#"]:
            channel.queue_bind(queue=name, exchange=f"{self.source}.events", routing_key=key)

    def follow(self) -> None:
        """One broker session: connect, bind, catch up, follow until stopped or idle."""
        connection = Connection(
            self.args.amqp,
            heartbeat=HEARTBEAT,
            connect_timeout=BROKER_TIMEOUT,
            transport_options={"max_retries": 1},
        )
        try:
            with self.interruptible():
                connection.ensure_connection(max_retries=1)
            channel = connection.channel()
            self.bind(channel)  # 1. bind first
            self.read_feed()  # 2. then catch up
            print(f"caught up at {self.checkpoint.get(self.source)}; following live", flush=True)
            queue = Queue(self.args.queue, no_declare=True)
            consumer = Consumer(channel, queues=[queue], on_message=self.on_message)
            consumer.qos(prefetch_count=PREFETCH)
            consumer.consume()
            quiet_since = polled = time.monotonic()
            while not self.stopping:
                try:
                    connection.drain_events(timeout=1)  # 3. follow live
                    quiet_since = polled = time.monotonic()
                except TimeoutError:
                    now = time.monotonic()
                    if self.args.exit_when_idle and now - quiet_since > self.args.exit_when_idle:
                        return
                    if now - polled > self.args.poll:
                        self.read_feed()  # what a dropped doorbell would have missed
                        polled = now
                connection.heartbeat_check()
        finally:
            try:
                connection.release()
            except Exception:  # noqa: BLE001 (the connection is already gone)
                pass

    def retrying(self, work: Callable[[], Any], what: str) -> Any:
        """``work()``, again after a growing pause while the broker or the feed is out."""
        backoff = 1.0
        while True:
            try:
                return work()
            except self.broker_refused as error:
                raise Refused(f"the broker refused: {error}") from None
            except (FeedUnavailable, *self.broker_lost) as error:
                _log.warning("%s: %s; trying again in %.0fs", what, error, backoff)
            self.pause(backoff)
            backoff = min(backoff * 2, RETRY_MAX)

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self.on_signal)
        signal.signal(signal.SIGINT, self.on_signal)
        code = 0
        try:
            self.retrying(self.follow, "following the queue")
        except Stopped:
            pass
        except Refused as error:
            _log.error("%s", error)
            code = 2
        finally:
            self.out.close()
        print(
            f"handled {self.handled} event(s); checkpoint {self.checkpoint.positions}", flush=True
        )
        return code


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    env = os.environ.get
    parser = argparse.ArgumentParser(description="follow the library's events")
    parser.add_argument(
        "--amqp", default=env("LIBRARY_AMQP_URI"), help="the broker login (LIBRARY_AMQP_URI)"
    )
    parser.add_argument(
        "--api", default=env("LIBRARY_API"), help="the library gateway's URL (LIBRARY_API)"
    )
    parser.add_argument(
        "--token", default=env("LIBRARY_API_KEY"), help="an API key (LIBRARY_API_KEY)"
    )
    parser.add_argument(
        "--queue", required=True, help="this subscriber's queue: ext.<system>.<queue>"
    )
    parser.add_argument("--source", required=True, help="catalog, circulation, activities, ...")
    parser.add_argument("--types", default="", help="comma-separated event types (default all)")
    parser.add_argument("--campus", choices=("north", "south"), default=None)
    parser.add_argument("--state", default="state.json")
    parser.add_argument("--out", default="events.jsonl")
    parser.add_argument(
        "--feed-wait",
        type=float,
        default=FEED_WAIT,
        help="seconds to wait for a message's event in the feed before dropping the message",
    )
    parser.add_argument(
        "--poll", type=float, default=POLL, help="read the feed after this many quiet seconds"
    )
    parser.add_argument(
        "--exit-when-idle",
        type=float,
        default=0,
        help="stop after this many quiet seconds (for scripts and tests)",
    )
    args = parser.parse_args(argv)
    for name in ("amqp", "api", "token"):
        if not getattr(args, name):
            parser.error(f"--{name} (or its environment variable) is required")
    return Subscriber(args).run()


if __name__ == "__main__":
    sys.exit(main())
