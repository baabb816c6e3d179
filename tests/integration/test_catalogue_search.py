"""The catalogue over HTTP as Chinese readers and librarians use it (issue 15).

* Search by pinyin and its initials (``hongloumeng``, ``hong lou meng``, ``hlm``;
  ``caoxueqin``, ``cxq``) besides title, author, ISBN and classification, one line
  per title with its copies at north and south.
* A transfer puts the copy in transit until the other campus's desk receives it.
* A copy's history is a timeline: every step with when, who did it and the reader.
"""

from __future__ import annotations

import uuid

import pytest

from services.catalog.projections import fill_pinyin
from services.catalog.service import CatalogService
from shared.runtime.school_calendar import SchoolCalendar, local_date
from tests.helpers import wait_until
from tests.integration.test_gateway import ALL_SERVICES, TODAY, problem, start_gateway
from tests.integration.test_gateway_campuses import card, in_transit_at, lend

ON = {"on": TODAY.isoformat()}
RED_CHAMBER = {"isbn": "978-7-02-000220-7", "title": "红楼梦", "author": "曹雪芹"}
SHELF = {"classification": "I242.4", "shelf": "N-I-03", "price": "59.70"}
OTHERS = (
    # the same title at south, its ISBN written without hyphens: still one title
    {**RED_CHAMBER, **SHELF, "isbn": "9787020002207", "campus": "south", "shelf": "S-I-01"},
    {"isbn": "9787020027422", "title": "西游记", "author": "吴承恩", **SHELF,
     "classification": "I242.3"},
    {"isbn": "9787532145096", "title": "三体", "author": "刘慈欣", **SHELF,
     "classification": "I247.55"},
    {"isbn": "9787108107657", "title": "红星照耀中国", "author": "埃德加·斯诺", **SHELF,
     "classification": "K266"},
    {"isbn": "9787543602311", "title": "时间简史", "author": "霍金", **SHELF,
     "classification": "P159", "campus": "south", "shelf": "S-P-01"},
)  # fmt: skip
COUNTS = ("copies", "available", "on_loan", "in_transit")


@pytest.fixture
def api(runner_factory, config):
    return start_gateway(runner_factory, config, *ALL_SERVICES)


@pytest.fixture
def desks(runner_factory, config):
    """The north desk's gateway with every service, and the south desk's."""
    north = start_gateway(runner_factory, {**config, "CAMPUS": "north"}, *ALL_SERVICES)
    south = start_gateway(runner_factory, {**config, "CAMPUS": "south"})
    return north, south


def titles(client, q, role="reader"):
    """The title lines a search for ``q`` answers, in shelf order."""
    answer = client.get("/api/books", role=role, params={"q": q})
    assert answer.status_code == 200, answer.text
    return answer.json()["titles"]


def names(lines):
    return [line["title"] for line in lines]


def counts(line):
    return {what: (line[what]["north"], line[what]["south"]) for what in COUNTS}


def test_a_reader_finds_a_title_by_its_pinyin_initials_author_isbn_or_class(api):
    red = api.add_books(2, **RED_CHAMBER, **SHELF, campus="north")
    for title in OTHERS:
        api.add_books(1, **title)

    for typed in ("hongloumeng", "hong lou meng", "Hong Lou Meng", "hlm", "HLM", "红楼梦"):
        assert names(titles(api, typed)) == ["红楼梦"], typed
    for typed in ("caoxueqin", "cxq", "曹雪芹"):
        assert names(titles(api, typed)) == ["红楼梦"], typed
    assert names(titles(api, "hong")) == ["红楼梦", "红星照耀中国"]  # K after I on the shelf
    assert names(titles(api, "lcx")) == ["三体"]
    assert names(titles(api, "sinuo")) == ["红星照耀中国"]  # 斯诺: the author's pinyin
    for isbn in ("9787020002207", "978-7-02-000220-7"):
        assert names(titles(api, isbn)) == ["红楼梦"]
    assert names(titles(api, "I24")) == ["西游记", "红楼梦", "三体"]
    assert names(titles(api, "i247")) == ["三体"]
    assert titles(api, "xyz") == [] and titles(api, "hlmx") == []

    found = api.get("/api/books", role="reader", params={"q": "hlm"}).json()
    assert (found["total"], found["titles_total"]) == (3, 1)  # three copies, one title
    assert sorted(copy["barcode"] for copy in found["items"])[:2] == red
    (line,) = found["titles"]
    assert {key: line[key] for key in ("isbn", "title", "author", "classification")} == {
        **RED_CHAMBER,
        "classification": "I242.4",
    }
    assert counts(line) == {
        "copies": (2, 1),
        "available": (2, 1),
        "on_loan": (0, 0),
        "in_transit": (0, 0),
    }

    patron = api.card()
    assert api.lend(red[0], patron).status_code == 201
    assert api.post(f"/api/copies/{red[1]}/reference", {"reference_only": True}).ok
    after = {
        "copies": (2, 1),
        "available": (0, 1),  # one lent, one reference-only: none to lend at north
        "on_loan": (1, 0),
        "in_transit": (0, 0),
    }
    wait_until(
        lambda: counts(titles(api, "hlm")[0]) == after,
        timeout=15,
        what="circulation to hear the copy is reference-only",
    )
    south_only = api.get("/api/books", role="reader", params={"q": "hlm", "campus": "south"})
    assert [c["campus"] for c in south_only.json()["items"]] == ["south"]
    assert counts(south_only.json()["titles"][0])["copies"] == (2, 1)  # the title's, both sides

    # Paging: the same window over the copies and over the titles.
    page = api.get("/api/books", role="reader", params={"q": "I24", "limit": 1, "offset": 1})
    assert (page.json()["total"], page.json()["titles_total"]) == (5, 3)
    assert names(page.json()["titles"]) == ["红楼梦"]


