"""The SIP2 connection's own rules, without services: bad input, resends, signing in first,
the slowed wrong passwords, the message reader's limits; and the command ids."""

from __future__ import annotations

import json
import socket
from datetime import datetime

import pytest

from services.sip2 import protocol as p
from services.sip2.answers import Answers, card_flags
from services.sip2.conversation import GARBLED_LIMIT, ConnectionClosed, Conversation
from services.sip2.desk import command_id
from services.sip2.server import MessageReader
from services.sip2.session import Kiosk, Session
from services.sip2.settings import MAX_LOGIN_FAILURE_DELAY, Sip2Settings
from shared.paper.words import LOCALES
from tests.sip2_client import Client

SETTINGS = Sip2Settings.from_config({"SIP2": {"login_failure_delay": 0.5}})
KIOSK = Kiosk("kiosk-1", "kiosk-1", "north")
RESEND = b"96AZFEF6\r"


def conversation(signed_in: bool = True, answer=None):
    session = Session("school", "utf-8", "127.0.0.1", KIOSK if signed_in else None)
    asked: list[p.Message] = []

    def worker(session: Session, message: p.Message) -> p.Message:
        asked.append(message)
        if answer is not None:
            return answer(session, message)
        return p.response("36", message, {"AO": "north", "AA": "P1"}, end_session=True,
                          transaction_date=datetime(2026, 12, 8, 9, 0))  # fmt: skip

    return Conversation(session, SETTINGS, worker), session, asked


def test_the_settings_default_to_one_listener_and_read_the_config():
    defaults = Sip2Settings.from_config({})
    assert [(x.host, x.port, x.encoding) for x in defaults.listeners] == [
        ("127.0.0.1", 6001, "utf-8")
    ]
    assert defaults.language == "zh-CN" and defaults.max_connections == 200
    assert [SETTINGS.failure_delay(n) for n in (0, 1, 2, 3)] == [0.0, 0.5, 1.0, 2.0]
    assert SETTINGS.failure_delay(50) == MAX_LOGIN_FAILURE_DELAY


def test_a_bad_checksum_is_answered_96_and_garbage_96_until_it_keeps_coming():
    talk, session, asked = conversation()
    good = Client().end_session("P1")
    assert talk.reply(good[:-3] + b"00\r").data == RESEND
    for _ in range(GARBLED_LIMIT):
        assert talk.reply(b"\xff\xfe garbage").data == RESEND
    assert talk.reply(b"\xff\xfe garbage").close
    assert asked == []


def test_97_resends_the_last_answer_byte_for_byte_or_closes_when_there_is_none():
    talk, session, asked = conversation()
    assert Conversation(session, SETTINGS, lambda s, m: None).reply(Client().resend()).close
    first = talk.reply(Client().end_session("P1")).data
    assert talk.reply(Client().resend()).data == first and len(asked) == 1


def test_before_signing_in_only_login_and_status_reach_the_worker():
    talk, session, asked = conversation(signed_in=False)
    refused = Client().read(talk.reply(Client().checkout("P1", "B1")).data)
    assert refused.code == "12" and refused.fixed["ok"] == "0"
    assert refused.first("AF") == "自助借还机尚未登录"
    assert asked == []
    talk.reply(Client().sc_status())
    assert [m.code for m in asked] == ["99"]


def test_a_wrong_password_is_answered_later_each_time():
    def login(session, message):
        session.login_failures += 1
        return p.response("94", message, ok=False)

    talk, session, _ = conversation(signed_in=False, answer=login)
    delays = [talk.reply(Client().login("k", "wrong")).delay for _ in range(3)]
    assert delays == [0.5, 1.0, 2.0]


def test_a_failing_worker_is_answered_with_the_messages_refusal():
    def broken(session, message):
        raise TimeoutError("circulation did not answer")

    talk, _, _ = conversation(answer=broken)
    answer = Client().read(talk.reply(Client().checkin("B1")).data)
    assert answer.code == "10" and answer.fixed["ok"] == "0"
    assert answer.first("AF") == "系统暂时无法办理，请到借还台"


