"""What each role may do, as named rights: the one table the gateway enforces.

A right names a kind of work; a refusal names the right that was missing. Some
rights reach only part of the library, and the gateway narrows them by the
caller: ``desk`` to the assistant's campus, ``class.read`` to the teacher's
classes, ``own.read``/``notes.own``/``reservations.own`` to the reader's own card.
Keys for other school systems get rights from ``KEY_RIGHTS`` only.
"""

from __future__ import annotations

from collections.abc import Iterable

RIGHTS: dict[str, str] = {
    "catalogue.search": "search the catalogue and see a copy",
    "collection.manage": "catalogue, damage, repair, weed, transfer copies",
    "desk": "lend, take back, renew, issue cards, reserve and hand in notes for anyone",
    "patrons.read": "see any reader's card, loans and notes",
    "class.read": "see the overdue list, clearance and reading notes of one's own classes",
    "own.read": "see one's own loans, reservations, notes and target progress",
    "reservations.own": "reserve a title for oneself",
    "notes.own": "hand in a reading note for a book one borrowed",
    "notes.award": "award reading notes",
    "loans.manage": "declare a book lost and take the payment",
    "loans.override": "lend anyway, setting a refusal aside (an offline desk's conflict)",
    "records.read": "the ledgers, registers and term reports",
    "records.manage": "close a term, turn the school year, retire its graduates, keep the calendar",
    "events.read": "the replay feed of events without personal data",
    "events.personal": "the replay feed and exchanges of events with names and classes",
    "operate": "status, scaling, rebuilds and dead letters",
    "accounts.manage": "create accounts, set roles and classes, reset passwords, disable",
    "keys.manage": "create, list and revoke API keys",
    "audit.read": "who did what (the audit)",
    "notices.send": "e-mail the overdue notices to class teachers and see the notices sent",
    "kiosk": "a self-check kiosk (SIP2) of one campus: lend, take back and renew there, "
    "and read the card and the copy scanned",
}

ROLE_RIGHTS: dict[str, frozenset[str]] = {
    "librarian": frozenset(RIGHTS) - {"own.read", "reservations.own", "notes.own", "kiosk"},
    "assistant": frozenset(
        {"catalogue.search", "desk", "patrons.read", "records.read", "events.read"}
    ),
    "operator": frozenset({"operate", "keys.manage"}),
    "teacher": frozenset(
        {"catalogue.search", "class.read", "own.read", "reservations.own", "notes.award"}
    ),
    "student": frozenset({"catalogue.search", "own.read", "reservations.own", "notes.own"}),
    # A self-check kiosk's account (services/sip2): only what a kiosk does, at its campus.
    "kiosk": frozenset({"kiosk"}),
    # The fixed development token of the read-only role (LIBRARY_DEV_TOKENS=1 only).
    "reader": frozenset({"catalogue.search", "records.read", "events.read", "events.personal"}),
}

# What a machine client may be given: never accounts or keys of its own.
KEY_RIGHTS = frozenset(RIGHTS) - {
    "kiosk",
    "loans.override",
    "accounts.manage",
    "keys.manage",
    "own.read",
    "reservations.own",
    "notes.own",
    "class.read",
}


def rights_of(roles: Iterable[str]) -> frozenset[str]:
    """Every right any of ``roles`` gives."""
    granted: set[str] = set()
    for role in roles:
        granted |= ROLE_RIGHTS.get(role, frozenset())
    return frozenset(granted)


PEOPLE = ("librarian", "assistant", "operator", "teacher", "student")
NARROWED = {
    ("assistant", "desk"): "her campus",
    ("teacher", "class.read"): "her classes",
    ("teacher", "own.read"): "her card",
    ("student", "own.read"): "his card",
    ("teacher", "reservations.own"): "for herself",
    ("student", "reservations.own"): "for himself",
    ("student", "notes.own"): "books he borrowed",
}


def markdown_table() -> str:
    """The roles and their rights as a Markdown table (services/gateway/README.md holds it)."""
    lines = [
        "| right | what it allows | " + " | ".join(PEOPLE) + " |",
        "|---|---|" + "---|" * len(PEOPLE),
    ]
    for right, description in RIGHTS.items():
        cells = [
            NARROWED.get((role, right), "yes") if right in ROLE_RIGHTS[role] else ""
            for role in PEOPLE
        ]
        lines.append(f"| `{right}` | {description} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
