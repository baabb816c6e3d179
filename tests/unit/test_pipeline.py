"""The command pipeline and the unit of work, on the in-memory event store (no servers).

A small decider of our own (a copy damaged and repaired) stands in for a
service's domain, so these tests prove what ``run_command`` and ``UnitOfWork``
promise every service: a command id runs once and is answered again with its
first receipt, a reused id is refused, a refusal records nothing, conflicts are
retried, and the repository loads, decides and records at the loaded version.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import psycopg2.errors
import pytest

from shared.errors import NotFound
from shared.events.envelope import derived_id
from shared.eventsourcing.decider import Aggregate, Event, Refused
from shared.eventsourcing.memory_store import InMemoryEventStore
from shared.eventsourcing.pipeline import CommandReused, fingerprint, run_command
from shared.eventsourcing.store import ANY_VERSION, ConcurrencyError
from shared.eventsourcing.unit_of_work import COMMAND_LOCKS, RETRIES, UnitOfWork
from tests.factories import repaired_event

# ------------------------------------------------------------ a decider of our own


@dataclass(frozen=True)
class CopyState:
    damaged: bool = False
    repairs: int = 0


@dataclass(frozen=True)
class Damage:
    barcode: str
    note: str = ""


@dataclass(frozen=True)
class Repair:
    barcode: str
    note: str = ""


def evolve(state: CopyState, event: Any) -> CopyState:
    if event.type == "CopyDamaged":
        return replace(state, damaged=True)
    if event.type == "Repaired":
        return replace(state, damaged=False, repairs=state.repairs + 1)
    return state


def decide(state: CopyState, command: Damage | Repair) -> list[Event]:
    if isinstance(command, Damage):
        if state.damaged:
            raise Refused(f"{command.barcode} is already damaged", "copy_damaged")
        return [Event("CopyDamaged", {"barcode": command.barcode, "note": command.note})]
    if not state.damaged:
        raise Refused(f"{command.barcode} is not damaged", "copy_not_damaged")
    return [Event("Repaired", {"barcode": command.barcode, "note": command.note})]


COPY = Aggregate("copy", "copy-", CopyState(), evolve, decide)
KNOWN_COPY = replace(COPY, missing="no copy {key} was ever added")
ONE, TWO = "C00000001", "C00000002"


# ------------------------------------------------------------ the pipeline on the memory store


class Desk:
    """A service's command path on an in-memory store, counting how often handlers run."""

    def __init__(self) -> None:
        self.store = InMemoryEventStore("catalog")
        self.calls = 0

    @contextmanager
    def open_unit_of_work(self, key: str | None) -> Iterator[UnitOfWork]:
        with self.store.transaction():
            uow = UnitOfWork(
                store=self.store,
                cursor=None,
                correlation_id="corr-desk",
                causation_id=None,
                command_id=key,
            )
            yield uow
            uow.finish()

    def run(self, name: str, parameters: Mapping[str, Any], handle: Any = None) -> Any:
        return run_command(self.open_unit_of_work, name, parameters, self.counted(handle or damage))

    def counted(self, handle: Any) -> Any:
        def counting(uow: UnitOfWork, parameters: Mapping[str, Any]) -> Any:
            self.calls += 1
            return handle(uow, parameters)

        return counting

    def events(self) -> list:
        return self.store.read(None, 0, 10_000)

    def remembered(self, command_id: str) -> Any:
        return self.store.command_run(None, command_id, COMMAND_LOCKS)


def damage(uow: UnitOfWork, parameters: Mapping[str, Any]) -> dict[str, Any]:
    stored = uow.execute(COPY, parameters["barcode"], Damage(parameters["barcode"], "torn"))
    return {"barcode": parameters["barcode"], "position": stored[-1].position}


def repair(uow: UnitOfWork, parameters: Mapping[str, Any]) -> dict[str, Any]:
    stored = uow.execute(COPY, parameters["barcode"], Repair(parameters["barcode"], "glued"))
    return {"barcode": parameters["barcode"], "position": stored[-1].position}


