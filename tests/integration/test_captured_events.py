"""Real events, captured from the running system, pass the published contract.

A day at the library is driven through the HTTP gateway over the real services,
RabbitMQ and PostgreSQL: titles catalogued with a price, cards issued, books lent,
renewed, returned at the other campus and received home, reserved, declared lost
and paid for, weeded; reading notes handed in and awarded; a term closed; staff
accounts made and changed. What the HTTP API does not reach (reading competitions,
API keys) is done as the console does it, over RPC. Then every event is read back:
from the archives' replay feed (``GET /api/events?source=X``) for every source,
compared with the source's own ``events_since`` feed, and off the wire from a
queue bound to each ``<source>.events`` exchange. Each event
must pass its message's payload schema in docs/asyncapi.yaml (envelope and data),
its ``data`` docs/schemas/<Type>.v<version>.json, and each message's headers the
headers schema, with dates, times and UUIDs format-checked.
"""

from __future__ import annotations

import json
import secrets
import uuid
from datetime import date, timedelta
from typing import Any

import pytest
import requests
import yaml
from jsonschema import Draft7Validator, FormatChecker
from jsonschema.validators import validator_for
from kombu import Connection, Queue
from nameko.standalone.rpc import ServiceRpcProxy
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from shared.events import CATALOGUE
from shared.messaging.asyncapi import ASYNCAPI_PATH, SCHEMAS_DIR
from shared.messaging.names import events_exchange
from tests.helpers import wait_until
from tests.integration.test_gateway import ALL_SERVICES, TITLE, TODAY, Api, start_gateway

PASSWORD = "书香满校园2026"
TERM_END = date(2027, 1, 23)
DOCUMENT_URI = "urn:test:asyncapi"
SERVICES = ("catalog", "circulation", "activities", "archives", "accounts")
# Every event type the day below makes: all of the catalogue's, today.
DAY_OF_EVENTS = {
    "catalog": {
        "BookAdded", "CopyDamaged", "Repaired", "Transferred", "ReferenceStatusChanged",
        "Weeded", "TransitStarted", "ArrivedHome", "StocktakeOpened", "CopyCounted",
        "StocktakeClosed",
    },
    "circulation": {
        "CardIssued", "CardBlocked", "CardUnblocked", "CardRetired", "Lent", "Renewed",
        "Returned", "Reserved", "ReservationFulfilled", "ReservationCancelled", "DeclaredLost",
        "CompensationPaid", "LostCopyReplaced",
        "HoldReady", "HoldExpired", "NoticeSent", "ClosedDaysSet",
        "ClosedDaysRemoved", "RotaSlotSet", "RotaSlotCleared", "CardClassChanged",
        "CardGraduated", "SchoolYearTurned", "OfflineScanRefused", "OfflineConflictResolved",
    },
    "activities": {
        "ReadingNoteSubmitted", "NoteAwarded", "CompetitionOpened", "CompetitionEntered",
        "EntryScored", "CompetitionClosed",
    },
    "archives": {"TermClosed"},
    "accounts": {
        "AccountCreated", "AccountRoleChanged", "AccountClassesSet", "PasswordChanged",
        "AccountDisabled", "AccountEnabled", "AccountLocked", "ApiKeyCreated", "ApiKeyRevoked",
        "EmailChanged",
    },
}  # fmt: skip


class Contract:
    """docs/asyncapi.yaml and docs/schemas/, as validators of real events."""

    def __init__(self) -> None:
        self.document = yaml.safe_load(ASYNCAPI_PATH.read_text())
        resource = Resource(self.document, specification=DRAFT7)
        self.registry = Registry().with_resource(DOCUMENT_URI, resource)
        self.formats = FormatChecker()  # every format: uuid too, date-time with rfc3339-validator
        assert {"date", "date-time", "uuid"} <= set(self.formats.checkers)

    def message(self, event: dict[str, Any]) -> str:
        return f"{event['type']}.v{event['schema_version']}"

    def payload(self, name: str) -> Draft7Validator:
        schema = {"$ref": f"{DOCUMENT_URI}#/components/messages/{name}/payload"}
        return Draft7Validator(schema, registry=self.registry, format_checker=self.formats)

    def data(self, name: str) -> Any:
        schema = json.loads((SCHEMAS_DIR / f"{name}.json").read_text())
        return validator_for(schema)(schema, format_checker=self.formats)

    def headers(self, name: str) -> Draft7Validator:
        schema = self.document["components"]["messages"][name]["headers"]
        return Draft7Validator(schema, format_checker=self.formats)

    def errors(self, event: dict[str, Any], headers: dict[str, Any] | None = None) -> list[str]:
        """What is wrong with a captured event (and its message headers), by schema."""
        name = self.message(event)
        where = f"{event.get('source')}#{event.get('position')} {name}"
        if name not in self.document["components"]["messages"]:
            return [f"{where}: no such message in docs/asyncapi.yaml"]
        checks = [("asyncapi.yaml payload", self.payload(name), event)]
        checks.append((f"docs/schemas/{name}.json", self.data(name), event.get("data")))
        if headers is not None:
            checks.append(("asyncapi.yaml headers", self.headers(name), headers))
        return [
            f"{where} {label}: {'/'.join(map(str, error.absolute_path))}: {error.message}"
            for label, validator, instance in checks
            for error in validator.iter_errors(instance)
        ]