def test_copies_indexed_before_the_pinyin_keys_get_them_and_are_found(
    api, pool_for, runner_factory, config
):
    """Rows from before the migration have no keys: a catalog instance fills them when it
    starts (then hourly), and the search finds them by pinyin from then on."""
    api.add_books(2, **RED_CHAMBER, **SHELF, campus="north")
    catalog = pool_for("catalog")
    with catalog.transaction() as cursor:
        cursor.execute("UPDATE copies SET title_pinyin = NULL, title_initials = NULL")
    assert titles(api, "hlm") == []
    assert names(titles(api, "曹雪芹")) == ["红楼梦"]  # by title and author as before

    runner_factory(config, CatalogService).start()  # an instance started after the migration
    wait_until(lambda: names(titles(api, "hlm")) == ["红楼梦"], timeout=15, what="keys filled")
    with catalog.transaction() as cursor:
        assert fill_pinyin(cursor) == 0  # nothing left without keys
        cursor.execute("SELECT DISTINCT title_pinyin, title_initials, author_initials FROM copies")
        assert cursor.fetchall() == [("hongloumeng", "hlm", "cxq")]


def test_a_transferred_copy_is_in_transit_until_the_other_campus_receives_it(desks):
    north, south = desks
    [barcode] = north.add_books(**RED_CHAMBER, **SHELF, campus="north")
    patron = card(north)["patron_id"]

    sent = north.post(f"/api/copies/{barcode}/transfer", {"to_campus": "south", "shelf": "S-I-01"})
    assert sent.status_code == 200, sent.text
    today = SchoolCalendar().today().isoformat()
    assert {key: sent.json()[key] for key in ("campus", "shelf", "status", "transit")} == {
        "campus": "south",
        "shelf": "S-I-01",
        "status": "in_transit",
        "transit": {"from_campus": "north", "to_campus": "south", "since": today},
    }

    def availability():
        return north.get(f"/api/copies/{barcode}/availability").json()

    wait_until(
        lambda: availability()["transit"] is not None,
        timeout=15,
        what="circulation to see the copy in transit",
    )
    seen = availability()
    assert (seen["status"], seen["available"], seen["campus"]) == ("in_transit", False, "south")
    assert seen["transit"] == {"from_campus": "north", "to_campus": "south"}
    for desk in (north, south):
        refused = problem(lend(desk, barcode, patron), 409)
        assert refused["code"] == "copy_in_transit"
    assert counts(titles(north, "hlm")[0]) == {
        "copies": (0, 1),
        "available": (0, 0),
        "on_loan": (0, 0),
        "in_transit": (0, 1),
    }
    assert in_transit_at(north, "south") == 1

    not_here = problem(north.post(f"/api/copies/{barcode}/receive", role="assistant"), 409)
    assert not_here["code"] == "not_home_campus"
    assert "belongs to the south campus and is on its way there from north" in not_here["detail"]
    again = north.post(f"/api/copies/{barcode}/transfer", {"to_campus": "south", "shelf": "S-2"})
    assert problem(again, 409)["code"] == "copy_in_transit"

    received = south.post(f"/api/copies/{barcode}/receive", role="assistant")
    assert received.status_code == 200, received.text
    assert (received.json()["campus"], received.json()["status"]) == ("south", "on_shelf")
    assert received.json()["transit"] is None
    wait_until(lambda: availability()["available"], timeout=15, what="the copy lendable at south")
    assert problem(lend(north, barcode, patron), 409)["code"] == "wrong_campus"
    assert lend(south, barcode, patron).status_code == 201
    assert in_transit_at(north, "south", expected=0) == 0


