"""Reading the books of record: ledgers, registers, the term report, the timeline.

Who did what: every register line ends with who recorded it (``by``, ``by_role``:
the username and role of its event's actor, null for lines from before events
carried one), loans and repairs also with who closed them; ``audit`` pages
through the archive by actor and time, ``copy_history`` tells one copy's story.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from shared.eventsourcing.projection import Cursor
from shared.runtime.school_calendar import local_date

Table = dict[str, Any]  # {"columns": [...], "rows": [[...], ...]}

FAR_PAST, FAR_FUTURE = date(1900, 1, 1), date(9999, 12, 31)

COPY_STATE = """
    SELECT {group},
           count(*) FILTER (WHERE weeded_on IS NULL),
           coalesce(sum(price) FILTER (WHERE weeded_on IS NULL), 0),
           count(*) FILTER (WHERE weeded_on IS NULL AND on_loan),
           count(*) FILTER (WHERE weeded_on IS NULL AND in_repair),
           count(*) FILTER (WHERE lost),
           count(*) FILTER (WHERE weeded_on IS NULL AND in_transit)
    FROM ledger_copies
    WHERE added_on IS NOT NULL AND (%(campus)s IS NULL OR campus = %(campus)s)
    GROUP BY {group}
"""
MOVEMENTS = """
    SELECT {group}, entry, sum(copies), sum(value)
    FROM ledger_entries
    WHERE entry_on BETWEEN %(since)s AND %(until)s
      AND (%(campus)s IS NULL OR campus = %(campus)s)
    GROUP BY {group}, entry
"""
LEDGER_COLUMNS = (
    "held",
    "held_value",
    "on_loan",
    "in_repair",
    "lost",
    "added",
    "added_value",
    "weeded",
    "weeded_value",
    "transferred_in",
    "transferred_out",
    "in_transit",
)
WRITE_OFFS = """
    SELECT weeded_on, barcode, title, classification, campus, weed_reason, price,
           weeded_by, weeded_by_role
    FROM ledger_copies
    WHERE weeded_on BETWEEN %(since)s AND %(until)s
      AND (%(campus)s IS NULL OR campus = %(campus)s)
    ORDER BY weeded_on, barcode
