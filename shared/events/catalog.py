"""Events published by the catalog service: the life of each physical copy."""

from marshmallow import Schema, fields, validate

from shared.events import fields as f
from shared.events.registry import CATALOGUE

SOURCE = "catalog"


class CopyDetails(Schema):
    """What the catalogue records about a copy: its title data and where it is kept.

    Shared by the ``BookAdded`` event and the catalog's add-copies command.
    """

    isbn = f.isbn()
    title = f.text(300)
    author = f.text(200)
    classification = f.classification()
    campus = f.campus()
    shelf = f.text(40)
    price = f.money()
    acquisition = f.choice(f.ACQUISITION_SOURCES)
    reference_only = fields.Boolean(required=True)
    # Optional and without a default: a command that leaves it out keeps the fingerprint
    # it had before publishers were kept (a resend of it is still the same command).
    publisher = fields.String(
        required=False,
        validate=validate.Length(max=200),
        metadata={
            "description": "The publisher (出版社), as a MARC record names it; left out "
            "when not known (copies catalogued before it was kept have none)."
        },
    )


class BookAdded(CopyDetails):
    """A copy was catalogued, shelved and entered in the books."""

    barcode = f.barcode()


class CopyDamaged(Schema):
    """A copy was found damaged and taken off the shelf for repair."""

    barcode = f.barcode()
    note = fields.String(load_default="", validate=validate.Length(max=500))
    loan_id = f.identifier(required=False, allow_none=True)


class Repaired(Schema):
    """A damaged copy was repaired and is back on the shelf."""

    barcode = f.barcode()
    note = fields.String(load_default="", validate=validate.Length(max=500))


class Weeded(Schema):
    """A copy was written off and entered in the write-off register."""

    barcode = f.barcode()
    reason = f.choice(f.WEED_REASONS)
    value = f.money()
    classification = f.classification()
    note = fields.String(load_default="", validate=validate.Length(max=500))


class Transferred(Schema):
    """A copy became the other campus's: ``to_campus`` is its home and ``shelf`` its shelf there.

    Sent from where it is, it travels: a ``TransitStarted`` follows in the same
    append, and it is lent nowhere until that campus receives it (``ArrivedHome``).
    Transferred to the campus where it already is (returned there on its way home),
    nothing follows: its transit ends, it stays and is lendable there.
    """

    barcode = f.barcode()
    from_campus = f.campus()
    to_campus = f.campus()
    shelf = f.text(40)


class TransitStarted(Schema):
    """A copy is on its way home: returned at the other campus, or transferred there.

    ``from_campus`` is where it is now (where it was returned, with ``loan_id`` and
    ``returned_on``; or where it was sent from, right after its ``Transferred``),
    ``to_campus`` its home campus. Until ``ArrivedHome`` (or a ``Transferred`` that
    makes the campus where it is its new home) it is not lent anywhere.
    """

    barcode = f.barcode()
    from_campus = f.campus()
    to_campus = f.campus()
    loan_id = f.identifier(required=False, allow_none=True)
    returned_on = fields.Date(required=False)


class ArrivedHome(Schema):
    """A copy in transit was received at its home campus and is on its shelf, lendable there."""

    barcode = f.barcode()
    campus = f.campus()
    from_campus = f.campus()


class ReferenceStatusChanged(Schema):
    """A copy was made reference-only (never lent) or lendable again."""

    barcode = f.barcode()
    reference_only = fields.Boolean(required=True)


for _schema in (
    BookAdded,
    CopyDamaged,
    Repaired,
    Weeded,
    Transferred,
    ReferenceStatusChanged,
    TransitStarted,
    ArrivedHome,
):
    CATALOGUE.register(SOURCE, _schema.__name__, _schema)
