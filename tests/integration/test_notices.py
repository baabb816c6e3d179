"""Notices over HTTP with the real services and a real SMTP server (shared/cli/mailbox.py,
aiosmtpd, run by the test): the overdue list a class teacher gets, the reserved book
ready (预约到书) with its pick-up day, a hold nobody came for passed to the next reader,
a mail server that refuses recorded as failed, and each notice an event in the feed.

The days are the school's real today (the periodic check of the holds runs on it).
"""

from __future__ import annotations

import socket
import subprocess
import sys
from datetime import date, datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from shared.config import REPO_ROOT
from tests.helpers import free_port, wait_until
from tests.integration.test_accounts import People, start

ISBN = "978-7-02-000220-7"  # 红楼梦: one copy, reserved by two teachers


class Mailbox:
    """``python -m shared.cli.mailbox`` on a free port, its messages read from its folder."""

    def __init__(self, directory: Path, refuse: bool = False) -> None:
        self.directory = directory
        self.port = free_port()
        command = [sys.executable, "-m", "shared.cli.mailbox", "--port", str(self.port),
                   "--directory", str(directory)] + (["--refuse"] if refuse else [])  # fmt: skip
        self.process = subprocess.Popen(command, cwd=REPO_ROOT, stdout=subprocess.DEVNULL)
        wait_until(self._listening, timeout=20, what="the mail box to listen")

    def _listening(self) -> bool:
        with socket.socket() as sock:
            return sock.connect_ex(("127.0.0.1", self.port)) == 0

    def messages(self) -> list:
        return [
            message_from_bytes(path.read_bytes(), policy=policy.default)
            for path in sorted(self.directory.glob("*.eml"))
        ]

    def to(self, address: str) -> list:
        return [m for m in self.messages() if m["To"].addresses[0].addr_spec == address]

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def school_with_mail(runner_factory, config, mailbox: Mailbox) -> People:
    settings = {
        **config,
        "NOTICES": {
            "smtp": {"host": "127.0.0.1", "port": mailbox.port, "sender": "library@school.example"},
            "web_address": "http://library.school.example",
            "hold_pick_up_days": 2,
        },
    }
    return start(runner_factory, settings)


@pytest.fixture
def mailbox(tmp_path):
    box = Mailbox(tmp_path / "mail")
    yield box
    box.stop()


@pytest.fixture
def school(runner_factory, config, mailbox) -> People:
    return school_with_mail(runner_factory, config, mailbox)


def archived(school: People, kind: str, count: int) -> list[dict]:
    """The circulation events of a type in the archives' replay feed, once there are
    ``count`` of them (the archives follow circulation a moment behind)."""

    def found() -> list[dict]:
        feed = school.get("/api/events?source=circulation&limit=1000", role="reader").json()
        events = [e for e in feed["events"] if e["type"] == kind]
        return events if len(events) >= count else []

    return wait_until(found, timeout=30, what=f"{count} {kind} in the feed")


def today() -> date:
    return datetime.now(ZoneInfo("Asia/Shanghai")).date()


def teacher(school: People, name: str, class_name: str, email: str | None) -> str:
    """A class teacher's card, her account (from the card) and, given one, her address."""
    patron_id = school.card(name=name, kind="teacher", class_name=class_name)
    wait_until(
        lambda: school.get(f"/api/accounts/{patron_id}").status_code == 200,
        timeout=20,
        what=f"the account of {name}",
    )
    if email:
        changed = school.post(f"/api/accounts/{patron_id}/email", {"email": email})
        assert changed.status_code == 200, changed.text
        assert changed.json()["email"] == email
    return patron_id


def lend_long_ago(school: People, barcode: str, patron_id: str, days: int = 40) -> None:
    answer = school.lend(barcode, patron_id, on=today() - timedelta(days=days))
    assert answer.status_code == 201, answer.text


def notices_sent(school: People, class_name: str) -> dict:
    """Send the overdue notices of a class once circulation knows its teacher's address
    (an attempt that finds no address sends nothing, so asking again sends once)."""
    return wait_until(
        lambda: (
            (answer := school.post("/api/notices/overdue", {"class": class_name}).json())
            and answer.get("told")
            and answer
        ),
        timeout=30,
        what=f"the overdue notice of {class_name} to be sent",
    )