"""
REGISTERS: dict[str, tuple[tuple[str, ...], str]] = {
    # Losses declared, paid (in parts, each with its receipt) and replaced (docs/losses.md).
    "compensations": (
        (
            "entry_on",
            "entry",
            "loan_id",
            "reader",
            "class_name",
            "barcode",
            "title",
            "campus",
            "amount",
            "balance",
            "receipt_no",
            "new_barcode",
            "taken_by",
            "by",
            "by_role",
        ),
        """
        SELECT c.entry_on, c.entry, c.loan_id, p.name, p.class_name, l.barcode, l.title,
               l.campus, c.amount, c.balance, c.receipt_no, c.new_barcode, c.taken_by,
               c.recorded_by, c.recorded_by_role
        FROM register_compensations c
        LEFT JOIN archive_loans l USING (loan_id)
        LEFT JOIN archive_patrons p ON p.patron_id = l.patron_id
        WHERE c.entry_on BETWEEN %(since)s AND %(until)s
          AND (%(campus)s IS NULL OR l.campus = %(campus)s)
        ORDER BY c.entry_on, c.loan_id, c.entry <> 'lost', c.receipt_no NULLS LAST, c.event_id
        """,
    ),
    "staff_loans": (
        (
            "lent_on",
            "loan_id",
            "teacher",
            "barcode",
            "title",
            "campus",
            "due_on",
            "returned_on",
            "status",
            "by",
            "by_role",
            "returned_by",
            "returned_by_role",
        ),
        """
        SELECT l.lent_on, l.loan_id, p.name, l.barcode, l.title, l.campus, l.due_on,
               l.returned_on, l.status, l.lent_by, l.lent_by_role, l.returned_by,
               l.returned_by_role
        FROM archive_loans l JOIN archive_patrons p USING (patron_id)
        WHERE l.patron_kind = 'teacher' AND l.lent_on BETWEEN %(since)s AND %(until)s
          AND (%(campus)s IS NULL OR l.campus = %(campus)s)
        ORDER BY l.lent_on, l.loan_id
        """,
    ),
    "purchases": (
        (
            "purchased_on",
            "isbn",
            "title",
            "author",
            "campus",
            "copies",
            "unit_price",
            "total",
            "by",
            "by_role",
        ),
        """
        SELECT purchased_on, isbn, title, author, campus, copies, unit_price,
               copies * unit_price, added_by, added_by_role
        FROM register_purchases
        WHERE purchased_on BETWEEN %(since)s AND %(until)s
          AND (%(campus)s IS NULL OR campus = %(campus)s)
        ORDER BY purchased_on, isbn, campus, unit_price, added_by, added_by_role
        """,
    ),
    # A repair's campus is where the copy was damaged (CatalogRegisters); the copy's
    # campus now stands in only for a damage recorded without one.
    "repairs": (
        (
            "damaged_on",
            "barcode",
            "title",
            "campus",
            "note",
            "loan_id",
            "repaired_on",
            "repair_note",
            "by",
            "by_role",
            "repaired_by",
            "repaired_by_role",
        ),
        """
        SELECT r.damaged_on, r.barcode, c.title, coalesce(r.campus, c.campus), r.note,
               r.loan_id, r.repaired_on, r.repair_note, r.reported_by, r.reported_by_role,
               r.repaired_by, r.repaired_by_role
        FROM register_repairs r LEFT JOIN ledger_copies c USING (barcode)
        WHERE r.damaged_on BETWEEN %(since)s AND %(until)s
          AND (%(campus)s IS NULL OR coalesce(r.campus, c.campus) = %(campus)s)
        ORDER BY r.damaged_on, r.barcode, r.damage_id
        """,
    ),
    "writeoffs": (
        (
            "weeded_on",
            "barcode",
            "title",
            "classification",
            "campus",
            "reason",
            "value",
            "by",
            "by_role",
        ),
        WRITE_OFFS,
    ),
    "teacher_reservations": (
        (
            "reserved_on",
            "reservation_id",
            "teacher",
            "isbn",
            "campus",
            "status",
            "loan_id",
            "by",
            "by_role",
        ),
        """
        SELECT r.reserved_on, r.reservation_id, p.name, r.isbn, r.campus, r.status, r.loan_id,
               r.reserved_by, r.reserved_by_role
        FROM archive_reservations r JOIN archive_patrons p USING (patron_id)
        WHERE p.kind = 'teacher' AND r.reserved_on BETWEEN %(since)s AND %(until)s
          AND (%(campus)s IS NULL OR r.campus = %(campus)s)
        ORDER BY r.reserved_on, r.reservation_id
        """,
    ),
}
# An archived envelope with its actor (null for those archived before envelopes had one).
ENVELOPE = "envelope || jsonb_build_object('actor', actor)"
TIMELINE = f"""
    SELECT {ENVELOPE} FROM archived_events
    WHERE (recorded_at, source, position) > (%s, %s, %s)
    ORDER BY recorded_at, source, position LIMIT %s
