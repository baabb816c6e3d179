"""Notices and holds, pure: the e-mail a class teacher reads, the reader's 预约到书 notice,
and the rules for a reserved copy kept at the desk (pick-up day, expiry, who is next)."""

from datetime import date
from email import message_from_bytes, policy
from pathlib import Path
from types import SimpleNamespace

import pytest

from services.accounts import domain as accounts
from services.circulation import domain, holds, notices
from services.circulation.mailer import settings_from_config
from shared.eventsourcing.decider import Refused, fold
from shared.paper.words import Words

LOANS = [
    {"loan_id": "L2", "name": "李明", "title": "西游记", "barcode": "C00000002",
     "due_on": "2026-11-20", "days_overdue": 12},
    {"loan_id": "L1", "name": "张伟", "title": "红楼梦", "barcode": "C00000001",
     "due_on": "2026-11-10", "days_overdue": 20},
]  # fmt: skip
LINK = "http://library.example/#/teacher?class=G7-3"


def test_a_class_teachers_overdue_notice_is_in_chinese_with_her_class_and_its_loans():
    notice = notices.overdue_notice("G7-3", "王丽", LOANS, "2026-12-02", LINK, Words())
    assert notice.subject == "初一(3)班逾期未还图书通知（2026年12月2日）"
    lines = notice.text.splitlines()
    assert lines[0] == "王丽老师，您好！"
    assert "截至2026年12月2日，初一(3)班共有2册图书逾期未还" in notice.text
    assert lines.index("姓名  书名  条码  应还日期  逾期天数") < next(
        i for i, line in enumerate(lines) if line.startswith("张伟")
    )
    # Oldest due first, each loan with its title, barcode, due date and days overdue.
    first, second = (line for line in lines if line.startswith(("张伟", "李明")))
    assert first == "张伟  《红楼梦》  C00000001  2026年11月10日  20天"
    assert second == "李明  《西游记》  C00000002  2026年11月20日  12天"
    assert f"打印逾期通知单（PDF）：登录后在“我的班级”打印 {LINK}" in notice.text
    assert notices.overdue_print_link("http://library.example/", "G7-3") == LINK
    assert "<td>张伟</td><td>《红楼梦》</td><td>C00000001</td>" in notice.html
    assert f'href="{LINK.replace("&", "&amp;")}"' in notice.html


def test_the_overdue_notice_in_english_and_html_escaped():
    loans = [{**LOANS[0], "name": "<b>Tom</b>"}]
    notice = notices.overdue_notice("G7-3", "Ms Wang", loans, "2026-12-02", LINK, Words("en"))
    assert notice.subject == "Overdue books in Grade 7 Class 3 (2026-12-02)"
    assert "&lt;b&gt;Tom&lt;/b&gt;" in notice.html and "<b>Tom</b>" not in notice.html


def test_the_reserved_book_notice_names_the_day_to_pick_it_up_by():
    hold = {
        "title": "红楼梦",
        "barcode": "C00000001",
        "campus": "north",
        "pick_up_by": "2026-12-10",
    }
    notice = notices.hold_ready_notice("王丽", hold, Words())
    assert notice.subject == "预约到书：《红楼梦》"
    assert "读者预约的书已到，请于2026年12月10日前取书。" in notice.text
    assert "北区图书馆" in notice.text


def test_the_email_is_plain_text_and_html_in_utf8():
    notice = notices.overdue_notice("G7-3", "王丽", LOANS, "2026-12-02", LINK, Words())
    mail = notices.message(notice, "library@school.example", "wang@school.example", "王丽", Words())
    read = message_from_bytes(mail.as_bytes(), policy=policy.default)
    assert read["Subject"] == notice.subject
    assert read["To"].addresses[0].addr_spec == "wang@school.example"
    assert read.get_body(("plain",)).get_content().strip() == notice.text.strip()
    assert "<table" in read.get_body(("html",)).get_content()


def test_a_notice_is_recorded_once():
    record = notices.RecordNotice(
        "N1", "overdue", "t1", "王丽", "w@s.example", "zh-CN", "s", date(2026, 12, 2), False,
        error="550 mailbox unavailable", class_name="G7-3", loan_ids=("L1",),
    )  # fmt: skip
    [event] = notices.decide(False, record)
    assert event.data["outcome"] == "failed" and event.data["error"] == "550 mailbox unavailable"
    with pytest.raises(Refused):
        notices.decide(notices.evolve(False, event), record)


# ------------------------------------------------------------------ holds


def weekdays(day: date) -> bool:
    return day.isoweekday() < 6


def test_pick_up_by_counts_open_days_after_the_day_it_came_back():
    friday = date(2026, 12, 4)
    assert holds.pick_up_by(friday, 3, weekdays) == date(2026, 12, 9)  # Mon, Tue, Wed
    assert holds.pick_up_by(date(2026, 12, 7), 1, weekdays) == date(2026, 12, 8)
    closed = {date(2026, 12, 8)}
    assert holds.pick_up_by(date(2026, 12, 7), 1, lambda d: weekdays(d) and d not in closed) == (
        date(2026, 12, 9)
    )


