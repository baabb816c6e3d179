"""The reading programme's rules, decided without any server: notes, awards, competitions."""

from datetime import date, timedelta

import pytest

from services.activities import domain as d
from shared.events.envelope import NewEvent
from shared.eventsourcing.decider import Event, Refused, fold

TODAY = date(2026, 10, 12)
STUDENT = d.Card("P0000001", "李雷", "student", "G7-3", "north")
CLASSMATE = d.Card("P0000002", "韩梅梅", "student", "G7-3", "north")
SOUTH_STUDENT = d.Card("P0000003", "王芳", "student", "G8-1", "south")
TEACHER = d.Card("T0000001", "王老师", "teacher", None, "north")
LOAN = d.LoanOnRecord(
    "L1", "P0000001", "student", TODAY - timedelta(days=3), "红楼梦", "9787020002207"
)


def valid(events, stream_id="s-1"):
    """Every decided event passes the catalogue, as the store will check."""
    for event in events:
        NewEvent(event.type, stream_id, dict(event.data)).validated()
    return events


def apply(state, command):
    return fold(d.evolve, state, valid(d.decide(state, command)))


def refused(state, command):
    with pytest.raises(Refused) as caught:
        d.decide(state, command)
    return caught.value


# ---------------------------------------------------------------- word counts


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("我喜欢这本书", 6),
        ("I liked it", 3),
        ("《红楼梦》读后感：我读了 Harry Potter 两遍。", 13),
        ("don't stop, well-read 2026", 4),
        ("……！？", 0),
        ("", 0),
    ],
)
def test_words_count_chinese_characters_and_latin_words(text, words):
    assert d.count_words(text) == words


# ---------------------------------------------------------------- notes


def submit(loan=LOAN, patron_id="P0000001", text="我喜欢这本书", word_count=None, today=TODAY):
    loan_id = loan.loan_id if loan else "L1"
    return d.SubmitNote(d.note_id_for(loan_id), patron_id, loan_id, loan, text, word_count, today)


def written(**overrides):
    return apply(d.NO_NOTE, submit(**overrides))


def award(awarder=TEACHER, award="一等奖", today=TODAY):
    return d.AwardNote(award, awarder.patron_id if awarder else "T9", awarder, today)


def test_a_note_about_ones_own_loan_takes_title_and_isbn_from_the_loan():
    [event] = valid(d.decide(d.NO_NOTE, submit()))
    assert event == Event(
        "ReadingNoteSubmitted",
        {
            "note_id": d.note_id_for("L1"),
            "patron_id": "P0000001",
            "loan_id": "L1",
            "isbn": "9787020002207",
            "title": "红楼梦",
            "text": "我喜欢这本书",
            "word_count": 6,
            "submitted_on": "2026-10-12",
        },
    )


def test_a_given_word_count_is_kept():
    [event] = d.decide(d.NO_NOTE, submit(word_count=800))
    assert event.data["word_count"] == 800


def test_one_loan_always_gives_the_same_note_id_and_two_loans_two():
    assert d.note_id_for("L1") == d.note_id_for("L1") != d.note_id_for("L2")
    assert len(d.note_id_for("L" * 64)) <= 64


def test_a_second_note_about_the_same_loan_is_refused():
    error = refused(written(), submit())
    assert error.code == "note_exists" and "one note per book borrowed" in str(error)


def test_a_note_about_an_unknown_loan_is_refused():
    error = refused(d.NO_NOTE, submit(loan=None))
    assert error.code == "unknown_loan" and "no loan L1 on record" in str(error)


def test_a_note_about_someone_elses_loan_is_refused():
    error = refused(d.NO_NOTE, submit(patron_id="P0000002"))
    assert error.code == "not_your_loan" and "not lent to P0000002" in str(error)


def test_a_class_corner_loan_gets_no_note():
    corner = d.LoanOnRecord("L1", "P0000001", "class_corner", TODAY, "红楼梦", "9787020002207")
    assert refused(d.NO_NOTE, submit(loan=corner)).code == "class_corner_loan"


def test_a_note_cannot_be_dated_before_the_loan():
    error = refused(d.NO_NOTE, submit(today=LOAN.lent_on - timedelta(days=1)))
    assert error.code == "before_loan" and "lent on 2026-10-09" in str(error)


def test_a_loan_without_a_title_on_record_is_refused():
    bare = d.LoanOnRecord("L1", "P0000001", "student", TODAY, None, None)
    assert refused(d.NO_NOTE, submit(loan=bare)).code == "loan_without_title"


def test_a_note_without_words_is_refused():
    error = refused(d.NO_NOTE, submit(text="……"))
    assert error.code == "empty_note" and "no words" in str(error)


