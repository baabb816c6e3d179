"""Circulation's notices: overdue lists to class teachers, reserved books ready, and the
holds nobody came for. The entrypoints of ``CirculationService`` for them (a mixin, so
service.py only names it), over ``holds`` and ``notices`` (pure) and ``mailer`` (SMTP).

Why here and not in a service of its own: the overdue loans, the reservations and
the holds are circulation's, and a hold's expiry must decide on the card's stream;
a notices service would have needed its own database, broker user and archive
source for a handful of tables. The notices are circulation's events (``NoticeSent``)
and its read models (``notices``, ``holds``); the addresses come from the accounts'
events (``NoticeAddresses``).

A held copy's notice is sent after the transaction that made it ready (an outbox:
the ``holds`` row without a ``notice_id``), by the periodic check (``check_holds``,
a nameko timer) or right after the command that expired holds.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from logging import getLogger
from typing import Any

from nameko.timer import timer

from services.circulation import domain, holds, notices, queries
from services.circulation import schemas as s
from services.circulation.mailer import Mailer, Sent, Settings, send_many
from services.circulation.taking_back import mark_ready
from shared.errors import load
from shared.events import fields as f
from shared.eventsourcing.decider import Refused
from shared.eventsourcing.unit_of_work import UnitOfWork
from shared.messaging.rpc import rpc
from shared.paper.words import Words

_log = getLogger(__name__)

CHECK_SECONDS = 5
Pending = tuple[notices.Notice, Words, str, dict[str, Any]]  # an e-mail to send: key, to whom
CLAIM_MINUTES = 10  # a sender that took a hold's notice and died: another tries after this
NOTICES = uuid.UUID("4b1f8e0c-2f7a-4d0e-9a55-6f1c2b7d9e31")

TEACHERS_OF = """
    SELECT account_id, name, email FROM notice_addresses
    WHERE %s = ANY(classes) AND 'teacher' = ANY(roles) AND NOT disabled
    ORDER BY account_id
"""
ADDRESS_OF_CARD = """
    SELECT account_id, name, email FROM notice_addresses
    WHERE patron_id = %s AND NOT disabled ORDER BY account_id LIMIT 1
"""
CLAIM_UNTOLD = """
    UPDATE holds SET claimed_at = now()
    WHERE reservation_id IN (
        SELECT reservation_id FROM holds
        WHERE status = 'ready' AND notice_id IS NULL
          AND (claimed_at IS NULL OR claimed_at < now() - make_interval(mins => %s))
        ORDER BY ready_on, reservation_id LIMIT 50 FOR UPDATE SKIP LOCKED)
    RETURNING reservation_id, patron_id, barcode, campus, isbn, title, ready_on, pick_up_by
"""
DUE_HOLDS = """
    SELECT reservation_id, patron_id FROM holds
    WHERE status = 'ready' AND pick_up_by < %s ORDER BY pick_up_by, reservation_id
"""
WAITING_WITH_HOLDS = """
    SELECT r.reservation_id, r.patron_id,
           EXISTS (SELECT 1 FROM holds h
                   WHERE h.reservation_id = r.reservation_id AND h.status = 'ready') AS held
    FROM reservations r
    WHERE r.isbn = %s AND r.campus = %s AND r.status = 'open'
    ORDER BY r.reserved_at, r.reservation_id
"""
FREE_SHELF_COPIES = """
    SELECT barcode FROM copy_availability c
    WHERE isbn = %s AND campus = %s AND status = 'on_shelf' AND loan_id IS NULL
      AND NOT reference_only AND transit_from IS NULL
      AND NOT EXISTS (SELECT 1 FROM holds h WHERE h.barcode = c.barcode AND h.status = 'ready')
    ORDER BY barcode FOR UPDATE
"""
UNSERVED_BEFORE = """
    SELECT count(*) FROM reservations r
    WHERE r.isbn = %s AND r.campus = %s AND r.status = 'open' AND r.reservation_id <> %s
      AND NOT EXISTS (SELECT 1 FROM holds h
                      WHERE h.reservation_id = r.reservation_id AND h.status = 'ready')
"""
NOTICES_SENT = """
    SELECT notice_id, kind, account_id, name, email, language, subject, class_name, loan_ids,
           reservation_id, outcome, error, sent_at, position
    FROM notices
    WHERE (%(kind)s::text IS NULL OR kind = %(kind)s)
      AND (%(class_name)s::text IS NULL OR class_name = %(class_name)s)
      AND (%(outcome)s::text IS NULL OR outcome = %(outcome)s)
    ORDER BY position DESC LIMIT %(limit)s