def damage_both(uow: UnitOfWork, parameters: Mapping[str, Any]) -> dict[str, Any]:
    """Damages two copies in one command: all or nothing."""
    for barcode in parameters["barcodes"]:
        uow.execute(COPY, barcode, Damage(barcode, "flooded shelf"))
    return {"damaged": list(parameters["barcodes"])}


@pytest.fixture
def desk() -> Desk:
    return Desk()


def command_id() -> str:
    return str(uuid.uuid4())


# ------------------------------------------------------------ idempotency


def test_a_command_without_a_command_id_runs_every_time_it_is_sent(desk):
    desk.run("damage", {"barcode": ONE})
    desk.run("repair", {"barcode": ONE}, repair)
    with pytest.raises(Refused) as refused:  # decided again on the new state, not answered
        desk.run("repair", {"barcode": ONE}, repair)
    assert refused.value.code == "copy_not_damaged"
    assert desk.calls == 3
    assert [e.type for e in desk.events()] == ["CopyDamaged", "Repaired"]


def test_a_resent_command_gets_its_first_receipt_without_running_again(desk):
    parameters = {"barcode": ONE, "command_id": command_id()}
    first = desk.run("damage", parameters)
    again = desk.run("damage", dict(parameters))
    assert again == first == {"barcode": ONE, "position": 1}
    assert desk.calls == 1
    assert len(desk.events()) == 1


def test_a_command_id_sent_with_other_parameters_is_refused_as_reused(desk):
    key = command_id()
    desk.run("damage", {"barcode": ONE, "command_id": key})
    with pytest.raises(CommandReused) as reused:
        desk.run("damage", {"barcode": TWO, "command_id": key})
    assert reused.value.code == "command_id_reused" and isinstance(reused.value, Refused)
    assert desk.calls == 1
    assert [e.stream_id for e in desk.events()] == ["copy-" + ONE]


def test_a_command_id_sent_with_another_command_is_refused_as_reused(desk):
    key = command_id()
    desk.run("damage", {"barcode": ONE, "command_id": key})
    with pytest.raises(CommandReused, match="damage") as reused:
        desk.run("repair", {"barcode": ONE, "command_id": key}, repair)
    assert reused.value.code == "command_id_reused"
    assert desk.calls == 1
    assert [e.type for e in desk.events()] == ["CopyDamaged"]


def test_the_fingerprint_leaves_out_the_command_id_and_the_order_of_parameters():
    one = fingerprint("lend", {"command_id": command_id(), "barcode": ONE, "patron_id": "P1"})
    other = fingerprint("lend", {"patron_id": "P1", "barcode": ONE, "command_id": command_id()})
    assert one == other
    assert fingerprint("renew", {"barcode": ONE, "patron_id": "P1"}) != one


def test_a_refused_command_records_nothing_and_a_resend_runs_again(desk):
    desk.run("damage", {"barcode": TWO})  # TWO is damaged already: damaging both is refused
    key = command_id()
    parameters = {"barcodes": [ONE, TWO], "command_id": key}
    with pytest.raises(Refused) as refused:
        desk.run("damage_both", parameters, damage_both)
    assert refused.value.code == "copy_damaged"
    assert [e.stream_id for e in desk.events()] == ["copy-" + TWO]  # ONE's damage rolled back
    assert desk.remembered(key) is None

    desk.run("repair", {"barcode": TWO}, repair)
    receipt = desk.run("damage_both", parameters, damage_both)
    assert receipt == {"damaged": [ONE, TWO]}
    assert desk.calls == 4
    assert desk.remembered(key).receipt == receipt


def test_a_receipt_of_none_is_remembered_and_answered_again(desk):
    parameters = {"barcode": ONE, "command_id": command_id()}

    def quiet(uow: UnitOfWork, parameters: Mapping[str, Any]) -> None:
        damage(uow, parameters)

    assert desk.run("damage", parameters, quiet) is None
    assert desk.run("damage", parameters, quiet) is None
    assert desk.calls == 1 and len(desk.events()) == 1


def test_events_of_a_command_get_ids_derived_from_its_command_id(desk):
    key = command_id()
    desk.run("damage_both", {"barcodes": [ONE, TWO], "command_id": key}, damage_both)
    events = desk.events()
    assert [e.event_id for e in events] == [derived_id(key, 0), derived_id(key, 1)]
    assert {(e.causation_id, e.correlation_id) for e in events} == {(key, "corr-desk")}