def test_a_teacher_awards_a_note_once():
    note = written()
    [event] = valid(d.decide(note, award()))
    assert event.data == {
        "note_id": d.note_id_for("L1"),
        "award": "一等奖",
        "awarded_by": "T0000001",
        "patron_id": "P0000001",
        "awarded_on": "2026-10-12",
    }
    awarded = fold(d.evolve, note, [event])
    assert (awarded.award, awarded.awarded_by) == ("一等奖", "T0000001")
    error = refused(awarded, award(award="二等奖"))
    assert error.code == "already_awarded" and "already has an award (一等奖" in str(error)


def test_only_a_teacher_with_a_current_card_awards():
    note = written()
    assert "only a teacher can award" in str(refused(note, award(awarder=None)))
    error = refused(note, award(awarder=CLASSMATE))
    assert error.code == "not_a_teacher" and "韩梅梅 is not a teacher" in str(error)
    retired = d.Card("T0000001", "王老师", "teacher", None, "north", retired=True)
    assert refused(note, award(awarder=retired)).code == "card_retired"


def test_a_teacher_does_not_award_their_own_note():
    loan = d.LoanOnRecord("L9", "T0000001", "teacher", TODAY, "教育学", "9787020002207")
    note = apply(d.NO_NOTE, submit(loan=loan, patron_id="T0000001"))
    assert refused(note, award()).code == "own_note"


def test_an_award_needs_a_note():
    assert refused(d.NO_NOTE, award()).code == "no_note"


def test_a_note_command_on_a_competition_is_a_bug_not_a_refusal():
    with pytest.raises(TypeError):
        d.decide(d.NO_COMPETITION, submit())


# ---------------------------------------------------------------- competitions

CLOSES = date(2026, 10, 31)


def opening(campus=None, closes_on=CLOSES, today=TODAY, kind="essay"):
    return d.OpenCompetition("K1", "我爱读书征文", kind, campus, closes_on, today)


def opened(**overrides):
    return apply(d.NO_COMPETITION, opening(**overrides))


def enter(reader=STUDENT, entry_id=None, today=TODAY, title="我读红楼梦"):
    patron_id = reader.patron_id if reader else "P0009999"
    return d.EnterCompetition(entry_id or f"E-{patron_id}", patron_id, reader, title, "正文", today)


def score(entry_id, points, scorer=TEACHER):
    return d.ScoreEntry(entry_id, points, scorer.patron_id if scorer else "T9", scorer)


def close(today=CLOSES):
    return d.CloseCompetition(today)


def test_opening_a_competition_records_its_closing_date():
    [event] = valid(d.decide(d.NO_COMPETITION, opening(campus="north")))
    assert event.data == {
        "competition_id": "K1",
        "title": "我爱读书征文",
        "kind": "essay",
        "campus": "north",
        "opened_on": "2026-10-12",
        "closes_on": "2026-10-31",
    }
    assert opened().status == "open"


def test_a_competition_opens_once_and_not_already_closed():
    assert refused(opened(), opening()).code == "competition_exists"
    error = refused(d.NO_COMPETITION, opening(closes_on=TODAY - timedelta(days=1)))
    assert error.code == "closes_in_the_past" and "already past" in str(error)
    assert refused(d.NO_COMPETITION, opening(kind="dance")).code == "unknown_kind"
    assert opened(closes_on=TODAY).closes_on == TODAY  # closing today is fine


def test_a_student_enters_once():
    competition = apply(opened(), enter())
    entry = competition.entries["E-P0000001"]
    assert (entry.patron_id, entry.number, entry.score) == ("P0000001", 1, None)
    error = refused(competition, enter(entry_id="E-again"))
    assert error.code == "already_entered" and "李雷 has already entered" in str(error)
    assert apply(competition, enter(CLASSMATE)).entries["E-P0000002"].number == 2


def test_entries_are_refused_after_the_closing_date():
    error = refused(opened(), enter(today=CLOSES + timedelta(days=1)))
    assert error.code == "entries_closed" and "closed on 2026-10-31" in str(error)
    apply(opened(), enter(today=CLOSES))  # the closing day itself still counts


def test_entries_are_refused_once_the_competition_is_closed():
    closed = apply(opened(), close(today=TODAY))
    error = refused(closed, enter())
    assert error.code == "competition_closed" and "entries are no longer accepted" in str(error)


