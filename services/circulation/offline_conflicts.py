"""The offline conflicts a librarian sees: a read model of ``OfflineScanRefused`` and
``OfflineConflictResolved`` (inline: a conflict just recorded is listed at once), and its
queries. Rebuilt from events like the others (``library rebuild circulation
offline_conflicts``)."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from services.circulation import offline
from shared.events.envelope import Envelope
from shared.eventsourcing.projection import Cursor, Projection

INSERT_CONFLICT = """
    INSERT INTO offline_conflicts (conflict_id, command_id, action, patron_id, barcode, at,
                                   campus, code, reason, resolutions, position)
    VALUES (%(conflict_id)s, %(command_id)s, %(action)s, %(patron_id)s, %(barcode)s, %(at)s,
            %(campus)s, %(code)s, %(reason)s, %(resolutions)s, %(position)s)
    ON CONFLICT (conflict_id) DO NOTHING
"""
RESOLVE_CONFLICT = """
    UPDATE offline_conflicts SET state = 'resolved', resolution = %(resolution)s,
        resolved_by = %(by)s, resolved_at = %(at)s, loan_id = %(loan_id)s, note = %(note)s
    WHERE conflict_id = %(conflict_id)s
"""
# With the reader's name and the copy's title from circulation's own read models (the
# cards and the copies it lends), so a librarian reads each line without a lookup; the
# name as the card has it now (a corrected name shows corrected).
COLUMNS = """
    c.conflict_id, c.command_id::text, c.action, c.patron_id, c.barcode, c.at, c.campus,
    c.code, c.reason, c.resolutions, c.state, c.resolution, c.resolved_by, c.resolved_at,
    c.loan_id, c.note, p.name, a.title
"""
FROM = """
    offline_conflicts c
    LEFT JOIN patrons p ON p.patron_id = c.patron_id
    LEFT JOIN copy_availability a ON a.barcode = c.barcode
"""
SELECT_ONE = f"SELECT {COLUMNS} FROM {FROM} WHERE c.conflict_id = %s"  # noqa: S608
SELECT_MANY = f"""
    SELECT {COLUMNS} FROM {FROM}
    WHERE (%(campus)s::text IS NULL OR c.campus = %(campus)s)
      AND (%(state)s = 'all' OR c.state = %(state)s)
    ORDER BY c.position DESC LIMIT %(limit)s
"""  # noqa: S608
MAX_LISTED = 500


class OfflineConflicts(Projection):
    """Every offline scan refused when sent, open or resolved, newest first."""

    name = "offline_conflicts"
    sources = ("circulation",)
    tables = ("offline_conflicts",)
    writes_only = True

    def apply(self, cursor: Cursor, event: Envelope) -> None:
        data = event.data
        match event.type:
            case "OfflineScanRefused":
                cursor.execute(
                    INSERT_CONFLICT,
                    {
                        **data,
                        "patron_id": data.get("patron_id"),
                        "command_id": str(data["command_id"]),
                        "resolutions": list(offline.resolutions(data["action"], data["code"])),
                        "position": event.position,
                    },
                )
            case "OfflineConflictResolved":
                actor = event.actor or {}
                cursor.execute(
                    RESOLVE_CONFLICT,
                    {
                        "conflict_id": data["conflict_id"],
                        "resolution": data["resolution"],
                        "by": actor.get("username"),
                        "at": event.occurred_at,
                        "loan_id": data.get("loan_id"),
                        "note": data.get("note") or "",
                    },
                )


def view(row: tuple[Any, ...], timezone: str) -> dict[str, Any]:
    """A conflict as the HTTP API answers it (docs/offline.md), its times at the school."""
    school = ZoneInfo(timezone)
    (conflict_id, command_id, action, patron_id, barcode, at, campus, code, reason,
     allowed, state, resolution, by, resolved_at, loan_id, note, name, title) = row  # fmt: skip
    resolved = None
    if state == "resolved":
        resolved = {
            "resolution": resolution,
            "by": by,
            "at": resolved_at.astimezone(school).isoformat(),
            "loan_id": loan_id,
            "note": note or "",
        }
    return {
        "conflict_id": conflict_id,
        "command_id": command_id,
        "action": action,
        "patron_id": patron_id,
        "name": name,
        "barcode": barcode,
        "title": title,
        "at": at.astimezone(school).isoformat(),
        "campus": campus,
        "code": code,
        "reason": reason,
        "state": state,
        "resolutions": list(allowed) if state == "open" else [],
        "resolved": resolved,
    }


def conflict(cursor: Cursor, conflict_id: str, timezone: str) -> dict[str, Any] | None:
    cursor.execute(SELECT_ONE, (conflict_id,))
    row = cursor.fetchone()
    return None if row is None else view(row, timezone)


def conflicts(
    cursor: Cursor, campus: str | None, state: str, timezone: str
) -> list[dict[str, Any]]:
    cursor.execute(SELECT_MANY, {"campus": campus, "state": state, "limit": MAX_LISTED})
    return [view(row, timezone) for row in cursor.fetchall()]
