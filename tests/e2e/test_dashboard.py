"""The librarian's home page through the screens: the API's figures, live, per campus; and
a service that is down empties only its own panels, saying why in Chinese."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from services.accounts.service import AccountsService
from services.archives.service import ArchivesService
from services.catalog.service import CatalogService
from services.circulation.service import CirculationService
from services.gateway.service import GatewayService
from services.sip2.service import Sip2Service
from shared.runtime.school_calendar import calendar_from_config
from tests.e2e.scenarios.browser import class_words
from tests.e2e.school import TITLES, SchoolApi, make_school
from tests.helpers import wait_until, with_sip2_listener, with_web_address

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def api_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """What SchoolApi needs in a scenario's process: the address and the dev token."""
    return {
        "WEB_SERVER_ADDRESS": settings["WEB_SERVER_ADDRESS"],
        "GATEWAY": {"tokens": {"librarian": settings["GATEWAY"]["tokens"]["librarian"]}},
    }


def total(api: SchoolApi, ledger: str, campus: str | None = None) -> dict[str, Any]:
    query = f"?campus={campus}" if campus else ""
    lines = api.call("GET", f"/api/ledgers/{ledger}{query}")["lines"]
    return next(line for line in lines if line.get("campus", line.get("class_letter")) == "all")


def a_week_of_reading(settings: dict[str, Any], school: dict[str, Any]) -> dict[str, Any]:
    """Books read this week (lent and brought back today), two on loan, one overdue, one
    weeded, over the API; waits until the read models count them all."""
    api = SchoolApi(settings)
    today = calendar_from_config(settings).today()
    copies = school["barcodes"]
    north_novel, south_novel = copies["红楼梦@north"], copies["活着@south"]
    for card, barcode, campus in (
        ("S70301", north_novel[0], "north"),
        ("S70301", copies["活着@north"][0], "north"),
        ("S80601", south_novel[0], "south"),
    ):
        api.call("POST", "/api/loans", json={"patron_id": card, "barcode": barcode,
                                             "campus": campus})  # fmt: skip
        api.call("POST", "/api/returns", json={"barcode": barcode, "campus": campus})
    long_ago = (today - timedelta(days=20)).isoformat()
    api.call("POST", "/api/loans", json={"patron_id": "S70302", "on": long_ago,
             "barcode": copies["上下五千年@north"][0], "campus": "north"})  # fmt: skip
    api.call("POST", "/api/loans", json={"patron_id": "S70303", "barcode": north_novel[1],
                                         "campus": "north"})  # fmt: skip
    api.call("POST", f"/api/copies/{copies['从一到无穷大@south'][1]}/weed",
             json={"reason": "outdated"})  # fmt: skip
    wait_until(
        lambda: total(api, "general")["on_loan"] == 2 and total(api, "general")["weeded"] == 1,
        timeout=60,
        what="the ledger to count the loans and the weeding",
    )
    wait_until(
        lambda: api.call("GET", "/api/leaderboards/students?period=week")["total"] == 2,
        timeout=60,
        what="the leaderboard to count this week's readers",
    )
    return {"live_lend": {"patron_id": "S70301", "barcode": north_novel[2], "campus": "north"}}


