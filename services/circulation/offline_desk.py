"""Offline circulation's entrypoints of ``CirculationService`` (a mixin, so service.py only
names it): a desk's queued scans and offline file applied, the conflicts listed and
resolved. The rules are ``offline`` (pure); docs/offline.md says what a desk sees.

Each scan is carried out as the ordinary ``lend`` or ``return_copy`` command, with the
scan's own command id and the day it was scanned at the school, through the command
pipeline: a scan sent twice is done once because the pipeline runs a command id once.
A scan refused becomes one conflict, named after its command id, and from then on that
conflict is the scan's answer, however often it is sent: a librarian decides what
happens to it (resolving it), not a resend that happens to succeed later.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from services.circulation import domain, offline, offline_conflicts, queries
from services.circulation import schemas as s
from services.circulation.offline_file import read_offline_file
from shared.errors import BadRequest, NotFound, found, load
from shared.eventsourcing.decider import Refused
from shared.eventsourcing.unit_of_work import UnitOfWork
from shared.messaging.rpc import EXPECTED_FAILURES, rpc
from shared.roster_files import UnreadableRoster, decode_text
from shared.runtime.commands import CommandRpc, command

Command = Mapping[str, Any]
# An answer names where a refused scan was wrong when the refusal was a NotFound.
UNKNOWN_CARD, UNKNOWN_COPY = "no_card", "unknown_copy"

# Like ``@command``'s entrypoint: the reply carries the positions of the scans' events.
positioned_rpc = CommandRpc.decorator(expected_exceptions=EXPECTED_FAILURES)


class OfflineDesk:
    """The entrypoints of offline circulation (mixed into ``CirculationService``)."""

    @positioned_rpc
    def sync_offline(self, payload: dict[str, Any]) -> dict[str, Any]:
        """A desk's queued scans, applied in order: what was done, what became a conflict."""
        batch = load(s.OfflineBatch(), payload)
        return self._apply_scans(batch["campus"], batch["entries"])

    @positioned_rpc
    def sync_offline_file(self, payload: dict[str, Any]) -> dict[str, Any]:
        """An offline desk's CSV file applied as its scans; bad lines listed by number."""
        given = load(s.OfflineFile(), payload)
        try:
            text = decode_text(base64.b64decode(given["file"], validate=True))
        except (UnreadableRoster, ValueError) as error:
            message = f"The file cannot be read: {error}."
            raise BadRequest(message, {"file": [message]}, "offline_bad_file") from None
        read = read_offline_file(
            text, given["campus"], self.rules.calendar.timezone, s.MAX_OFFLINE_LINES
        )
        report = self._apply_scans(given["campus"], read.entries)
        return {**report, "rows_refused": read.rows_refused}

    @rpc
    def offline_conflicts(self, payload: dict[str, Any] | None = None) -> dict[str, Any]:
        """The offline conflicts of a campus (all when none is named), newest first."""
        query = load(s.OfflineConflictsQuery(), payload or {})
        with self.store.cursor() as cursor:
            listed = offline_conflicts.conflicts(
                cursor, query["campus"], query["state"], self._timezone()
            )
        return {"conflicts": listed}

    @command(s.ResolveOfflineConflict)
    def resolve_offline_conflict(self, uow: UnitOfWork, command: Command) -> dict[str, Any]:
        """Resolve a conflict once: lend anyway (``override``), take the copy back from the
        loan the records have and lend it (``return_and_relend``), or ``dismiss`` it."""
        conflict_id, resolution = command["conflict_id"], command["resolution"]
        loaded = uow.get(offline.CONFLICT, conflict_id)
        conflict = loaded.state
        offline.check_resolution(conflict, resolution)  # before anything is lent
        day = offline.scan_day(
            datetime.fromisoformat(conflict.at), self._timezone(), self.rules.today()
        )
        loan_id = None
        if resolution == "return_and_relend":
            self._take_back_for_relend(uow, conflict, day)
        if resolution in ("override", "return_and_relend"):
            override = None
            if resolution == "override":
                by = (uow.actor or {}).get("username")
                override = domain.Override(conflict.code, command["note"], conflict_id, by)
            # The conflict's lend, as the desk's, on the day it was scanned.
            at_desk = {"command_id": command["command_id"], "campus": conflict.campus, "on": day}
            lent = self._lend_one(
                uow, at_desk, conflict.barcode, conflict.patron_id or "", override
            )
            loan_id = lent["loan_id"]
        resolve = offline.Resolve(resolution, command["note"], loan_id)
        uow.record(loaded, offline.decide(conflict, resolve), campus=conflict.campus)
        return found(
            offline_conflicts.conflict(uow.cursor, conflict_id, self._timezone()), conflict_id
        )

    # ------------------------------------------------------------ the scans

    def _apply_scans(self, campus: str, entries: list[dict[str, Any]]) -> dict[str, Any]:
        applied, conflicts = [], []
        for entry in entries:
            done, answer = self._apply_scan(campus, entry)
            (applied if done else conflicts).append(answer)
        return {
            "applied": applied,
            "conflicts": conflicts,
            "counts": {
                "applied": sum(not a["already"] for a in applied),
                "already": sum(a["already"] for a in applied),
                "conflicts": len(conflicts),
            },
        }

    def _apply_scan(self, campus: str, entry: Mapping[str, Any]) -> tuple[bool, dict[str, Any]]:
        """(True, what was done) or (False, the conflict) for one scan."""
        command_id = str(entry["command_id"])
        conflict_id = offline.conflict_id(command_id)
        with self.store.cursor() as cursor:
            known = offline_conflicts.conflict(cursor, conflict_id, self._timezone())
            already = bool(self.store.store.caused_by(cursor, command_id))
        if known is not None:
            return False, known
        day = offline.scan_day(entry["at"], self._timezone(), self.rules.today())
        payload = {
            "command_id": command_id,
            "campus": campus,
            "on": day.isoformat(),
            "barcode": entry["barcode"],
        }
        try:
            if entry["action"] == "lend":
                receipt = self.lend({**payload, "patron_id": entry["patron_id"]})
            else:
                receipt = self.return_copy({**payload, "condition": entry.get("condition", "ok")})
        except Refused as refusal:
            code, reason = refusal.code, str(refusal)
        except NotFound as missing:
            code, reason = self._unknown(entry), str(missing)
        else:
            return True, {
                "command_id": command_id,
                "action": entry["action"],
                "barcode": receipt["barcode"],
                "patron_id": receipt["patron_id"],
                "loan_id": receipt["loan_id"],
                "due_on": receipt.get("due_on"),
                "already": already,
            }
        return False, self._record_refusal(campus, entry, code, reason)

    def _unknown(self, entry: Mapping[str, Any]) -> str:
        """What a scan named that circulation does not know: the copy, else the card."""
        with self.store.cursor() as cursor:
            known_copy = queries.copy(cursor, entry["barcode"]) is not None
        return UNKNOWN_CARD if known_copy and entry["action"] == "lend" else UNKNOWN_COPY

    def _record_refusal(
        self, campus: str, entry: Mapping[str, Any], code: str, reason: str
    ) -> dict[str, Any]:
        """Keep a refused scan as its conflict (once, however often it is sent)."""
        command_id = str(entry["command_id"])
        refusal = offline.RecordRefusal(
            conflict_id=offline.conflict_id(command_id),
            command_id=command_id,
            action=entry["action"],
            patron_id=entry.get("patron_id") if entry["action"] == "lend" else None,
            barcode=entry["barcode"],
            at=entry["at"],
            campus=campus,
            code=code,
            reason=reason,
        )

        def record(uow: UnitOfWork, parameters: Command) -> dict[str, Any]:
            uow.execute(offline.NEW_CONFLICT, refusal.conflict_id, refusal, campus=campus)
            kept = offline_conflicts.conflict(uow.cursor, refusal.conflict_id, self._timezone())
            return found(kept, refusal.conflict_id)

        parameters = {
            "command_id": str(offline.recording_id(command_id)),
            "conflict_id": refusal.conflict_id,
        }
        return self.store.run("record_offline_refusal", parameters, record)

    # ------------------------------------------------------------ resolving

    def _take_back_for_relend(self, uow: UnitOfWork, conflict: offline.Conflict, day: date) -> None:
        """The copy's loan in the records ends at the conflict's desk (not before it began).

        Returned for its borrower as at the desk, but not put aside for a reader waiting
        for its title: it goes straight to this conflict's reader, who has it.
        """
        holder = found(
            queries.lock_loan_of_copy(uow.cursor, conflict.barcode),
            f"no copy with barcode {conflict.barcode!r}",
        )
        loan_id, borrower, home_campus = holder
        if loan_id is None:
            return  # back on the shelf meanwhile: nothing to take back
        card = uow.get(domain.CARD, borrower)
        lent_on = card.state.loans[loan_id].lent_on
        back = domain.ReturnCopy(
            conflict.barcode,
            conflict.campus,
            max(day, lent_on),
            home_campus=home_campus,
            calendar=self._calendar(uow),
        )
        uow.record(card, domain.decide(card.state, back))

    def _timezone(self) -> str:
        return self.rules.calendar.timezone
