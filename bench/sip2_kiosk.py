"""A bench kiosk's side of SIP2, pure: the lines it sends and what it reads in the answers.

The bench speaks through the server's own codec (``services.sip2.protocol``: its
request layouts build what a kiosk sends, its response layouts read the answers),
so no message is spelled twice. Whether that codec follows the 2.00 specification
is the tests' business: they check it against a client written apart from it
(tests/sip2_client.py), and tests/unit/test_bench.py checks these lines against that
client byte for byte. Like a real kiosk, every line carries error detection (AY
sequence digit, AZ checksum).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from services.sip2.protocol import REQUESTS, RESPONSES, Message, build, parse

BLANK_DATE = " " * 18  # nb due date: none


@dataclass(frozen=True)
class Answer:
    """What the kiosk shows of an answer: its code, the ok flag, the screen message (AF)."""

    code: str
    ok: bool
    screen: str


@dataclass
class KioskLines:
    """One kiosk's requests, its AY sequence going 0..9 and round, as the spec has it."""

    encoding: str = "utf-8"
    institution: str = "school"
    sequence: int = 0

    def _line(self, code: str, fixed: dict[str, str | datetime], fields: dict[str, str]) -> bytes:
        message = Message(
            code, {}, {key: [value] for key, value in fields.items()}, self.sequence, True
        )
        self.sequence = (self.sequence + 1) % 10
        return build(message, self.encoding, layouts=REQUESTS, values=fixed)

    def login(self, username: str, password: str, location: str) -> bytes:
        """93: the kiosk's account and the location code it stands at."""
        fixed = {"uid_algorithm": "0", "pwd_algorithm": "0"}
        return self._line("93", fixed, {"CN": username, "CO": password, "CP": location})

    def checkout(self, patron: str, item: str, now: datetime) -> bytes:
        """11: lend ``item`` to the card ``patron`` (no renewal policy, not offline)."""
        fixed = {
            "sc_renewal_policy": "N",
            "no_block": "N",
            "transaction_date": now,
            "nb_due_date": BLANK_DATE,
        }
        fields = {"AO": self.institution, "AA": patron, "AB": item, "AC": ""}
        return self._line("11", fixed, fields)

    def checkin(self, item: str, now: datetime, location: str = "") -> bytes:
        """09: take ``item`` back, returned now."""
        fixed = {"no_block": "N", "transaction_date": now, "return_date": now}
        fields = {"AP": location, "AO": self.institution, "AB": item, "AC": ""}
        return self._line("09", fixed, fields)

    def read(self, raw: bytes) -> Answer:
        """An answer (its CR included or not); ``Sip2Error`` when it is not a good one."""
        message = parse(raw, self.encoding, layouts=RESPONSES)
        ok = message.fixed.get("ok", "0") == "1"
        return Answer(message.code, ok, " ".join(message.all("AF")))