def test_who_may_enter():
    competition = opened(campus="north")
    assert refused(competition, enter(reader=None)).code == "no_card"
    assert refused(competition, enter(reader=TEACHER)).code == "not_a_student"
    error = refused(competition, enter(reader=SOUTH_STUDENT))
    assert error.code == "wrong_campus" and "for the north campus" in str(error)
    retired = d.Card("P0000001", "李雷", "student", "G7-3", "north", retired=True)
    assert refused(competition, enter(reader=retired)).code == "card_retired"
    assert refused(d.NO_COMPETITION, enter()).code == "no_competition"


def test_a_teacher_scores_an_entry_and_may_correct_it_until_the_close():
    competition = apply(opened(), enter())
    [event] = valid(d.decide(competition, score("E-P0000001", 88)))
    assert event.data == {
        "competition_id": "K1",
        "entry_id": "E-P0000001",
        "patron_id": "P0000001",
        "score": 88,
        "scored_by": "T0000001",
    }
    corrected = apply(apply(competition, score("E-P0000001", 88)), score("E-P0000001", 91))
    assert corrected.entries["E-P0000001"].score == 91


def test_scores_are_refused_for_unknown_entries_bad_numbers_and_non_teachers():
    competition = apply(opened(), enter())
    assert refused(competition, score("E-nobody", 50)).code == "no_such_entry"
    assert refused(competition, score("E-P0000001", 101)).code == "score_out_of_range"
    assert refused(competition, score("E-P0000001", -1)).code == "score_out_of_range"
    assert refused(competition, score("E-P0000001", 50, scorer=CLASSMATE)).code == "not_a_teacher"
    assert refused(competition, score("E-P0000001", 50, scorer=None)).code == "no_card"
    closed = apply(apply(competition, score("E-P0000001", 50)), close())
    error = refused(closed, score("E-P0000001", 60))
    assert error.code == "competition_closed" and "scores can no longer change" in str(error)


def test_closing_is_refused_while_entries_wait_for_a_score():
    competition = apply(apply(opened(), enter()), enter(CLASSMATE))
    competition = apply(competition, score("E-P0000001", 70))
    error = refused(competition, close())
    assert error.code == "unscored_entries"
    assert "1 entry of 我爱读书征文 still need a score" in str(error)
    assert "E-P0000002 (P0000002)" in str(error)


def test_a_refusal_to_close_names_the_first_unscored_entries_and_counts_the_rest():
    competition = opened()
    for number in range(7):
        reader = d.Card(f"P100000{number}", f"学生{number}", "student", "G7-1", "north")
        competition = apply(competition, enter(reader))
    error = str(refused(competition, close()))
    assert "7 entries" in error and "and 2 more" in error and "P1000004" in error


def test_closing_carries_the_final_ranking_with_shared_ranks():
    competition = opened()
    readers = [
        d.Card(f"P000000{n}", name, "student", "G7-3", "north")
        for n, name in enumerate(["甲", "乙", "丙", "丁"], start=1)
    ]
    for reader in readers:
        competition = apply(competition, enter(reader, title=f"{reader.name}的作文"))
    for patron, points in (("P0000001", 80), ("P0000002", 95), ("P0000003", 95), ("P0000004", 60)):
        competition = apply(competition, score(f"E-{patron}", points))
    [event] = valid(d.decide(competition, close()))
    assert event.data["closed_on"] == "2026-10-31"
    assert [(r["rank"], r["patron_id"], r["score"]) for r in event.data["ranking"]] == [
        (1, "P0000002", 95),
        (1, "P0000003", 95),
        (3, "P0000001", 80),
        (4, "P0000004", 60),
    ]
    closed = fold(d.evolve, competition, [event])
    assert closed.status == "closed" and closed.ranking[0]["title"] == "乙的作文"
    assert refused(closed, close()).code == "already_closed"


def test_equal_scores_are_listed_by_entry_order_then_card_number():
    entries = [
        d.Entry("E3", "P3", "c", 3, 90),
        d.Entry("E1", "P9", "a", 1, 90),
        d.Entry("E2", "P1", "b", 2, 95),
        d.Entry("E4", "P0", "d", 3, 90),  # same order number: the card number decides
        d.Entry("E5", "P5", "e", 5, None),  # not scored: not ranked
    ]
    assert [(r["rank"], r["entry_id"]) for r in d.rank(entries)] == [
        (1, "E2"),
        (2, "E1"),
        (2, "E4"),
        (2, "E3"),
    ]


def test_a_competition_with_no_entries_closes_with_an_empty_ranking():
    [event] = d.decide(opened(), close())
    assert event.data["ranking"] == []


def test_closing_needs_a_competition():
    assert refused(d.NO_COMPETITION, close()).code == "no_competition"
    assert refused(d.NO_COMPETITION, score("E1", 1)).code == "no_competition"