"""


def period(since: date | None, until: date | None, campus: str | None) -> dict[str, Any]:
    return {"since": since or FAR_PAST, "until": until or FAR_FUTURE, "campus": campus}


def plain(value: Any) -> Any:
    """JSON-ready: dates as ISO strings, money as strings with two places."""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    return value


def ledger(cursor: Cursor, group: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    """Copies held, moved and their states, grouped by ``campus`` or ``class_letter``."""
    assert group in ("campus", "class_letter")
    lines: dict[str, dict[str, Any]] = {}

    def line(key: str) -> dict[str, Any]:
        blank = {column: 0 for column in LEDGER_COLUMNS}
        blank.update(held_value=Decimal(0), added_value=Decimal(0), weeded_value=Decimal(0))
        return lines.setdefault(key, {group: key, **blank})

    cursor.execute(COPY_STATE.format(group=group), params)
    for key, held, value, on_loan, in_repair, lost, in_transit in cursor.fetchall():
        line(key).update(
            held=held,
            held_value=value,
            on_loan=on_loan,
            in_repair=in_repair,
            lost=lost,
            in_transit=in_transit,
        )
    cursor.execute(MOVEMENTS.format(group=group), params)
    for key, entry, copies, value in cursor.fetchall():
        target = line(key)
        if entry in ("added", "weeded"):
            target[entry] = abs(copies)
            target[f"{entry}_value"] = value
        else:
            target[entry] = abs(copies)
    rows = [lines[key] for key in sorted(lines)]
    total = {group: "all"}
    for column in LEDGER_COLUMNS:
        total[column] = sum((row[column] for row in rows), Decimal(0) if "value" in column else 0)
    return [{k: plain(v) for k, v in row.items()} for row in [*rows, total]]


def write_offs(cursor: Cursor, params: dict[str, Any]) -> dict[str, Any]:
    """Every weeded copy with reason and value, and totals by reason."""
    table = register(cursor, "writeoffs", params)
    by_reason: dict[str, dict[str, Any]] = {}
    for row in table["rows"]:
        reason = by_reason.setdefault(row[5], {"copies": 0, "value": Decimal(0)})
        reason["copies"] += 1
        reason["value"] += Decimal(row[6] or 0)
    totals = {k: {"copies": v["copies"], "value": plain(v["value"])} for k, v in by_reason.items()}
    return {**table, "by_reason": totals}


def register(
    cursor: Cursor, name: str, params: dict[str, Any], page: tuple[int, int] | None = None
) -> Table:
    """The register's rows for ``params``; with ``page`` (limit, offset) only those rows,
    and ``total``, the rows of the whole register, beside them."""
    columns, sql = REGISTERS[name]
    if page is None:
        cursor.execute(sql, params)
        return {"columns": list(columns), "rows": [[plain(v) for v in row] for row in cursor]}
    limit, offset = page
    cursor.execute(f"SELECT count(*) FROM ({sql}) AS register", params)
    (total,) = cursor.fetchone()
    cursor.execute(
        f"{sql} LIMIT %(limit)s OFFSET %(offset)s", {**params, "limit": limit, "offset": offset}
    )
    rows = [[plain(v) for v in row] for row in cursor]
    return {
        "columns": list(columns),
        "rows": rows,
        "total": total,
        "limit": limit,
        "offset": offset,
    }


def timeline(cursor: Cursor, after: tuple[str, str, int], limit: int) -> list[dict[str, Any]]:
    """Events of every source in the order they were recorded (then by source and position)."""
    cursor.execute(TIMELINE, (*after, limit))
    return [row[0] for row in cursor.fetchall()]


SELECT_ARCHIVED = f"""
    SELECT {ENVELOPE} FROM archived_events WHERE source = %s AND position > %s
    ORDER BY position LIMIT %s
"""
SELECT_REPORT = "SELECT report FROM term_reports WHERE term = %s"


def archived(cursor: Cursor, source: str, after: int, limit: int) -> list[dict[str, Any]]:
    """The archived replay feed of one source after a position, in position order."""
    cursor.execute(SELECT_ARCHIVED, (source, after, limit))
    return [row[0] for row in cursor.fetchall()]


def frozen_report(cursor: Cursor, term: str) -> dict[str, Any] | None:
    """A closed term's report as it was frozen by ``TermClosed``; None while it is open."""
    cursor.execute(SELECT_REPORT, (term,))
    row = cursor.fetchone()
    return row[0] if row else None


# ------------------------------------------------------------ who did what

