"""The fold cache: a long stream is folded once, then only what came after; never stale."""

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