# ---------------------------------------------------------------- books read

MONDAY = date(2026, 10, 12)  # week 2026-W42
NEXT_MONDAY = MONDAY + timedelta(days=7)  # week 2026-W43
HONGLOU, XIYOU = d.title_key("978-7-02-000220-7", "红楼梦"), d.title_key("9787020008735", "西游记")


def borrowed(loan_id, title=HONGLOU, returned_on=MONDAY, lost=False, patron_id="P0000001"):
    return d.Borrowing(loan_id, patron_id, title, returned_on, lost)


def week_of(day):
    monday = day - timedelta(days=day.weekday())
    return monday, monday + timedelta(days=6)


def test_a_title_borrowed_and_returned_is_one_book_read_on_the_day_it_came_back():
    loan = borrowed("L1", returned_on=MONDAY + timedelta(days=2))
    assert d.read_on(loan) == MONDAY + timedelta(days=2)
    assert d.books_read([loan], *week_of(MONDAY)) == {"P0000001": 1}


def test_a_title_borrowed_again_in_the_same_period_is_still_one_book():
    loans = [
        borrowed("L1", returned_on=MONDAY),
        borrowed("L2", returned_on=MONDAY + timedelta(days=2)),
        borrowed("L3", XIYOU, returned_on=MONDAY + timedelta(days=3)),
    ]
    assert d.books_read(loans, *week_of(MONDAY)) == {"P0000001": 2}


def test_a_title_read_in_two_weeks_counts_in_each_week_and_once_in_the_month():
    loans = [borrowed("L1", returned_on=MONDAY), borrowed("L2", returned_on=NEXT_MONDAY)]
    assert d.books_read(loans, *week_of(MONDAY)) == {"P0000001": 1}
    assert d.books_read(loans, *week_of(NEXT_MONDAY)) == {"P0000001": 1}
    assert d.books_read(loans, date(2026, 10, 1), date(2026, 10, 31)) == {"P0000001": 1}


def test_a_book_counts_in_the_period_it_was_returned_not_the_one_it_was_lent_in():
    lent_last_week_back_this_week = borrowed("L1", returned_on=NEXT_MONDAY)
    assert d.books_read([lent_last_week_back_this_week], *week_of(MONDAY)) == {}
    assert d.books_read([lent_last_week_back_this_week], *week_of(NEXT_MONDAY)) == {"P0000001": 1}


def test_a_book_still_out_is_not_read_yet_and_a_lost_one_never_is():
    out = borrowed("L1", returned_on=None)
    lost = borrowed("L2", XIYOU, returned_on=None, lost=True)
    lost_even_if_a_return_was_recorded = borrowed("L3", XIYOU, returned_on=MONDAY, lost=True)
    assert [d.read_on(loan) for loan in (out, lost, lost_even_if_a_return_was_recorded)] == [
        None,
        None,
        None,
    ]
    assert d.books_read([out, lost, lost_even_if_a_return_was_recorded], *week_of(MONDAY)) == {}


def test_a_lost_copy_of_a_title_does_not_cancel_another_loan_of_it_that_came_back():
    loans = [borrowed("L1", lost=True, returned_on=None), borrowed("L2", returned_on=MONDAY)]
    assert d.books_read(loans, *week_of(MONDAY)) == {"P0000001": 1}


def test_the_same_title_is_known_by_its_isbn_with_or_without_hyphens_else_by_its_title():
    assert d.title_key("978-7-02-000220-7", "红楼梦") == d.title_key("9787020002207", None)
    assert d.title_key(None, "红楼梦") == "红楼梦"
    assert d.title_key(None, None) is None
    loans = [
        borrowed("L1", d.title_key("978-7-02-000220-7", "红楼梦")),
        borrowed("L2", d.title_key("9787020002207", "红楼梦 (新版)")),
    ]
    assert d.books_read(loans, *week_of(MONDAY)) == {"P0000001": 1}


def test_loans_recorded_without_isbn_or_title_are_each_a_book_of_their_own():
    loans = [borrowed("L1", None), borrowed("L2", None)]
    assert d.books_read(loans, *week_of(MONDAY)) == {"P0000001": 2}


def test_each_reader_is_counted_apart_and_readers_with_nothing_read_are_left_out():
    loans = [
        borrowed("L1", patron_id="P1"),
        borrowed("L2", patron_id="P2"),
        borrowed("L3", XIYOU, patron_id="P2"),
        borrowed("L4", patron_id="P3", returned_on=None),
    ]
    assert d.books_read(loans, *week_of(MONDAY)) == {"P1": 1, "P2": 2}
