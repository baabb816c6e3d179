"""The command pipeline on the real PostgreSQL store, where the unit tests use memory.

``tests/unit/test_pipeline.py`` proves the pipeline on ``InMemoryEventStore``;
these few prove that what they lean on holds on PostgreSQL too: a rolled-back
command leaves neither events nor a remembered receipt, and a resend is answered
from the ``commands`` table (jsonb) without the handler running again.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import date
from typing import Any

import pytest

from shared.eventsourcing.decider import Refused
from shared.eventsourcing.pipeline import CommandReused, run_command
from shared.eventsourcing.store import NO_STREAM, EventStore
from shared.eventsourcing.unit_of_work import COMMAND_LOCKS, UnitOfWork
from shared.storage.migrate import MIGRATIONS_ROOT
from tests.factories import repaired_event


class Desk:
    """The command path of ``StoreAccess.unit_of_work``, counting handler runs."""

    def __init__(self, pool: Any) -> None:
        self.pool = pool
        self.store = EventStore("catalog")
        self.calls = 0

    @contextmanager
    def open_unit_of_work(self, key: str | None) -> Iterator[UnitOfWork]:
        with self.pool.transaction() as cursor:
            uow = UnitOfWork(self.store, cursor, "corr-desk", None, command_id=key)
            yield uow
            uow.finish()

    def run(self, name: str, parameters: Mapping[str, Any], handle: Any) -> Any:
        def counting(uow: UnitOfWork, parameters: Mapping[str, Any]) -> Any:
            self.calls += 1
            return handle(uow, parameters)

        return run_command(self.open_unit_of_work, name, parameters, counting)

    def head(self) -> int:
        with self.pool.transaction() as cursor:
            return self.store.head(cursor)

    def remembered(self, command_id: str) -> Any:
        with self.pool.transaction() as cursor:
            return self.store.command_run(cursor, command_id, COMMAND_LOCKS)


@pytest.fixture
def desk(pool_for):
    return Desk(pool_for("catalog"))


def repair(uow: UnitOfWork, parameters: Mapping[str, Any]) -> dict[str, Any]:
    stream = f"copy-{parameters['barcode']}"
    (stored,) = uow.append(stream, NO_STREAM, [repaired_event(stream, parameters["barcode"])])
    return {"position": stored.position, "barcode": parameters["barcode"]}


def test_a_resend_is_answered_from_the_commands_table_without_running_again(desk):
    parameters = {"barcode": "C00000001", "command_id": str(uuid.uuid4())}
    first = desk.run("repair", parameters, repair)
    again = desk.run("repair", parameters, repair)
    assert again == first == {"position": 1, "barcode": "C00000001"}
    assert desk.calls == 1 and desk.head() == 1


def test_a_refused_command_leaves_no_event_and_no_receipt_in_postgresql(desk):
    def refused_after_recording(uow: UnitOfWork, parameters: Mapping[str, Any]) -> Any:
        repair(uow, parameters)
        raise Refused("the desk said no", "desk_said_no")

    key = str(uuid.uuid4())
    with pytest.raises(Refused):
        desk.run("repair", {"barcode": "C00000001", "command_id": key}, refused_after_recording)
    assert desk.head() == 0 and desk.remembered(key) is None


def test_a_receipt_with_a_date_is_answered_the_same_on_a_resend(desk):
    def lend(uow: UnitOfWork, parameters: Mapping[str, Any]) -> dict[str, Any]:
        repair(uow, parameters)
        return {"due_on": date(2026, 12, 10)}

    parameters = {"barcode": "C00000001", "command_id": str(uuid.uuid4())}
    first = desk.run("lend", parameters, lend)
    assert desk.run("lend", parameters, lend) == first == {"due_on": "2026-12-10"}


def test_a_command_id_from_before_receipts_were_kept_is_refused_not_redone(desk):
    key = str(uuid.uuid4())
    with desk.pool.transaction() as cursor:  # what a command recorded before the upgrade
        UnitOfWork(desk.store, cursor, "corr-old", None, command_id=key).append(
            "copy-C00000009", NO_STREAM, [repaired_event("copy-C00000009", "C00000009")]
        )
        migration = MIGRATIONS_ROOT / "common" / "004_commands_from_before.sql"
        cursor.execute(migration.read_text())
    with pytest.raises(CommandReused, match="before this library kept its answers"):
        desk.run("repair", {"barcode": "C00000009", "command_id": key}, repair)
    assert desk.calls == 0 and desk.head() == 1