def test_each_class_teacher_gets_her_class_overdue_loans_in_chinese(school, mailbox):
    wang = teacher(school, "王丽", "G7-3", "wang.li@school.example")
    teacher(school, "赵敏", "G7-4", None)  # no address: listed, not told
    staff = {"username": "li-lib", "name": "李馆员", "roles": ["librarian"]}
    made = school.post(
        "/api/accounts", {**staff, "password": "书香满校园2026", "email": "Li@School.EXAMPLE"}
    )
    assert made.status_code == 201 and made.json()["email"] == "Li@school.example"
    bad = school.post(f"/api/accounts/{wang}/email", {"email": "王丽 at school"})
    assert bad.status_code == 400 and "email" in bad.json()["errors"], bad.text
    same = school.post(f"/api/accounts/{wang}/email", {"email": "wang.li@school.example"})
    assert same.status_code == 409 and same.json()["code"] == "same_email", same.text
    books = school.add_books(copies=2)
    other = school.add_books(copies=1, isbn="978-7-5321-7101-9", title="平凡的世界")
    zhang = school.card(name="张伟", class_name="G7-3")
    li = school.card(name="李明", class_name="G7-4")
    lend_long_ago(school, books[0], zhang)
    lend_long_ago(school, other[0], li)
    school.lend(books[1], zhang, on=today())  # not overdue: not in the notice

    answer = notices_sent(school, "G7-3")
    [told] = answer["told"]
    assert told["account_id"] == wang.lower() and told["email"] == "wang.li@school.example"
    assert told["outcome"] == "delivered" and told["kind"] == "overdue"
    [mail] = wait_until(lambda: mailbox.to("wang.li@school.example"), what="the e-mail")
    assert mail["Subject"] == told["subject"]
    assert mail["Subject"].startswith("初一(3)班逾期未还图书通知")
    text = mail.get_body(("plain",)).get_content()
    assert text.startswith("王丽老师，您好！")
    assert "张伟" in text and books[0] in text and books[1] not in text and "李明" not in text
    assert "http://library.school.example/#/teacher?class=G7-3" in text
    assert "张伟" in mail.get_body(("html",)).get_content()

    wait_until(
        lambda: school.post("/api/notices/overdue", {"class": "G7-4"}).json()["no_address"],
        timeout=30,
        what="the teacher without an address to be listed",
    )
    every = school.post("/api/notices/overdue", {}).json()
    assert {t["class_name"] for t in every["told"]} == {"G7-3"}
    assert [(n["class_name"], n["name"]) for n in every["no_address"]] == [("G7-4", "赵敏")]
    assert len(mailbox.to("wang.li@school.example")) == 2  # one e-mail per sending

    sent = school.get("/api/notices?kind=overdue").json()["notices"]
    assert len(sent) == 2 and all(n["class_name"] == "G7-3" for n in sent)
    refused = school.post("/api/notices/overdue", {"class_name": "G7-3"})
    assert refused.status_code == 400 and "class" in refused.json()["errors"]["class_name"][0]
    assert school.get("/api/notices", role="assistant").status_code == 403

    recorded = archived(school, "NoticeSent", len(sent))
    assert {e["data"]["notice_id"] for e in recorded} == {n["notice_id"] for n in sent}


