"""GET /api/live over HTTP with the real services: events pushed as server-sent events.

A client reads the stream as a browser's fetch does (requests with stream=True):
a lend's events arrive within seconds; who sees what follows the rights; a
client that comes back with Last-Event-ID gets what it missed; a gateway
stops at once with streams open.
"""

from __future__ import annotations

import json
import secrets
import time
import uuid

import eventlet
import pytest
import requests
from eventlet.queue import Empty, LightQueue
from nameko.standalone.rpc import ServiceRpcProxy

from tests.helpers import wait_until
from tests.integration.test_accounts import start
from tests.integration.test_gateway import problem

SEEN_WITHIN = 10.0


class Stream:
    """An open /api/live stream, its messages parsed as they come (in a green thread)."""

    def __init__(self, base: str, token: str, last_event_id: str | None = None) -> None:
        headers = {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}
        if last_event_id:
            headers["Last-Event-ID"] = last_event_id
        self.response = requests.get(
            base + "/api/live", headers=headers, stream=True, timeout=(5, 60)
        )
        self.messages: list[dict] = []
        self.comments: list[str] = []
        self.ended = False
        self.error: Exception | None = None
        self._arrived: LightQueue = LightQueue()
        if self.response.status_code == 200:
            self._reader = eventlet.spawn(self._read)

    def _read(self) -> None:
        message: dict = {}
        try:
            for line in self.response.iter_lines(chunk_size=1, decode_unicode=True):
                if line == "":
                    if "data" in message:
                        message["envelope"] = json.loads(message["data"])
                        message["at"] = time.monotonic()  # when it arrived
                        self.messages.append(message)
                        self._arrived.put(message)
                    message = {}
                elif line.startswith(":"):
                    self.comments.append(line[1:].strip())
                    self._arrived.put(None)
                else:
                    name, _, value = line.partition(":")
                    message[name] = value[1:] if value.startswith(" ") else value
        except Exception as error:  # the connection was closed under us
            self.error = error
        self.ended = True
        self._arrived.put(None)

    def until(self, found, timeout: float = SEEN_WITHIN, what: str = "a message"):
        """Wait for the first message (so far or to come) for which ``found`` is true."""
        deadline = time.monotonic() + timeout
        while True:
            for message in self.messages:
                if found(message):
                    return message
            left = deadline - time.monotonic()
            if left <= 0 or self.ended:
                raise AssertionError(f"no {what} within {timeout}s: {self.types()}")
            try:
                self._arrived.get(timeout=left)
            except Empty:
                pass

    def types(self) -> list[str]:
        return [message["event"] for message in self.messages]

    def close(self) -> None:
        reader = getattr(self, "_reader", None)
        if reader is not None:
            reader.kill()  # first: closing under a read would be a reentrant call
        self.response.close()


def of_type(event_type: str, **data):
    def found(message: dict) -> bool:
        envelope = message["envelope"]
        return message["event"] == event_type and all(
            envelope["data"].get(key) == value for key, value in data.items()
        )

    return found


@pytest.fixture
def people(runner_factory, config):
    return start(runner_factory, config, live_heartbeat_seconds=0.5)


@pytest.fixture
def streams():
    opened: list[Stream] = []

    def open_stream(*args, **kwargs) -> Stream:
        stream = Stream(*args, **kwargs)
        opened.append(stream)
        return stream

    yield open_stream
    for stream in opened:
        stream.close()


def key_with(config, *rights: str) -> str:
    secret = "k." + secrets.token_urlsafe(32)
    with ServiceRpcProxy("accounts", config, timeout=10) as accounts:
        accounts.create_key(
            {"command_id": str(uuid.uuid4()), "name": f"live-{uuid.uuid4().hex[:6]}",
             "rights": list(rights), "secret": secret}
        )  # fmt: skip
    return secret


