"""MARC records in and out of the catalogue: ISO 2709 files in MARC 21 and CNMARC (UNIMARC).

Book suppliers send their records as MARC; Chinese ones as CNMARC, others as
MARC 21. ``read`` takes a whole file and answers, record by record (numbered
from 1), either the title details the catalogue needs or why the record is
refused (a reason code the screens word, and a detail in English); ``write``
makes a file of the catalogue's titles in either format, with the copies'
barcodes in a holdings field. Pure functions over bytes: the catalog service's
``import_marc`` catalogues the good records one command each (docs/marc.md).

Which format a record is in is decided per record, from its fields: a 245 (MARC 21
title) or a 200 (CNMARC title). A file whose structure is broken (a record length
or directory that does not add up, a truncated record, bytes that are not MARC)
is refused whole with ``CorruptFile`` naming the record where it broke: past that
point the reader cannot know where records start, so nothing of it is imported.
A file whose first record does not even start as ISO 2709 (five digits of length)
is not MARC at all (``NOT_MARC``).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from pymarc import Field, MARCReader, Record, Subfield
from pymarc.exceptions import PymarcException

from shared.events.fields import CLASSIFICATION_PATTERN, ISBN_PATTERN, MAX_MONEY, isbn_is_valid

MARC21 = "marc21"
CNMARC = "cnmarc"
FORMATS = (MARC21, CNMARC)
# An amount inside a price as suppliers write it: CNY12.50, 12.50元, ¥12.5, RMB 12.50.
PRICE_NUMBER = re.compile(r"([0-9]+(?:\.[0-9]+)?)")
# The first ISBN-looking run in a subfield ("7-02-000220-X (精装)": qualifiers follow).
ISBN_RUN = re.compile(r"[0-9][0-9 \-]{8,16}[0-9Xx]")
# Limits of the fields the catalogue keeps (shared.events.catalog.CopyDetails).
MAX_TITLE = 300
MAX_AUTHOR = 200
MAX_PUBLISHER = 200
# Why a whole file is refused (problem codes, worded in web/src/locales/*/problems.json).
CORRUPT = "marc_corrupt"
NOT_MARC = "marc_not_marc"
# Why one record is refused (report codes, worded in web/src/locales/*/catalogue.json).
REASONS = (
    "not_utf8",
    "no_title_field",
    "no_isbn",
    "bad_isbn",
    "no_title",
    "no_author",
    "no_class",
    "bad_class",
    "no_price",
    "bad_price",
)


class CorruptFile(ValueError):
    """Raised when the file is not ISO 2709, or its structure breaks at ``record`` (1-based);
    ``code`` is ``NOT_MARC`` or ``CORRUPT``."""

    def __init__(self, record: int, reason: str, code: str = CORRUPT) -> None:
        super().__init__(f"record {record}: {reason}")
        self.record = record
        self.reason = reason
        self.code = code


class TooManyRecords(ValueError):
    """The file holds more records than one import takes."""


@dataclass(frozen=True)
class Read:
    """One record of a file: its number, its format, and the book or why it is refused."""

    record: int
    digest: str  # SHA-256 of the record's bytes: the same record in any file is the same
    format: str | None = None
    book: dict[str, str] = field(default_factory=dict)
    reason: str | None = None  # one of REASONS when refused
    detail: str = ""  # what was wrong, in English, for the logs and the API's readers

    @property
    def refused(self) -> bool:
        return self.reason is not None


def read(data: bytes, max_records: int) -> list[Read]:
    """Every record of an ISO 2709 file: the book it describes, or why it is refused.

    Raises ``CorruptFile`` (nothing is read) when the file's structure breaks, and
    ``TooManyRecords`` past ``max_records``.
    """
    if not data.strip():
        raise CorruptFile(1, "the file is empty", NOT_MARC)
    if not data[:5].isdigit():
        raise CorruptFile(1, "the file does not start as an ISO 2709 record", NOT_MARC)
    reader = MARCReader(data, to_unicode=True, force_utf8=True, permissive=True)
    found: list[Read] = []
    for number, record in enumerate(reader, start=1):
        if number > max_records:
            raise TooManyRecords(f"more than {max_records} records in one file")
        chunk = reader.current_chunk or b""
        if record is None:
            error = reader.current_exception
            if isinstance(error, UnicodeDecodeError):
                found.append(Read(number, _digest(chunk), reason="not_utf8", detail=str(error)))
                continue
            raise CorruptFile(number, _why(error))
        try:
            kind, book = book_of(record)
        except BadRecord as refused:
            kind, seen = _seen(record)
            found.append(
                Read(number, _digest(chunk), kind, seen, refused.reason, detail=str(refused))
            )
        else:
            found.append(Read(number, _digest(chunk), kind, book))
    if not found:
        raise CorruptFile(1, "no MARC record in the file", NOT_MARC)
    return found


def _seen(record: Record) -> tuple[str | None, dict[str, str]]:
    """What a refused record says of itself (its format, ISBN and title as written), for
    the librarian to find it in the supplier's list."""
    try:
        kind = detect(record)
    except BadRecord:
        return None, {}
    isbn, title = ("010", "200") if kind == CNMARC else ("020", "245")
    seen = {"isbn": _first(record, isbn, "a"), "title": _first(record, title, "a").strip(TRAILING)}
    return kind, {key: value for key, value in seen.items() if value}


