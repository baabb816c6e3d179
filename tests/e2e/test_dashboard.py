"""The dashboard in a real browser: it shows what the API says.

The services run in this process over the real RabbitMQ and PostgreSQL; a
little school is seeded over RPC and a librarian's account made over the API;
headless Chromium (Debian's ``chromium``, driven by Playwright) opens the page
in a process of its own, since this one is monkey-patched by eventlet, signs in
with her username and password as she would, and reports what it saw as JSON.
The screenshots go to ``tests/artifacts/`` (the dashboard, and the sign-in form
on a phone).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from nameko.standalone.rpc import ServiceRpcProxy

from services.accounts.service import AccountsService
from services.activities.service import ActivitiesService
from services.archives.service import ArchivesService
from services.catalog.service import CatalogService
from services.circulation.service import CirculationService
from services.gateway.service import GatewayService
from shared.runtime.school_calendar import calendar_from_config
from tests.helpers import wait_until, with_web_address

pytestmark = pytest.mark.integration

HERE = Path(__file__).resolve().parent
BROWSE = HERE / "browse.py"
ARTIFACTS = HERE.parent / "artifacts"
CHROMIUM = Path("/usr/bin/chromium")
LIBRARIAN = {"username": "chen-jing", "name": "陈静", "password": "书香满校园2026"}

TITLES = [
    # (isbn, title, classification, campus, copies, reference_only)
    ("978-7-5063-6543-7", "活着", "I247.57", "north", 3, False),
    ("978-7-5063-6543-7", "活着", "I247.57", "south", 2, False),
    ("978-7-101-07274-7", "上下五千年", "K209", "north", 2, False),
    ("978-7-5322-6734-7", "从一到无穷大", "O1-49", "south", 2, False),
    ("978-7-100-12450-8", "现代汉语词典", "H316", "north", 1, True),
]
STUDENTS = [
    ("S1", "王小明", "G7-1", "north"),
    ("S2", "李雷", "G7-5", "south"),
    ("S3", "韩梅梅", "G7-1", "north"),
    ("S4", "张伟", "G7-2", "north"),
]


@pytest.fixture
def gateway(runner_factory, config):
    settings = with_web_address(config)
    runner = runner_factory(
        settings,
        CatalogService,
        CirculationService,
        ActivitiesService,
        ArchivesService,
        AccountsService,
        GatewayService,
    )
    runner.start()
    return settings


def seed(settings) -> dict:
    """A little school: copies at both campuses, four students, books read and loans this
    week, one overdue and one copy weeded."""
    today = calendar_from_config(settings).today()

    def rpc(service):
        return ServiceRpcProxy(service, settings, timeout=30)

    titles = [
        {
            "isbn": isbn,
            "title": title,
            "author": "作者",
            "classification": code,
            "campus": campus,
            "shelf": f"{campus[0].upper()}-{code[0]}-01",
            "price": "30.00",
            "reference_only": reference,
            "copies": copies,
        }
        for isbn, title, code, campus, copies, reference in TITLES
    ]
    with rpc("catalog") as catalog:
        added = catalog.add_titles({"titles": titles})["titles"]
    barcodes = [barcode for group in added for barcode in group["barcodes"]]
    north_novels, south_novels = barcodes[0:3], barcodes[3:5]
    history, science = barcodes[5:7], barcodes[7:9]
    with rpc("circulation") as circulation:
        wait_until(lambda: _known(circulation, barcodes[-1]), what="circulation to know the copies")
        for patron_id, name, class_name, campus in STUDENTS:
            circulation.issue_card(
                {
                    "patron_id": patron_id,
                    "name": name,
                    "kind": "student",
                    "class": class_name,
                    "campus": campus,
                }
            )
        lend = {"on": today.isoformat()}
        long_ago = {"on": (today - timedelta(days=20)).isoformat()}
        # Books read this week are titles brought back this week: S1 reads two, S3 and S2 one.
        for patron_id, barcode, campus in (
            ("S1", north_novels[0], "north"),
            ("S1", history[0], "north"),
            ("S3", north_novels[2], "north"),
            ("S2", south_novels[1], "south"),
        ):
            circulation.lend({"patron_id": patron_id, "barcode": barcode, "campus": campus, **lend})
            circulation.return_copy({"barcode": barcode, "campus": campus, **lend})
        circulation.lend_many(
            {"patron_id": "S1", "barcodes": north_novels[:2], "campus": "north", **lend}
        )
        circulation.lend({"patron_id": "S3", "barcode": history[0], "campus": "north", **lend})
        circulation.lend({"patron_id": "S2", "barcode": south_novels[0], "campus": "south", **lend})
        circulation.lend({"patron_id": "S4", "barcode": history[1], "campus": "north", **long_ago})
    with rpc("catalog") as catalog:
        catalog.weed({"barcode": science[1], "reason": "outdated"})
    return {"copies": len(barcodes), "on_loan": 5, "weeded": 1}


def _known(circulation, barcode):
    try:
        return circulation.copy_availability(barcode)
    except Exception:
        return None


class Api:
    def __init__(self, settings):
        self.base = "http://" + settings["WEB_SERVER_ADDRESS"]
        self.token = settings["GATEWAY"]["tokens"]["librarian"]

    def librarian(self) -> dict:
        """A librarian's account, made by the development librarian over the API."""
        made = requests.post(
            f"{self.base}/api/accounts",
            json={**LIBRARIAN, "roles": ["librarian"]},
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=30,
        )
        assert made.status_code == 201, made.text
        return LIBRARIAN

    def get(self, path, **query):
        answer = requests.get(
            f"{self.base}/api/{path}",
            params={k: v for k, v in query.items() if v},
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=30,
        )
        assert answer.status_code == 200, answer.text
        return answer.json()

    def total(self, ledger, campus=None):
        lines = self.get(f"ledgers/{ledger}", campus=campus)["lines"]
        return next(line for line in lines if line.get("campus", line.get("class_letter")) == "all")