def test_a_librarian_sees_a_lend_as_it_happens(people, streams):
    barcode = people.add_books(copies=1)[0]
    patron_id = people.card()
    live = streams(people.base, people.tokens["librarian"])
    assert live.response.status_code == 200
    assert live.response.headers["Content-Type"].startswith("text/event-stream")
    assert live.response.headers["Cache-Control"] == "no-store"

    started = time.monotonic()
    answer = people.lend(barcode, patron_id)
    assert answer.status_code == 201
    lent = live.until(of_type("Lent", barcode=barcode), what="Lent")
    took = time.monotonic() - started
    assert took < 5, took

    envelope = lent["envelope"]
    assert lent["id"] == f"circulation:{envelope['position']}"
    assert envelope["source"] == "circulation" and envelope["data"]["patron_id"] == patron_id
    assert envelope["actor"]["role"] == "assistant"
    # the same envelope as the replay feed gives (the archives' copy, read after the lend)
    feed = people.get(
        "/api/events", params={"source": "circulation", "after": envelope["position"] - 1,
                               "limit": 1},
        headers={"X-Read-After": answer.headers["X-Event-Positions"]},
    )  # fmt: skip
    assert feed.json()["events"][0] == envelope


def test_heartbeats_keep_a_quiet_stream_alive(people, streams):
    live = streams(people.base, people.tokens["reader"])
    deadline = time.monotonic() + 5
    while live.comments.count("heartbeat") < 2 and time.monotonic() < deadline:
        eventlet.sleep(0.1)
    assert live.comments.count("heartbeat") >= 2 and not live.ended


def test_those_without_a_right_to_events_are_refused(people, config):
    _, student = people.card_holder("李雷", "student", "G7-3")
    refused = problem(people.as_(student, "GET", "/api/live"), 403)
    assert refused["right"] == "events.read"
    problem(people.get("/api/live", role=None), 401)


def test_events_naming_people_are_hidden_from_a_key_without_the_right(people, config, streams):
    barcode = people.add_books(copies=1)[0]
    patron_id = people.card()
    plain = streams(people.base, key_with(config, "events.read"))
    assert plain.response.status_code == 200
    operator = streams(people.base, people.tokens["operator"])  # operate: no names either
    personal = streams(people.base, key_with(config, "events.read", "events.personal"))
    desk = streams(people.base, people.tokens["assistant"])  # patrons.read: sees names

    assert people.lend(barcode, patron_id).status_code == 201
    personal.until(of_type("Lent", barcode=barcode), what="Lent (events.personal)")
    desk.until(of_type("Lent", barcode=barcode), what="Lent (assistant)")
    later = people.add_books(copies=1, title="后来的书")[0]
    plain.until(of_type("BookAdded", barcode=later), what="the later BookAdded")
    assert "Lent" not in plain.types() and "CardIssued" not in plain.types()
    assert plain.types().count("BookAdded") == 1  # the first was added before it opened
    operator.until(of_type("BookAdded", barcode=later), what="the later BookAdded (operator)")
    assert "Lent" not in operator.types() and "CardIssued" not in operator.types()


def test_last_event_id_resumes_after_the_last_event_seen(people, streams):
    first = people.add_books(copies=1)[0]
    live = streams(people.base, people.tokens["librarian"])
    patron_id = people.card()
    seen = live.until(of_type("CardIssued", patron_id=patron_id), what="CardIssued")
    live.close()

    assert people.lend(first, patron_id).status_code == 201  # while away
    again = streams(people.base, people.tokens["librarian"], last_event_id=seen["id"])
    again.until(of_type("Lent", barcode=first), what="the Lent missed")
    circulation = [m for m in again.messages if m["envelope"]["source"] == "circulation"]
    assert all(
        m["envelope"]["position"] > seen["envelope"]["position"] for m in circulation
    )  # nothing before the id is sent again


