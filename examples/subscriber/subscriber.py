"""An external school system following the library's events: plain kombu, no nameko.

    python subscriber.py --amqp amqp://external:PASSWORD@127.0.0.1:5672/ \\
        --api http://127.0.0.1:8000 --token READER_TOKEN \\
        --name student-records --source circulation --types CardIssued,CardRetired \\
        [--campus north] --state state.json --out events.jsonl

1. Bind its own durable queue first, so nothing published from now on is missed.
2. Catch up from the library's replay feed (GET /api/events), from its checkpoint.
3. Follow the queue. An event at or below the checkpoint is a duplicate (the
   switch-over from feed to queue, or a redelivery): acknowledged and skipped.
   An event beyond checkpoint + 1 means some came before it that this queue did
   not carry (filtered out, or not yet delivered): the gap is read from the
   feed first. So there is no gap and no double at the switch-over.
4. Checkpoint after every event (atomically), then acknowledge: a restart
   resumes where it stopped; at worst the last event is seen again and skipped.

"Handling" an event here means appending it to --out as one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import requests
from kombu import Connection, Exchange, Queue

PAGE = 500
FEED_RETRY_SECONDS = 0.5


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
        self.types = set(args.types.split(",")) if args.types else None
        self.checkpoint = Checkpoint(Path(args.state))
        self.out = open(args.out, "a", encoding="utf-8")  # noqa: SIM115 (closed in run)
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {args.token}"
        self.handled = 0
        self.stopping = False

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

    # -- the protocol
    def apply(self, event: dict[str, Any]) -> None:
        """Handle one event exactly once, in position order, filling any gap first."""
        source, position = event["source"], event["position"]
        if position <= self.checkpoint.get(source):
            return  # already handled: a duplicate
        if position > self.checkpoint.get(source) + 1:
            self.catch_up(source, until=position - 1)
        self.handle(event)
        self.checkpoint.advance(source, position)

    def catch_up(self, source: str, until: int | None = None) -> None:
        """Read the replay feed from the checkpoint (up to ``until``, or to its end)."""
        while until is None or self.checkpoint.get(source) < until:
            after = self.checkpoint.get(source)
            limit = PAGE if until is None else min(PAGE, until - after)
            response = self.http.get(
                f"{self.args.api.rstrip('/')}/api/events",
                params={"source": source, "after": after, "limit": limit},
                timeout=10,
            )
            response.raise_for_status()
            page = response.json()["events"]
            if not page:
                if until is None:
                    return
                time.sleep(FEED_RETRY_SECONDS)  # the archive has not caught up yet
                continue
            for event in page:
                self.handle(event)
                self.checkpoint.advance(source, event["position"])

    def queue(self) -> Queue:
        name = f"ext.{self.args.name}"
        if self.args.campus:
            exchange = Exchange("library.events.by_campus", type="headers", passive=True)
            return Queue(
                name,
                exchange=exchange,
                durable=True,
                binding_arguments={
                    "x-match": "all",
                    "campus": self.args.campus,
                    "source": self.args.source,
                },
            )
        exchange = Exchange(f"{self.args.source}.events", type="topic", passive=True)
        keys = sorted(self.types) if self.types else ["#"]
        return Queue(name, bindings=[_binding(exchange, key) for key in keys], durable=True)

    def run(self) -> int:
        signal.signal(signal.SIGTERM, lambda *_: setattr(self, "stopping", True))
        try:
            with Connection(self.args.amqp, heartbeat=30) as connection:
                queue = self.queue()(connection.default_channel)
                queue.declare()  # 1. bind first
                self.catch_up(self.args.source)  # 2. then catch up
                print(
                    f"caught up at {self.checkpoint.get(self.args.source)}; following live",
                    flush=True,
                )
                with connection.Consumer(queue, callbacks=[self.on_message], accept=["json"]):
                    idle_since = time.monotonic()
                    while not self.stopping:
                        try:
                            connection.drain_events(timeout=1)  # 3. follow live
                            idle_since = time.monotonic()
                        except TimeoutError:
                            if self.args.exit_when_idle and (
                                time.monotonic() - idle_since > self.args.exit_when_idle
                            ):
                                break
        finally:
            self.out.close()
        print(
            f"handled {self.handled} event(s); checkpoint {self.checkpoint.positions}", flush=True
        )
        return 0

    def on_message(self, body: Any, message: Any) -> None:
        self.apply(body if isinstance(body, dict) else json.loads(body))
        message.ack()  # 4. only after the checkpoint moved


def _binding(exchange: Exchange, key: str) -> Any:
    from kombu import binding

    return binding(exchange, routing_key=key)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="follow the library's events")
    parser.add_argument("--amqp", required=True)
    parser.add_argument("--api", required=True, help="the library gateway, for the replay feed")
    parser.add_argument("--token", required=True, help="a reader token")
    parser.add_argument("--name", required=True, help="this subscriber's queue: ext.<name>")
    parser.add_argument("--source", required=True, help="catalog, circulation, activities, ...")
    parser.add_argument("--types", default="", help="comma-separated event types (default all)")
    parser.add_argument("--campus", choices=("north", "south"), default=None)
    parser.add_argument("--state", default="state.json")
    parser.add_argument("--out", default="events.jsonl")
    parser.add_argument(
        "--exit-when-idle",
        type=float,
        default=0,
        help="stop after this many quiet seconds (for scripts and tests)",
    )
    return Subscriber(parser.parse_args(argv)).run()


if __name__ == "__main__":
    sys.exit(main())