FAR_PAST_MOMENT = datetime(1900, 1, 1, tzinfo=UTC)
FAR_FUTURE_MOMENT = datetime(9999, 12, 31, tzinfo=UTC)
# Newest first by (recorded_at, source, position): a page is the rows before the
# cursor, the key of the page's last row. One actor's events come from two
# index-ordered reads (by username, by id) of at most a page each, merged.
AUDIT_WHERE = """
    recorded_at >= %(since)s AND recorded_at < %(until)s
    AND (recorded_at, source, position) < (%(before_at)s, %(before_source)s, %(before_position)s)
"""
AUDIT_ORDER = "ORDER BY recorded_at DESC, source DESC, position DESC LIMIT %(limit)s"
AUDIT_EVERYONE = f"""
    SELECT {ENVELOPE}, recorded_at, source, position FROM archived_events
    WHERE {AUDIT_WHERE} {AUDIT_ORDER}
"""
AUDIT_ACTOR = f"""
    SELECT {ENVELOPE}, recorded_at, source, position
    FROM archived_events JOIN (
        (SELECT source, position FROM archived_events
         WHERE actor->>'username' = %(actor)s AND {AUDIT_WHERE} {AUDIT_ORDER})
        UNION
        (SELECT source, position FROM archived_events
         WHERE actor->>'id' = %(actor)s AND {AUDIT_WHERE} {AUDIT_ORDER})
    ) AS theirs USING (source, position)
    {AUDIT_ORDER}
"""
# A copy's events, each with the reader it names (from the cards) and the name of the
# account that did it (from its AccountCreated: index archived_events_account).
COPY_HISTORY = """
    SELECT e.envelope || jsonb_build_object('actor', e.actor),
           p.patron_id, p.name, p.class_name, who.name
    FROM archived_events e
    LEFT JOIN archive_patrons p ON p.patron_id = e.envelope->'data'->>'patron_id'
    LEFT JOIN LATERAL (
        SELECT a.envelope->'data'->>'name' AS name FROM archived_events a
        WHERE a.source = 'accounts' AND a.type = 'AccountCreated'
          AND a.envelope->'data'->>'account_id' = e.actor->>'id'
        LIMIT 1
    ) who ON true
    WHERE e.envelope->'data'->>'barcode' = %s
    ORDER BY (e.envelope->>'occurred_at')::timestamptz, e.recorded_at, e.source, e.position
"""
HISTORY_FIELDS = (
    "type",
    "source",
    "position",
    "event_id",
    "occurred_at",
    "recorded_at",
    "campus",
    "actor",
    "data",
)
# A timeline's steps, by event type; another source's event about the copy is its type
# in snake case (a reading note: reading_note_submitted).
HISTORY_STEPS = {
    "BookAdded": "catalogued",
    "Lent": "lent",
    "Renewed": "renewed",
    "Returned": "returned",
    "CopyDamaged": "damaged",
    "Repaired": "repaired",
    "Transferred": "transferred",
    "TransitStarted": "in_transit",
    "ArrivedHome": "received",
    "Weeded": "weeded",
    "DeclaredLost": "declared_lost",
    "ReferenceStatusChanged": "reference_changed",
}

AuditCursor = tuple[datetime, str, int]  # (recorded_at, source, position) of a page's last row


def moments(
    since: date | datetime | None, until: date | datetime | None, timezone: str
) -> tuple[datetime, datetime]:
    """[start, end) of a period given by days at the school (``timezone``) or moments.

    A day is the whole day: from its first moment, up to the end of it; a moment
    is itself, ``until`` included. Either left out is open.
    """
    zone = ZoneInfo(timezone)

    def start_of(day: date) -> datetime:
        return datetime.combine(day, time(), zone)

    start = FAR_PAST_MOMENT if since is None else since
    if not isinstance(start, datetime):
        start = start_of(start)
    if until is None:
        end = FAR_FUTURE_MOMENT
    elif isinstance(until, datetime):
        end = until + timedelta(microseconds=1)
    else:
        end = start_of(until + timedelta(days=1))
    return start, end


def audit_cursor(recorded_at: datetime, source: str, position: int) -> str:
    """The text a caller passes back as ``after`` to read the page after a row's."""
    return f"{recorded_at.astimezone(UTC).isoformat()}|{source}|{position}"


def parse_audit_cursor(text: str) -> AuditCursor:
    """``audit_cursor`` read back; ValueError when ``text`` is not one."""
    recorded_at, source, position = text.split("|")
    moment = datetime.fromisoformat(recorded_at)
    if moment.tzinfo is None or not source or not position.isdigit():
        raise ValueError(text)
    return moment, source, int(position)


def audit(
    cursor: Cursor,
    actor: str | None,
    period: tuple[datetime, datetime],
    after: AuditCursor | None,
    limit: int,
) -> dict[str, Any]:
    """Archived events of every source, newest first, of one actor (username or id) or
    everyone's, in a period, a page of ``limit`` after the cursor ``after``.

    ``next_after`` is the cursor of the page after this one, null on the last page.
    Pages are stable: keyset on (recorded_at, source, position), so what is archived
    meanwhile never shifts a page or shows twice.
    """
    before_at, before_source, before_position = after or (FAR_FUTURE_MOMENT, "", 0)
    params = {
        "actor": actor,
        "since": period[0],
        "until": period[1],
        "before_at": before_at,
        "before_source": before_source,
        "before_position": before_position,
        "limit": limit + 1,  # one more tells whether there is a next page
    }
    cursor.execute(AUDIT_EVERYONE if actor is None else AUDIT_ACTOR, params)
    rows = cursor.fetchall()
    page, more = rows[:limit], len(rows) > limit
    _, recorded_at, source, position = page[-1] if more else (None, None, None, None)
    return {
        "events": [envelope for envelope, *_ in page],
        "next_after": audit_cursor(recorded_at, source, position) if more else None,
    }


