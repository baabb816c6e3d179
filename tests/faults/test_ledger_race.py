"""Two sources' facts about one copy both land in the ledger: the fix the fault
scripts' ledger check found.

The copy ledger follows catalog (what a copy is, where, what it cost) and
circulation (whether it is out) through two checkpoints, so a copy's
``BookAdded`` and its first ``Lent`` can be applied at the same moment in two
transactions. Each read the row, changed its own columns and wrote the whole
row back: the archive lent a copy it then no longer knew (campus, price and
date gone), and the general ledger held one copy fewer than the stores. Here
the two transactions interleave exactly so.
"""

from services.archives.projections import COPY_COLUMNS, COPY_FLAGS
from shared.eventsourcing.projection_rows import Rows
from shared.storage.pool import connect

BARCODE = "R00000001"


def test_catalog_and_circulation_writing_one_new_copy_at_once_both_land(clean_databases):
    catalog = connect(clean_databases["archives"])
    circulation = connect(clean_databases["archives"])
    try:
        with catalog.cursor() as first, circulation.cursor() as second:
            added = Rows("ledger_copies", "barcode", COPY_COLUMNS)
            lent = Rows("ledger_copies", "barcode", COPY_COLUMNS)
            added.load(first, [BARCODE])
            lent.load(second, [BARCODE])  # neither sees a row yet
            added.row(BARCODE).update(campus="south", price="59.70", added_on="2026-09-01")
            lent.row(BARCODE)["on_loan"] = True
            added.write(first, COPY_FLAGS)
            catalog.commit()
            lent.write(second, COPY_FLAGS)
            circulation.commit()
        with catalog.cursor() as cursor:
            cursor.execute(
                "SELECT campus, price::text, added_on::text, on_loan FROM ledger_copies"
                " WHERE barcode = %s",
                (BARCODE,),
            )
            assert cursor.fetchone() == ("south", "59.70", "2026-09-01", True)
    finally:
        catalog.close()
        circulation.close()