def test_the_reader_cuts_messages_and_closes_on_too_long_or_silence():
    ours, theirs = socket.socketpair()
    reader = MessageReader(ours, idle_timeout=0.2)
    theirs.sendall(b"9900302.00\r\n99003")
    assert reader.next() == b"9900302.00"
    with pytest.raises(ConnectionClosed, match="half a message|silent"):
        reader.next()
    ours2, theirs2 = socket.socketpair()
    theirs2.sendall(b"1" * (p.MAX_MESSAGE_BYTES + 10))
    with pytest.raises(ConnectionClosed, match="limit"):
        MessageReader(ours2, idle_timeout=5).next()
    theirs2.close()
    ours3, theirs3 = socket.socketpair()
    theirs3.close()
    with pytest.raises(ConnectionClosed, match="hung up"):
        MessageReader(ours3, idle_timeout=5).next()


def test_a_resent_message_has_the_same_command_id_and_the_next_scan_another():
    first = p.parse(Client().checkout("P1", "B1"))
    again = p.parse(Client().checkout("P1", "B1"))
    assert command_id("checkout", KIOSK, first, "P1", "B1") == command_id(
        "checkout", KIOSK, again, "P1", "B1"
    )
    later = p.parse(Client(error_detection=False).checkout("P1", "B1").replace(b"0930", b"0931"))
    other_kiosk = Kiosk("kiosk-2", "kiosk-2", "north")
    ids = {
        command_id("checkout", KIOSK, first, "P1", "B1"),
        command_id("checkout", KIOSK, later, "P1", "B1"),
        command_id("checkout", other_kiosk, first, "P1", "B1"),
        command_id("checkin", KIOSK, first, "B1"),
    }
    assert len(ids) == 4


def test_a_card_says_why_it_cannot_borrow_in_its_patron_status():
    flags, reason = card_flags({"status": "blocked", "owed": "0"}, [], 3)
    assert reason == "card_blocked" and "charge_privileges_denied" in flags
    flags, reason = card_flags({"status": "active", "owed": "12.50"}, [], 3)
    assert reason == "unpaid_loss" and "excessive_outstanding_fees" in flags
    loans = [{"days_overdue": 0}] * 3
    assert card_flags({"status": "active", "owed": "0"}, loans, 3)[1] == "loan_limit"
    assert card_flags({"status": "active", "owed": "0"}, loans[:1], 3) == (set(), None)


def test_answers_never_carry_a_bar_or_a_line_break_from_the_data():
    answers = Answers("zh-CN", datetime(2026, 12, 8, 9, 0), "north")
    request = p.parse(Client().checkout("P1", "B1"))
    lent = answers.lent(request, {"title": "a|b\r\nc", "due_on": "2026-12-22"})
    reply = Client().read(p.build(lent))
    assert reply.first("AJ") == "a b  c" and reply.first("AH") == "20261222    235959"


def test_the_kiosk_words_have_the_same_keys_in_both_languages_and_every_refusal():
    def keys(tree, prefix=""):
        for key, value in tree.items():
            if isinstance(value, dict):
                yield from keys(value, f"{prefix}{key}.")
            else:
                yield prefix + key

    zh, en = (json.loads((LOCALES / lang / "sip2.json").read_text()) for lang in ("zh-CN", "en"))
    assert sorted(keys(zh)) == sorted(keys(en))
    codes = (
        "reference_only copy_on_loan loan_limit overdue unpaid_loss card_blocked card_retired "
        "no_card unknown_copy wrong_campus copy_in_transit held_for_reservation copy_damaged "
        "copy_weeded not_on_loan already_renewed no_renewal reserved_by_others"
    ).split()
    assert {code for code in codes if code not in zh["refused"]} == set()
    answers = Answers("zh-CN", datetime(2026, 12, 8, 9, 0), "north")
    assert answers.refusal_text("wrong_campus", campus="south") == "该书属于南区，请在南区借阅"
    assert answers.refusal_text("something_new") == "暂不能办理，请到借还台"