def test_a_reserved_book_ready_then_not_picked_up_passes_to_the_next_reader(school, mailbox):
    first = teacher(school, "王丽", "G7-3", "wang.li@school.example")
    second = teacher(school, "陈静", "G8-1", "chen.jing@school.example")
    [barcode] = school.add_books(copies=1)
    student = school.card(name="张伟", class_name="G7-3")
    lend_long_ago(school, barcode, student, days=3)
    for patron_id in (first, second):
        reserved = school.post(
            "/api/reservations", {"patron_id": patron_id, "isbn": ISBN, "campus": "north"}
        )
        assert reserved.status_code == 201, reserved.text

    back = school.post("/api/returns", {"barcode": barcode, "campus": "north"}, role="assistant")
    assert back.status_code == 200, back.text
    assert back.json()["held_for"]["patron_id"] == first
    # Put aside for 王丽: 陈静, who waits for the same title, may not take it first.
    taken = school.lend(barcode, second)
    assert taken.status_code == 409 and taken.json()["code"] == "held_for_reservation"

    # The periodic check tells the reader whose copy is ready, with the day to pick it up by.
    [ready] = wait_until(lambda: mailbox.to("wang.li@school.example"), timeout=30, what="notice")
    assert ready["Subject"] == "预约到书：《红楼梦》"
    text = ready.get_body(("plain",)).get_content()
    assert "读者预约的书已到，请于" in text and "前取书" in text and barcode in text
    [notice] = wait_until(
        lambda: school.get("/api/notices?kind=hold_ready").json()["notices"], what="the record"
    )
    assert notice["account_id"] == first.lower() and notice["outcome"] == "delivered"
    [hold] = [e["data"] for e in archived(school, "HoldReady", 1)]
    by = date.fromisoformat(hold["pick_up_by"])
    assert hold["barcode"] == barcode and by > today()
    assert f"{by.year}年{by.month}月{by.day}日" in text
    # The reader's own list (我的借阅, the desk) says so: which copy, and until when.
    [mine] = school.get(f"/api/patrons/{first}/loans").json()["reservations"]
    assert (mine["held_barcode"], mine["pick_up_by"]) == (barcode, by.isoformat())
    [waits] = school.get(f"/api/patrons/{second}/loans").json()["reservations"]
    assert (waits["held_barcode"], waits["pick_up_by"]) == (None, None)

    # Not picked up by then: released to the next reader waiting, who is told in turn.
    early = school.post("/api/holds/expire", {"on": by.isoformat()}).json()
    assert early["released"] == []
    released = school.post("/api/holds/expire", {"on": (by + timedelta(days=1)).isoformat()})
    assert released.status_code == 200, released.text
    [gone] = released.json()["released"]
    assert (gone["patron_id"], gone["barcode"], gone["passed_to"]) == (first, barcode, second)
    [told] = released.json()["told"]
    assert told["account_id"] == second.lower() and told["kind"] == "hold_ready"
    [passed] = mailbox.to("chen.jing@school.example")
    assert "读者预约的书已到" in passed.get_body(("plain",)).get_content()

    loans = school.get(f"/api/patrons/{first}/loans").json()
    assert loans["reservations"] == []  # the first reservation ended with its hold
    assert school.lend(barcode, first).status_code == 409  # held for the second now
    lent = school.lend(barcode, second, on=today())
    assert lent.status_code == 201, lent.text
    assert len(archived(school, "HoldReady", 2)) == 2
    assert len(archived(school, "HoldExpired", 1)) == 1
    assert len(archived(school, "NoticeSent", 2)) == 2


@pytest.fixture
def refusing_mailbox(tmp_path):
    box = Mailbox(tmp_path / "refused", refuse=True)
    yield box
    box.stop()


def test_a_notice_the_mail_server_refuses_is_recorded_as_failed(
    runner_factory, config, refusing_mailbox
):
    school = school_with_mail(runner_factory, config, refusing_mailbox)
    teacher(school, "王丽", "G7-3", "wang.li@school.example")
    [barcode] = school.add_books(copies=1)
    lend_long_ago(school, barcode, school.card(name="张伟", class_name="G7-3"))

    [told] = notices_sent(school, "G7-3")["told"]
    assert told["outcome"] == "failed" and told["error"].startswith("550")
    [failed] = school.get("/api/notices?outcome=failed").json()["notices"]
    assert failed["notice_id"] == told["notice_id"] and "mailbox unavailable" in failed["error"]
    assert refusing_mailbox.messages() == []
    [event] = archived(school, "NoticeSent", 1)
    assert event["data"]["outcome"] == "failed"


def test_a_title_reserved_while_a_copy_is_on_the_shelf_is_held_and_the_reader_told(school, mailbox):
    first = teacher(school, "王丽", "G7-3", "wang.li@school.example")
    second = teacher(school, "陈静", "G8-1", "chen.jing@school.example")
    [barcode] = school.add_books(copies=1)
    for patron_id in (first, second):
        reserved = school.post(
            "/api/reservations", {"patron_id": patron_id, "isbn": ISBN, "campus": "north"}
        )
        assert reserved.status_code == 201, reserved.text

    [ready] = wait_until(lambda: mailbox.to("wang.li@school.example"), timeout=30, what="notice")
    assert (
        ready["Subject"] == "预约到书：《红楼梦》"
        and barcode in ready.get_body(("plain",)).get_content()
    )
    [hold] = [e["data"] for e in archived(school, "HoldReady", 1)]
    assert (hold["patron_id"], hold["barcode"], hold["ready_on"]) == (
        first,
        barcode,
        today().isoformat(),
    )
    assert mailbox.to("chen.jing@school.example") == []  # the one copy is the first reader's
    assert school.lend(barcode, first, on=today()).status_code == 201
    sent = school.get("/api/notices?kind=hold_ready").json()["notices"]
    assert [n["account_id"] for n in sent] == [first.lower()]
