"""The narrow rights, checked against the caller: her own card, her classes.

A student with ``own.read`` sees only his own card's loans and notes; a
teacher with ``class.read`` only her classes' lists; ``patrons.read`` (the
desk, the librarian) sees everyone. A refusal names the right that would have
allowed it and says nothing about the other person.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from services.gateway.auth import Caller, missing

NOT_YOURS = "You may see only your own loans and notes (or those of your classes)."


def patron(caller: Caller, patron_id: str, class_of: Callable[[str], str | None]) -> None:
    """Allow seeing ``patron_id``'s records, or raise naming ``patrons.read``.

    ``class_of`` (a card lookup) is asked only for a teacher, and only if needed.
    """
    if caller.has("patrons.read"):
        return
    if caller.has("own.read") and caller.patron_id == patron_id:
        return
    if caller.has("class.read") and caller.classes and class_of(patron_id) in caller.classes:
        return
    raise missing("patrons.read", NOT_YOURS + " This needs the right 'patrons.read'.")


def class_list(caller: Caller, query: dict[str, Any]) -> dict[str, Any]:
    """A class list's query as the caller may ask it: a teacher's own classes only."""
    if caller.has("patrons.read"):
        return query
    asked = query.get("class")
    if asked is None:
        if len(caller.classes) == 1 and query.get("grade") is None:
            return {**query, "class": caller.classes[0]}
        raise missing(
            "patrons.read",
            "Name one of your classes (class="
            + ", ".join(caller.classes or ("-",))
            + "); the whole school needs the right 'patrons.read'.",
        )
    if asked not in caller.classes:
        raise missing(
            "patrons.read",
            f"{asked} is not one of your classes; other classes need the right 'patrons.read'.",
        )
    return query


def own_card(caller: Caller, body: dict[str, Any], right: str) -> dict[str, Any]:
    """A command for oneself (a reservation, a note): the card is the caller's own.

    The desk acts for anyone; a reader with ``right`` only for himself (his card
    filled in when left out).
    """
    if caller.has("desk"):
        return body
    given = body.get("patron_id")
    if given is None or given == caller.patron_id:
        return {**body, "patron_id": caller.patron_id}
    raise missing("desk", f"With the right '{right}' you may do this only for your own card.")
