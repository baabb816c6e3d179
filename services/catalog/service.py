"""The catalog service: nameko entrypoints over the copy Decider.

Each command is validated at the edge (``schemas``), carried out on the copy's
stream (``commands``) and answered with the copy as it now is (``queries``). The
copies read model is kept inline, in the transaction that records the events;
circulation's news arrives through the ``catalog.from.circulation`` queue.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from marshmallow import Schema

from services.catalog import commands, domain, queries, schemas
from services.catalog.projections import CopiesOnLoan, CopyIndex
from services.catalog.reactions import ReturnsAndLosses
from shared.errors import NotFound, load
from shared.events.envelope import Envelope
from shared.eventsourcing.store import NO_STREAM
from shared.eventsourcing.unit_of_work import retrying
from shared.messaging.rpc import rpc
from shared.messaging.subscriber import subscribe
from shared.runtime import event_feed as feed
from shared.runtime.dependencies import EventStoreProvider, Projections

NEXT_BARCODES = "SELECT nextval('barcode_seq') FROM generate_series(1, %s)"

# The commands whose rules depend on whether circulation has the copy out on loan.
LOAN_SENSITIVE = (domain.Weed, domain.Transfer)


def _barcodes_by_title(events: list[Envelope]) -> list[dict[str, Any]]:
    """Consecutive ``BookAdded`` events of one ISBN grouped: [{isbn, barcodes}]."""
    titles: list[dict[str, Any]] = []
    for event in events:
        if titles and titles[-1]["isbn"] == event.data["isbn"]:
            titles[-1]["barcodes"].append(event.data["barcode"])
        else:
            titles.append({"isbn": event.data["isbn"], "barcodes": [event.data["barcode"]]})
    return titles


class CatalogService(feed.EventFeed):
    name = "catalog"
    store = EventStoreProvider(CopyIndex())
    projections = Projections(CopiesOnLoan(), ReturnsAndLosses())

    @subscribe("circulation")
    def on_circulation_events(self, events: list[Envelope]) -> Any:
        return self.projections.apply(events)

    @rpc
    def add_copies(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Catalogue N copies of a title in one transaction; answer their barcodes."""
        command = load(schemas.AddCopies(), payload)
        count = command.pop("copies")
        command_id = command.pop("command_id")
        details = {**command, "price": str(command["price"])}
        with self.store.unit_of_work(str(command_id) if command_id else None) as uow:
            uow.cursor.execute(NEXT_BARCODES, (count,))
            numbers = [number for (number,) in uow.cursor.fetchall()]
            barcodes = []
            for number in numbers:
                barcode = f"C{number:08d}"
                events = domain.decide(domain.INITIAL, domain.AddCopy(barcode, details))
                stored = uow.append(domain.stream_id(barcode), NO_STREAM, events)
                barcodes.append(stored[0].data["barcode"])  # the original ones, if retried
        return {"barcodes": barcodes}

    @rpc
    def add_titles(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Catalogue many titles' copies in one transaction (a delivery, a school's catalogue).

        Answers the barcodes per title, in the order given.
        """
        command = load(schemas.AddTitles(), payload)
        command_id = str(command["command_id"]) if command["command_id"] else None
        with self.store.unit_of_work(command_id) as uow:
            if earlier := uow.earlier():
                return {"titles": _barcodes_by_title(earlier)}
            total = sum(title["copies"] for title in command["titles"])
            uow.cursor.execute(NEXT_BARCODES, (total,))
            numbers = iter(number for (number,) in uow.cursor.fetchall())
            writes = []
            for title in command["titles"]:
                details = {k: v for k, v in title.items() if k != "copies"}
                details["price"] = str(details["price"])
                for _ in range(title["copies"]):
                    barcode = f"C{next(numbers):08d}"
                    events = domain.decide(domain.INITIAL, domain.AddCopy(barcode, details))
                    writes.append((domain.stream_id(barcode), NO_STREAM, events))
            uow.append_streams(writes)
            return {"titles": _barcodes_by_title(uow.recorded)}

    @rpc
    def mark_damaged(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Take a copy off the shelf as damaged: ``{barcode, note?}``."""
        return self._carry_out(domain.MarkDamaged, schemas.MarkDamaged(), payload)

    @rpc
    def repair(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Put a repaired copy back on the shelf: ``{barcode, note?}``."""
        return self._carry_out(domain.Repair, schemas.Repair(), payload)

    @rpc
    def weed(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Write a copy off: ``{barcode, reason, note?}``."""
        return self._carry_out(domain.Weed, schemas.Weed(), payload)

    @rpc
    def transfer(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Move a copy to the other campus: ``{barcode, to_campus, shelf}``."""
        return self._carry_out(domain.Transfer, schemas.Transfer(), payload)

    @rpc
    def receive(self, payload: dict[str, Any]) -> dict[str, Any]:
        """A copy in transit arrived at its home desk: ``{barcode, campus}``; lendable again."""
        return self._carry_out(domain.Receive, schemas.Receive(), payload)

    @rpc
    def set_reference_only(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Make a copy reference-only (never lent) or lendable: ``{barcode, reference_only}``."""
        return self._carry_out(domain.SetReferenceOnly, schemas.SetReferenceOnly(), payload)

    @rpc
    def get_copy(self, barcode: str) -> dict[str, Any]:
        with self.store.cursor() as cursor:
            copy = queries.find_copy(cursor, barcode)
        if copy is None:
            raise NotFound(f"No copy has barcode {barcode}.")
        return copy

    @rpc
    def search(self, payload: dict[str, Any] | None = None) -> dict[str, Any]:
        """``{q?, isbn?, classification?, campus?, status?, limit?, offset?}`` ->
        ``{"total": N, "items": [copy, ...]}``, in shelf order."""
        query = load(schemas.Search(), payload if payload is not None else {})
        with self.store.cursor() as cursor:
            return queries.search(cursor, query)

    def _carry_out(
        self, command_type: type[domain.Command], schema: Schema, payload: dict[str, Any]
    ) -> dict[str, Any]:
        """Validate, carry out on the copy (again if another change raced it), answer the copy."""
        request = load(schema, payload)
        command_id = request.pop("command_id")

        def attempt() -> dict[str, Any]:
            with self.store.unit_of_work(str(command_id) if command_id else None) as uow:
                command = command_type(**request)
                if isinstance(command, LOAN_SENSITIVE):
                    command = replace(
                        command, on_loan=queries.is_on_loan(uow.cursor, command.barcode)
                    )
                commands.carry_out(uow, command)
                copy = queries.find_copy(uow.cursor, command.barcode)
            assert copy is not None, "a copy that was just changed is in the index"
            return copy

        return retrying(attempt)
