"""The receipt (收据) a reader is given for a payment towards a lost book.

A Chinese receipt shows the amount twice: in figures (¥12.50) and in capital
numerals (大写: 壹拾贰元伍角整), which cannot be altered by adding a stroke;
``in_capitals`` writes the second. ``receipt_sheet`` lays a payment out as one
printed page (``shared.paper.pdf``), worded from ``receipts.json``.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from shared.paper.classes import written_class
from shared.paper.pdf import Sheet
from shared.paper.words import Words
from shared.runtime.school_calendar import local_date

DIGITS = "零壹贰叁肆伍陆柒捌玖"
PLACES = ((1000, "仟"), (100, "佰"), (10, "拾"), (1, ""))  # within a group of four digits
GROUPS = ("", "万", "亿")  # each group of four digits, from the lowest
CENT = Decimal("0.01")


def in_capitals(amount: Decimal | str) -> str:
    """An amount in yuan as a receipt writes it in words: 12.50 → 壹拾贰元伍角整,
    100.05 → 壹佰元零伍分, 0.50 → 伍角整, 0 → 零元整. "整" closes an amount without
    分; a zero between 元 and 分 is written (元零伍分), as banks and schools write it."""
    cents = int((Decimal(amount) * 100).quantize(Decimal(1), ROUND_HALF_UP))
    if cents < 0:
        raise ValueError(f"an amount to write in capitals cannot be negative: {amount}")
    yuan, jiao, fen = divmod(cents, 100)[0], cents // 10 % 10, cents % 10
    if not cents:
        return "零元整"
    words = _integer(yuan) + "元" if yuan else ""
    if jiao:
        words += DIGITS[jiao] + "角"
    elif fen and yuan:
        words += "零"
    return words + (DIGITS[fen] + "分" if fen else "整")


def _integer(number: int) -> str:
    """A whole number in capitals: 10050 → 壹万零伍拾, 1005 → 壹仟零伍."""
    groups = []
    while number:
        number, group = divmod(number, 10000)
        groups.append(group)
    words, gap = "", False
    for index in reversed(range(len(groups))):
        group = groups[index]
        if not group:
            gap = bool(words)
            continue
        if words and (gap or group < 1000):
            words += "零"
        words += _group(group) + GROUPS[index]
        gap = False
    return words


def _group(group: int) -> str:
    """1 to 9999 in capitals, with one 零 for any run of zeros inside it."""
    words, zero = "", False
    for place, unit in PLACES:
        digit = group // place % 10
        if not digit:
            zero = bool(words)
            continue
        if zero:
            words += "零"
            zero = False
        words += DIGITS[digit] + unit
    return words


def yuan(amount: Decimal | str) -> str:
    """¥12.50: an amount in figures, two places."""
    return f"¥{Decimal(amount).quantize(CENT)}"


def paper_date(moment: str, words: Words) -> str:
    """The school's day of a moment (ISO, with offset) as paper writes it: 2026年12月7日."""
    day = local_date(moment)
    return words("receipts.date", year=day.year, month=day.month, day=day.day)


def receipt_sheet(payment: Mapping[str, Any], words: Words) -> Sheet:
    """One payment's receipt as a printed page: the library, the number and the day, the
    reader (name, class), the book (title, barcode), the amount in figures and in
    capitals, the balance still owed after it and who took the money."""
    campus = words(f"common.campus.{payment['campus']}")
    reader = payment["name"]
    if payment.get("class_name"):
        reader += f"（{written_class(payment['class_name'], words)}）"
    taken_by = payment.get("taken_by") or payment.get("taken_by_username") or ""
    rows = [
        [words("receipts.reader"), reader],
        [words("receipts.card"), payment["patron_id"]],
        [words("receipts.book"), payment["title"] or ""],
        [words("receipts.barcode"), payment["barcode"]],
        [words("receipts.price"), yuan(payment["replacement_cost"])],
        [words("receipts.amount"), yuan(payment["amount"])],
        [words("receipts.in_capitals"), in_capitals(payment["amount"])],
        [words("receipts.balance"), yuan(payment["balance"])],
        [words("receipts.taken_by"), taken_by],
    ]
    settled = Decimal(payment["balance"]) == 0
    return Sheet(
        title=words("receipts.title"),
        lines=[
            words("receipts.library", campus=campus),
            words("receipts.number", number=payment["receipt_no"]),
            words("receipts.paid_on", day=paper_date(payment["paid_at"], words)),
        ],
        columns=[words("receipts.item"), words("receipts.detail")],
        rows=rows,
        widths=[0.3, 0.7],
        closing=[
            words("receipts.settled" if settled else "receipts.still_owed",
                  balance=yuan(payment["balance"])),
            words("receipts.signature", name=taken_by),
            words("receipts.keep"),
        ],
    )  # fmt: skip