def test_an_old_last_event_id_resumes_from_the_archives_feed(runner_factory, config, streams):
    people = start(runner_factory, config, live_recent=1)  # keeps one event per source
    barcode = people.add_books(copies=1)[0]
    patron_id = people.card()
    assert people.lend(barcode, patron_id).status_code == 201
    body = {"barcode": barcode, "campus": "north", "on": "2026-10-12"}
    returned = people.post("/api/returns", body, role="assistant")
    assert returned.status_code == 200
    # CardIssued is circulation's first event: everything after it, from the archives
    after_card = streams(people.base, people.tokens["librarian"], last_event_id="circulation:1")
    after_card.until(of_type("Returned", barcode=barcode), what="Returned")
    types = after_card.types()
    assert types.index("Lent") < types.index("Returned") and "CardIssued" not in types


def live_queues(config) -> list[str]:
    """The gateway's live-stream queues in the test's vhost (management API)."""
    api = config["RABBIT_MANAGEMENT_URI"].rstrip("/")
    vhost = config["AMQP_URI"].rsplit("/", 1)[1]
    listed = requests.get(f"{api}/api/queues/{vhost}", params={"columns": "name"}, timeout=5)
    listed.raise_for_status()
    return [queue["name"] for queue in listed.json() if queue["name"].startswith("gateway.live.")]


def test_the_live_queue_is_bound_only_while_watched_and_a_resume_misses_nothing(
    runner_factory, config, streams
):
    people = start(runner_factory, config, live_idle_seconds=0.5, live_heartbeat_seconds=0.5)
    assert live_queues(config) == []  # nobody watching: the broker delivers it nothing
    barcode = people.add_books(copies=1)[0]
    live = streams(people.base, people.tokens["librarian"])
    assert len(live_queues(config)) == 1  # bound before the stream answered
    patron_id = people.card()
    seen = live.until(of_type("CardIssued", patron_id=patron_id), what="CardIssued")
    live.close()
    wait_until(lambda: live_queues(config) == [], timeout=10, what="the queue let go when idle")

    assert people.lend(barcode, patron_id).status_code == 201  # nobody watching
    again = streams(people.base, people.tokens["librarian"], last_event_id=seen["id"])
    again.until(of_type("Lent", barcode=barcode), what="the Lent made while unbound")
    body = {"barcode": barcode, "campus": "north", "on": "2026-10-12"}
    assert people.post("/api/returns", body, role="assistant").status_code == 200
    again.until(of_type("Returned", barcode=barcode), what="the Returned, live")
    circulation = [m["envelope"]["position"] for m in again.messages
                   if m["envelope"]["source"] == "circulation"]  # fmt: skip
    assert circulation == list(range(circulation[0], circulation[0] + len(circulation)))
    assert circulation[0] == seen["envelope"]["position"] + 1  # gapless, from the id on


def test_a_bad_last_event_id_is_refused_naming_the_header(people):
    for bad in ("nothing", "circulation:x", "library:3"):
        answer = people.get("/api/live", headers={"Last-Event-ID": bad})
        assert "Last-Event-ID" in problem(answer, 400)["errors"]


def test_streams_are_capped_and_a_closed_one_frees_its_slot(runner_factory, config, streams):
    people = start(runner_factory, config, live_max_streams=2, live_heartbeat_seconds=0.5)
    token = people.tokens["librarian"]
    one, two = streams(people.base, token), streams(people.base, token)
    assert one.response.status_code == two.response.status_code == 200
    three = people.get("/api/live")
    assert problem(three, 503)["code"] == "too_many_streams" and three.headers["Retry-After"]
    one.close()
    deadline = time.monotonic() + 5  # noticed at the next heartbeat (0.5 s here) at the latest
    while time.monotonic() < deadline:
        four = streams(people.base, token)
        if four.response.status_code == 200:
            break
        eventlet.sleep(0.2)
    assert four.response.status_code == 200


def test_the_gateway_stops_at_once_with_streams_open(runner_factory, config, streams):
    people = start(runner_factory, config)  # a heartbeat every 15 s: the stop must not wait
    live = streams(people.base, people.tokens["librarian"])
    assert live.response.status_code == 200
    started = time.monotonic()
    people.runner.stop()
    assert time.monotonic() - started < 5
    deadline = time.monotonic() + 5
    while not live.ended and time.monotonic() < deadline:
        eventlet.sleep(0.05)
    assert live.ended