# ------------------------------------------------------------ receipts


def test_the_first_receipt_equals_the_resent_one_with_dates_and_decimals_as_text(desk):
    def lend(uow: UnitOfWork, parameters: Mapping[str, Any]) -> dict[str, Any]:
        damage(uow, parameters)
        return {
            "due_on": date(2026, 12, 10),
            "fee": Decimal("1.50"),
            "at": datetime(2026, 12, 4, 9, 30, tzinfo=UTC),
            "loan": uuid.UUID("3f9a1c2b-7d4e-4f60-8a1b-2c3d4e5f6071"),
            "copies": (ONE,),
        }

    parameters = {"barcode": ONE, "command_id": command_id()}
    first = desk.run("lend", parameters, lend)
    again = desk.run("lend", parameters, lend)
    assert (
        first
        == again
        == {
            "due_on": "2026-12-10",
            "fee": "1.50",
            "at": "2026-12-04T09:30:00+00:00",
            "loan": "3f9a1c2b-7d4e-4f60-8a1b-2c3d4e5f6071",
            "copies": [ONE],
        }
    )
    assert desk.calls == 1


def test_a_receipt_is_answered_as_json_with_or_without_a_command_id(desk):
    def lend(uow: UnitOfWork, parameters: Mapping[str, Any]) -> dict[str, Any]:
        return {"due_on": date(2026, 12, 10), "fee": Decimal("1.50")}

    keyed = desk.run("lend", {"barcode": ONE, "command_id": command_id()}, lend)
    unkeyed = desk.run("lend", {"barcode": ONE}, lend)
    assert keyed == unkeyed == {"due_on": "2026-12-10", "fee": "1.50"}


def test_a_receipt_that_is_not_json_fails_the_command_and_records_nothing(desk):
    def odd(uow: UnitOfWork, parameters: Mapping[str, Any]) -> Any:
        damage(uow, parameters)
        return {"ratio": float("nan")}  # jsonb refuses NaN: fail here, not at commit

    key = command_id()
    with pytest.raises(ValueError):
        desk.run("damage", {"barcode": ONE, "command_id": key}, odd)
    assert desk.events() == [] and desk.remembered(key) is None


# ------------------------------------------------------------ retries


def test_a_conflict_on_the_first_attempts_is_retried_until_it_succeeds(desk):
    def contended(uow: UnitOfWork, parameters: Mapping[str, Any]) -> Any:
        receipt = damage(uow, parameters)
        if desk.calls < 3:  # the append went in, then the stream turned out to have moved
            raise ConcurrencyError("copy-" + ONE, 0, 1)
        return receipt

    key = command_id()
    receipt = desk.run("damage", {"barcode": ONE, "command_id": key}, contended)
    assert desk.calls == 3
    assert receipt == {"barcode": ONE, "position": 1}  # the failed attempts left no trace
    assert [e.event_id for e in desk.events()] == [derived_id(key, 0)]


def test_a_deadlock_is_retried_like_a_conflict(desk):
    def deadlocked_once(uow: UnitOfWork, parameters: Mapping[str, Any]) -> Any:
        if desk.calls == 1:
            raise psycopg2.errors.DeadlockDetected("deadlock detected")
        return damage(uow, parameters)

    assert desk.run("damage", {"barcode": ONE}, deadlocked_once) == {
        "barcode": ONE,
        "position": 1,
    }
    assert desk.calls == 2


def test_after_retries_conflicts_the_concurrency_error_is_raised(desk):
    def always_contended(uow: UnitOfWork, parameters: Mapping[str, Any]) -> Any:
        damage(uow, parameters)
        raise ConcurrencyError("copy-" + ONE, 0, 1)

    key = command_id()
    with pytest.raises(ConcurrencyError):
        desk.run("damage", {"barcode": ONE, "command_id": key}, always_contended)
    assert desk.calls == RETRIES
    assert desk.events() == [] and desk.remembered(key) is None