class Library(Api):
    """The gateway, plus what the console does over RPC."""

    config: dict[str, Any]

    def ok(self, answer: requests.Response, status: int = 200) -> dict[str, Any]:
        assert answer.status_code == status, f"{answer.request.method} {answer.url}: {answer.text}"
        return answer.json() if answer.content else {}

    def rpc(self, service: str, method: str, payload: Any) -> Any:
        with ServiceRpcProxy(service, self.config, timeout=20) as proxy:
            return getattr(proxy, method)(payload)

    def lag(self, service: str) -> list[dict[str, Any]]:
        with ServiceRpcProxy(service, self.config, timeout=20) as proxy:
            return proxy.projection_lag()

    def settled(self) -> None:
        """Every projection of every service has applied every event recorded so far."""

        def done() -> bool:
            rows = [row for service in SERVICES for row in self.lag(service)]
            return bool(rows) and all(row["lag"] == 0 for row in rows)

        wait_until(done, timeout=30, what="every projection to catch up")

    def events_since(self, service: str) -> list[dict[str, Any]]:
        """A source's own feed (``events_since``), every page."""
        events: list[dict[str, Any]] = []
        with ServiceRpcProxy(service, self.config, timeout=20) as proxy:
            while page := proxy.events_since(events[-1]["position"] if events else 0, 500):
                events += page
        return events

    def replay_feed(self, source: str) -> list[dict[str, Any]]:
        """The archives' replay feed of a source over HTTP, every page, as the librarian."""
        events: list[dict[str, Any]] = []
        while True:
            after = events[-1]["position"] if events else 0
            page = self.ok(self.get("/api/events", params={"source": source, "after": after}))
            if not page["events"]:
                return events
            events += page["events"]


@pytest.fixture
def library(runner_factory, config):
    api = start_gateway(runner_factory, config, *ALL_SERVICES)
    library = Library(api.base, api.tokens, api.runner)
    library.config = config
    return library


def bind_wire_queues(config: dict[str, Any]) -> dict[str, str]:
    """A queue per source bound with ``#`` to its exchange, as an outside subscriber binds."""
    queues = {}
    with Connection(config["AMQP_URI"]) as connection:
        for source in CATALOGUE.sources():
            name = f"ext.contract-{source}"
            Queue(name, exchange=events_exchange(source), routing_key="#", durable=True)(
                connection.default_channel
            ).declare()
            queues[source] = name
    return queues


def drain_wire(config: dict[str, Any], queue: str) -> list[tuple[bytes, dict[str, Any]]]:
    """Every message waiting on ``queue``: its raw body and its headers."""
    taken = []
    with Connection(config["AMQP_URI"]) as connection:
        simple = connection.SimpleQueue(queue, no_ack=True)
        while True:
            try:
                message = simple.get(block=True, timeout=1.0)
            except simple.Empty:
                break
            taken.append((message.body, dict(message.headers or {})))
        simple.close()
    return taken


