"""Commands and queries the catalog accepts, validated at the RPC edge.

Every command may carry a ``command_id`` (a UUID the caller picks): sent again
with the same id, it records nothing new, so a caller that timed out can retry.
The HTTP gateway validates its requests with these same schemas (and documents
them from here).
"""

import base64
import binascii
from typing import Any

from marshmallow import (
    Schema,
    ValidationError,
    fields,
    pre_load,
    validate,
    validates,
    validates_schema,
)

from shared.events import fields as f
from shared.events.catalog import CopyDetails
from shared.paper import label_sheets as sheets

MAX_COPIES_PER_COMMAND = 500
MAX_TITLES = 2000
MAX_COPIES_PER_BULK = 10_000
DEFAULT_PAGE = 50
MAX_PAGE = 500
MAX_OFFSET = 1_000_000
STATUSES = ("on_shelf", "damaged", "on_loan", "in_transit", "weeded")


def note() -> fields.String:
    return fields.String(
        load_default="", validate=validate.Length(max=500), metadata={"description": "Free text."}
    )


def copies() -> fields.Integer:
    return f.whole(
        1,
        MAX_COPIES_PER_COMMAND,
        load_default=1,
        metadata={"description": "How many copies of the title to catalogue (1 when left out)."},
    )


class AddCopies(CopyDetails):
    """Catalogue ``copies`` copies of one title (one command, however many copies)."""

    command_id = f.command_id()
    acquisition = f.choice(f.ACQUISITION_SOURCES, load_default="purchase", required=False)
    reference_only = fields.Boolean(load_default=False)
    copies = copies()


class AddMarcRecord(AddCopies):
    """One record of a MARC file, catalogued: its ``command_id`` is derived from the
    record's bytes and the campus, so the same record imported again is answered as the
    first time. ``import_run`` (the upload's own id, left out of the fingerprint) comes
    back in the answer: another run's id there means the record was catalogued before."""

    import_run = fields.UUID(required=True)


# One MARC import: at most this many bytes of ISO 2709 and records (each is one command).
MAX_MARC_BYTES = 5 * 1024 * 1024
MAX_MARC_RECORDS = 1000  # each its own transaction: about 20 s at most, within the RPC timeout
MARC_FLAVOURS = ("marc21", "cnmarc")  # services.catalog.marc.FORMATS
MARC_MEDIA_TYPE = "application/marc"  # RFC 2220: an ISO 2709 file
MARC_EXPORT_PAGE = 500  # titles a page of the export


def marc_size(value: str) -> None:
    """The file, base64-encoded, is at most ``MAX_MARC_BYTES`` once decoded."""
    try:
        decoded = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ValidationError("Not base64.") from None
    if len(decoded) > MAX_MARC_BYTES:
        raise ValidationError(f"The file is over the limit of {MAX_MARC_BYTES} bytes.")


class MarcImportQuery(Schema):
    """Where a MARC file's records are catalogued, and how many copies of each."""

    campus = f.campus(metadata={"description": "The campus the copies are catalogued at."})
    copies = copies()
    acquisition = f.choice(f.ACQUISITION_SOURCES, load_default="purchase", required=False)
    shelf = fields.String(
        load_default=None,
        validate=validate.Length(min=1, max=40),
        metadata={"description": "The shelf; left out: the CLC main class (I for I242.4)."},
    )


class MarcFile(Schema):
    """A MARC file (ISO 2709, MARC 21 or CNMARC records), base64-encoded."""

    file = fields.String(
        required=True,
        validate=[validate.Length(min=1), marc_size],
        metadata={
            "description": f"The ISO 2709 file, at most {MAX_MARC_BYTES} bytes and "
            f"{MAX_MARC_RECORDS} records (base64 over RPC; the HTTP body is the file itself)."
        },
    )


class ImportMarc(MarcImportQuery, MarcFile):
    """Catalogue every good record of a MARC file; each record is its own command,
    idempotent by the record's bytes and the campus (docs/marc.md)."""


class MarcExportQuery(Schema):
    """Which MARC flavour, and which campus's copies (both when left out)."""

    flavour = f.choice(MARC_FLAVOURS, metadata={"description": "marc21 or cnmarc."})
    campus = f.campus(load_default=None, required=False)


class ExportMarc(MarcExportQuery):
    """A page of the catalogue as MARC records: titles after ``after``, ``limit`` of them."""

    after = fields.String(load_default=None, validate=validate.Length(max=400))
    limit = f.whole(1, MARC_EXPORT_PAGE, load_default=MARC_EXPORT_PAGE)