def copy_history(cursor: Cursor, barcode: str, timezone: str) -> list[dict[str, Any]]:
    """Every source's archived events about one copy, in the order they happened, each a
    step of its timeline: ``step`` (``HISTORY_STEPS``), ``on`` (the day at the school),
    ``by`` (who did it: ``{username, role, name}``, ``name`` the account's when known;
    null when the event names nobody) and ``patron`` (the reader it names:
    ``{patron_id, name, class_name}``, e.g. whom it was lent to; else null), besides the
    envelope's fields (``HISTORY_FIELDS``)."""
    cursor.execute(COPY_HISTORY, (barcode,))
    return [_step(*row, timezone) for row in cursor.fetchall()]


def _step(
    envelope: dict[str, Any],
    patron_id: str | None,
    name: str | None,
    class_name: str | None,
    actor_name: str | None,
    timezone: str,
) -> dict[str, Any]:
    event = {key: envelope[key] for key in HISTORY_FIELDS}
    actor, data = event["actor"], event["data"]
    reader = data.get("patron_id")
    return {
        **event,
        "step": HISTORY_STEPS.get(event["type"]) or _snake(event["type"]),
        "on": local_date(event["occurred_at"], timezone).isoformat(),
        "by": None
        if actor is None
        else {"username": actor.get("username"), "role": actor.get("role"), "name": actor_name},
        "patron": None
        if reader is None
        else {
            "patron_id": reader,
            "name": name if patron_id else None,
            "class_name": class_name if patron_id else data.get("class_name"),
        },
    }


def _snake(type_: str) -> str:
    """``ReadingNoteSubmitted`` -> ``reading_note_submitted``."""
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in type_).lstrip("_")


# ------------------------------------------------------------ what a desk did today

# The desk's work, by event type: what the desk list calls each.
DESK_KINDS = {
    "Lent": "lend",
    "Returned": "return",
    "Renewed": "renew",
    "CompensationPaid": "payment",
}
MAX_DESK_DAY = 2000
# An event's campus is its desk's (the envelope's); events that name no desk (a renewal
# by loan id, a payment) count for the campus the loan was made at.
DESK_DAY = """
    SELECT e.recorded_at, e.type, e.actor, e.envelope->'data',
           coalesce(e.envelope->>'campus', l.campus), l.barcode, l.title, l.isbn,
           p.name, p.class_name
    FROM archived_events e
    LEFT JOIN archive_loans l ON l.loan_id = e.envelope->'data'->>'loan_id'
    LEFT JOIN archive_patrons p ON p.patron_id = e.envelope->'data'->>'patron_id'
    WHERE e.source = 'circulation' AND e.type = ANY(%(types)s)
      AND e.recorded_at >= %(since)s AND e.recorded_at < %(until)s
      AND (%(campus)s::text IS NULL OR coalesce(e.envelope->>'campus', l.campus) = %(campus)s)
    ORDER BY e.recorded_at DESC, e.position DESC
    LIMIT %(limit)s
"""


def desk_day(
    cursor: Cursor, campus: str | None, period: tuple[datetime, datetime]
) -> list[dict[str, Any]]:
    """The lends, returns, renewals and payments recorded at ``campus`` in ``period``,
    newest first, each with its copy, its reader and who did it."""
    params = {
        "types": list(DESK_KINDS),
        "since": period[0],
        "until": period[1],
        "campus": campus,
        "limit": MAX_DESK_DAY,
    }
    cursor.execute(DESK_DAY, params)
    items = []
    for recorded_at, type_, actor, data, where, barcode, title, isbn, name, class_name in cursor:
        items.append(
            {
                "at": recorded_at.astimezone(UTC).isoformat(),
                "kind": DESK_KINDS[type_],
                "type": type_,
                "campus": where,
                "loan_id": data.get("loan_id"),
                "barcode": data.get("barcode") or barcode,
                "title": data.get("title") or title,
                "isbn": data.get("isbn") or isbn,
                "patron_id": data.get("patron_id"),
                "name": name,
                "class_name": class_name,
                "due_on": data.get("due_on"),
                "condition": data.get("condition"),
                "amount": data.get("amount"),
                "actor": actor,
            }
        )
    return items