def browse(api: Api, person: dict, *options: str) -> dict:
    """Run the browser in its own process, signed in as ``person``, and read what it saw.

    The password goes in the environment, not the arguments: the process list shows those."""
    done = subprocess.run(
        [sys.executable, str(BROWSE), api.base, person["username"], *options],
        env={**os.environ, "LIBRARY_PASSWORD": person["password"]},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert person["password"] not in done.stdout
    return json.loads(done.stdout)


def thousands(value: int) -> str:
    return f"{value:,}"


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium (make test installs it)")
def test_the_dashboard_shows_the_numbers_the_api_gives(gateway):
    seeded = seed(gateway)
    api = Api(gateway)
    held = seeded["copies"] - seeded["weeded"]
    wait_until(
        lambda: api.total("general")["held"] == held and api.total("general")["on_loan"] == 5,
        timeout=120,
        what="the archives' ledger to count every copy",
    )
    wait_until(
        lambda: api.get("leaderboards/students", period="week")["total"] == 3,
        timeout=120,
        what="the leaderboard to count this week's readers",
    )
    ARTIFACTS.mkdir(exist_ok=True)
    screenshot = ARTIFACTS / "dashboard.png"
    form_screenshot = ARTIFACTS / "sign-in.png"
    screenshot.unlink(missing_ok=True)
    form_screenshot.unlink(missing_ok=True)
    librarian = api.librarian()

    seen = browse(
        api, librarian, "--screenshot", str(screenshot), "--form-screenshot", str(form_screenshot)
    )

    assert seen["console_errors"] == []
    assert seen["form_before_sign_in"] == {
        "form_visible": True,
        "reason": "",
        "dashboard_visible": False,
    }
    shown = seen["all"]
    assert shown["errors"] == []
    # The session's token is kept in the tab's sessionStorage, never in the address or localStorage.
    assert "token" not in seen["address_after_sign_in"]
    assert seen["token_in_address"] is False
    assert seen["storage"] == {"session": ["library.dashboard.session"], "local": []}
    assert seen["who"] == {"name": "陈静", "role": "图书管理员"}
    general = api.total("general")
    assert shown["held"] == thousands(general["held"]) == thousands(held)
    assert shown["on_loan"] == thousands(general["on_loan"])
    assert shown["weeded"] == thousands(general["weeded"]) == "1"
    lines = api.get("ledgers/general")["lines"]
    assert shown["ledger"] == [[line["campus"], thousands(line["held"])] for line in lines]

    letters = api.get("ledgers/classification")["lines"]
    assert sorted(shown["letters"]) == sorted(
        [line["class_letter"], line["held"]] for line in letters if line["class_letter"] != "all"
    )

    students = api.get("leaderboards/students", period="week")["entries"]
    top = shown["students"][0]
    assert top["patron_id"] == students[0]["patron_id"] == "S1"
    assert top["name"] == "王小明" and top["books"] == "2 books"
    classes = api.get("leaderboards/classes", period="week")["entries"]
    assert shown["classes"][0] == [f"1. {classes[0]['class_name']}", classes[0]["books"]]

    overdue = api.get("overdue")["classes"]
    assert shown["overdue"] == str(sum(len(group["loans"]) for group in overdue)) == "1"
    assert shown["overdue_classes"] == [["G7-2", 1]]

    projections = {(service, projection) for service, projection, _ in shown["lag"]}
    assert ("archives", "copy_ledger") in projections
    assert ("circulation", "copy_availability") in projections

    for campus in ("north", "south"):
        assert seen[campus]["held"] == thousands(api.total("general", campus)["held"])
        assert (
            seen[campus]["students"][0]["patron_id"]
            == (
                api.get("leaderboards/students", period="week", campus=campus)["entries"][0][
                    "patron_id"
                ]
            )
        )
    assert seen["north"]["held"] != seen["south"]["held"]

    # Signing out ends the session at the gateway, forgets it and wipes the figures.
    assert seen["signed_out"] == {
        "form_visible": True,
        "reason": "已退出登录",
        "dashboard_visible": False,
        "storage": {"session": [], "local": []},
        "who_visible": False,
        "figures_left": "–",
        "old_session": 401,
    }
    # A wrong password: the same words as a wrong username, and no session.
    assert seen["refused"] == {
        "form_visible": True,
        "reason": "用户名或密码不正确",
        "dashboard_visible": False,
        "storage": {"session": [], "local": []},
    }
    # A session that ended elsewhere: back to the form at the next refresh.
    assert seen["expired"] == {
        "form_visible": True,
        "reason": "登录已过期，请重新登录",
        "dashboard_visible": False,
        "storage": {"session": [], "local": []},
    }
    for picture in (screenshot, form_screenshot):
        assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium (make test installs it)")
def test_a_service_that_is_down_empties_only_its_panels_saying_why(runner_factory, config):
    settings = with_web_address(config)
    runner = runner_factory(
        settings,
        CatalogService,
        CirculationService,
        ArchivesService,
        AccountsService,
        GatewayService,
    )
    runner.start()  # activities is not running
    api = Api(settings)
    librarian = api.librarian()
    with ServiceRpcProxy("catalog", settings, timeout=30) as catalog:
        catalog.add_titles({"titles": [_title("north", 4)]})
    wait_until(lambda: api.total("general")["held"] == 4, timeout=120, what="the ledger")

    shown = browse(api, librarian, "--no-campuses")["all"]

    assert shown["held"] == "4"  # the books of record still answer
    assert shown["banner"].startswith("Not answering: activities.")
    assert shown["errors"] == [
        "The activities service is not running. (asked again every 15 s)",
        "The activities service is not running. (asked again every 15 s)",
    ]
    assert shown["students"] == [] and shown["classes"] == []
    activities = [row for row in shown["lag"] if row[0] == "activities"]
    assert len(activities) == 1 and activities[0][1] is None
    assert activities[0][2].startswith("down: ")


def _title(campus: str, copies: int) -> dict:
    isbn, title, code, _, _, _ = TITLES[0]
    return {
        "isbn": isbn,
        "title": title,
        "author": "作者",
        "classification": code,
        "campus": campus,
        "shelf": "N-I-01",
        "price": "30.00",
        "copies": copies,
    }
