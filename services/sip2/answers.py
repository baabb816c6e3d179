"""The kiosk's answers as SIP2 responses: circulation's data in, ``protocol.Message`` out.

Pure (no I/O): each function takes what the services said and the time, and fills the
response's fixed and variable fields in the 2.00 layout (``protocol.RESPONSES``). A
refusal is the message's own response with its ok flag 0 (or the card's privileges
denied) and a screen message (AF) in the kiosks' language, worded from
shared/paper/locales/<language>/sip2.json by the refusal's code.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, time
from typing import Any

from services.sip2 import protocol as p
from shared.paper.words import Words

# The requests this service answers: the ACS status's supported-messages field (BX) says so.
IMPLEMENTED = ("93", "99", "97", "63", "23", "11", "09", "29", "17", "35")
# SIP2 language codes (the spec's table): 001 English, 019 Chinese.
LANGUAGE_CODES = {"zh-CN": "019", "en": "001"}
CURRENCY = "CNY"
MAX_FIELD = 255  # the spec's longest variable field
DENIED = (
    "charge_privileges_denied",
    "renewal_privileges_denied",
    "recall_privileges_denied",
    "hold_privileges_denied",
)
# Item circulation status (18) by circulation's desk status.
ITEM_STATUS = {
    "on_shelf": p.CIRCULATION_STATUS["available"],
    "on_loan": p.CIRCULATION_STATUS["charged"],
    "in_transit": p.CIRCULATION_STATUS["in_transit"],
    "damaged": p.CIRCULATION_STATUS["in_process"],
    "weeded": p.CIRCULATION_STATUS["missing"],
}
SECURITY_OTHER = "00"
FEE_OTHER = "01"
SORT_BIN_RESERVED = "reserved"  # CL: the reservations shelf; else the home campus's name
_UNSENDABLE = re.compile(r"[|\x00-\x1f\x7f]")


def clean(text: Any) -> str:
    """A value a field can carry: no ``|`` nor control characters, at most 255 characters."""
    return _UNSENDABLE.sub(" ", "" if text is None else str(text))[:MAX_FIELD]


def sip_due(due_on: str | date | None) -> str | None:
    """A due date (AH) as the spec writes dates: the end of that day, local time."""
    if not due_on:
        return None
    day = date.fromisoformat(due_on) if isinstance(due_on, str) else due_on
    return p.format_date(datetime.combine(day, time(23, 59, 59)))


class Answers:
    """The responses of one kiosk's messages, worded in ``language``."""

    def __init__(self, language: str, now: datetime, campus: str | None) -> None:
        self.words = Words(language)
        self.language_code = LANGUAGE_CODES.get(self.words.language, "000")
        self.now = now
        self.campus = campus or ""

    def say(self, key: str, **fields: Any) -> str:
        return clean(self.words(f"sip2.{key}", **fields))

    def campus_name(self, campus: str | None) -> str:
        return self.words(f"common.campus.{campus}") if campus else ""

    def refusal_text(self, code: str | None, **fields: Any) -> str:
        key = f"refused.{code}"
        if code and self.words.has(f"sip2.{key}"):
            if code == "wrong_campus":
                fields = {**fields, "campus": self.campus_name(fields.get("campus"))}
            return self.say(key, **fields)
        return self.say("refused.other")

    # ---------------------------------------------------------------- sign in, status

    def login(self, request: p.Message, ok: bool) -> p.Message:
        return p.response("94", request, ok=ok)

    def status(self, request: p.Message | None, signed_in: bool, timeout: float) -> p.Message:
        """98: online; lending and returns only once signed in; no offline lending here."""
        return p.response(
            "98",
            request,
            {
                "AO": self.campus,
                "AM": self.say_common("library"),
                "BX": p.supported_messages(IMPLEMENTED),
                "AN": None,
            },
            online_status=True,
            checkin_ok=signed_in,
            checkout_ok=signed_in,
            acs_renewal_policy=signed_in,
            status_update_ok=False,
            offline_ok=False,
            timeout_period=f"{min(999, max(0, round(timeout * 10))):03d}",
            retries_allowed="003",
            date_time_sync=self.now,
            protocol_version="2.00",
        )

    def say_common(self, key: str) -> str:
        return clean(self.words(f"common.{key}"))

    # ---------------------------------------------------------------- the reader

    def patron(
        self,
        request: p.Message,
        found: Mapping[str, Any] | None,
        max_loans: int | None,
        refusal: str | None = None,
    ) -> p.Message:
        """64 (patron information) or 24 (patron status) from ``patron_loans``' answer;
        an unknown card is ``BL`` N with every privilege denied."""
        patron_id = request.get("AA") or ""
        base = {"AO": self.campus, "AA": clean(patron_id)}
        if found is None:
            flags: set[str] = set(DENIED)
            fields: dict[str, Any] = {**base, "AE": "", "BL": "N"}
            fields["AF"] = refusal or self.refusal_text("no_card")
            loans: Sequence[Mapping[str, Any]] = ()
            reservations: Sequence[Mapping[str, Any]] = ()
            unpaid: Sequence[Mapping[str, Any]] = ()
        else:
            card = found["patron"]
            loans, unpaid = found.get("loans") or (), found.get("unpaid") or ()
            reservations = found.get("reservations") or ()
            flags, reason = card_flags(card, loans, max_loans)
            owed = card.get("owed") or "0"
            fields = {
                **base,
                "AE": clean(card.get("name")),
                "BL": "Y",
                "CQ": "Y" if request.get("AD") else None,
                "BH": CURRENCY,
                "BV": clean(owed),
                "AF": self.refusal_text(reason) if reason else None,
            }
            if request.code == "63" and max_loans is not None:
                fields["CB"] = f"{max_loans:04d}"
        status = p.patron_status(flags)
        if request.code == "23":
            fixed = {"patron_status": status, "language": self.language_code}
            return p.response("24", request, fields, transaction_date=self.now, **fixed)
        ready = [r for r in reservations if r.get("held_barcode")]
        waiting = [r for r in reservations if not r.get("held_barcode")]
        overdue = [loan for loan in loans if (loan.get("days_overdue") or 0) > 0]
        lists = {
            "hold_items": ("AS", [r["held_barcode"] for r in ready]),
            "overdue_items": ("AT", [loan["barcode"] for loan in overdue]),
            "charged_items": ("AU", [loan["barcode"] for loan in loans]),
            "fine_items": ("AV", [u["barcode"] for u in unpaid]),
            "recall_items": ("BU", []),
            "unavailable_holds": ("CD", [clean(r.get("title")) for r in waiting]),
        }
        summary = request.fixed.get("summary", "")
        asked = next((n for n, f in zip(p.SUMMARY_ORDER, summary, strict=False) if f == "Y"), None)
        if asked is not None:
            field_id, items = lists[asked]
            fields[field_id] = [clean(item) for item in window(items, request)]
        return p.response(
            "64",
            request,
            fields,
            patron_status=status,
            language=self.language_code,
            transaction_date=self.now,
            hold_items_count=len(ready),
            overdue_items_count=len(overdue),
            charged_items_count=len(loans),
            fine_items_count=len(unpaid),
            recall_items_count=0,
            unavailable_holds_count=len(waiting),
        )

    # ---------------------------------------------------------------- loans

    def lent(self, request: p.Message, loan: Mapping[str, Any]) -> p.Message:
        return self._loan_answer("12", request, loan, ok=True, key="done.lent")

    def renewed(self, request: p.Message, loan: Mapping[str, Any], title: str) -> p.Message:
        return self._loan_answer(
            "30", request, {"title": title, **loan}, ok=True, key="done.renewed"
        )

    def loan_refused(self, request: p.Message, text: str) -> p.Message:
        code = "12" if request.code == "11" else "30"
        return self._loan_answer(code, request, {}, ok=False, text=text)

    def _loan_answer(
        self,
        code: str,
        request: p.Message,
        loan: Mapping[str, Any],
        ok: bool,
        key: str | None = None,
        text: str | None = None,
    ) -> p.Message:
        due = loan.get("due_on")
        if key is not None:
            text = self.say(key, due=due or "")
        return p.response(
            code,
            request,
            {
                "AO": self.campus,
                "AA": clean(request.get("AA")),
                "AB": clean(request.get("AB")),
                "AJ": clean(loan.get("title")),
                "AH": sip_due(due) or "",
                "AF": text,
            },
            ok=ok,
            renewal_ok=ok and code == "30",
            magnetic_media="U",
            desensitize=ok if code == "12" else "U",
            transaction_date=self.now,
        )

    def returned(self, request: p.Message, receipt: Mapping[str, Any]) -> p.Message:
        """10: back, and where it goes now: the reservations shelf for a reader who reserved
        it, the transfer box for the other campus (sort bin CL, alert, a screen message)."""
        home = receipt.get("home_campus") or receipt.get("campus") or self.campus
        held = receipt.get("held_for")
        elsewhere = bool(home) and home != self.campus
        if held:
            bin_, text = SORT_BIN_RESERVED, self.say("done.held")
        elif elsewhere:
            bin_, text = home, self.say("done.transit", campus=self.campus_name(home))
        else:
            bin_, text = None, self.say("done.returned")
        return p.response(
            "10",
            request,
            {
                "AO": self.campus,
                "AB": clean(request.get("AB")),
                "AQ": clean(home),
                "AJ": clean(receipt.get("title")),
                "CL": bin_,
                "AA": clean(receipt.get("patron_id")),
                "AF": text,
            },
            ok=True,
            resensitize=not (held or elsewhere),
            magnetic_media="U",
            alert=bool(held or elsewhere),
            transaction_date=self.now,
        )

    def return_refused(self, request: p.Message, text: str) -> p.Message:
        return p.response(
            "10",
            request,
            {"AO": self.campus, "AB": clean(request.get("AB")), "AQ": "", "AF": text},
            ok=False,
            resensitize=False,
            magnetic_media="U",
            alert=False,
            transaction_date=self.now,
        )

    # ---------------------------------------------------------------- a copy, the session

    def item(self, request: p.Message, copy: Mapping[str, Any] | None) -> p.Message:
        """18 from ``copy_availability``; an unknown barcode is status 01 (other)."""
        if copy is None:
            return p.response(
                "18",
                request,
                {"AB": clean(request.get("AB")), "AJ": "", "AF": self.refusal_text("unknown_copy")},
                circulation_status=p.CIRCULATION_STATUS["other"],
                security_marker=SECURITY_OTHER,
                fee_type=FEE_OTHER,
                transaction_date=self.now,
            )
        status = copy.get("status") or "on_shelf"
        if status == "on_shelf" and copy.get("reference_only"):
            text = self.say("item.reference_only")
        elif status == "on_loan":
            text = self.say("item.on_loan", due=copy.get("due_on") or "")
        else:
            text = self.say(f"item.{status}") if self.words.has(f"sip2.item.{status}") else None
        return p.response(
            "18",
            request,
            {
                "AB": clean(copy.get("barcode")),
                "AJ": clean(copy.get("title")),
                "AH": sip_due(copy.get("due_on")),
                "AQ": clean(copy.get("campus")),
                "AP": clean((copy.get("transit") or {}).get("from_campus") or copy.get("campus")),
                "AF": text,
            },
            circulation_status=ITEM_STATUS.get(status, p.CIRCULATION_STATUS["other"]),
            security_marker=SECURITY_OTHER,
            fee_type=FEE_OTHER,
            transaction_date=self.now,
        )

    def session_ended(self, request: p.Message) -> p.Message:
        fields = {
            "AO": self.campus,
            "AA": clean(request.get("AA")),
            "AF": self.say("done.session_ended"),
        }
        return p.response("36", request, fields, end_session=True, transaction_date=self.now)

    # ---------------------------------------------------------------- any message refused

    def refused(self, request: p.Message, text: str) -> p.Message:
        """The message's own response, saying no: before signing in, or when the library's
        services do not answer."""
        code = request.code
        if code in ("11", "29"):
            return self.loan_refused(request, text)
        if code == "09":
            return self.return_refused(request, text)
        if code in ("63", "23"):
            return self.patron(request, None, None, refusal=text)
        if code == "17":
            answer = self.item(request, None)
            answer.fields["AF"] = [text]
            return answer
        if code == "35":
            fields = {"AO": self.campus, "AA": clean(request.get("AA")), "AF": text}
            return p.response("36", request, fields, end_session=False, transaction_date=self.now)
        if code == "93":
            return self.login(request, False)
        return self.status(request, False, 0)


