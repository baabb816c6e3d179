"""What a kiosk's message does: the calls to accounts and circulation, and the answer.

One ``Desk`` per message, made by the service's worker with its RPC clients. Lending,
returning and renewing are circulation's commands, each with a ``command_id`` derived
from what the kiosk sent (``command_id``): a kiosk that did not get its answer (the
connection dropped, this service was killed) sends the same message again and
circulation answers the first receipt instead of lending twice.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from logging import getLogger
from typing import Any

from services.sip2 import protocol as p
from services.sip2.answers import Answers
from services.sip2.session import Kiosk, Session
from shared.messaging.calls import RemoteFailure
from shared.runtime.rights import rights_of

_log = getLogger(__name__)

# The namespace of the kiosks' command ids (uuid5 over what the kiosk sent).
KIOSK_COMMANDS = uuid.UUID("5f1d3c8e-2b7a-4e61-9c0d-7a4b2e9f1c36")
KIOSK_RIGHT = "kiosk"


def command_id(kind: str, kiosk: Kiosk, request: p.Message, *parts: str | None) -> str:
    """The same id for the same message from the same kiosk: its kind, the kiosk, the
    institution it named, the identifiers it sent and its transaction date (to the second,
    as the kiosk wrote it, so a resend is the same and the next scan of the book is not)."""
    named = (
        kind,
        kiosk.account_id,
        kiosk.campus,
        request.get("AO") or "",
        *(part or "" for part in parts),
        request.fixed.get("transaction_date", ""),
    )
    return str(uuid.uuid5(KIOSK_COMMANDS, "\x1f".join(named)))


class Desk:
    """The handlers of the messages a signed-in kiosk (or one signing in) sends."""

    def __init__(
        self,
        session: Session,
        circulation: Any,
        accounts: Any,
        answers: Answers,
        max_loans: Callable[[str], int | None],
        timeout: float,
    ) -> None:
        self.session = session
        self.circulation = circulation
        self.accounts = accounts
        self.answers = answers
        self.max_loans = max_loans
        self.timeout = timeout

    def answer(self, request: p.Message) -> p.Message:
        handler = {
            "93": self.login,
            "99": self.status,
            "63": self.patron,
            "23": self.patron,
            "11": self.checkout,
            "09": self.checkin,
            "29": self.renew,
            "17": self.item,
            "35": self.end_session,
        }[request.code]
        return handler(request)

    # ---------------------------------------------------------------- sign in, status

    def login(self, request: p.Message) -> p.Message:
        """94: ok only for a kiosk account's right password, at its campus (CP, if given)."""
        kiosk = self._kiosk(request.get("CN") or "", request.get("CO") or "", request.get("CP"))
        self.session.kiosk = kiosk
        if kiosk is None:
            self.session.login_failures += 1
        else:
            self.session.login_failures = 0
            self.answers.campus = kiosk.campus
        return self.answers.login(request, kiosk is not None)

    def _kiosk(self, username: str, password: str, location: str | None) -> Kiosk | None:
        try:
            signed = self.accounts.login(
                {"username": username, "password": password, "address": self.session.address}
            )
        except RemoteFailure as failure:
            if failure.exc_type in ("SignInRefused", "BadRequest"):
                _log.warning("kiosk sign-in refused for %r: %s", username, failure.value)
                return None
            raise
        try:  # the kiosk keeps its connection, not a session of the web's
            self.accounts.logout(signed["token"])
        except Exception:  # noqa: BLE001 - the session expires by itself
            _log.warning("could not end the sign-in session of kiosk %r", username)
        account = signed["account"]
        campus = account.get("campus")
        if KIOSK_RIGHT not in rights_of(account.get("roles") or ()) or not campus:
            _log.warning("%r signed in at a kiosk but is no kiosk account", username)
            return None
        if location and not self._names_campus(location, campus):
            _log.warning("kiosk %r of %s gave location %r", username, campus, location)
            return None
        _log.info("kiosk %s signed in (%s)", account["account_id"], campus)
        return Kiosk(account["account_id"], account["username"], campus)

    def _names_campus(self, location: str, campus: str) -> bool:
        names = {campus, self.answers.campus_name(campus)}
        return location.strip().casefold() in {name.casefold() for name in names}

    def status(self, request: p.Message) -> p.Message:
        return self.answers.status(request, self.session.signed_in, self.timeout)

    # ---------------------------------------------------------------- the reader

    def patron(self, request: p.Message) -> p.Message:
        """64 / 24: the card, its loans, reservations and what it owes (``patron_loans``)."""
        found = self._look_up("patron_loans", request.get("AA"))
        if found is None:
            return self.answers.patron(request, None, None)
        return self.answers.patron(request, found, self.max_loans(found["patron"]["kind"]))

    # ---------------------------------------------------------------- loans

    def checkout(self, request: p.Message) -> p.Message:
        kiosk = self._signed_in()
        patron_id, barcode = request.get("AA"), request.get("AB")
        lend = {
            "command_id": command_id("checkout", kiosk, request, patron_id, barcode),
            "barcode": barcode,
            "patron_id": patron_id,
            "campus": kiosk.campus,
        }
        try:
            loan = self.circulation.lend(lend)
        except RemoteFailure as failure:
            held = self._lent_to(failure, barcode, patron_id)
            if held is not None:
                return self.answers.lent(request, held)
            return self.answers.loan_refused(request, self._refusal(failure, barcode))
        return self.answers.lent(request, loan)

    def _lent_to(self, failure: RemoteFailure, barcode: str | None, patron_id: str | None) -> Any:
        """The copy's loan when it is on loan to this very reader already: a kiosk that
        lost its answer and made the checkout again (a new transaction date, so a new
        command) is told it is lent, as it is, not that the book is someone else's."""
        if failure.exc_type != "Refused" or failure.code != "copy_on_loan":
            return None
        try:
            copy = self.circulation.copy_availability(barcode)
        except RemoteFailure:
            return None
        return copy if copy.get("patron_id") == patron_id else None

    def checkin(self, request: p.Message) -> p.Message:
        kiosk = self._signed_in()
        barcode = request.get("AB")
        back = {
            "command_id": command_id("checkin", kiosk, request, barcode),
            "barcode": barcode,
            "campus": kiosk.campus,
        }
        try:
            receipt = self.circulation.return_copy(back)
        except RemoteFailure as failure:
            return self.answers.return_refused(request, self._refusal(failure, barcode))
        return self.answers.returned(request, receipt)

    def renew(self, request: p.Message) -> p.Message:
        """30: the reader's (AA) loan of the copy (AB), renewed once as at the desk."""
        kiosk = self._signed_in()
        patron_id, barcode = request.get("AA"), request.get("AB")
        found = self._look_up("patron_loans", patron_id)
        if found is None:
            return self.answers.loan_refused(request, self.answers.refusal_text("no_card"))
        loan = next((x for x in found["loans"] if x["barcode"] == barcode), None)
        if loan is None:
            return self.answers.loan_refused(request, self.answers.refusal_text("not_on_loan"))
        renew = {
            "command_id": command_id("renew", kiosk, request, patron_id, barcode),
            "loan_id": loan["loan_id"],
            "campus": kiosk.campus,
        }
        try:
            renewed = self.circulation.renew(renew)
        except RemoteFailure as failure:
            return self.answers.loan_refused(request, self._refusal(failure, barcode))
        return self.answers.renewed(request, renewed, loan["title"])

    # ---------------------------------------------------------------- a copy, the session

    def item(self, request: p.Message) -> p.Message:
        return self.answers.item(request, self._look_up("copy_availability", request.get("AB")))

    def end_session(self, request: p.Message) -> p.Message:
        """36: the kiosk is done with this reader; nothing is kept of a reader here."""
        return self.answers.session_ended(request)

    # ---------------------------------------------------------------- refusals

    def _look_up(self, query: str, key: str | None) -> Any:
        """Circulation's answer to ``query(key)``, or None when it knows no such card or
        copy (or the kiosk sent none)."""
        try:
            return getattr(self.circulation, query)(key)
        except RemoteFailure as failure:
            if failure.exc_type not in ("NotFound", "BadRequest"):
                raise
            return None

    def _signed_in(self) -> Kiosk:
        kiosk = self.session.kiosk
        if kiosk is None:  # the connection lets no such message through: a bug if here
            raise RuntimeError("a loan message from a kiosk that has not signed in")
        return kiosk

    def _refusal(self, failure: RemoteFailure, barcode: str | None) -> str:
        """The screen message of a refused command, by circulation's refusal code."""
        if failure.exc_type == "Refused":
            fields: Mapping[str, Any] = {}
            if failure.code == "wrong_campus":
                fields = {"campus": self._copy_campus(barcode)}
            return self.answers.refusal_text(failure.code, **fields)
        if failure.exc_type == "NotFound":
            known = self._copy_campus(barcode) is not None
            return self.answers.refusal_text("no_card" if known else "unknown_copy")
        if failure.exc_type == "BadRequest":
            errors = failure.arg(1, {})
            named = errors if isinstance(errors, dict) else {}
            code = "no_card" if "patron_id" in named else "unknown_copy"
            return self.answers.refusal_text(code if named else "other")
        _log.warning("kiosk command refused: %s", failure)
        return self.answers.refusal_text("other")

    def _copy_campus(self, barcode: str | None) -> str | None:
        try:
            return self.circulation.copy_availability(barcode).get("campus")
        except RemoteFailure:
            return None
