"""Offline circulation's pure rules: what a librarian may set aside, a conflict's life,
the offline file's lines (services/circulation/offline.py, offline_file.py, domain.py)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from services.circulation import domain, offline
from services.circulation.offline_file import read_offline_file, school_time
from shared.errors import BadRequest
from shared.events import CATALOGUE
from shared.events.envelope import NewEvent
from shared.eventsourcing.decider import Event, Refused, fold
from shared.runtime.school_calendar import local_date
from tests.unit.test_circulation_domain import copy as copy_at_desk

TODAY = date(2026, 12, 7)
POLICY = domain.Policy(max_loans=3, loan_days=14)
SHANGHAI = "Asia/Shanghai"


def copy(barcode="C00000101", **changes):
    return copy_at_desk(barcode, **changes)


def card(*events):
    issued = Event(
        "CardIssued",
        {"patron_id": "S70101", "name": "王芳", "kind": "student", "class_name": "G7-1",
         "campus": "north"},
    )  # fmt: skip
    return fold(domain.evolve, domain.INITIAL, [issued, *events])


def lent(loan_id, barcode, due_on=TODAY + timedelta(days=14)):
    return Event(
        "Lent",
        {"loan_id": loan_id, "barcode": barcode, "patron_id": "S70101", "patron_kind": "student",
         "class_name": "G7-1", "campus": "north", "lent_on": "2026-12-01",
         "due_on": due_on.isoformat()},
    )  # fmt: skip


def lend(the_copy=None, override=None):
    return domain.Lend("Lnew", the_copy or copy(), "north", TODAY, POLICY, override=override)


AT_LIMIT = (lent("L1", "C00000001"), lent("L2", "C00000002"), lent("L3", "C00000003"))
OVERRIDE = domain.Override("loan_limit", "断网时已借出", "OC1", "wanglin")


# ------------------------------------------------------------------ the override


def test_without_an_override_the_limit_refuses_as_before():
    with pytest.raises(Refused) as refused:
        domain.decide(card(*AT_LIMIT), lend())
    assert refused.value.code == "loan_limit"


def test_an_override_sets_the_limit_aside_and_the_loan_records_it():
    [event] = domain.decide(card(*AT_LIMIT), lend(override=OVERRIDE))
    assert event.type == "Lent"
    assert event.data["override"] == {
        "code": "loan_limit",
        "set_aside": ["loan_limit"],
        "note": "断网时已借出",
        "conflict_id": "OC1",
        "by": "wanglin",
    }
    CATALOGUE.validate("Lent", event.data)


def test_an_override_sets_aside_every_refusal_a_librarian_may_and_names_each():
    overdue = lent("L1", "C1", due_on=TODAY - timedelta(days=3))
    blocked = Event("CardBlocked", {"patron_id": "S70101", "reason": "逾期"})
    patron = card(overdue, lent("L2", "C2"), lent("L3", "C3"), blocked)
    [event] = domain.decide(patron, lend(copy(status="damaged"), OVERRIDE))
    assert event.data["override"]["set_aside"] == [
        "card_blocked",
        "overdue",
        "copy_damaged",
        "loan_limit",
    ]


@pytest.mark.parametrize(
    ("the_copy", "code"),
    [
        (copy(on_loan=True), "copy_on_loan"),
        (copy(reference_only=True), "reference_only"),
        (copy(status="weeded"), "copy_weeded"),
        (copy(campus="south"), "wrong_campus"),
        (copy(transit_from="south"), "copy_in_transit"),
        (copy(held_for="S70999"), "held_for_reservation"),  # put aside for a reader by name
    ],
)
def test_an_override_never_sets_aside_what_the_copy_itself_forbids(the_copy, code):
    with pytest.raises(Refused) as refused:
        domain.decide(card(*AT_LIMIT), lend(the_copy, OVERRIDE))
    assert refused.value.code == code


def test_an_override_never_lends_on_a_retired_card():
    retired = Event("CardRetired", {"patron_id": "S70101", "reason": "转学"})
    with pytest.raises(Refused) as refused:
        domain.decide(card(retired), lend(override=OVERRIDE))
    assert refused.value.code == "card_retired"


def test_an_override_with_nothing_left_to_set_aside_lends_plainly_and_says_so():
    [event] = domain.decide(card(), lend(override=OVERRIDE))
    assert event.data["override"]["set_aside"] == []


def test_a_loan_recorded_before_overrides_existed_is_read_as_ever():
    old = lent("L1", "C00000001").data
    CATALOGUE.validate("Lent", old)
    assert "override" not in old
    assert card(lent("L1", "C00000001")).loans["L1"].barcode == "C00000001"


# ------------------------------------------------------------------ the conflict


COMMAND_ID = uuid.UUID("6f1c2b7d-9e31-4b1f-8e0c-2f7a4d0e9a55")
AT = datetime(2026, 12, 7, 9, 15, tzinfo=timezone(timedelta(hours=8)))


def refusal(code="copy_on_loan", action="lend"):
    return offline.RecordRefusal(
        conflict_id=offline.conflict_id(COMMAND_ID),
        command_id=str(COMMAND_ID),
        action=action,
        patron_id="S70101" if action == "lend" else None,
        barcode="C00000101",
        at=AT,
        campus="north",
        code=code,
        reason="C00000101 is already on loan",
    )


def recorded(code="copy_on_loan", action="lend"):
    return fold(
        offline.evolve, offline.INITIAL, offline.decide(offline.INITIAL, refusal(code, action))
    )


def test_a_conflict_is_named_after_its_scan_and_recorded_once():
    assert offline.conflict_id(COMMAND_ID) == offline.conflict_id(str(COMMAND_ID))
    assert offline.conflict_id(COMMAND_ID) != offline.conflict_id(uuid.uuid4())
    [event] = offline.decide(offline.INITIAL, refusal())
    CATALOGUE.validate(event.type, event.data)
    assert offline.decide(recorded(), refusal()) == []  # sent again: no second conflict


@pytest.mark.parametrize(
    ("action", "code", "allowed"),
    [
        ("lend", "copy_on_loan", ("return_and_relend", "dismiss")),
        ("lend", "loan_limit", ("override", "dismiss")),
        ("lend", "overdue", ("override", "dismiss")),
        ("lend", "card_blocked", ("override", "dismiss")),
        ("lend", "unpaid_loss", ("override", "dismiss")),
        ("lend", "card_retired", ("dismiss",)),
        ("lend", "no_card", ("dismiss",)),
        ("lend", "unknown_copy", ("dismiss",)),
        ("lend", "reference_only", ("dismiss",)),
        ("lend", "copy_weeded", ("dismiss",)),
        ("return", "not_on_loan", ("dismiss",)),
    ],
)
def test_the_resolutions_a_conflict_allows(action, code, allowed):
    assert offline.resolutions(action, code) == allowed


def test_a_conflict_is_resolved_once():
    conflict = recorded()
    [event] = offline.decide(conflict, offline.Resolve("return_and_relend", "", "L9"))
    CATALOGUE.validate(event.type, event.data)
    resolved = offline.evolve(conflict, NewEvent(event.type, "s", dict(event.data)))
    with pytest.raises(Refused) as twice:
        offline.decide(resolved, offline.Resolve("dismiss"))
    assert twice.value.code == "offline_conflict_resolved"


def test_a_resolution_the_conflict_does_not_allow_is_refused():
    with pytest.raises(Refused) as refused:
        offline.decide(recorded("card_retired"), offline.Resolve("override"))
    assert refused.value.code == "override_not_allowed"
    with pytest.raises(Refused) as refused:
        offline.decide(recorded("loan_limit"), offline.Resolve("return_and_relend"))
    assert refused.value.code == "offline_resolution_not_allowed"


def test_a_scan_happens_on_its_day_at_the_school():
    late = datetime(2026, 12, 6, 17, 30, tzinfo=UTC)  # 01:30 on the 7th in Shanghai
    assert local_date(late, SHANGHAI) == date(2026, 12, 7)
    assert offline.scan_day(late, SHANGHAI, date(2026, 12, 8)) == date(2026, 12, 7)
    assert offline.scan_day(late, SHANGHAI, date(2026, 12, 6)) == date(2026, 12, 6)  # not ahead


# ------------------------------------------------------------------ the file


def test_a_file_in_english_or_chinese_with_school_times_and_a_bad_line():
    text = (
        "time,action,card,barcode\n"
        "2026-12-07 09:15,lend,S70101,c00000101\n"
        "2026/12/7 9:16,借,S70101,C00000102\n"
        "\n"
        "2026-12-07T09:17:02,还,,C00000101\n"
        "yesterday,lend,S70101,C00000103\n"
        "2026-12-07 09:18,borrow,S70101,C00000103\n"
        "2026-12-07 09:19,lend,,C00000103\n"
        "2026-12-07 09:20,lend,S70101,x\n"
    )
    read = read_offline_file(text, "north", SHANGHAI, 100)
    assert [(e["line"], e["action"], e["barcode"]) for e in read.entries] == [
        (2, "lend", "C00000101"),
        (3, "lend", "C00000102"),
        (5, "return", "C00000101"),
    ]
    assert read.entries[1]["at"].isoformat() == "2026-12-07T09:16:00+08:00"
    assert read.rows_refused == [
        {"line": 6, "field": "time", "code": "offline_bad_time"},
        {"line": 7, "field": "action", "code": "offline_bad_action"},
        {"line": 8, "field": "card", "code": "offline_no_card"},
        {"line": 9, "field": "barcode", "code": "offline_bad_barcode"},
    ]
    chinese = read_offline_file(
        "\ufeff时间,操作,借书证号,条码号\n2026-12-07 09:15,借出,S70101,C00000101\n",
        "north",
        SHANGHAI,
        100,
    )
    assert chinese.entries[0]["command_id"] == read.entries[0]["command_id"]  # the same scan


def test_a_lines_command_id_depends_on_its_values_and_campus():
    line = "time,action,card,barcode\n2026-12-07 09:15,lend,S70101,C00000101\n"
    north = read_offline_file(line, "north", SHANGHAI, 10).entries[0]["command_id"]
    assert read_offline_file(line, "north", SHANGHAI, 10).entries[0]["command_id"] == north
    assert read_offline_file(line, "south", SHANGHAI, 10).entries[0]["command_id"] != north


def test_a_file_may_say_a_return_came_back_damaged_in_a_fifth_column():
    four = "时间,操作,借书证号,条码号\n2026-12-07 09:15,还,,C00000101\n"
    text = (
        "时间,操作,借书证号,条码号,状况\n"
        "2026-12-07 09:15,还,,C00000101,\n"  # empty: intact, the four-column line's id
        "2026-12-07 09:16,还,,C00000102,损坏\n"
        "2026-12-07 09:17,借,S70101,C00000103\n"  # the fifth cell left out
        "2026-12-07 09:18,还,,C00000104,完好\n"
        "2026-12-07 09:19,还,,C00000105,坏了\n"
        "2026-12-07 09:20,借,S70101,C00000106,损坏\n"  # a lend is not damaged
    )
    read = read_offline_file(text, "north", SHANGHAI, 100)
    assert [(e["line"], e["barcode"], e["condition"]) for e in read.entries] == [
        (2, "C00000101", "ok"),
        (3, "C00000102", "damaged"),
        (4, "C00000103", "ok"),
        (5, "C00000104", "ok"),
    ]
    assert read.rows_refused == [
        {"line": 6, "field": "condition", "code": "offline_bad_condition"},
        {"line": 7, "field": "condition", "code": "offline_bad_condition"},
    ]
    old = read_offline_file(four, "north", SHANGHAI, 10).entries[0]
    assert old["condition"] == "ok"
    assert old["command_id"] == read.entries[0]["command_id"]  # a four-column file keeps its ids
    english = "time,action,card,barcode,condition\n2026-12-07 09:15,return,,C00000101,damaged\n"
    damaged = read_offline_file(english, "north", SHANGHAI, 10).entries[0]
    assert damaged["condition"] == "damaged"
    assert damaged["command_id"] != old["command_id"]  # another scan than the intact return


def test_a_file_without_its_columns_or_too_long_is_refused_whole():
    with pytest.raises(BadRequest) as bad:
        read_offline_file("when,what\n1,2\n", "north", SHANGHAI, 10)
    assert bad.value.code == "offline_bad_header"
    with pytest.raises(BadRequest) as long:
        read_offline_file("time,action,card,barcode\n" + "x,y,z,w\n" * 11, "north", SHANGHAI, 10)
    assert long.value.code == "offline_file_too_long"


def test_a_time_with_its_own_offset_keeps_it():
    assert school_time("2026-12-07T01:15:00+00:00", SHANGHAI).utcoffset() == timedelta(0)
    assert school_time("2026-12-07 9:15", SHANGHAI).utcoffset() == timedelta(hours=8)
    assert school_time("2026-12-32 09:15", SHANGHAI) is None
    assert school_time("1999-12-07 09:15", SHANGHAI) is None  # no school day of the system's


def test_a_queued_scan_is_checked_whole_before_anything_is_done():
    from marshmallow import ValidationError

    from services.circulation import schemas as s

    good = {"command_id": str(COMMAND_ID), "at": "2026-12-07T09:15:02Z", "action": "return",
            "barcode": "C00000101"}  # fmt: skip
    assert s.OfflineEntry().load(good)["at"].utcoffset() == timedelta(0)
    assert s.OfflineEntry().load(good)["condition"] == "ok"  # as POST /api/returns
    assert s.OfflineEntry().load({**good, "condition": "damaged"})["condition"] == "damaged"
    for bad, field in [
        ({**good, "at": "2026-12-07T09:15:02"}, "at"),  # no offset
        ({**good, "at": "1999-12-07T09:15:02+08:00"}, "at"),
        ({**good, "action": "lend"}, "patron_id"),
        ({**good, "action": "renew"}, "action"),
        ({**good, "barcode": ""}, "barcode"),
        ({**good, "condition": "broken"}, "condition"),
        ({**good, "action": "lend", "patron_id": "S70101", "condition": "damaged"}, "condition"),
    ]:
        with pytest.raises(ValidationError) as refused:
            s.OfflineEntry().load(bad)
        assert field in refused.value.messages, (bad, refused.value.messages)


# ------------------------------------------------------------------ who may override


def test_only_a_librarian_may_lend_anyway():
    from services.gateway import auth
    from shared.runtime.rights import KEY_RIGHTS, RIGHTS, rights_of

    assert "loans.override" in RIGHTS and "loans.override" in rights_of(["librarian"])
    for role in ("assistant", "teacher", "student", "operator", "kiosk", "reader"):
        assert "loans.override" not in rights_of([role]), role
    assert "loans.override" not in KEY_RIGHTS  # no school system overrides the desk's rules
    assistant = auth.Caller(
        kind="session",
        account_id="x",
        username="x",
        name="某某",
        roles=("assistant",),
        rights=rights_of(["assistant"]),
    )
    with pytest.raises(auth.Forbidden) as caught:
        assistant.require("loans.override")
    assert caught.value.members == {"right": "loans.override"}


# ------------------------------------------------------------------ the screens' words


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_the_copys_timeline_words_the_offline_events_in_both_languages(language):
    """The copy's history (catalogue screen, CopyTimeline.vue) words each offline event
    by its own key, not the generic 其他记录, and its settlings by their names."""
    import json
    from pathlib import Path

    locales = Path(__file__).resolve().parents[2] / "web" / "src" / "locales" / language
    events = json.loads((locales / "catalogue.json").read_text(encoding="utf-8"))["events"]
    words = json.loads((locales / "offline.json").read_text(encoding="utf-8"))
    for event_type in ("OfflineScanRefused", "OfflineConflictResolved"):
        assert CATALOGUE.get(event_type) is not None
        assert event_type in events
    assert "{who}" in events["OfflineScanRefused"] and "{reason}" in events["OfflineScanRefused"]
    assert "{reason}" in events["OfflineScanRefusedReturn"]
    assert "{resolution}" in events["OfflineConflictResolved"]
    assert set(words["resolutions"]) == set(offline.RESOLUTIONS)
    assert "condition" in words["file"]["fields"]  # the offline file's fifth column