def card_flags(
    card: Mapping[str, Any], loans: Iterable[Mapping[str, Any]], max_loans: int | None
) -> tuple[set[str], str | None]:
    """The patron status positions a card has, and the first reason it cannot borrow."""
    loans = list(loans)
    flags: set[str] = set()
    reason = None
    status = card.get("status")
    if status in ("blocked", "retired"):
        flags |= set(DENIED)
        reason = "card_blocked" if status == "blocked" else "card_retired"
    if any((loan.get("days_overdue") or 0) > 0 for loan in loans):
        flags |= {"charge_privileges_denied", "renewal_privileges_denied", "too_many_items_overdue"}
        reason = reason or "overdue"
    try:
        owed = float(card.get("owed") or 0)
    except ValueError:
        owed = 0.0
    if owed > 0:
        flags |= {"charge_privileges_denied", "excessive_outstanding_fees"}
        reason = reason or "unpaid_loss"
    if max_loans is not None and len(loans) >= max_loans:
        flags |= {"charge_privileges_denied", "too_many_items_charged"}
        reason = reason or "loan_limit"
    return flags, reason


def window(items: Sequence[str], request: p.Message) -> Sequence[str]:
    """The items from BP to BQ (1-based, both included) when the kiosk names them."""
    try:
        start = max(1, int(request.get("BP") or 1))
        end = int(request.get("BQ") or len(items))
    except ValueError:
        return items
    return items[start - 1 : end]