def test_the_dashboard_shows_the_api_s_figures_live_and_per_campus(library, school, scenario):
    facts = a_week_of_reading(library, school)
    api = SchoolApi(library)
    held = {campus: total(api, "general", campus)["held"] for campus in ("north", "south")}
    general = api.call("GET", "/api/ledgers/general")["lines"]
    letters = api.call("GET", "/api/ledgers/classification")["lines"]
    students = api.call("GET", "/api/leaderboards/students?period=week")["entries"]
    classes = api.call("GET", "/api/leaderboards/classes?period=week")["entries"]
    overdue = api.call("GET", "/api/overdue")["classes"]

    seen = scenario("dashboard", **facts, api=api_settings(library), held=held)

    shown, line = seen["all"], total(api, "general")
    assert shown["held"] == f"{sum(held.values()):,}"
    assert shown["on-loan"] == "2" and shown["in-repair"] == "0" and shown["weeded"] == "1"
    assert shown["ledger"] == [
        [{"north": "北区", "south": "南区", "all": "合计"}[row["campus"]], f"{row['held']:,}"]
        for row in general
    ]
    assert sorted(shown["letters"]) == sorted(
        [_letter(row["class_letter"]), f"{row['held']:,}", f"{row['on_loan']:,}"]
        for row in letters
        if row["class_letter"] != "all"
    )
    assert [entry["patron_id"] for entry in shown["students"]] == [
        entry["patron_id"] for entry in students
    ]
    assert shown["students"][0] == {"patron_id": "S70301", "name": "王小明", "books": "2 册"}
    assert [row[:2] for row in shown["classes"]] == [
        [str(entry["rank"]), class_words(entry["class_name"])] for entry in classes
    ]
    assert shown["overdue-total"] == "1" == str(sum(len(group["loans"]) for group in overdue))
    assert shown["overdue_classes"] == [["初一(3)班", "1"]]
    projections = {tuple(row) for row in shown["lag"]}
    assert ("archives", "copy_ledger") in projections
    assert ("circulation", "copy_availability") in projections

    # Live: the lend made while the page was open, shown without a reload.
    assert seen["after_lend"] == str(line["on_loan"]) == "3"
    assert seen["no_reload"] is True

    for campus in ("north", "south"):
        assert seen[campus]["held"] == f"{held[campus]:,}"
        board = api.call("GET", f"/api/leaderboards/students?period=week&campus={campus}")
        assert [entry["patron_id"] for entry in seen[campus]["students"]] == [
            entry["patron_id"] for entry in board["entries"]
        ]
    assert seen["north"]["held"] != seen["south"]["held"]
    assert seen["phone_charts_fit"] is True


@pytest.fixture
def without_activities(runner_factory, config) -> dict[str, Any]:
    """Every service but activities (the reading programme) running, and the little school."""
    settings = with_sip2_listener(with_web_address(config))
    runner_factory(
        settings,
        CatalogService,
        CirculationService,
        ArchivesService,
        AccountsService,
        GatewayService,
        Sip2Service,
    ).start()
    return {"settings": settings, "school": make_school(settings)}


def test_a_service_that_is_down_empties_only_its_panels_saying_why(without_activities):
    settings, school = without_activities["settings"], without_activities["school"]
    api = SchoolApi(settings)
    held = sum(copies for *_, copies, _ in TITLES)
    wait_until(lambda: total(api, "general")["held"] == held, timeout=60, what="the ledger")

    seen = run_scenario("dashboard", {**school, "api": api_settings(settings)}, "down")

    shown = seen["down"]
    assert shown["held"] == f"{held:,}"  # the books of record still answer
    assert shown["students"] == [] and shown["classes"] == []
    down = "阅读活动服务没有响应，这一栏暂时没有数据"
    assert seen["reasons"] == [down, down]
    assert seen["expected_503s"] >= 2  # the two leaderboards, nothing else failed
    assert "未运行" in seen["lag_activities"]
    assert [None] == [row[1] for row in shown["lag"] if row[0] == "activities"]
    services = {row[1]: row for row in seen["operator_services"]}
    assert services["activities"][2] == "未运行"
    assert all(services[name][2] == "运行中" for name in ("catalog", "circulation", "archives"))


def run_scenario(name: str, facts: dict[str, Any], *args: str) -> Any:
    """A browser scenario against a library of this test's own (not the ``school`` fixture's)."""
    done = subprocess.run(
        [sys.executable, "-m", f"tests.e2e.scenarios.{name}", *args],
        cwd=ROOT,
        env={**os.environ, "LIBRARY_SCHOOL": json.dumps(facts)},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, f"scenario {name} failed:\n{done.stderr[-6000:]}"
    return json.loads(done.stdout or "null")


def _letter(letter: str) -> str:
    names = {"H": "H 语言、文字", "I": "I 文学", "K": "K 历史、地理", "O": "O 数理科学和化学"}
    return names.get(letter, letter)
