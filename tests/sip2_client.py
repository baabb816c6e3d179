"""A tiny SIP2 client for tests, written from the 2.00 specification on its own.

It shares no code with ``services.sip2.protocol`` on purpose: request lines are spelled
out message by message, the checksum is summed here again, and responses are cut by this
file's own table of fixed widths, so a test that round-trips through both checks the
codec against the specification, not against itself. Pure: it makes and reads bytes; a
test (or a later socket test) carries them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

# Fixed-field widths of each response, in order, as the specification lists them.
RESPONSE_FIXED: dict[str, list[tuple[str, int]]] = {
    "94": [("ok", 1)],
    "98": [
        ("online_status", 1),
        ("checkin_ok", 1),
        ("checkout_ok", 1),
        ("acs_renewal_policy", 1),
        ("status_update_ok", 1),
        ("offline_ok", 1),
        ("timeout_period", 3),
        ("retries_allowed", 3),
        ("date_time_sync", 18),
        ("protocol_version", 4),
    ],
    "64": [
        ("patron_status", 14),
        ("language", 3),
        ("transaction_date", 18),
        ("hold_items_count", 4),
        ("overdue_items_count", 4),
        ("charged_items_count", 4),
        ("fine_items_count", 4),
        ("recall_items_count", 4),
        ("unavailable_holds_count", 4),
    ],
    "24": [("patron_status", 14), ("language", 3), ("transaction_date", 18)],
    "12": [
        ("ok", 1),
        ("renewal_ok", 1),
        ("magnetic_media", 1),
        ("desensitize", 1),
        ("transaction_date", 18),
    ],
    "10": [
        ("ok", 1),
        ("resensitize", 1),
        ("magnetic_media", 1),
        ("alert", 1),
        ("transaction_date", 18),
    ],
    "30": [
        ("ok", 1),
        ("renewal_ok", 1),
        ("magnetic_media", 1),
        ("desensitize", 1),
        ("transaction_date", 18),
    ],
    "18": [
        ("circulation_status", 2),
        ("security_marker", 2),
        ("fee_type", 2),
        ("transaction_date", 18),
    ],
    "36": [("end_session", 1), ("transaction_date", 18)],
    "96": [],
}


def sip_checksum(data: bytes) -> str:
    """The spec's way, step by step: add the bytes, keep 16 bits, negate (invert, add 1)."""
    total = 0
    for byte in data:
        total = (total + byte) % 65536
    return "%04X" % ((~total + 1) % 65536)  # noqa: UP031 - written as the spec says it


def sip_now(when: datetime | None = None) -> str:
    """A transaction date, local time: the zone is four blanks."""
    when = when or datetime(2026, 3, 2, 9, 30, 0)
    return when.strftime("%Y%m%d") + "    " + when.strftime("%H%M%S")


@dataclass
class Reply:
    """A response as the kiosk sees it."""

    code: str
    fixed: dict[str, str]
    fields: dict[str, list[str]] = field(default_factory=dict)
    sequence: int | None = None
    checksum: str | None = None
    raw: bytes = b""

    def first(self, field_id: str) -> str | None:
        values = self.fields.get(field_id)
        return values[0] if values else None


