"""Reading figures built from circulation's events."""

from __future__ import annotations

from shared.consumer import Cursor, Projection
from shared.envelope import Envelope

COUNT_LOAN = """
    INSERT INTO books_read (patron_id, loans) VALUES (%s, 1)
    ON CONFLICT (patron_id) DO UPDATE SET loans = books_read.loans + 1
"""


class BooksRead(Projection):
    """How many books each patron has borrowed."""

    name = "books_read"
    sources = ("circulation",)
    tables = ("books_read",)

    def apply(self, cursor: Cursor, event: Envelope) -> None:
        if event.type == "Lent":
            cursor.execute(COUNT_LOAN, (event.data["patron_id"],))
