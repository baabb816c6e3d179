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


class StocktakeOpened(Schema):
    """A librarian opened a stock-take (清点) of a campus, or of some of its shelves.

    ``classes`` are the Chinese Library Classification prefixes of the shelves counted
    (``I2``: every copy whose class starts with I2); empty, the whole campus.
    """

    stocktake_id = f.identifier()
    campus = f.campus()
    classes = fields.List(f.classification(), required=True)
    opened_on = fields.Date(required=True)


class CopyCounted(Schema):
    """A copy was found in a stock-take (counted once, however often it was scanned).

    ``campus`` is the stock-take's, ``home_campus`` and ``classification`` the
    copy's, ``status`` what the books said of it then (on_shelf, damaged, on_loan,
    in_transit). ``misplaced`` (错架) is ``other_campus`` or ``out_of_range`` (its
    class is not on the shelves counted), null when it is where it belongs.
    ``loan_id`` names the loan it was on (null: none): circulation then returns it
    at ``campus``, noting the stock-take.
    """

    stocktake_id = f.identifier()
    barcode = f.barcode()
    campus = f.campus()
    home_campus = f.campus()
    classification = f.classification()
    status = fields.String(required=True, validate=validate.Length(max=20))
    misplaced = f.choice(("other_campus", "out_of_range"), required=False, allow_none=True)
    loan_id = f.identifier(required=False, allow_none=True)


class StocktakeClosed(Schema):
    """A stock-take was closed; its report's figures and lists.

    ``expected``: copies on the shelf in the books (campus and range) at closing;
    ``counted``: copies found; ``missing`` (缺失): the expected ones not found;
    ``misplaced``: found, but the other campus's or outside the range;
    ``found_on_loan``: found although on loan (returned by circulation). Barcodes.
    """

    stocktake_id = f.identifier()
    campus = f.campus()
    closed_on = fields.Date(required=True)
    expected = fields.Integer(required=True, validate=validate.Range(min=0))
    counted = fields.Integer(required=True, validate=validate.Range(min=0))
    missing = fields.List(f.barcode(), required=True)
    misplaced = fields.List(f.barcode(), required=True)
    found_on_loan = fields.List(f.barcode(), required=True)


for _schema in (
    BookAdded,
    CopyDamaged,
    Repaired,
    Weeded,
    Transferred,
    ReferenceStatusChanged,
    TransitStarted,
    ArrivedHome,
    StocktakeOpened,
    CopyCounted,
    StocktakeClosed,
):
    CATALOGUE.register(SOURCE, _schema.__name__, _schema)