"""
NOTICE_FIELDS = (
    "notice_id", "kind", "account_id", "name", "email", "language", "subject", "class_name",
    "loan_ids", "reservation_id", "outcome", "error", "sent_at", "position",
)  # fmt: skip


class Notifying:
    """The notices' entrypoints; mixed into ``CirculationService``."""

    mailer = Mailer()

    # ------------------------------------------------------------ overdue notices

    @rpc
    def send_overdue_notices(self, payload: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """E-mail each class teacher her class's overdue loans: who was told (delivered or
        failed), which teachers have no address, which classes have no teacher."""
        command = load(s.SendOverdueNotices(), dict(payload or {}))
        asked = {"class": command["class_name"], "campus": command["campus"], "on": command["on"]}
        overdue = self.overdue({k: str(v) for k, v in asked.items() if v is not None})
        on = overdue["on"]
        pending: list[Pending] = []
        counts: list[int] = []
        no_address, no_teacher = [], []
        for group in overdue["classes"]:
            class_name = group["class_name"]
            if not _is_class(class_name):
                continue  # teachers' own loans: no class teacher to tell
            with self.store.cursor() as cursor:
                cursor.execute(TEACHERS_OF, (class_name,))
                teachers = cursor.fetchall()
            if not teachers:
                no_teacher.append({"class_name": class_name, "loans": len(group["loans"])})
            for account_id, name, email in teachers:
                if not email:
                    no_address.append(
                        {"class_name": class_name, "account_id": account_id, "name": name}
                    )
                    continue
                words = Words(self.mailer.language)
                notice = notices.overdue_notice(
                    class_name,
                    name,
                    group["loans"],
                    on,
                    notices.overdue_print_link(self.mailer.web_address, class_name),
                    words,
                )
                who = {
                    "kind": "overdue",
                    "account_id": account_id,
                    "name": name,
                    "email": email,
                    "class_name": class_name,
                    "loan_ids": tuple(loan["loan_id"] for loan in group["loans"]),
                }
                key = f"{command['command_id'] or uuid.uuid4()}:{class_name}:{account_id}"
                pending.append((notice, words, key, who))
                counts.append(len(group["loans"]))
        told = [
            {**recorded, "loans": count}
            for recorded, count in zip(self._send_all(pending), counts, strict=True)
        ]
        return {"on": on, "told": told, "no_address": no_address, "no_teacher": no_teacher}

    # ------------------------------------------------------------ holds

    @rpc
    def expire_holds(self, payload: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Release the holds not picked up by their day (as of ``on``, today when left out):
        each copy passes to the next reader waiting or back to the shelf; then every reader
        with a copy newly ready is told."""
        command = load(s.ExpireHolds(), dict(payload or {}))
        today = command["on"] or self.rules.today()
        with self.store.cursor() as cursor:
            cursor.execute(DUE_HOLDS, (today,))
            due = cursor.fetchall()
        released = [
            self._release(reservation_id, patron_id, today) for reservation_id, patron_id in due
        ]
        return {
            "on": today.isoformat(),
            "released": [r for r in released if r is not None],
            "told": self.tell_ready_holds(),
        }

    @timer(interval=CHECK_SECONDS)
    def check_holds(self) -> None:
        """The periodic check: holds past their day released (``release_on_timer``, on by
        default), ready ones told."""
        try:
            if self.mailer.release_on_timer:
                self.expire_holds({})
            else:
                self.tell_ready_holds()
        except Exception:  # a check that fails is tried again at the next tick
            _log.exception("checking the held books failed")

    def _release(self, reservation_id: str, patron_id: str, today: date) -> dict[str, Any] | None:
        key = uuid.uuid5(NOTICES, f"expire:{reservation_id}")

        def handle(uow: UnitOfWork, _: Any) -> dict[str, Any] | None:
            try:
                stored = uow.execute(holds.HOLDS, patron_id, holds.Expire(reservation_id, today))
            except Refused:
                return None  # picked up or released meanwhile (another instance's check)
            expired = stored[0].data
            known = queries.copy(uow.cursor, expired["barcode"])
            passed_to = None
            if known is not None and domain.lendable(known[0]):
                uow.cursor.execute(WAITING_WITH_HOLDS, (expired["isbn"], expired["campus"]))
                names = ("reservation_id", "patron_id", "held")
                waiting = [dict(zip(names, row, strict=True)) for row in uow.cursor.fetchall()]
                passed_to = holds.next_reader(waiting, released_by=patron_id)
            if passed_to is not None:
                self._mark_ready(uow, passed_to, known[0], today)
            return {
                "reservation_id": reservation_id,
                "patron_id": patron_id,
                "barcode": expired["barcode"],
                "passed_to": None if passed_to is None else passed_to["patron_id"],
            }

        return self.store.run("expire_hold", {"command_id": key}, handle)

    def _mark_ready(
        self, uow: UnitOfWork, reader: Mapping[str, Any], copy: domain.CopyAtDesk, today: date
    ) -> None:
        """Hold ``copy`` for ``reader`` from ``today`` (``taking_back.mark_ready``)."""
        layered = getattr(self, "_calendar", None)  # the config's days and the librarian's
        calendar = layered(uow) if layered else self.rules.calendar
        mark_ready(uow, reader, copy, today, calendar, self.mailer.hold_pick_up_days)

    def _hold_from_shelf(self, uow: UnitOfWork, reserved: Mapping[str, Any]) -> None:
        """A title reserved while a copy of it is free on that campus's shelf: that copy is
        held for the reader from today (``HoldReady``, and the notice)."""
        isbn, campus = reserved["isbn"], reserved["campus"]
        uow.cursor.execute(FREE_SHELF_COPIES, (isbn, campus))
        free = [row[0] for row in uow.cursor.fetchall()]
        if not free:
            return
        uow.cursor.execute(UNSERVED_BEFORE, (isbn, campus, reserved["reservation_id"]))
        barcode = holds.shelf_copy_for(free, uow.cursor.fetchone()[0])
        known = queries.copy(uow.cursor, barcode) if barcode else None
        if known is not None:
            self._mark_ready(uow, reserved, known[0], self.rules.today())

    def tell_ready_holds(self) -> list[dict[str, Any]]:
        """E-mail each reader whose copy is ready and who was not told yet (and has an
        address: without one the desk tells them; a later address still gets it)."""
        with self.store.cursor() as cursor:
            cursor.execute(CLAIM_UNTOLD, (CLAIM_MINUTES,))
            untold = cursor.fetchall()
        pending: list[Pending] = []
        for reservation_id, patron_id, barcode, campus, _isbn, title, ready_on, by in untold:
            with self.store.cursor() as cursor:
                cursor.execute(ADDRESS_OF_CARD, (patron_id,))
                address = cursor.fetchone()
            if address is None or not address[2]:
                continue
            account_id, name, email = address
            words = Words(self.mailer.language)
            hold = {"title": title, "barcode": barcode, "campus": campus, "pick_up_by": by}
            notice = notices.hold_ready_notice(name, hold, words)
            who = {
                "kind": "hold_ready",
                "account_id": account_id,
                "name": name,
                "email": email,
                "reservation_id": reservation_id,
            }
            pending.append((notice, words, f"hold:{reservation_id}:{ready_on}:{barcode}", who))
        return self._send_all(pending)

    # ------------------------------------------------------------ sending and recording

    def _send_all(self, pending: Sequence[Pending]) -> list[dict[str, Any]]:
        """Send the e-mails over one connection and record each (``NoticeSent``),
        delivered or failed."""
        settings: Settings = self.mailer
        mails = [
            notices.message(notice, settings.sender, who["email"], who["name"], words)
            for notice, words, _, who in pending
        ]
        return [
            self._record(notice, words, key, sent, who)
            for (notice, words, key, who), sent in zip(
                pending, send_many(settings, mails), strict=True
            )
        ]

    def _record(
        self, notice: notices.Notice, words: Words, key: str, sent: Sent, who: Mapping[str, Any]
    ) -> dict[str, Any]:
        notice_id = "N" + uuid.uuid5(NOTICES, key).hex[:16]
        if not sent.delivered:
            _log.warning(
                "notice %s to %s not delivered: %s", notice_id, who["account_id"], sent.error
            )
        record = notices.RecordNotice(
            notice_id=notice_id,
            language=words.language,
            subject=notice.subject,
            sent_at=datetime.now(UTC),
            delivered=sent.delivered,
            error=sent.error,
            **who,
        )

        def handle(uow: UnitOfWork, _: Any) -> dict[str, Any]:
            try:
                return dict(uow.execute(notices.NOTICE, notice_id, record)[0].data)
            except Refused:
                return {"notice_id": notice_id, "outcome": "recorded_before"}

        return self.store.run("record_notice", {"command_id": uuid.uuid5(NOTICES, key)}, handle)

    @rpc
    def notices(self, payload: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The notices sent, newest first (by kind, class or outcome)."""
        query = load(s.NoticesQuery(), dict(payload or {}))
        with self.store.cursor() as cursor:
            cursor.execute(NOTICES_SENT, query)
            rows = [dict(zip(NOTICE_FIELDS, row, strict=True)) for row in cursor.fetchall()]
        for row in rows:
            row["sent_at"] = row["sent_at"].isoformat()
            row["loan_ids"] = list(row["loan_ids"])
        return {"notices": rows}


def _is_class(class_name: str) -> bool:
    return bool(f.CLASS_NAME_PATTERN.match(class_name or ""))
