"""The catalog service: nameko entrypoints over the copy Decider."""

from __future__ import annotations

from typing import Any

from services.catalog import domain
from services.catalog.schemas import AddCopies
from shared import feed
from shared.domain import fold
from shared.exceptions import NotFound, load
from shared.rpc import rpc
from shared.store import NO_STREAM

NEXT_BARCODES = "SELECT nextval('barcode_seq') FROM generate_series(1, %s)"


class CatalogService(feed.EventFeed):
    name = "catalog"

    @rpc
    def add_copies(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Catalogue N copies of a title in one transaction; answer their barcodes."""
        command = load(AddCopies(), payload)
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
    def get_copy(self, barcode: str) -> dict[str, Any]:
        with self.store.unit_of_work() as uow:
            history = uow.load(domain.stream_id(barcode))
        if not history:
            raise NotFound(f"no copy with barcode {barcode!r}")
        copy = fold(domain.evolve, domain.INITIAL, history)
        return {**(copy.details or {}), "status": copy.status, "campus": copy.campus}
