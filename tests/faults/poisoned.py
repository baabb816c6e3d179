"""The archives with one extra projection that has a bug: it cannot digest one loan.

Run by the fault scripts in place of the archives service (``nameko run
tests.faults.poisoned:PoisonedArchives``). The bug fires only on the lending of
the copy titled ``POISON``, which the desks never touch; the poison scenario
lends it once. The event must be parked and dead-lettered while the archive,
the ledgers and this very projection go on with every other event.
"""

from __future__ import annotations

from services.archives.projections import FOLLOWED
from services.archives.service import ArchivesService
from shared.events.envelope import Envelope
from shared.eventsourcing.projection import Cursor, Projection
from shared.runtime.dependencies import Projections

POISON_TITLE = "POISON"


class Indigestible(Projection):
    """Fails on the ``Lent`` of the poison copy, every time."""

    name = "indigestible"
    sources = ("circulation",)

    def apply(self, cursor: Cursor, event: Envelope) -> None:
        if event.type == "Lent" and event.data.get("title") == POISON_TITLE:
            raise RuntimeError(f"this projection cannot digest the loan of {POISON_TITLE}")


class PoisonedArchives(ArchivesService):
    projections = Projections(*FOLLOWED, Indigestible())
