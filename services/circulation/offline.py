"""Offline circulation's rules, pure: what a refused offline scan becomes and how it ends.

A desk that lost the link keeps scanning; each scan is a lend or a return with its
own command id, sent later in order and carried out as the ordinary command. What
is refused by then (the copy was lent at the other desk meanwhile, the card was
blocked, the reader reached her limit) is recorded once as a conflict
(``OfflineScanRefused``, its id derived from the scan's command id) and waits for
a librarian, who resolves it once (``OfflineConflictResolved``):

* ``override``: lend anyway, setting the refusal aside (``domain.OVERRIDABLE``);
* ``return_and_relend``: the records lend the copy to someone else: take it back
  from that loan, then lend it to this reader;
* ``dismiss``: nothing to record (the book came back, the scan was wrong).

One stream per conflict, ``offline-conflict-<conflict_id>``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from services.circulation.domain import OVERRIDABLE
from shared.eventsourcing.decider import Aggregate, Event, Refused
from shared.runtime.school_calendar import local_date

RESOLUTIONS = ("override", "return_and_relend", "dismiss")
# A scan refused for these, on a lend, can be put right by taking the copy back first.
RELEND_CODES = frozenset({"copy_on_loan"})


def conflict_id(command_id: uuid.UUID | str) -> str:
    """The conflict a refused scan becomes: named after its command id, so however often
    the scan is sent, it is one conflict."""
    return f"OC{uuid.uuid5(uuid.UUID(str(command_id)), 'offline-conflict').hex[:16]}"


def recording_id(command_id: uuid.UUID | str) -> uuid.UUID:
    """The command id of recording a scan's refusal (the pipeline runs it once)."""
    return uuid.uuid5(uuid.UUID(str(command_id)), "offline-refused")


def resolutions(action: str, code: str) -> tuple[str, ...]:
    """The resolutions a conflict allows: an override only where a librarian may set the
    refusal aside, a return and re-lend only for a copy the records lend to someone else;
    dismissing always (a return refused leaves nothing else to do)."""
    allowed: list[str] = []
    if action == "lend" and code in OVERRIDABLE:
        allowed.append("override")
    if action == "lend" and code in RELEND_CODES:
        allowed.append("return_and_relend")
    allowed.append("dismiss")
    return tuple(allowed)


def scan_day(at: datetime, timezone: str, today: date) -> date:
    """The day a scan is lent or returned on: the day it happened at the school, never
    after today (a desk laptop whose clock runs ahead does not lend into the future)."""
    return min(local_date(at, timezone), today)


# ---------------------------------------------------------------- the conflict


@dataclass(frozen=True)
class Conflict:
    conflict_id: str | None = None
    action: str = "lend"
    patron_id: str | None = None
    barcode: str = ""
    campus: str = ""
    at: str = ""
    code: str = ""
    resolution: str | None = None

    @property
    def exists(self) -> bool:
        return self.conflict_id is not None

    @property
    def allowed(self) -> tuple[str, ...]:
        return resolutions(self.action, self.code)


INITIAL = Conflict()


@dataclass(frozen=True)
class RecordRefusal:
    """A queued scan was refused when it was sent: keep it for a librarian (once)."""

    conflict_id: str
    command_id: str
    action: str
    patron_id: str | None
    barcode: str
    at: datetime
    campus: str
    code: str
    reason: str


@dataclass(frozen=True)
class Resolve:
    resolution: str
    note: str = ""
    loan_id: str | None = None  # the loan an override or a re-lend made


def decide(conflict: Conflict, command: RecordRefusal | Resolve) -> list[Event]:
    """The events a command on a conflict leads to, or ``Refused``."""
    if isinstance(command, RecordRefusal):
        if conflict.exists:
            return []  # the same scan again: the same conflict, not a second one
        return [
            Event(
                "OfflineScanRefused",
                {
                    "conflict_id": command.conflict_id,
                    "command_id": command.command_id,
                    "action": command.action,
                    "patron_id": command.patron_id,
                    "barcode": command.barcode,
                    "at": command.at.isoformat(),
                    "campus": command.campus,
                    "code": command.code,
                    "reason": command.reason[:500],
                },
            )
        ]
    check_resolution(conflict, command.resolution)
    return [
        Event(
            "OfflineConflictResolved",
            {
                "conflict_id": conflict.conflict_id,
                "resolution": command.resolution,
                "campus": conflict.campus,
                "barcode": conflict.barcode,
                "patron_id": conflict.patron_id,
                "loan_id": command.loan_id,
                "note": command.note,
            },
        )
    ]


def check_resolution(conflict: Conflict, resolution: str) -> None:
    """Refused unless ``resolution`` may end this conflict now (asked before the lend an
    override or a re-lend makes, so nothing is lent for a conflict that cannot end)."""
    if not conflict.exists:
        raise Refused("no such offline conflict", "offline_conflict_unknown")
    if conflict.resolution is not None:
        raise Refused(
            f"conflict {conflict.conflict_id} was already resolved ({conflict.resolution})",
            "offline_conflict_resolved",
        )
    if resolution not in conflict.allowed:
        if resolution == "override":
            raise Refused(
                f"a {conflict.code} refusal cannot be set aside: only "
                f"{', '.join(conflict.allowed)} can resolve it",
                "override_not_allowed",
            )
        raise Refused(
            f"{resolution} cannot resolve a {conflict.action} refused for {conflict.code}: "
            f"only {', '.join(conflict.allowed)}",
            "offline_resolution_not_allowed",
        )


def evolve(conflict: Conflict, event: Any) -> Conflict:
    data = event.data
    match event.type:
        case "OfflineScanRefused":
            return Conflict(
                conflict_id=data["conflict_id"],
                action=data["action"],
                patron_id=data.get("patron_id"),
                barcode=data["barcode"],
                campus=data["campus"],
                at=data["at"],
                code=data["code"],
            )
        case "OfflineConflictResolved":
            return replace(conflict, resolution=data["resolution"])
    return conflict


CONFLICT = Aggregate(
    "offline_conflict",
    "offline-conflict-",
    INITIAL,
    evolve,
    decide,
    missing="no offline conflict {key!r}",
)
NEW_CONFLICT = replace(CONFLICT, missing=None)  # recording a refusal: the stream may not exist