def test_an_error_that_is_not_a_conflict_is_not_retried(desk):
    def broken(uow: UnitOfWork, parameters: Mapping[str, Any]) -> Any:
        raise KeyError("shelf")

    with pytest.raises(KeyError):
        desk.run("damage", {"barcode": ONE}, broken)
    assert desk.calls == 1


# ------------------------------------------------------------ the unit of work as a repository


def unit_of_work(store: InMemoryEventStore, key: str | None = None) -> UnitOfWork:
    return UnitOfWork(store, None, "corr", None, command_id=key)


def test_get_of_an_empty_stream_that_must_exist_is_not_found():
    uow = unit_of_work(InMemoryEventStore("catalog"))
    with pytest.raises(NotFound, match="no copy C00000009 was ever added"):
        uow.get(KNOWN_COPY, "C00000009")
    loaded = uow.get(COPY, "C00000009")  # without ``missing`` an empty stream is the initial state
    assert (loaded.version, loaded.state, loaded.stream_id) == (0, CopyState(), "copy-C00000009")


def test_get_folds_the_stream_into_its_state_and_version():
    store = InMemoryEventStore("catalog")
    uow = unit_of_work(store)
    uow.execute(COPY, ONE, Damage(ONE))
    uow.execute(COPY, ONE, Repair(ONE))
    loaded = unit_of_work(store).get(KNOWN_COPY, ONE)
    assert (loaded.version, loaded.state) == (2, CopyState(damaged=False, repairs=1))


class RecordingStore(InMemoryEventStore):
    """The memory store, noting the expected version of every append."""

    def __init__(self, source: str) -> None:
        super().__init__(source)
        self.expected: list[tuple[str, int | None]] = []

    def append(self, cursor: Any, stream_id: str, expected_version: Any, events: Any) -> Any:
        self.expected.append((stream_id, expected_version))
        return super().append(cursor, stream_id, expected_version, events)


def test_execute_loads_decides_and_records_at_the_loaded_version():
    store = RecordingStore("catalog")
    store.append(None, "copy-" + ONE, 0, [repaired_event("copy-" + ONE, ONE)])
    store.append(None, "copy-" + ONE, 1, [repaired_event("copy-" + ONE, ONE)])
    store.expected.clear()
    stored = unit_of_work(store).execute(COPY, ONE, Damage(ONE, "torn"))
    assert store.expected == [("copy-" + ONE, 2)]
    assert [(e.type, e.stream_version, e.data) for e in stored] == [
        ("CopyDamaged", 3, {"barcode": ONE, "note": "torn"})
    ]
    with pytest.raises(Refused, match="already damaged"):  # decided on the state it loaded
        unit_of_work(store).execute(COPY, ONE, Damage(ONE))


def test_record_is_a_concurrency_error_when_the_stream_moved_after_get():
    store = InMemoryEventStore("catalog")
    uow = unit_of_work(store)
    loaded = uow.get(COPY, ONE)
    store.append(None, "copy-" + ONE, ANY_VERSION, [repaired_event("copy-" + ONE, ONE)])  # a rival
    with pytest.raises(ConcurrencyError, match="at version 1, expected 0"):
        uow.record(loaded, COPY.decide(loaded.state, Damage(ONE)))
    assert [e.type for e in store.read(None, 0)] == ["Repaired"]


def test_record_many_records_every_stream_at_its_loaded_version():
    store = InMemoryEventStore("catalog")
    unit_of_work(store).execute(COPY, TWO, Damage(TWO))
    uow = unit_of_work(store)
    loaded = uow.get_many(COPY, [ONE, TWO])
    assert {key: found.version for key, found in loaded.items()} == {ONE: 0, TWO: 1}
    results = uow.record_many(
        [(loaded[ONE], [Event("CopyDamaged", {"barcode": ONE, "note": ""})]),
         (loaded[TWO], [Event("Repaired", {"barcode": TWO, "note": ""})])]
    )  # fmt: skip
    assert [[(e.stream_id, e.stream_version) for e in r] for r in results] == [
        [("copy-" + ONE, 1)],
        [("copy-" + TWO, 2)],
    ]
    assert [e.position for e in uow.recorded] == [2, 3]
