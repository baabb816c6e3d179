"""Reading a class roster (CSV) into card requests, keeping every row's errors.

Columns: ``name,kind,class,campus`` and optionally ``patron_id`` (a student
number). A header row is required; column order is free. Bad rows are
reported with their line number and never stop the good rows; each error is
named by the column it is in (``class``, as the card's JSON field is too).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Any

from marshmallow import ValidationError

from services.circulation.schemas import IssueCard

REQUIRED_COLUMNS = ("name", "kind", "class", "campus")


class RosterError(ValueError):
    """Raised when the roster as a whole cannot be read (no header, missing columns)."""


@dataclass
class Roster:
    cards: list[tuple[int, dict[str, Any]]] = field(default_factory=list)  # (line, card)
    errors: list[dict[str, Any]] = field(default_factory=list)


def read_roster(text: str) -> Roster:
    """Parse and validate every row; duplicate card numbers are errors of the later row."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [name.strip().lower() for name in reader.fieldnames or []]
    missing = [column for column in REQUIRED_COLUMNS if column not in header]
    if missing:
        hint = " (the column is 'class', not 'class_name')" if "class_name" in header else ""
        raise RosterError(f"the roster's header lacks column(s): {', '.join(missing)}{hint}")
    reader.fieldnames = header
    roster, seen = Roster(), set()
    schema = IssueCard()
    for row in reader:
        line = reader.line_num
        values = {key: (value or "").strip() for key, value in row.items() if key}
        if not any(values.values()):
            continue
        raw = {
            "name": values.get("name", ""),
            "kind": values.get("kind", ""),
            "class": values.get("class") or None,
            "campus": values.get("campus", ""),
        }
        if values.get("patron_id"):
            raw["patron_id"] = values["patron_id"]
        try:
            card = schema.load(raw)
        except ValidationError as error:
            roster.errors.append({"line": line, "errors": error.messages})
            continue
        if card["patron_id"] and card["patron_id"] in seen:
            roster.errors.append(
                {"line": line, "errors": {"patron_id": ["Appears earlier in the roster."]}}
            )
            continue
        seen.add(card["patron_id"])
        roster.cards.append((line, card))
    return roster