def card_with_reservation() -> holds.CardHolds:
    events = [
        SimpleNamespace(type="CardIssued", data={
            "patron_id": "T1", "name": "王丽", "kind": "teacher", "class_name": None,
            "campus": "north"}),
        SimpleNamespace(type="Reserved", data={
            "reservation_id": "R1", "patron_id": "T1", "isbn": "9787020002207",
            "campus": "north"}),
    ]  # fmt: skip
    return fold(holds.evolve, holds.CardHolds(), events)


def ready(state: holds.CardHolds, by: date) -> holds.CardHolds:
    command = holds.MarkReady("R1", "C1", "north", "9787020002207", "红楼梦", date(2026, 12, 4), by)
    return fold(holds.evolve, state, holds.decide(state, command))


def test_a_hold_is_ready_once_and_expires_only_after_its_day():
    state = ready(card_with_reservation(), date(2026, 12, 9))
    assert state.holds["R1"].pick_up_by == date(2026, 12, 9)
    with pytest.raises(Refused, match="ready for reservation R1 already"):
        ready(state, date(2026, 12, 9))
    with pytest.raises(Refused) as refusal:
        holds.decide(state, holds.Expire("R1", date(2026, 12, 9)))
    assert refusal.value.code == "hold_not_due"
    [expired] = holds.decide(state, holds.Expire("R1", date(2026, 12, 10)))
    assert expired.type == "HoldExpired" and expired.data["pick_up_by"] == "2026-12-09"
    after = holds.evolve(state, expired)
    assert after.holds == {} and after.card.reservations == {}  # the reservation ends too
    assert domain.evolve(state.card, expired).reservations == {}


def test_no_hold_without_an_open_reservation():
    with pytest.raises(Refused) as refusal:
        holds.decide(holds.CardHolds(), holds.MarkReady(
            "R9", "C1", "north", "9787020002207", "红楼梦", date(2026, 12, 4), date(2026, 12, 9)
        ))  # fmt: skip
    assert refusal.value.code == "no_such_reservation"


def test_a_released_copy_goes_to_the_first_reader_waiting_without_a_copy_held():
    waiting = [
        {"reservation_id": "R2", "patron_id": "T2", "held": True},
        {"reservation_id": "R3", "patron_id": "T3", "held": False},
        {"reservation_id": "R4", "patron_id": "T4", "held": False},
    ]
    assert holds.next_reader(waiting, released_by="T1")["patron_id"] == "T3"
    assert holds.next_reader(waiting[:1], released_by="T1") is None  # back to the shelf
    assert holds.next_reader([{**waiting[1], "patron_id": "T1"}], released_by="T1") is None


def test_expired_lists_the_holds_past_their_day_first_due_first():
    a = holds.Hold("R1", "C1", "north", "i", "t", date(2026, 12, 1), date(2026, 12, 4))
    b = holds.Hold("R2", "C2", "north", "i", "t", date(2026, 12, 1), date(2026, 12, 3))
    c = holds.Hold("R3", "C3", "north", "i", "t", date(2026, 12, 1), date(2026, 12, 9))
    assert holds.expired([a, b, c], date(2026, 12, 5)) == [b, a]


# ------------------------------------------------------------------ addresses and settings


def test_an_account_gets_an_email_address_checked_and_can_change_it():
    account = accounts.Account(account_id="t1", username="T1", roles=("teacher",))
    [changed] = accounts.decide(account, accounts.ChangeEmail(" Wang.Li@School.EXAMPLE "))
    assert changed.data == {"account_id": "t1", "email": "Wang.Li@school.example"}
    account = accounts.evolve(account, changed)
    with pytest.raises(Refused) as same:
        accounts.decide(account, accounts.ChangeEmail("Wang.Li@school.example"))
    assert same.value.code == "same_email"
    with pytest.raises(Refused) as bad:
        accounts.decide(account, accounts.ChangeEmail("not an address"))
    assert bad.value.code == "bad_email"
    [removed] = accounts.decide(account, accounts.ChangeEmail(None))
    assert removed.data["email"] is None


def test_notice_settings_from_the_config():
    settings = settings_from_config(
        {"NOTICES": {"smtp": {"host": "mail", "port": "2525", "starttls": "true"},
                     "hold_pick_up_days": 2}}
    )  # fmt: skip
    assert (settings.host, settings.port, settings.starttls) == ("mail", 2525, True)
    assert settings.hold_pick_up_days == 2 and settings.language == "zh-CN"
    assert settings_from_config({}).port == 8025


def test_a_title_reserved_with_free_copies_on_the_shelf_holds_the_next_free_one():
    assert holds.shelf_copy_for(["C1", "C2"], waiting_before=0) == "C1"
    assert holds.shelf_copy_for(["C1", "C2"], waiting_before=1) == "C2"
    assert holds.shelf_copy_for(["C1"], waiting_before=1) is None  # the earlier reader's
    assert holds.shelf_copy_for([], waiting_before=0) is None


def test_the_example_email_in_the_docs_is_the_class_teachers_notice():
    example = Path(__file__).resolve().parents[2] / "examples/notices/overdue-G7-3.eml"
    mail = message_from_bytes(example.read_bytes(), policy=policy.default)
    assert mail["Subject"] == "初一(3)班逾期未还图书通知（2026年12月2日）"
    assert "红楼梦" in mail.get_body(("plain",)).get_content()