def a_day_at_the_library(library: Library) -> dict[str, Any]:
    """Everything a school does in a day (and a term), through the gateway where it can."""
    seen: dict[str, Any] = {}
    on = {"on": TODAY.isoformat()}

    # The librarian catalogues: a title at 12.5 yuan (sent as a JSON number), and another.
    cheap = {**TITLE, "isbn": "978-7-5321-7101-9", "title": "平凡的世界", "price": 12.5}
    b1, b2, b3, b4 = library.add_books(copies=4, **cheap)
    [held] = library.add_books(copies=1, isbn="978-0-306-40615-7", title="Teacher's guide")
    seen["isbn"] = cheap["isbn"]
    library.ok(library.post(f"/api/copies/{b3}/damage", {"note": "torn spine"}))
    library.ok(library.post(f"/api/copies/{b3}/repair", {"note": "rebound"}))
    library.ok(library.post(f"/api/copies/{b3}/transfer", {"to_campus": "south", "shelf": "S-1"}))
    library.ok(library.post(f"/api/copies/{b4}/reference"))
    library.ok(library.post(f"/api/copies/{b4}/weed", {"reason": "damaged_beyond_repair"}))
    # The south shelves are counted (清点): the copy sent there is found, the count closed.
    counting = library.ok(library.post("/api/stocktakes", {"campus": "south"}), 201)
    stocktake = f"/api/stocktakes/{counting['stocktake_id']}"
    library.ok(library.post(f"{stocktake}/scans", {"barcodes": [b3]}))
    library.ok(library.post(f"{stocktake}/close"))

    # The desk issues cards; one is blocked for a lost card and unblocked, one leaves.
    li_lei = library.card(name="李雷", class_name="G7-3")
    han_mei = library.card(name="韩梅梅", class_name="G7-3")
    teacher = library.card(name="王老师", kind="teacher", class_name=None)
    leaver = library.card(name="张伟", class_name="G9-1")
    desk = {"role": "assistant"}
    library.ok(library.post(f"/api/cards/{li_lei}/block", {"reason": "lost card"}, **desk))
    library.ok(library.post(f"/api/cards/{li_lei}/unblock", **desk))
    library.ok(library.post(f"/api/cards/{leaver}/retire", **desk))

    # A loan renewed, returned at the south desk, and received home at north.
    loan = library.ok(library.lend(b1, li_lei), 201)
    library.ok(library.post(f"/api/loans/{loan['loan_id']}/renew", on, **desk))
    back = {"barcode": b1, "campus": "south", **on}
    library.ok(library.post("/api/returns", back, **desk))
    wait_until(
        lambda: library.get(f"/api/copies/{b1}/availability").json()["transit"] is not None,
        timeout=20,
        what="the copy to be in transit",
    )
    library.ok(library.post(f"/api/copies/{b1}/receive", {"campus": "north"}, **desk))

    # The teacher reserves the guide Han Mei has; it is held for him and lent to him.
    library.ok(library.lend(held, han_mei), 201)
    guide = library.get(f"/api/copies/{held}").json()["isbn"]
    reserve = {"patron_id": teacher, "isbn": guide, "campus": "north"}
    library.ok(library.post("/api/reservations", reserve, **desk), 201)
    library.ok(library.post("/api/returns", {"barcode": held, "campus": "north", **on}, **desk))
    library.ok(library.lend(held, teacher), 201)
    # He reserves the novel too, then cancels.
    novel = library.ok(library.post("/api/reservations", {**reserve, "isbn": cheap["isbn"]}), 201)
    cancelled = f"/api/reservations/{novel['reservation_id']}/cancel"
    library.ok(library.post(cancelled, {"patron_id": teacher}, **desk))

    # Han Mei loses the novel and pays for it.
    lost = library.ok(library.lend(b2, han_mei), 201)
    declared = library.ok(library.post(f"/api/loans/{lost['loan_id']}/lost"))
    seen["replacement_cost"], seen["lost_loan"] = declared["replacement_cost"], lost["loan_id"]
    paid = {"amount": declared["replacement_cost"]}
    library.ok(library.post(f"/api/loans/{lost['loan_id']}/payment", paid))
    # The teacher loses a book and brings a new copy of it instead (以新书赔偿).
    [atlas] = library.add_books(copies=1)
    gone = library.ok(library.lend(atlas, teacher), 201)
    library.ok(library.post(f"/api/loans/{gone['loan_id']}/lost"))
    brought = {"new_barcode": "RPL-DAY-0001"}
    library.ok(library.post(f"/api/loans/{gone['loan_id']}/replacement", brought))

    # A reading note on Li Lei's loan, awarded by his teacher.
    library.settled()
    note = {"patron_id": li_lei, "loan_id": loan["loan_id"], "text": "平凡的人也有不平凡的一生。"}
    written = library.ok(library.post("/api/notes", note, **desk), 201)
    award = {"award": "本周好书评", "awarded_by": teacher}
    library.ok(library.post(f"/api/notes/{written['note_id']}/award", award))

    # A reading competition, from opening to its ranking (the console's RPC).
    competition = library.rpc(
        "activities",
        "open_competition",
        {"title": "我爱读书征文", "kind": "essay", "campus": "north", "closes_on": "2026-10-31",
         **on},
    )  # fmt: skip
    cid = competition["competition_id"]
    entry = library.rpc(
        "activities",
        "enter_competition",
        {"competition_id": cid, "patron_id": li_lei, "title": "读书的乐趣", **on},
    )
    scored = {"competition_id": cid, "entry_id": entry["entry_id"], "score": 92}
    library.rpc("activities", "score_entry", {**scored, "scored_by": teacher})
    closing = (TODAY + timedelta(days=21)).isoformat()
    library.rpc("activities", "close_competition", {"competition_id": cid, "on": closing})

    # Accounts: a staff account made, promoted, given a new password, disabled and enabled; the
    # teacher's account (made from his card) given his classes; ten wrong passwords lock one.
    staff = {"username": "zhao-desk", "name": "赵老师", "roles": ["assistant"], "campus": "north"}
    library.ok(library.post("/api/accounts", {**staff, "password": PASSWORD}), 201)
    library.ok(library.post("/api/accounts/zhao-desk/roles", {"roles": ["librarian"]}))
    library.ok(library.post("/api/accounts/zhao-desk/password", {"password": PASSWORD + "!"}))
    library.ok(library.post("/api/accounts/zhao-desk/disable", {"reason": "left the school"}))
    library.ok(library.post("/api/accounts/zhao-desk/enable"))
    wait_until(
        lambda: library.get(f"/api/accounts/{teacher}").status_code == 200,
        timeout=20,
        what="the teacher's account",
    )
    library.ok(library.post(f"/api/accounts/{teacher}/classes", {"classes": ["G7-3"]}))
    # Notices (docs/notices.md): the class teacher's address; G7-3's overdue loans e-mailed
    # to him (whether a mail server takes it or not, the notice is recorded); Han Mei's
    # reservation of the guide he brings back is held for her, and released unclaimed.
    library.ok(library.post(f"/api/accounts/{teacher}/email", {"email": "wang@school.example"}))
    library.ok(library.lend(b1, li_lei), 201)
    later = {"class": "G7-3", "on": (TODAY + timedelta(days=60)).isoformat()}
    wait_until(
        lambda: library.post("/api/notices/overdue", later).json()["told"],
        timeout=30,
        what="the overdue notice to the class teacher",
    )
    library.ok(library.post("/api/reservations", {**reserve, "patron_id": han_mei}, **desk), 201)
    library.ok(library.post("/api/returns", {"barcode": held, "campus": "north", **on}, **desk))
    released = library.ok(library.post("/api/holds/expire", {"on": later["on"]}))
    assert [hold["patron_id"] for hold in released["released"]] == [han_mei]
    sign_in = {"username": "zhao-desk", "password": "guess-guess"}
    for attempt in range(10):
        answer = requests.post(library.base + "/api/sessions", json=sign_in, timeout=30)
        assert answer.status_code == (423 if attempt == 9 else 401), answer.text
    # An API key for a school system, made and revoked as `library keys create` does.
    key = {"name": "grades-sync", "rights": ["events.read"], "secret": secrets.token_urlsafe(40)}
    library.rpc("accounts", "create_key", {"command_id": str(uuid.uuid4()), **key})
    library.rpc("accounts", "revoke_key", {"command_id": str(uuid.uuid4()), "name": key["name"]})

    # The calendar (docs/calendar.md): a closed day added and removed, a class's rota slot
    # set and cleared (in the spring, so no loan of the day moves).
    spring_day = {"starts": "2027-03-15", "name": "运动会"}
    library.ok(library.post("/api/calendar/closed", spring_day), 201)
    library.ok(library.call("DELETE", f"/api/calendar/closed/{spring_day['starts']}"))
    slot = {"class": "G8-2", "campus": "south", "weekday": 3, "period": "12:00-12:50"}
    library.ok(library.post("/api/rota", slot))
    library.ok(library.call("DELETE", "/api/rota/G8-2"))

    # An offline desk's queue (docs/offline.md): a scan for the card that left the school
    # is kept as a conflict, which the desk dismisses.
    scan = {"command_id": str(uuid.uuid4()), "at": f"{TODAY.isoformat()}T10:00:00+08:00",
            "action": "lend", "patron_id": leaver, "barcode": b1}  # fmt: skip
    queued = library.ok(library.post("/api/offline", {"campus": "north", "entries": [scan]}))
    [conflict] = queued["conflicts"]
    resolve = f"/api/offline/conflicts/{conflict['conflict_id']}/resolve"
    library.ok(library.post(resolve, {"resolution": "dismiss"}, **desk))

    # The term ends: the librarian closes it, freezing its report.
    library.settled()
    library.ok(library.post("/api/terms/2026-autumn/close", {"on": TERM_END.isoformat()}))
    library.settled()

    # The school year turns (docs/school-year.md): G7-3 moves up, a G12 student graduates.
    library.card(name="周杰", class_name="G12-2")
    turn = {"school_year": 2027, "starts": "2027-09-01"}
    library.ok(library.post("/api/school-year/turn", turn))
    library.settled()
    return seen