def _digest(chunk: bytes) -> str:
    return hashlib.sha256(chunk).hexdigest()


def _why(error: BaseException | None) -> str:
    if isinstance(error, PymarcException):
        return f"not a valid ISO 2709 record ({type(error).__name__}: {error})"
    return f"not a valid ISO 2709 record ({error})" if error else "not a valid ISO 2709 record"


class BadRecord(ValueError):
    """Raised for a record that can be read but does not describe a book the catalogue can
    take; ``reason`` (one of ``REASONS``, a line of the import's report, not a problem)
    says why."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


def detect(record: Record) -> str:
    """``marc21`` or ``cnmarc``, from the title field the record has."""
    if record.get_fields("245"):
        return MARC21
    if record.get_fields("200"):
        return CNMARC
    raise BadRecord("no_title_field", "no title field (MARC 21 245 or CNMARC 200)")


def book_of(record: Record) -> tuple[str, dict[str, str]]:
    """The record's format and the book it describes:
    ``{isbn, title, author, classification, price, publisher}``; ``BadRecord`` otherwise."""
    kind = detect(record)
    if kind == CNMARC:
        raw = {
            "isbn": _first(record, "010", "a"),
            "title": _first(record, "200", "a"),
            "author": _first(record, "701", "a")
            or _first(record, "700", "a")
            or _first(record, "702", "a")
            or _first(record, "200", "f"),
            "classification": _first(record, "690", "a"),
            "price": _first(record, "010", "d"),
            "publisher": _first(record, "210", "c") or _first(record, "214", "c"),
        }
    else:
        raw = {
            "isbn": _first(record, "020", "a"),
            "title": _first(record, "245", "a"),
            "author": _first(record, "100", "a")
            or _first(record, "110", "a")
            or _first(record, "700", "a")
            or _first(record, "245", "c"),
            "classification": _first(record, "084", "a"),
            "price": _first(record, "020", "c") or _first(record, "365", "b"),
            "publisher": _first(record, "264", "b") or _first(record, "260", "b"),
        }
    return kind, _checked(raw)


def _first(record: Record, tag: str, code: str) -> str:
    for found in record.get_fields(tag):
        for value in found.get_subfields(code):
            if value and value.strip():
                return value.strip()
    return ""


# ISBD punctuation a cataloguer ends a subfield with ("红楼梦 /", "人民文学出版社,").
TRAILING = " /:;,=."


def _checked(raw: Mapping[str, str]) -> dict[str, str]:
    """The book's fields tidied and checked as the catalogue would; ``BadRecord`` naming
    the first that is missing or wrong."""
    isbn_text = raw["isbn"]
    if not isbn_text:
        raise BadRecord("no_isbn", "no ISBN (MARC 21 020 $a, CNMARC 010 $a)")
    run = ISBN_RUN.search(isbn_text)
    isbn = run.group(0).strip() if run else isbn_text
    if not ISBN_PATTERN.fullmatch(isbn) or not isbn_is_valid(isbn):
        raise BadRecord("bad_isbn", f"not a valid ISBN: {isbn_text!r}")
    title = raw["title"].strip(TRAILING).strip()
    if not title:
        raise BadRecord("no_title", "no title")
    author = raw["author"].strip(TRAILING).strip()
    if not author:
        raise BadRecord("no_author", "no author")
    classification = raw["classification"].strip().upper()
    if not classification:
        raise BadRecord("no_class", "no CLC class (MARC 21 084 $a, CNMARC 690 $a)")
    if not CLASSIFICATION_PATTERN.fullmatch(classification):
        raise BadRecord("bad_class", f"not a CLC class: {raw['classification']!r}")
    if not raw["price"]:
        raise BadRecord("no_price", "no price (MARC 21 020 $c or 365 $b, CNMARC 010 $d)")
    price = parse_price(raw["price"])
    if price is None:
        raise BadRecord("bad_price", f"not a price: {raw['price']!r}")
    return {
        "isbn": isbn.replace(" ", "-"),
        "title": title[:MAX_TITLE],
        "author": author[:MAX_AUTHOR],
        "classification": classification,
        "price": price,
        "publisher": raw["publisher"].strip(TRAILING).strip()[:MAX_PUBLISHER],
    }


def parse_price(text: str) -> str | None:
    """An amount in yuan with two decimals ("12.50") from a price as written
    (``CNY12.50``, ``12.50元``, ``¥12.5``, ``RMB 12.50``); None when there is none."""
    found = PRICE_NUMBER.search(text.replace(",", ""))
    if found is None:
        return None
    try:
        amount = Decimal(found.group(1)).quantize(Decimal("0.01"))
    except InvalidOperation:
        return None
    if amount > MAX_MONEY:
        return None
    return f"{amount:.2f}"


# ------------------------------------------------------------------ writing


def write(titles: Iterable[Mapping[str, Any]], kind: str) -> bytes:
    """An ISO 2709 file (UTF-8) of ``titles``, one record each:
    ``{isbn, title, author, classification, price, publisher?, campus, shelf, barcodes}``."""
    if kind not in FORMATS:
        raise ValueError(f"unknown MARC format {kind!r}; one of {', '.join(FORMATS)}")
    make = _cnmarc if kind == CNMARC else _marc21
    return b"".join(make(title).as_marc() for title in titles)


def _leader() -> str:
    # Record status n (new), type a (language material), level m (monograph),
    # character coding a (UCS/Unicode).
    return "     nam a22     3  4500"


def _marc21(title: Mapping[str, Any]) -> Record:
    record = Record(leader=_leader(), force_utf8=True)
    record.add_field(
        Field(
            "020", [" ", " "], [Subfield("a", title["isbn"]), Subfield("c", f"CNY{title['price']}")]
        ),
        Field("084", [" ", " "], [Subfield("a", title["classification"]), Subfield("2", "clc")]),
        Field("100", ["1", " "], [Subfield("a", title["author"])]),
        Field("245", ["1", "0"], [Subfield("a", title["title"])]),
    )
    if title.get("publisher"):
        record.add_field(Field("264", [" ", "1"], [Subfield("b", title["publisher"])]))
    record.add_field(_holdings("852", title, MARC21))
    return record


def _cnmarc(title: Mapping[str, Any]) -> Record:
    record = Record(leader=_leader(), force_utf8=True)
    record.add_field(
        Field(
            "010", [" ", " "], [Subfield("a", title["isbn"]), Subfield("d", f"CNY{title['price']}")]
        ),
        Field("200", ["1", " "], [Subfield("a", title["title"]), Subfield("f", title["author"])]),
    )
    if title.get("publisher"):
        record.add_field(Field("210", [" ", " "], [Subfield("c", title["publisher"])]))
    record.add_field(
        Field("690", [" ", " "], [Subfield("a", title["classification"]), Subfield("v", "5")]),
        Field("701", [" ", "0"], [Subfield("a", title["author"])]),
        _holdings("905", title, CNMARC),
    )
    return record


def _holdings(tag: str, title: Mapping[str, Any], kind: str) -> Field:
    """Where the copies are and their barcodes: MARC 21 852 ($b campus, $c shelf, $h call
    number, $p barcode each), CNMARC 905 ($a campus, $b barcode each, $d call number, $s shelf)."""
    barcodes: Sequence[str] = title["barcodes"]
    if kind == MARC21:
        subfields = [
            Subfield("b", title["campus"]),
            Subfield("c", title["shelf"]),
            Subfield("h", title["classification"]),
            *(Subfield("p", barcode) for barcode in barcodes),
        ]
    else:
        subfields = [
            Subfield("a", title["campus"]),
            *(Subfield("b", barcode) for barcode in barcodes),
            Subfield("d", title["classification"]),
            Subfield("s", title["shelf"]),
        ]
    return Field(tag, [" ", " "], subfields)


def holdings_of(record: Record) -> dict[str, Any]:
    """The campus and barcodes of a record written by ``write`` (for checking a round trip)."""
    if record.get_fields("852"):
        (found,) = record.get_fields("852")[:1]
        return {"campus": found.get("b"), "barcodes": found.get_subfields("p")}
    (found,) = record.get_fields("905")[:1]
    return {"campus": found.get("a"), "barcodes": found.get_subfields("b")}