class Title(CopyDetails):
    """One title of a bulk catalogue: its details and how many copies."""

    acquisition = f.choice(f.ACQUISITION_SOURCES, load_default="purchase", required=False)
    reference_only = fields.Boolean(load_default=False)
    copies = copies()


class AddTitles(Schema):
    """A delivery of many titles (or a whole school's catalogue) in one command."""

    command_id = f.command_id()
    titles = fields.List(
        fields.Nested(Title), required=True, validate=validate.Length(min=1, max=MAX_TITLES)
    )

    @validates("titles")
    def not_too_many_copies(self, titles: list[dict[str, Any]], **kwargs: Any) -> None:
        total = sum(title.get("copies", 0) for title in titles)
        if total > MAX_COPIES_PER_BULK:
            raise ValidationError(f"{total} copies in one command; at most {MAX_COPIES_PER_BULK}.")


class CopyCommand(Schema):
    """A command about one copy, named by its barcode."""

    command_id = f.command_id()
    barcode = f.barcode()


class MarkDamaged(CopyCommand):
    note = note()


class Repair(CopyCommand):
    note = note()


class Weed(CopyCommand):
    reason = f.choice(f.WEED_REASONS)
    note = note()


class Transfer(CopyCommand):
    to_campus = f.campus()
    shelf = f.text(40)


class Receive(CopyCommand):
    campus = f.campus(  # the desk receiving it: must be the copy's home campus
        metadata={"description": "The campus of the desk receiving it: the copy's home."}
    )


class SetReferenceOnly(CopyCommand):
    reference_only = fields.Boolean(
        required=True,
        metadata={"description": "true: reference only, never lent; false: lendable again."},
    )


