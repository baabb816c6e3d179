"""Field types shared by event payloads and command schemas.

Written once so that a barcode, a campus or a classification code means the same
thing in every event and every command, and so that the HTTP gateway, which
validates with the services' own schemas, documents and enforces the same rule.

Numbers are strict: a whole number is an integer (``2`` or ``2.0``) or text of
the ASCII digits 0-9 (a query string's ``limit=5``), never ``1.5``, ``true``,
``"5_0"`` or full-width ``"５"``; an amount of money has at most two decimal
places. Patterns match the whole value (a trailing newline included).

A field that carries personal data (a person's name, class, card or account
number) is declared with ``personal(...)``: the catalogue answers from that mark
which event types and sources carry personal data, and the published JSON
Schemas flag the field ``x-personal: true``.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from marshmallow import ValidationError, fields, validate

CAMPUSES = ("north", "south")
PATRON_KINDS = ("student", "teacher", "class_corner")
WEED_REASONS = ("outdated", "damaged_beyond_repair", "lost", "duplicate")
# How a copy came: bought, given, or brought by a reader to replace one they lost.
ACQUISITION_SOURCES = ("purchase", "donation", "replacement")
CONDITIONS = ("ok", "damaged")

# Chinese Library Classification: one capital letter (the top-level class), then
# optional letters and digits with dots, e.g. I247.5, TP312, O4-44, Z228.
CLASSIFICATION_PATTERN = re.compile(r"^[A-Z][A-Z0-9.\-/=:()]{0,31}$")
BARCODE_PATTERN = re.compile(r"^[A-Z0-9][A-Z0-9\-]{2,31}$")
CLASS_NAME_PATTERN = re.compile(r"^G(1[0-2]|[1-9])-[0-9]{1,2}$")
# A card number: a student number, or the library's own (P0000001).
PATRON_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9\-]{0,31}$")
# The shape of an ISBN-10 (its last character may be X) or ISBN-13, hyphens and
# spaces anywhere; the check digit is checked apart (``isbn_is_valid``).
ISBN_PATTERN = re.compile(r"^[ \-]*(?:(?:[0-9][ \-]*){9}[0-9Xx]|(?:[0-9][ \-]*){13})[ \-]*$")
ISBN_SEPARATORS = re.compile(r"[ \-]")

# Amounts are numeric(10, 2): 8 digits of yuan, 2 of fen.
MONEY_DIGITS = 8
MAX_MONEY = Decimal(10**MONEY_DIGITS) - Decimal("0.01")
CENT = Decimal("0.01")
# What an amount written as text looks like, up to MAX_MONEY (the OpenAPI document's pattern).
MONEY_PATTERN = re.compile(rf"^[0-9]{{1,{MONEY_DIGITS}}}(\.[0-9]{{1,2}})?$")
# What an amount looks like once dumped (in every event): always two decimals, "12.50".
MONEY_DUMPED_PATTERN = re.compile(rf"^[0-9]{{1,{MONEY_DIGITS}}}\.[0-9]{{2}}$")
EARLIEST_DAY, LATEST_DAY = date(2000, 1, 1), date(2099, 12, 31)

# The metadata key ``personal()`` sets on a field.
PERSONAL = "personal"

_WHOLE_TEXT = re.compile(r"-?[0-9]+")
_AMOUNT_TEXT = re.compile(r"-?[0-9]+(\.[0-9]+)?")
_MAX_DIGITS = 100


class Pattern(validate.Regexp):
    """``validate.Regexp`` matching the whole value: ``"C001\\n"`` is not a barcode."""

    def __call__(self, value: str) -> str:
        if self.regex.fullmatch(value) is None:
            raise ValidationError(self._format_error(value))
        return value


class WholeNumber(fields.Integer):
    """A whole number: an integer, a float without a fraction, or text of the digits 0-9.

    Refused: ``1.5`` (not whole), ``true`` (a boolean), ``"5_0"``, ``"1e3"``, ``" 5"``
    or ``"５"`` (text that is not plainly ASCII digits, with an optional leading minus).
    """

    default_error_messages = {
        "invalid": "Not a whole number.",
        "boolean": "Must be a whole number, not true or false.",
        "fraction": "Must be a whole number, without a fraction.",
        "digits": "Must be a whole number written with the digits 0-9 only "
        "(no spaces, underscores, exponents or other scripts' digits).",
        "too_large": "Number too large.",
    }

    def _validated(self, value: Any) -> int:
        if value is True or value is False:
            raise self.make_error("boolean")
        if isinstance(value, int):
            return value
        if isinstance(value, float):
            if not value.is_integer():
                raise self.make_error("fraction")
            return int(value)
        if isinstance(value, str):
            if _WHOLE_TEXT.fullmatch(value) is None:
                raise self.make_error("digits")
            if len(value) > _MAX_DIGITS:
                raise self.make_error("too_large")
            return int(value)
        raise self.make_error("invalid")


class Money(fields.Decimal):
    """An amount in yuan with at most two decimal places: text ("39.50") or a JSON number.

    Loaded as a ``Decimal`` with two places; dumped as text with exactly two decimals
    (``dumped_pattern``), so no precision is lost: events always carry ``"12.50"``.
    Refused: ``"0.005"`` or ``0.001`` (a fraction of a fen), ``"1e3"``, ``"３９"``, ``true``.
    """

    pattern = MONEY_PATTERN
    dumped_pattern = MONEY_DUMPED_PATTERN
    dumped_description = (
        f'Decimal yuan with two decimals as a string, e.g. "12.50" (from 0.00 to {MAX_MONEY}).'
    )
    default_error_messages = {
        "invalid": "Not an amount of yuan like 39.50 (the digits 0-9 and a decimal point).",
        "places": "At most 2 decimal places: an amount is yuan and fen, like 39.50.",
        "special": "Not an amount of yuan like 39.50.",
        "too_large": "Amount too large.",
    }

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(places=2, as_string=True, **kwargs)

    def _validated(self, value: Any) -> Decimal:
        if value is True or value is False:
            raise self.make_error("invalid")
        if isinstance(value, Decimal):  # from code, not JSON: its value must be whole fen
            amount, written = value, False
        elif isinstance(value, str | int | float):
            text = str(value)  # a float's shortest form: 39.5 is "39.5"
            if isinstance(value, str) and _AMOUNT_TEXT.fullmatch(text) is None:
                raise self.make_error("invalid")
            if len(text) > _MAX_DIGITS:
                raise self.make_error("too_large")
            try:
                amount, written = Decimal(text), True
            except InvalidOperation:
                raise self.make_error("invalid") from None
        else:
            raise self.make_error("invalid")
        if not amount.is_finite():
            raise self.make_error("special")
        try:
            rounded = amount.quantize(CENT)
        except InvalidOperation:
            raise self.make_error("too_large") from None
        exponent = amount.as_tuple().exponent
        if rounded != amount or (written and isinstance(exponent, int) and exponent < -2):
            raise self.make_error("places")
        return rounded


class Renamed(fields.Field):
    """A name the API does not take because the field has another: refused, naming it.

    Declared under the old name (``data_key``); it never loads a value, and the
    OpenAPI document leaves it out.
    """

    def __init__(self, use: str, **kwargs: Any) -> None:
        super().__init__(load_only=True, **kwargs)
        self.use = use

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        raise ValidationError(f"Unknown field: use '{self.use}'.")


AnyField = TypeVar("AnyField", bound=fields.Field)


def personal(field: AnyField) -> AnyField:
    """Mark ``field`` as carrying personal data: a person's name, class, card or account number.

    The mark is only metadata (validation is unchanged); the catalogue reads it
    (``EventType.personal_fields``) and the contract shows it (``x-personal``).
    """
    field.metadata = {**field.metadata, PERSONAL: True}
    return field


def is_personal(field: fields.Field) -> bool:
    return bool(field.metadata.get(PERSONAL))


def isbn_is_valid(value: str) -> bool:
    """True when ``value`` (hyphens and spaces allowed) has a correct ISBN-10/13 check digit."""
    digits = ISBN_SEPARATORS.sub("", value).upper()
    if len(digits) == 10 and re.fullmatch(r"[0-9]{9}[0-9X]", digits):
        total = sum((10 - i) * (10 if c == "X" else int(c)) for i, c in enumerate(digits))
        return total % 11 == 0
    if len(digits) == 13 and re.fullmatch(r"[0-9]{13}", digits):
        total = sum((3 if i % 2 else 1) * int(c) for i, c in enumerate(digits))
        return total % 10 == 0
    return False


def normalise_isbn(value: str) -> str:
    return re.sub(r"[\s-]", "", value).upper()


def _check_isbn(value: str) -> None:
    # Only a value of the right shape has a check digit to check (the pattern says the rest).
    if ISBN_PATTERN.fullmatch(value) and not isbn_is_valid(value):
        raise ValidationError("Not a valid ISBN-10 or ISBN-13 (check digit wrong).")


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


def backdate(**kwargs: Any) -> fields.Date:
    """The day a desk command happened: today at the school when left out."""
    metadata = {
        "description": "The day it happened, when not today at the school (librarians backdating).",
        **kwargs.pop("metadata", {}),
    }
    return day(load_default=None, metadata=metadata, **kwargs)


def whole(minimum: int = 0, maximum: int | None = None, **kwargs: Any) -> WholeNumber:
    """A whole number from ``minimum`` to ``maximum`` (inclusive)."""
    error = f"Must be from {minimum} to {maximum}." if maximum is not None else None
    error = error or f"Must be {minimum} or more."
    return WholeNumber(validate=validate.Range(min=minimum, max=maximum, error=error), **kwargs)


def choice(options: tuple[str, ...], **kwargs: Any) -> fields.String:
    return fields.String(
        required=kwargs.pop("required", True), validate=validate.OneOf(options), **kwargs
    )


def campus(**kwargs: Any) -> fields.String:
    return choice(CAMPUSES, **kwargs)


def barcode(**kwargs: Any) -> fields.String:
    return fields.String(
        required=kwargs.pop("required", True),
        validate=Pattern(BARCODE_PATTERN, error="Not a valid barcode."),
        **kwargs,
    )


def patron_id(**kwargs: Any) -> fields.String:
    """A card number (letters, digits and hyphens, up to 32)."""
    return fields.String(
        required=kwargs.pop("required", True),
        validate=Pattern(PATRON_ID_PATTERN, error="Not a valid card number."),
        **kwargs,
    )


def isbn(**kwargs: Any) -> fields.String:
    """An ISBN-10 or ISBN-13, hyphens and spaces allowed, with a correct check digit."""
    metadata = {
        "description": "An ISBN-10 or ISBN-13 (hyphens and spaces allowed); its check digit "
        "must be right.",
        **kwargs.pop("metadata", {}),
    }
    return fields.String(
        required=kwargs.pop("required", True),
        validate=[
            Pattern(
                ISBN_PATTERN,
                error="Not an ISBN: 10 digits (the last may be X) or 13, hyphens and spaces "
                "allowed.",
            ),
            _check_isbn,
        ],
        metadata=metadata,
        **kwargs,
    )


def classification(**kwargs: Any) -> fields.String:
    return fields.String(
        required=kwargs.pop("required", True),
        validate=Pattern(
            CLASSIFICATION_PATTERN,
            error="Not a Chinese Library Classification code (e.g. I247.5).",
        ),
        **kwargs,
    )


def class_name(**kwargs: Any) -> fields.String:
    return fields.String(
        validate=Pattern(CLASS_NAME_PATTERN, error="Not a class name like G7-3."),
        **kwargs,
    )


def renamed(use: str, **kwargs: Any) -> Renamed:
    """Refuse the field under its old name, naming the one to ``use``."""
    return Renamed(use, **kwargs)


def money(**kwargs: Any) -> Money:
    """An amount in yuan, carried as a string (e.g. "39.50") so no precision is lost."""
    return Money(
        required=kwargs.pop("required", True),
        validate=validate.Range(min=0, max=MAX_MONEY, error=f"Must be from 0 to {MAX_MONEY}."),
        **kwargs,
    )


def identifier(**kwargs: Any) -> fields.String:
    return fields.String(
        required=kwargs.pop("required", True),
        validate=validate.Length(min=1, max=64),
        **kwargs,
    )


def command_id() -> fields.UUID:
    """The id a caller may give a command: sent again with it, the command is not redone."""
    return fields.UUID(
        load_default=None,
        metadata={"description": "Idempotency key: the same command sent again is not redone."},
    )
