"""The gateway's part of a payment's receipt (收据): JSON as circulation answers it, or
the printed page, drawn here in the request's language (no file travels over RPC)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from services.gateway import exports
from services.gateway.routing import ApiRequest, Reply
from shared.paper.pdf import PDF, render
from shared.paper.receipts import receipt_sheet


def receipt_answer(request: ApiRequest, payment: Mapping[str, Any]) -> Any:
    """The receipt as asked: JSON by default, a one-page PDF for ``?format=pdf``."""
    if exports.wanted(request) != "pdf":
        return payment
    words = exports.words_of(request)
    number = payment["receipt_no"]
    title = words("receipts.file", number=number)
    printed = render([receipt_sheet(payment, words)], words, title, exports.printed_at(request))
    headers = {"Content-Disposition": exports.disposition(title, f"receipt-{number}", "pdf")}
    return Reply(printed, content_type=PDF, headers=headers)