def test_a_copys_history_is_a_timeline_with_when_who_and_the_reader(api):
    password = "long enough " + uuid.uuid4().hex[:8]
    made = api.post(
        "/api/accounts",
        {"username": "wang.li", "name": "王丽", "roles": ["librarian"], "password": password},
    )
    assert made.status_code == 201, made.text
    signed_in = api.post("/api/sessions", {"username": "wang.li", "password": password}, role=None)
    assert signed_in.status_code == 201, signed_in.text
    wang = {"Authorization": f"Bearer {signed_in.json()['token']}"}

    [barcode] = api.add_books(**RED_CHAMBER, **SHELF, campus="north")
    patron = api.card(name="李雷", class_name="G7-3")
    assert api.lend(barcode, patron).status_code == 201
    back = api.post("/api/returns", {"barcode": barcode, "campus": "north", **ON}, role="assistant")
    assert back.status_code == 200, back.text
    damaged = api.call(
        "POST", f"/api/copies/{barcode}/damage", None, headers=wang, json={"note": "torn"}
    )
    assert damaged.status_code == 200, damaged.text
    assert api.post(f"/api/copies/{barcode}/repair", {"note": "rebound"}).ok
    assert api.post(f"/api/copies/{barcode}/transfer", {"to_campus": "south", "shelf": "S-1"}).ok
    received = api.post(f"/api/copies/{barcode}/receive", {"campus": "south"}, role="assistant")
    assert received.ok, received.text
    assert api.post(f"/api/copies/{barcode}/weed", {"reason": "outdated"}).ok

    steps = (
        "catalogued", "lent", "returned", "damaged", "repaired", "transferred", "in_transit",
        "received", "weeded",
    )  # fmt: skip

    def history():
        answer = api.get(f"/api/copies/{barcode}/history")
        assert answer.status_code == 200, answer.text
        return answer.json()["events"]

    wait_until(lambda: len(history()) == len(steps), timeout=20, what="the archive to catch up")
    timeline = history()
    assert tuple(step["step"] for step in timeline) == steps
    for step in timeline:
        assert step["on"] == local_date(step["occurred_at"]).isoformat()  # at the school
        assert step["by"] is not None and step["by"]["username"] and step["by"]["role"]
    by_step = {step["step"]: step for step in timeline}
    assert by_step["lent"]["patron"] == {"patron_id": patron, "name": "李雷", "class_name": "G7-3"}
    assert by_step["returned"]["patron"]["name"] == "李雷"
    assert by_step["lent"]["by"]["role"] == "assistant"
    assert by_step["damaged"]["by"] == {"username": "wang.li", "role": "librarian", "name": "王丽"}
    assert by_step["catalogued"]["patron"] is None
    assert by_step["transferred"]["data"]["to_campus"] == "south"
    assert by_step["in_transit"]["data"] == {
        "barcode": barcode,
        "from_campus": "north",
        "to_campus": "south",
    }
    assert by_step["received"]["data"]["campus"] == "south"
    assert by_step["weeded"]["data"]["reason"] == "outdated"


def test_the_search_and_the_history_use_their_indexes(pool_for):
    """Title availability by ISBN key, and the names of who did what, without a scan."""
    from services.archives import queries as archives
    from services.circulation import queries as circulation

    with pool_for("circulation").transaction() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + circulation.TITLE_COPIES, (["9787020002207"],))
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "copy_availability_isbn_key" in plan
    with pool_for("archives").transaction() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + archives.COPY_HISTORY, ("C00000001",))
        plan = "\n".join(row[0] for row in cursor.fetchall())
    # With sequential scans priced out, one shows only where no index serves; which index
    # the planner takes on a small table (the barcode's, the account's, another) is its call.
    assert "Seq Scan" not in plan, plan
    assert "archived_events_barcode" in plan or "archived_events_account" in plan, plan