class Search(Schema):
    """Filters a librarian combines; every one given must match."""

    q = fields.String(
        load_default=None,
        validate=validate.Length(min=1, max=200),
        metadata={
            "description": "Part of a title or author, an ISBN, the start of a classification "
            "code (I24), or a title's or author's pinyin as typed, in full or its initials "
            "(hongloumeng, hong lou meng, hlm; caoxueqin, cxq). Blank: no filter."
        },
    )
    isbn = f.isbn(load_default=None, required=False)
    classification = f.classification(
        load_default=None,
        required=False,
        metadata={"description": "A classification code prefix, e.g. I24 (any case)."},
    )
    campus = f.campus(load_default=None, required=False)
    status = f.choice(STATUSES, load_default=None, required=False)
    limit = f.whole(1, MAX_PAGE, load_default=DEFAULT_PAGE)
    offset = f.whole(0, MAX_OFFSET, load_default=0)

    @pre_load
    def tidy(self, data: Any, **kwargs: Any) -> Any:
        """Blank search text means no filter; classification codes are capitals."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        if isinstance(data.get("q"), str):
            data["q"] = data["q"].strip() or None
        if isinstance(data.get("classification"), str):
            data["classification"] = data["classification"].strip().upper()
        return data


# ------------------------------------------------------------------ stock-takes

MAX_SCANNER_FILE = 512 * 1024  # a handheld scanner's file: some 30,000 lines
MAX_LISTED = 200


def scanner_file_size(value: str) -> None:
    """The file, base64-encoded, is at most ``MAX_SCANNER_FILE`` bytes once decoded."""
    if len(value) > (MAX_SCANNER_FILE + 2) // 3 * 4:
        raise ValidationError(f"The file is over the limit of {MAX_SCANNER_FILE} bytes.")


def stocktake_id(**kwargs: Any) -> fields.String:
    return f.identifier(metadata={"description": "The stock-take's id (ST000007)."}, **kwargs)


class OpenStocktake(Schema):
    """Open a stock-take (清点) of a campus, or of the shelves of some classes there."""

    command_id = f.command_id()
    campus = f.campus(metadata={"description": "The campus whose shelves are counted."})
    classes = fields.List(
        f.classification(),
        load_default=list,
        validate=validate.Length(max=50),
        metadata={
            "description": "Chinese Library Classification prefixes of the shelves counted "
            "(I2: every copy whose class starts with I2); left out or empty: the whole campus."
        },
    )

    @pre_load
    def capitals(self, data: Any, **kwargs: Any) -> Any:
        """Classification codes are capitals (i2 is I2)."""
        if isinstance(data, dict) and isinstance(data.get("classes"), list):
            data = dict(data)
            data["classes"] = [
                c.strip().upper() if isinstance(c, str) else c for c in data["classes"]
            ]
        return data


class StocktakeNamed(Schema):
    """Something about one stock-take, named by its id."""

    stocktake_id = stocktake_id()


class CountCopies(StocktakeNamed):
    """Copies found in a stock-take: barcodes from the scan field, or a scanner's file.

    Each barcode is counted once however often it comes; an unknown or malformed one is
    reported (with its line, from a file), not fatal.
    """

    command_id = f.command_id()
    barcodes = fields.List(
        fields.String(validate=validate.Length(min=1, max=64)),
        load_default=None,
        validate=validate.Length(min=1, max=5000),
        metadata={"description": "The barcodes scanned, in order (at most 5000)."},
    )
    file = fields.String(
        load_default=None,
        validate=[validate.Length(min=1), scanner_file_size],
        metadata={
            "description": "A handheld scanner's file, base64 (the HTTP body is the file "
            "itself): one barcode a line, or CSV with a barcode (条码) column or the barcode "
            "first; UTF-8 or GBK/GB18030. Blank lines are skipped, bad lines reported."
        },
    )

    @validates_schema
    def one_of(self, data: dict[str, Any], **kwargs: Any) -> None:
        if (data.get("barcodes") is None) == (data.get("file") is None):
            raise ValidationError("Send either barcodes or the scanner's file.", "barcodes")


class CloseStocktake(StocktakeNamed):
    """Close a stock-take: its report (missing, misplaced, found on loan) is decided now."""

    command_id = f.command_id()


class StocktakeQuery(StocktakeNamed):
    """One stock-take, named by its id."""


class StocktakesQuery(Schema):
    """The latest stock-takes, newest first."""

    campus = f.campus(load_default=None, required=False)
    limit = f.whole(1, MAX_LISTED, load_default=20)


class TwiceMissingQuery(Schema):
    """The copies of a campus missing in the last two closed stock-takes that covered them."""

    campus = f.campus()


class WeedMissing(Schema):
    """Weed as lost, in one command, copies missing in two stock-takes in a row.

    ``barcodes`` are those the librarian was shown (``twice_missing``); if any of
    them is no longer twice missing (found meanwhile, lent, weeded), nothing is weeded.
    """

    command_id = f.command_id()
    campus = f.campus()
    barcodes = fields.List(
        f.barcode(), required=True, validate=validate.Length(min=1, max=MAX_COPIES_PER_COMMAND)
    )


# ------------------------------------------------------------------ labels

MAX_LABELS = 2000  # barcodes in one run of labels, from its first to its last
LABEL_KINDS = ("barcode", "spine")


class LabelRange(Schema):
    """A run of labels: the copies from one barcode to another (the same prefix, their
    numbers in order, both ends included), on which sheet and of which kind
    (docs/labels.md). The range is checked by ``services.catalog.labels``."""

    first = f.barcode(data_key="from", metadata={"description": "The first barcode, C00000101."})
    last = f.barcode(data_key="to", metadata={"description": "The last barcode, C00000130."})
    layout = f.choice(
        tuple(sheets.LAYOUTS),
        load_default=sheets.DEFAULT_LAYOUT,
        required=False,
        metadata={"description": "The label sheet (GET /api/labels/layouts)."},
    )
    kind = f.choice(
        LABEL_KINDS,
        load_default="barcode",
        required=False,
        metadata={"description": "barcode: a Code 128 label; spine: the call number."},
    )
    start = f.whole(
        1,
        sheets.MOST_PER_SHEET,
        load_default=1,
        metadata={"description": "The first free label of a part-used sheet (1: a new sheet)."},
    )

    @validates_schema
    def start_on_the_sheet(self, data: dict[str, Any], **kwargs: Any) -> None:
        layout = sheets.LAYOUTS.get(data.get("layout", sheets.DEFAULT_LAYOUT))
        if layout is not None and data.get("start", 1) > layout.per_sheet:
            raise ValidationError(
                f"A {layout.name} sheet has {layout.per_sheet} labels.", field_name="start"
            )


class IssueBarcode(Schema):
    """A barcode of the catalog's series for a copy catalogued by a reaction (a lost book's
    replacement, docs/losses.md): sent again with its ``command_id``, the same barcode."""

    command_id = f.command_id()
