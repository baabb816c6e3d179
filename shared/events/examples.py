"""One realistic example payload per event type, for the published contract.

Each example is checked against its schema by the tests, so the AsyncAPI
document never shows an integrator a payload the system would refuse.
"""

from typing import Any

COPY = {"barcode": "C00000042"}
LOAN = {"loan_id": "L3f9a1c2b7d4e5f60", "barcode": "C00000042", "patron_id": "P0000123"}

EXAMPLES: dict[str, dict[str, Any]] = {
    "BookAdded": {
        **COPY,
        "isbn": "978-7-02-000220-7",
        "title": "红楼梦",
        "author": "曹雪芹",
        "classification": "I242.4",
        "campus": "north",
        "shelf": "N-I-03",
        "price": "59.70",
        "acquisition": "purchase",
        "reference_only": False,
    },
    "CopyDamaged": {**COPY, "note": "returned with a torn spine", "loan_id": LOAN["loan_id"]},
    "Repaired": {**COPY, "note": "spine rebound"},
    "Weeded": {
        **COPY,
        "reason": "outdated",
        "value": "59.70",
        "classification": "I242.4",
        "note": "superseded edition",
    },
    "Transferred": {**COPY, "from_campus": "north", "to_campus": "south", "shelf": "S-I-01"},
    "ReferenceStatusChanged": {**COPY, "reference_only": True},
    "TransitStarted": {
        **COPY,
        "from_campus": "south",
        "to_campus": "north",
        "loan_id": LOAN["loan_id"],
        "returned_on": "2026-10-28",
    },
    "ArrivedHome": {**COPY, "campus": "north", "from_campus": "south"},
    "CardIssued": {
        "patron_id": "P0000123",
        "name": "李雷",
        "kind": "student",
        "class_name": "G7-3",
        "campus": "north",
    },
    "CardBlocked": {"patron_id": "P0000123", "reason": "three books overdue for a month"},
    "CardUnblocked": {"patron_id": "P0000123"},
    "CardRetired": {"patron_id": "P0000123", "reason": "graduated"},
    "Lent": {
        **LOAN,
        "patron_kind": "student",
        "class_name": "G7-3",
        "campus": "north",
        "lent_on": "2026-10-12",
        "due_on": "2026-10-26",
        "title": "红楼梦",
        "classification": "I242.4",
        "isbn": "978-7-02-000220-7",
    },
    "Returned": {
        **LOAN,
        "campus": "south",
        "home_campus": "north",
        "returned_on": "2026-10-28",
        "overdue_days": 2,
        "condition": "ok",
    },
    "Renewed": {**LOAN, "due_on": "2026-11-09"},
    "Reserved": {
        "reservation_id": "R0c1d2e3f4a5b6c7d",
        "patron_id": "P0000900",
        "isbn": "978-7-02-000220-7",
        "campus": "north",
    },
    "ReservationFulfilled": {
        "reservation_id": "R0c1d2e3f4a5b6c7d",
        "patron_id": "P0000900",
        "loan_id": LOAN["loan_id"],
    },
    "ReservationCancelled": {"reservation_id": "R0c1d2e3f4a5b6c7d", "patron_id": "P0000900"},
    "DeclaredLost": {**LOAN, "replacement_cost": "59.70"},
    "CompensationPaid": {"loan_id": LOAN["loan_id"], "patron_id": "P0000123", "amount": "59.70"},
    "ReadingNoteSubmitted": {
        "note_id": "N7a8b9c0d1e2f3a4b",
        "patron_id": "P0000123",
        "loan_id": LOAN["loan_id"],
        "isbn": "978-7-02-000220-7",
        "title": "红楼梦",
        "text": "读后感：……",
        "word_count": 812,
        "submitted_on": "2026-10-20",
    },
    "NoteAwarded": {
        "note_id": "N7a8b9c0d1e2f3a4b",
        "award": "月度优秀读书笔记",
        "awarded_by": "P0000900",
        "patron_id": "P0000123",
        "awarded_on": "2026-10-31",
    },
    "CompetitionOpened": {
        "competition_id": "K1",
        "title": "秋季征文",
        "kind": "essay",
        "campus": None,
        "opened_on": "2026-10-01",
        "closes_on": "2026-11-15",
    },
    "CompetitionEntered": {
        "competition_id": "K1",
        "entry_id": "E1",
        "patron_id": "P0000123",
        "title": "读书的乐趣",
        "text": None,
        "entered_on": "2026-10-09",
    },
    "EntryScored": {
        "competition_id": "K1",
        "entry_id": "E1",
        "patron_id": "P0000123",
        "score": 92,
        "scored_by": "P0000900",
    },
    "CompetitionClosed": {
        "competition_id": "K1",
        "closed_on": "2026-11-16",
        "ranking": [
            {
                "rank": 1,
                "entry_id": "E1",
                "patron_id": "P0000123",
                "title": "读书的乐趣",
                "score": 92,
            }
        ],
    },
    "TermClosed": {
        "term": "2026-autumn",
        "closed_on": "2027-01-23",
        "report": {"loans": {"total": 15230}, "loans_per_student": "13.17"},
    },
    "AccountCreated": {
        "account_id": "p0000123",
        "username": "P0000123",
        "name": "李雷",
        "roles": ["student"],
        "campus": "north",
        "patron_id": "P0000123",
        "classes": [],
    },
    "AccountRoleChanged": {"account_id": "zhang-li", "roles": ["assistant"], "campus": "south"},
    "AccountClassesSet": {"account_id": "t001", "classes": ["G7-3", "G7-4"]},
    "PasswordChanged": {"account_id": "zhang-li", "reset": False},
    "AccountLocked": {
        "account_id": "zhang-li",
        "failures": 10,
        "until": "2026-10-12T08:15:00+00:00",
    },
    "AccountDisabled": {"account_id": "zhang-li", "reason": "left the school"},
    "AccountEnabled": {"account_id": "zhang-li"},
    "ApiKeyCreated": {"key_id": "grades-sync", "name": "grades-sync", "rights": ["events.read"]},
    "ApiKeyRevoked": {"key_id": "grades-sync", "name": "grades-sync"},
}