def test_every_captured_event_passes_the_published_contract(library, config):
    contract = Contract()
    queues = bind_wire_queues(config)
    seen = a_day_at_the_library(library)

    # Read back: the archives' replay feed of every source, equal to the source's own.
    own = {source: library.events_since(source) for source in CATALOGUE.sources()}
    captured: dict[str, list[dict[str, Any]]] = {}
    for source in CATALOGUE.sources():
        wait_until(
            lambda source=source: len(library.replay_feed(source)) == len(own[source]),
            timeout=30,
            what=f"the archives to hold every {source} event",
        )
        captured[source] = library.replay_feed(source)
        assert captured[source] == own[source], f"the {source} feeds differ"
    events = [event for page in captured.values() for event in page]
    errors = [error for event in events for error in contract.errors(event)]
    assert errors == [], "\n".join(errors)

    types = {source: {e["type"] for e in page} for source, page in captured.items()}
    assert types == DAY_OF_EVENTS
    assert sum(map(len, types.values())) == len(CATALOGUE.types()) == 53

    # Off the wire: every event arrived (at least once) and each message passes too.
    wire: dict[str, list[tuple[bytes, dict[str, Any]]]] = {source: [] for source in queues}
    for source, queue in queues.items():
        expected = {event["event_id"] for event in captured[source]}

        def arrived(source: str = source, queue: str = queue, expected: set = expected) -> bool:
            wire[source] += drain_wire(config, queue)
            return {json.loads(body)["event_id"] for body, _ in wire[source]} >= expected

        wait_until(arrived, timeout=30, what=f"every {source} event off the wire")
        ids = {json.loads(body)["event_id"] for body, _ in wire[source]}
        assert ids == expected, f"{source}: published events the feeds do not have"
    wire_errors = [
        error
        for messages in wire.values()
        for body, headers in messages
        for error in contract.errors(json.loads(body), headers)
    ]
    assert wire_errors == [], "\n".join(wire_errors)

    # Money is a string with two decimals: 12.5 went in as a JSON number, "12.50" came out.
    novel = [e for e in events if e["type"] == "BookAdded" and e["data"]["isbn"] == seen["isbn"]]
    assert [e["data"]["price"] for e in novel] == ["12.50"] * 4
    assert seen["replacement_cost"] == "12.50"
    (lost,) = [
        e
        for e in events
        if e["type"] == "DeclaredLost" and e["data"]["loan_id"] == seen["lost_loan"]
    ]
    (paid,) = [e for e in events if e["type"] == "CompensationPaid"]
    assert (lost["data"]["replacement_cost"], paid["data"]["amount"]) == ("12.50", "12.50")
    # Written off three times: the copy weeded by hand, and the lost ones (catalog follows).
    weeded = sorted(
        (e["data"]["reason"], e["data"]["value"]) for e in events if e["type"] == "Weeded"
    )
    assert weeded == [("damaged_beyond_repair", "12.50"), ("lost", "12.50"), ("lost", "59.70")]
    raw = b"".join(body for body, _ in wire["catalog"] + wire["circulation"])
    assert b'"price":"12.50"' in raw and b'"amount":"12.50"' in raw
    assert b'"price":12.5' not in raw
