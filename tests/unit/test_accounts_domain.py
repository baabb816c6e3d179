"""The accounts' rules, without any server."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.accounts import domain
from shared.eventsourcing.decider import Event, Refused, fold


def account_after(*commands) -> domain.Account:
    state: domain.State = domain.NO_ACCOUNT
    for command in commands:
        state = fold(domain.evolve, state, domain.decide(state, command))
    return state


ASSISTANT = domain.CreateAccount("Zhang-Li", "张丽", ("assistant",), campus="north")


def test_a_staff_account_is_made_with_its_password_which_no_event_carries():
    events = domain.decide(domain.NO_ACCOUNT, domain.CreateAccount(
        "lib-wang", "王建华", ("librarian",), password="书香满校园2026"))  # fmt: skip
    assert [e.type for e in events] == ["AccountCreated", "PasswordChanged"]
    assert events[0].data["account_id"] == "lib-wang"
    assert "书香满校园2026" not in repr(events)
    account = fold(domain.evolve, domain.NO_ACCOUNT, events)
    assert account.has_password and account.roles == ("librarian",)


def test_a_username_is_an_account_once_whatever_its_case():
    account = account_after(ASSISTANT)
    assert account.account_id == "zhang-li" and account.username == "Zhang-Li"
    with pytest.raises(Refused) as refused:
        domain.decide(account, ASSISTANT)
    assert refused.value.code == "account_exists"


@pytest.mark.parametrize(
    ("command", "code"),
    [
        (domain.CreateAccount("a1", "甲", ("assistant",)), "assistant_needs_campus"),
        (domain.CreateAccount("a2", "乙", ("student",)), "card_role_needs_card"),
        (domain.CreateAccount("k1", "自助机", ("kiosk",)), "kiosk_needs_campus"),
        (
            domain.CreateAccount("k2", "自助机", ("kiosk", "assistant"), campus="north"),
            "kiosk_needs_campus",
        ),
        (
            domain.CreateAccount("a3", "丙", ("student", "teacher"), patron_id="P1"),
            "teacher_and_student",
        ),
        (
            domain.CreateAccount("a4", "丁", ("student", "librarian"), patron_id="P1"),
            "student_staff_role",
        ),
        (domain.CreateAccount("a5", "戊", ("librarian",), password="short"), "password_too_short"),
        (domain.CreateAccount("a6x", "己", ("librarian",), password="A6X"), "password_too_short"),
        (
            domain.CreateAccount("same-name", "庚", ("librarian",), password="Same-Name"),
            "password_is_username",
        ),
        (domain.CreateAccount("a7", "辛", ("librarian",), password="x" * 129), "password_too_long"),
    ],
)
def test_what_an_account_may_not_be(command, code):
    with pytest.raises(Refused) as refused:
        domain.decide(domain.NO_ACCOUNT, command)
    assert refused.value.code == code


def test_only_a_teacher_has_classes_and_they_are_kept_sorted_once():
    with pytest.raises(Refused) as refused:
        domain.decide(account_after(ASSISTANT), domain.SetClasses(("G7-3",)))
    assert refused.value.code == "not_a_teacher"
    teacher = account_after(domain.CreateAccount("T001", "陈老师", ("teacher",), patron_id="T001"))
    [event] = domain.decide(teacher, domain.SetClasses(("G8-1", "G7-3", "G8-1")))
    assert event.data["classes"] == ["G7-3", "G8-1"]


def test_disable_and_enable_are_each_refused_when_already_so():
    account = account_after(ASSISTANT, domain.Disable("left"))
    assert account.disabled
    with pytest.raises(Refused):
        domain.decide(account, domain.Disable("again"))
    enabled = fold(domain.evolve, account, domain.decide(account, domain.Enable()))
    assert not enabled.disabled
    with pytest.raises(Refused):
        domain.decide(enabled, domain.Enable())


def test_a_lock_says_until_when():
    until = datetime(2026, 10, 12, 8, 15, tzinfo=UTC)
    [event] = domain.decide(account_after(ASSISTANT), domain.Lock(10, until))
    assert event == Event(
        "AccountLocked", {"account_id": "zhang-li", "failures": 10, "until": until.isoformat()}
    )


def test_a_key_is_made_once_and_revoked_once():
    events = domain.decide(domain.NO_KEY, domain.CreateKey("grades", "grades", ("events.read",)))
    key = fold(domain.evolve, domain.NO_KEY, events)
    with pytest.raises(Refused):
        domain.decide(key, domain.CreateKey("grades", "grades", ("events.read",)))
    revoked = fold(domain.evolve, key, domain.decide(key, domain.RevokeKey()))
    with pytest.raises(Refused) as refused:
        domain.decide(revoked, domain.RevokeKey())
    assert refused.value.code == "key_revoked"
