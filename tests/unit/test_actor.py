"""Who did what, without servers: the worker's actor on every event a unit of work
records, the cause's on a reaction's, and the archives' audit period and cursor."""

from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import pytest

from services.archives import queries
from services.archives import schemas as s
from shared.errors import BadRequest, load
from shared.eventsourcing.memory_store import InMemoryEventStore
from shared.eventsourcing.store import NO_STREAM
from shared.eventsourcing.unit_of_work import UnitOfWork
from shared.runtime.dependencies import EventStoreProvider, actor_of
from tests.factories import repaired_event

LIBRARIAN = {"id": "acct-7", "username": "wang.li", "role": "librarian"}


def worker(**context_data):
    return SimpleNamespace(context_data=context_data, call_id="circulation.lend.1")


def test_the_actor_in_the_context_data_is_checked_and_a_missing_one_is_nobody():
    assert actor_of(worker(actor=dict(LIBRARIAN))) == LIBRARIAN
    assert actor_of(worker()) is None
    assert actor_of(worker(actor=None)) is None


@pytest.mark.parametrize(
    "actor", ['{"id": "acct-7"}', {"id": "acct-7", "username": "wang.li"}, {**LIBRARIAN, "x": 1}]
)
def test_a_malformed_actor_in_the_context_data_is_a_bad_request_naming_it(actor):
    with pytest.raises(BadRequest) as refused:
        actor_of(worker(actor=actor))
    assert "actor" in refused.value.errors


def test_a_unit_of_work_stamps_its_actor_on_every_event_it_records():
    store = InMemoryEventStore("catalog")
    uow = UnitOfWork(store, None, "corr", None, actor=LIBRARIAN)
    stored = uow.append("copy-A", NO_STREAM, [repaired_event("copy-A")] * 2)
    assert [e.actor for e in stored] == [LIBRARIAN, LIBRARIAN]
    anonymous = UnitOfWork(store, None, "corr", None).append(
        "copy-B", NO_STREAM, [repaired_event("copy-B")]
    )
    assert [e.actor for e in anonymous] == [None]


def test_a_reaction_records_with_the_actor_of_the_event_it_reacts_to():
    provider = EventStoreProvider()
    provider.store, provider.caches = InMemoryEventStore("catalog"), {}
    (cause,) = UnitOfWork(provider.store, None, "corr", None, actor=LIBRARIAN).append(
        "copy-A", NO_STREAM, [repaired_event("copy-A")]
    )
    reaction = provider.unit_of_work(None, cause)
    assert (reaction.actor, reaction.causation_id) == (LIBRARIAN, cause.event_id)
    (recorded,) = reaction.append("copy-B", NO_STREAM, [repaired_event("copy-B")])
    assert recorded.actor == LIBRARIAN


def test_an_audit_period_of_days_is_whole_days_at_the_school():
    start, end = queries.moments(date(2026, 10, 12), date(2026, 10, 13), "Asia/Shanghai")
    assert start == datetime(2026, 10, 11, 16, tzinfo=UTC)  # midnight at the school
    assert end == datetime(2026, 10, 13, 16, tzinfo=UTC)  # the end of the 13th there


def test_an_audit_period_of_moments_includes_both_ends_and_is_open_when_left_out():
    moment = datetime(2026, 10, 12, 8, 30, tzinfo=UTC)
    start, end = queries.moments(moment, moment, "Asia/Shanghai")
    assert start == moment and end == moment + timedelta(microseconds=1)
    assert queries.moments(None, None, "Asia/Shanghai") == (
        queries.FAR_PAST_MOMENT,
        queries.FAR_FUTURE_MOMENT,
    )


def test_the_audit_cursor_reads_back_what_it_wrote():
    recorded_at = datetime(2026, 10, 12, 8, 30, 1, 123400, tzinfo=UTC)
    text = queries.audit_cursor(recorded_at, "circulation", 42)
    assert load(s.AuditQuery(), {"after": text})["after"] == (recorded_at, "circulation", 42)


def test_an_audit_query_takes_days_and_moments_with_their_offset():
    query = load(s.AuditQuery(), {"from": "2026-10-12", "to": "2026-10-12T18:00:00+08:00"})
    assert query["since"] == date(2026, 10, 12)
    assert query["until"] == datetime.fromisoformat("2026-10-12T18:00:00+08:00")
    assert (query["actor"], query["after"], query["limit"]) == (None, None, 100)
