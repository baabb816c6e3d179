"""The example subscriber (examples/subscriber) against a running library, as its docs say.

A school system gets its key and its broker user from ``library keys create``
(shared/cli/keys.py). The subscriber catches up from the replay feed, follows live
without a gap or a double at the switch-over, stops, misses some events while down,
and resumes from its checkpoint; a campus-filtered one sees only its campus. Forged
messages (a position the feed does not have, or has with another event) are never
taken, a far-future one does not hang it, and SIGTERM stops it even while it waits.
"""

import json
import os
import signal
import subprocess
import sys
import time
import uuid

import pytest
from kombu import Connection

from services.accounts.service import AccountsService
from services.archives.service import ArchivesService
from services.catalog.service import CatalogService
from services.circulation.service import CirculationService
from shared.cli import keys
from shared.config import REPO_ROOT, SERVICES
from shared.messaging.names import declare_campus_routing
from shared.messaging.publisher import ConfirmingPublisher, OutgoingMessage
from tests.helpers import wait_until
from tests.integration.test_gateway import start_gateway

EXAMPLE = REPO_ROOT / "examples" / "subscriber" / "subscriber.py"
RIGHTS = ["events.personal", "events.read"]


def lines(path):
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


class Library:
    """The running library, its school systems' keys, and subscribers started against it."""

    def __init__(self, api, config, tmp_path):
        self.api, self.config, self.tmp = api, config, tmp_path
        self.keys: dict[str, dict] = {}
        self.running: list[subprocess.Popen] = []

    def card(self, name, campus="north"):
        answer = self.api.post(
            "/api/cards", {"name": name, "kind": "teacher", "campus": campus}, role="assistant"
        )
        assert answer.status_code == 201, answer.text
        return answer.json()["patron_id"]

    def archived(self):
        reply = self.api.get("/api/events?source=circulation&limit=1000", role="reader").json()
        return reply["events"]

    def system(self, name):
        """``library keys create NAME --rights events.read,events.personal``, once."""
        if name not in self.keys:
            system = f"{name}-{uuid.uuid4().hex[:6]}"
            self.keys[name] = keys.create(self.config, system, RIGHTS, timeout=30)
        return self.keys[name]

    def subscriber(self, name, *extra, feed_wait=10.0):
        key = self.system(name)
        environment = {
            **os.environ,
            "LIBRARY_AMQP_URI": key["broker"]["amqp_uri"],
            "LIBRARY_API": self.api.base,
            "LIBRARY_API_KEY": key["api_key"],
        }
        command = [
            sys.executable,
            str(EXAMPLE),
            "--queue",
            key["broker"]["queues"][0],
            "--source",
            "circulation",
            "--state",
            str(self.tmp / f"{name}.json"),
            "--out",
            str(self.tmp / f"{name}.jsonl"),
            "--feed-wait",
            str(feed_wait),
            *extra,
        ]
        log = open(self.tmp / f"{name}.log", "a")  # noqa: SIM115 (closed with the process)
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=log, text=True, env=environment
        )
        log.close()  # the child has its own copy
        self.running.append(process)
        return process

    def close(self):
        for process in self.running:
            if process.poll() is None:
                process.kill()
            process.wait(timeout=20)
        for key in self.keys.values():
            keys.revoke(self.config, key["name"], timeout=30)


@pytest.fixture
def library(runner_factory, config, tmp_path):
    api = start_gateway(
        runner_factory, config, CatalogService, CirculationService, ArchivesService, AccountsService
    )
    with Connection(config["AMQP_URI"]) as connection:
        declare_campus_routing(connection, list(SERVICES))
    made = Library(api, config, tmp_path)
    yield made
    made.close()


def stop(process, within=10.0):
    """SIGTERM, and how long it took to stop."""
    started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=within)
    return time.monotonic() - started


def test_catch_up_follow_live_and_resume_without_gaps_or_doubles(library):
    history = [library.card("王老师"), library.card("张老师", "south"), library.card("刘老师")]
    wait_until(lambda: len(library.archived()) == 3, what="the archive to hold the history")
    out = library.tmp / "records.jsonl"
    first = library.subscriber("records", "--types", "CardIssued,CardRetired")
    north = library.subscriber("north", "--campus", "north")
    assert "following live" in first.stdout.readline()
    assert "following live" in north.stdout.readline()

    live = [library.card("赵老师"), library.card("钱老师", "south")]
    wait_until(lambda: len(lines(out)) == 5, what="the live events")
    stop(first)

    while_down = [library.card("孙老师"), library.card("李老师")]
    wait_until(lambda: len(library.archived()) == 7, what="the archive to hold what was missed")
    again = library.subscriber("records", "--types", "CardIssued,CardRetired")
    assert "following live" in again.stdout.readline()
    after = [library.card("周老师")]
    wait_until(lambda: len(lines(out)) == 8, what="the resumed subscriber to catch up")
    stop(again)
    stop(north)

    seen = lines(out)
    assert [e["data"]["patron_id"] for e in seen] == history + live + while_down + after
    assert [e["position"] for e in seen] == sorted(e["position"] for e in seen)
    assert len({e["event_id"] for e in seen}) == len(seen)
    campus_only = lines(library.tmp / "north.jsonl")
    assert {e["campus"] for e in campus_only} == {"north"}
    assert [e["data"]["name"] for e in campus_only] == [
        "王老师",
        "刘老师",
        "赵老师",
        "孙老师",
        "李老师",
        "周老师",
    ]


