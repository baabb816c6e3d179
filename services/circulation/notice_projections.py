"""Read models of holds and notices (inline, circulation's own events) and of the
addresses notices go to (the accounts' events: e-mail, classes, card)."""

from __future__ import annotations

from shared.events.envelope import Envelope
from shared.eventsourcing.projection import Cursor, Projection

INSERT_HOLD = """
    INSERT INTO holds (reservation_id, patron_id, barcode, campus, isbn, title, ready_on,
                       pick_up_by)
    VALUES (%(reservation_id)s, %(patron_id)s, %(barcode)s, %(campus)s, %(isbn)s, %(title)s,
            %(ready_on)s, %(pick_up_by)s)
    ON CONFLICT (reservation_id) DO UPDATE SET barcode = EXCLUDED.barcode,
        ready_on = EXCLUDED.ready_on, pick_up_by = EXCLUDED.pick_up_by, status = 'ready',
        notice_id = NULL, claimed_at = NULL
"""
CLOSE_HOLD = """
    UPDATE holds SET status = %s WHERE reservation_id = %s AND status = 'ready'
"""
HOLD_TOLD = "UPDATE holds SET notice_id = %(notice_id)s WHERE reservation_id = %(reservation_id)s"
INSERT_NOTICE = """
    INSERT INTO notices (notice_id, kind, account_id, name, email, language, subject,
                         class_name, loan_ids, reservation_id, outcome, error, sent_at, position)
    VALUES (%(notice_id)s, %(kind)s, %(account_id)s, %(name)s, %(email)s, %(language)s,
            %(subject)s, %(class_name)s, %(loan_ids)s, %(reservation_id)s, %(outcome)s,
            %(error)s, %(sent_at)s, %(position)s)
    ON CONFLICT (notice_id) DO NOTHING
"""


class Holds(Projection):
    """Copies ready for the readers who reserved them, until picked up or released."""

    name = "holds"
    sources = ("circulation",)
    tables = ("holds",)
    writes_only = True

    def apply(self, cursor: Cursor, event: Envelope) -> None:
        data = event.data
        match event.type:
            case "HoldReady":
                cursor.execute(INSERT_HOLD, data)
            case "HoldExpired":  # the reservation's end: ``Reservations`` (projections.py)
                cursor.execute(CLOSE_HOLD, ("expired", data["reservation_id"]))
            case "ReservationFulfilled":
                cursor.execute(CLOSE_HOLD, ("picked_up", data["reservation_id"]))
            case "ReservationCancelled":
                cursor.execute(CLOSE_HOLD, ("cancelled", data["reservation_id"]))
            case "NoticeSent" if data.get("reservation_id"):
                cursor.execute(HOLD_TOLD, data)


class Notices(Projection):
    """Every e-mail the library sent or tried to, newest first for the librarian."""

    name = "notices"
    sources = ("circulation",)
    tables = ("notices",)
    writes_only = True

    def apply(self, cursor: Cursor, event: Envelope) -> None:
        if event.type == "NoticeSent":
            cursor.execute(
                INSERT_NOTICE,
                {"class_name": None, "reservation_id": None, "error": None, **event.data,
                 "position": event.position},
            )  # fmt: skip


UPSERT_ADDRESS = """
    INSERT INTO notice_addresses (account_id, name, roles, patron_id, classes, email)
    VALUES (%(account_id)s, %(name)s, %(roles)s, %(patron_id)s, %(classes)s, %(email)s)
    ON CONFLICT (account_id) DO UPDATE SET name = EXCLUDED.name, roles = EXCLUDED.roles,
        patron_id = EXCLUDED.patron_id, classes = EXCLUDED.classes, email = EXCLUDED.email
"""


class NoticeAddresses(Projection):
    """Who gets notices: each account's e-mail address, roles, classes and card."""

    name = "notice_addresses"
    sources = ("accounts",)
    tables = ("notice_addresses",)
    writes_only = True

    def apply(self, cursor: Cursor, event: Envelope) -> None:
        data = event.data
        match event.type:
            case "AccountCreated":
                cursor.execute(
                    UPSERT_ADDRESS,
                    {
                        "patron_id": None,
                        "email": None,
                        **data,
                        "classes": data.get("classes") or [],
                    },
                )
            case "AccountRoleChanged":
                self._set(cursor, "roles", data["roles"], data["account_id"])
            case "AccountClassesSet":
                self._set(cursor, "classes", data["classes"], data["account_id"])
            case "EmailChanged":
                self._set(cursor, "email", data["email"], data["account_id"])
            case "AccountDisabled" | "AccountEnabled":
                disabled = event.type == "AccountDisabled"
                self._set(cursor, "disabled", disabled, data["account_id"])

    @staticmethod
    def _set(cursor: Cursor, column: str, value: object, account_id: str) -> None:
        cursor.execute(
            f"UPDATE notice_addresses SET {column} = %s WHERE account_id = %s",  # noqa: S608
            (value, account_id),
        )


INLINE = (Holds(), Notices())