@dataclass
class Client:
    """Builds request lines (with AY/AZ when ``error_detection``) and reads the answers."""

    encoding: str = "utf-8"
    error_detection: bool = True
    institution: str = "school"
    terminal_password: str = ""
    sequence: int = 0
    last_sequence: int | None = None

    def line(self, text: str) -> bytes:
        """A request with its trailer and CR; the sequence digit goes 0..9 and round."""
        data = text.encode(self.encoding)
        if self.error_detection:
            self.last_sequence = self.sequence
            data += b"AY" + str(self.sequence).encode() + b"AZ"
            data += sip_checksum(data).encode()
            self.sequence = (self.sequence + 1) % 10
        return data + b"\r"

    # -- requests, each spelled out as the spec lists its fields --

    def login(self, user: str, password: str, location: str | None = None) -> bytes:
        text = "93" + "0" + "0" + "CN" + user + "|" + "CO" + password + "|"
        if location is not None:
            text += "CP" + location + "|"
        return self.line(text)

    def sc_status(self, status: str = "0", width: str = "040", version: str = "2.00") -> bytes:
        return self.line("99" + status + width + version)

    def patron_information(self, patron: str, summary: str = " " * 10) -> bytes:
        return self.line(
            "63" + "000" + sip_now() + summary
            + "AO" + self.institution + "|" + "AA" + patron + "|"
            + "AC" + self.terminal_password + "|"
        )  # fmt: skip

    def patron_status(self, patron: str) -> bytes:
        return self.line(
            "23" + "000" + sip_now()
            + "AO" + self.institution + "|" + "AA" + patron + "|"
            + "AC" + self.terminal_password + "|" + "AD" + "|"
        )  # fmt: skip

    def checkout(self, patron: str, item: str, *, no_block: bool = False) -> bytes:
        return self.line(
            "11" + "N" + ("Y" if no_block else "N") + sip_now() + " " * 18
            + "AO" + self.institution + "|" + "AA" + patron + "|" + "AB" + item + "|"
            + "AC" + self.terminal_password + "|"
        )  # fmt: skip

    def checkin(self, item: str, location: str = "") -> bytes:
        return self.line(
            "09" + "N" + sip_now() + sip_now()
            + "AP" + location + "|" + "AO" + self.institution + "|" + "AB" + item + "|"
            + "AC" + self.terminal_password + "|"
        )  # fmt: skip

    def renew(self, patron: str, item: str) -> bytes:
        return self.line(
            "29" + "N" + "N" + sip_now() + " " * 18
            + "AO" + self.institution + "|" + "AA" + patron + "|" + "AB" + item + "|"
            + "AC" + self.terminal_password + "|"
        )  # fmt: skip

    def item_information(self, item: str) -> bytes:
        return self.line(
            "17" + sip_now() + "AO" + self.institution + "|" + "AB" + item + "|"
            + "AC" + self.terminal_password + "|"
        )  # fmt: skip

    def end_session(self, patron: str) -> bytes:
        return self.line(
            "35" + sip_now() + "AO" + self.institution + "|" + "AA" + patron + "|"
            + "AC" + self.terminal_password + "|"
        )  # fmt: skip

    def resend(self) -> bytes:
        """97: never a sequence number, but a checksum when error detection is on."""
        data = b"97"
        if self.error_detection:
            data += b"AZ" + sip_checksum(data + b"AZ").encode()
        return data + b"\r"

    # -- responses --

    def read(self, raw: bytes) -> Reply:
        """A response cut by the spec's widths; its checksum must hold when it has one."""
        assert raw.endswith(b"\r"), f"a response ends with CR: {raw!r}"
        body = raw[:-1]
        sequence = checksum = None
        at = body.rfind(b"AZ")
        if at >= 0 and len(body) - at == 6:
            checksum = body[at + 2 :].decode("ascii")
            summed = sip_checksum(body[: at + 2])
            assert checksum == summed, f"response checksum {checksum}, summed {summed}"
            body = body[:at]
            if body[-3:-1] == b"AY" and body[-1:].isdigit():
                sequence = int(body[-1:])
                body = body[:-3]
        text = body.decode(self.encoding)
        code, position = text[:2], 2
        fixed: dict[str, str] = {}
        for name, width in RESPONSE_FIXED[code]:
            fixed[name] = text[position : position + width]
            assert len(fixed[name]) == width, f"{code}: {name} cut short in {text!r}"
            position += width
        fields: dict[str, list[str]] = {}
        rest = text[position:]
        assert rest == "" or rest.endswith("|"), f"every variable field ends with |: {rest!r}"
        for part in rest.split("|")[:-1]:
            fields.setdefault(part[:2], []).append(part[2:])
        return Reply(code, fixed, fields, sequence, checksum, raw)
