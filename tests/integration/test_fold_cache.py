"""The fold cache: a long stream is folded once, then only what came after; never stale."""

from shared.eventsourcing.decider import Aggregate, Event
from shared.eventsourcing.store import ANY_VERSION, EventStore
from shared.eventsourcing.unit_of_work import FoldCache, UnitOfWork
from shared.storage.scratch_databases import empty_database
from tests.factories import repaired_event


def count(state, event):
    return state + [event.data["note"]]


def fold(pool, cache):
    with pool.transaction() as cursor:
        uow = UnitOfWork(EventStore("catalog"), cursor, None, None)
        return uow.fold("copy-1", count, [], cache)


def append(pool, *notes):
    with pool.transaction() as cursor:
        EventStore("catalog").append(
            cursor, "copy-1", ANY_VERSION, [repaired_event("copy-1", note=n) for n in notes]
        )


def test_a_cached_fold_reads_only_what_came_after_and_survives_a_restore(pool_for, databases):
    pool, cache = pool_for("catalog"), FoldCache()
    append(pool, "a", "b")
    assert fold(pool, cache) == (2, ["a", "b"])
    append(pool, "c")  # another instance appends meanwhile
    assert fold(pool, cache) == (3, ["a", "b", "c"])

    empty_database(databases["catalog"])  # the database restored to an older state
    append(pool, "x")
    assert fold(pool, cache) == (1, ["x"])


NOTES = Aggregate("notes", "copy-", (), lambda state, event: (*state, event.data["note"]),
                  lambda state, command: [], cached=True)  # fmt: skip


def append_to(pool, stream_id, *notes):
    with pool.transaction() as cursor:
        EventStore("catalog").append(
            cursor, stream_id, ANY_VERSION, [repaired_event(stream_id, note=n) for n in notes]
        )


def test_streams_read_ahead_in_one_query_are_folded_as_if_read_each(pool_for):
    pool, caches = pool_for("catalog"), {}
    append_to(pool, "copy-1", "a", "b")
    append_to(pool, "copy-2", "x")
    with pool.transaction() as cursor:  # a first fold of copy-1 is cached
        UnitOfWork(EventStore("catalog"), cursor, None, None, caches=caches).get(NOTES, "1")
    append_to(pool, "copy-1", "c")

    with pool.transaction() as cursor:
        uow = UnitOfWork(EventStore("catalog"), cursor, None, None, caches=caches)
        uow.read_ahead((NOTES, "1"), (NOTES, "2"), (NOTES, "3"))
        read = []  # the streams read one by one from here on
        load = uow.store.load
        uow.store.load = lambda cursor, stream, **after: (
            read.append(stream) or load(cursor, stream, **after)
        )
        one, two, three = uow.get(NOTES, "1"), uow.get(NOTES, "2"), uow.get(NOTES, "3")
        assert read == []  # every one of them served from the one query
        assert (one.version, one.state) == (3, ("a", "b", "c"))  # the cached fold, and after
        assert (two.version, two.state) == (1, ("x",))
        assert (three.version, three.state) == (0, ())
        uow.record(two, [Event("Repaired", {"barcode": "T00000001", "note": "y"})])
        assert uow.get(NOTES, "2").state == ("x", "y")  # read anew after it was recorded on
        assert read == ["copy-2"]
