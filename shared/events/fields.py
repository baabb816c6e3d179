"""Field types shared by event payloads and command schemas.

Written once so that a barcode, a campus or a classification code means the same
thing in every event and every command.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Any

from marshmallow import ValidationError, fields, validate

CAMPUSES = ("north", "south")
PATRON_KINDS = ("student", "teacher", "class_corner")
WEED_REASONS = ("outdated", "damaged_beyond_repair", "lost", "duplicate")
ACQUISITION_SOURCES = ("purchase", "donation")
CONDITIONS = ("ok", "damaged")

# Chinese Library Classification: one capital letter (the top-level class), then
# optional letters and digits with dots, e.g. I247.5, TP312, O4-44, Z228.
CLASSIFICATION_PATTERN = re.compile(r"^[A-Z][A-Z0-9.\-/=:()]{0,31}$")
BARCODE_PATTERN = re.compile(r"^[A-Z0-9][A-Z0-9\-]{2,31}$")
CLASS_NAME_PATTERN = re.compile(r"^G(1[0-2]|[1-9])-\d{1,2}$")


def isbn_is_valid(value: str) -> bool:
    """True when ``value`` (hyphens and spaces allowed) has a correct ISBN-10/13 check digit."""
    digits = re.sub(r"[\s-]", "", value).upper()
    if len(digits) == 10 and re.fullmatch(r"\d{9}[\dX]", digits):
        total = sum((10 - i) * (10 if c == "X" else int(c)) for i, c in enumerate(digits))
        return total % 11 == 0
    if len(digits) == 13 and digits.isdigit():
        total = sum((3 if i % 2 else 1) * int(c) for i, c in enumerate(digits))
        return total % 10 == 0
    return False


def normalise_isbn(value: str) -> str:
    return re.sub(r"[\s-]", "", value).upper()


def _check_isbn(value: str) -> None:
    if not isbn_is_valid(value):
        raise ValidationError("Not a valid ISBN-10 or ISBN-13 (check digit wrong).")


MAX_MONEY = Decimal("99999999.99")  # numeric(10, 2)
EARLIEST_DAY, LATEST_DAY = date(2000, 1, 1), date(2099, 12, 31)


def _no_nul(value: str) -> None:
    if "\x00" in value:
        raise ValidationError("Must not contain NUL characters.")


def text(max_length: int = 500, **kwargs: Any) -> fields.String:
    """A required, non-blank string of bounded length (no NUL: PostgreSQL text refuses it)."""
    return fields.String(
        required=kwargs.pop("required", True),
        validate=[validate.Length(min=1, max=max_length), _no_nul],
        **kwargs,
    )


def day(**kwargs: Any) -> fields.Date:
    """A school date, within reason (so a due date computed from it never overflows)."""
    return fields.Date(validate=validate.Range(min=EARLIEST_DAY, max=LATEST_DAY), **kwargs)


def choice(options: tuple[str, ...], **kwargs: Any) -> fields.String:
    return fields.String(
        required=kwargs.pop("required", True), validate=validate.OneOf(options), **kwargs
    )


def campus(**kwargs: Any) -> fields.String:
    return choice(CAMPUSES, **kwargs)


def barcode(**kwargs: Any) -> fields.String:
    return fields.String(
        required=kwargs.pop("required", True),
        validate=validate.Regexp(BARCODE_PATTERN, error="Not a valid barcode."),
        **kwargs,
    )


def isbn(**kwargs: Any) -> fields.String:
    return fields.String(required=kwargs.pop("required", True), validate=_check_isbn, **kwargs)


def classification(**kwargs: Any) -> fields.String:
    return fields.String(
        required=kwargs.pop("required", True),
        validate=validate.Regexp(
            CLASSIFICATION_PATTERN,
            error="Not a Chinese Library Classification code (e.g. I247.5).",
        ),
        **kwargs,
    )


def class_name(**kwargs: Any) -> fields.String:
    return fields.String(
        validate=validate.Regexp(CLASS_NAME_PATTERN, error="Not a class name like G7-3."),
        **kwargs,
    )


def money(**kwargs: Any) -> fields.Decimal:
    """An amount in yuan, carried as a string (e.g. "39.50") so no precision is lost."""
    return fields.Decimal(
        required=kwargs.pop("required", True),
        as_string=True,
        places=2,
        validate=validate.Range(min=0, max=MAX_MONEY),
        **kwargs,
    )


def identifier(**kwargs: Any) -> fields.String:
    return fields.String(
        required=kwargs.pop("required", True),
        validate=validate.Length(min=1, max=64),
        **kwargs,
    )