def forged(position, name="冒名者"):
    """A well-formed CardIssued that the library never recorded."""
    event = {
        "event_id": str(uuid.uuid4()),
        "type": "CardIssued",
        "schema_version": 1,
        "source": "circulation",
        "position": position,
        "stream_id": "card-F0000001",
        "stream_version": 1,
        "occurred_at": "2026-12-07T08:00:00+00:00",
        "recorded_at": "2026-12-07T08:00:00+00:00",
        "campus": "north",
        "data": {"patron_id": "F0000001", "name": name, "kind": "teacher", "campus": "north"},
    }
    return OutgoingMessage(
        "CardIssued",
        json.dumps(event).encode(),
        message_id=event["event_id"],
        headers={"source": "circulation", "position": position, "type": "CardIssued"},
    )


def publish_as_administrator(config, message):
    """What a forger with publish rights would send (no school system has them any more:
    tests/integration/test_security.py); the subscriber must not rely on that alone."""
    publisher = ConfirmingPublisher(config["AMQP_URI"], confirm_timeout=5)
    try:
        publisher.publish_batch("circulation.events", [message])
    finally:
        publisher.close()


def test_forged_events_are_never_taken_and_a_far_future_one_does_not_hang_it(library, config):
    real = [library.card("王老师")]
    wait_until(lambda: len(library.archived()) == 1, what="the archive to hold the first card")
    out = library.tmp / "records.jsonl"
    follower = library.subscriber("records", feed_wait=2.0)
    assert "following live" in follower.stdout.readline()

    publish_as_administrator(config, forged(2))  # the next position, before the real one
    publish_as_administrator(config, forged(10**9, "远未来"))  # a position far ahead
    real.append(library.card("张老师"))  # the real position 2
    real.append(library.card("刘老师"))
    wait_until(lambda: len(lines(out)) == 3, what="the real events after the forged ones")
    log = library.tmp / "records.log"
    wait_until(  # --feed-wait 2: it gives up on the far-future one and carries on
        lambda: log.read_text().count("dropped event") == 2, what="both forged events dropped"
    )
    real.append(library.card("赵老师"))
    wait_until(lambda: len(lines(out)) == 4, what="a real event after the far-future one")

    took = stop(follower)
    seen = lines(out)
    archived = library.archived()
    assert [e["data"]["patron_id"] for e in seen] == real
    assert [e["event_id"] for e in seen] == [e["event_id"] for e in archived]
    assert "冒名者" not in out.read_text() and "远未来" not in out.read_text()
    assert "the replay feed has" in log.read_text()  # position 2 is another event: taken
    assert "not in the replay feed within 2.0s" in log.read_text()
    assert took < 5, f"SIGTERM took {took:.1f}s"


def test_sigterm_stops_it_while_it_waits_for_a_forged_events_feed(library, config):
    library.card("王老师")
    wait_until(lambda: len(library.archived()) == 1, what="the archive to hold the first card")
    follower = library.subscriber("records", feed_wait=600.0)
    assert "following live" in follower.stdout.readline()
    publish_as_administrator(config, forged(10**9))
    # It now waits up to 600 s for the feed to have position 10**9: a stop cuts that short.
    wait_until(
        lambda: "not in the replay feed yet" in (library.tmp / "records.log").read_text(),
        what="the subscriber to be waiting for the forged event's position",
    )
    took = stop(follower)
    assert follower.returncode == 0
    assert took < 5, f"SIGTERM took {took:.1f}s"
    assert [e["data"]["name"] for e in lines(library.tmp / "records.jsonl")] == ["王老师"]


def test_a_key_without_events_personal_gets_a_broker_user_that_cannot_bind_to_people(library):
    name = f"shelf-audit-{uuid.uuid4().hex[:6]}"
    made = keys.create(library.config, name, ["events.read"], timeout=30)
    library.keys[name] = made  # revoked after the test
    assert made["broker"]["exchanges"] == ["catalog.events", "archives.events"]
    queue = made["broker"]["queues"][0]
    with Connection(made["broker"]["amqp_uri"]) as connection:
        connection.channel().queue_bind(queue, "catalog.events", routing_key="#")
    for exchange in ("circulation.events", "accounts.events", "library.events.by_campus"):
        with Connection(made["broker"]["amqp_uri"]) as connection:
            with pytest.raises(Exception, match="(?i)access.refused"):
                connection.channel().queue_bind(queue, exchange, routing_key="#")
    with pytest.raises(keys.UsageError, match="lower-case"):
        keys.create(library.config, "Shelf.Audit", ["events.read"], timeout=30)
