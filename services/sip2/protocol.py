"""The SIP2 message codec (3M Standard Interchange Protocol 2.00), pure: bytes in, bytes out.

Written from the 2.00 specification ("Command Messages to the ACS", "Response Messages
from the ACS", "Standard Protocol Rules and Regulations" and "Error Detection"). Every
message kind is a row of data in ``LAYOUTS`` (its fixed fields with their widths, then its
variable fields in the spec's order), so parsing and building are one piece of code each.

A message is a line of bytes ended by CR: a two-digit command code, the fixed-length
fields in order, then variable fields ``XXvalue|`` by two-letter id, then, when the kiosk
uses error detection, ``AY<sequence digit>AZ<4 hex checksum>``. The checksum is taken over
the bytes as sent (so in GB18030 for the kiosks that speak it), which is why parsing
verifies it before decoding. Bad input raises a ``Sip2Error`` subclass naming the reason,
never anything else, so a server can answer it (96, resend) or close the connection.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

MAX_MESSAGE_BYTES = 4096  # far above any real message; a kiosk sending more is broken or hostile
DEFAULT_ENCODING = "utf-8"
TERMINATOR = b"\r"
DATE_WIDTH = 18  # YYYYMMDDZZZZHHMMSS


class Sip2Error(ValueError):
    """Bad SIP2 input; ``reason`` says what, in words a log or a test can match."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class MessageTooLong(Sip2Error):
    """More bytes than ``max_bytes`` without (or before) the CR that ends a message."""


class UndecodableMessage(Sip2Error):
    """Bytes that are not text in the listener's encoding, or carry control characters."""


class UnknownCommand(Sip2Error):
    """A command code this codec has no layout for (or no code at all)."""


class FieldTooShort(Sip2Error):
    """The message ends inside its fixed-length fields."""


class BadFieldValue(Sip2Error):
    """A fixed field with a value its kind does not allow (Y/N, digits, ...), a malformed
    variable field, or a value that cannot be sent (it holds ``|`` or a line break)."""


class BadDate(BadFieldValue):
    """A date field that is not ``YYYYMMDDZZZZHHMMSS`` of a real day and time."""


class BadChecksum(Sip2Error):
    """The AZ checksum does not match the bytes (or the trailer is malformed)."""


class MissingField(Sip2Error):
    """A variable field the message cannot be acted on without (the patron of a checkout)."""


# --- the layouts -------------------------------------------------------------------------

# Kinds of fixed fields: what characters they may hold.
YN = "Y/N"  # 'Y' or 'N'
YNU = "Y/N/U"  # 'Y', 'N' or 'U' (unknown), for magnetic media and desensitize
OK01 = "0/1"  # the ok flags of 94, 12, 10, 30
DIGITS = "digits"
DATE = "date"
DATE_OR_BLANK = "date or blank"  # nb due date: kiosks send 18 blanks when they have none
COUNT = "count"  # 4 digits, or 4 blanks when unknown
FLAGS = "Y or blank"  # patron status (14) and summary (10): a 'Y' marks a position
ANY = "any"


@dataclass(frozen=True)
class Fixed:
    name: str
    width: int
    kind: str = ANY


@dataclass(frozen=True)
class Layout:
    """One message kind: fixed fields in order, variable field ids in the spec's order,
    those the codec insists on (``required``) and those that may repeat."""

    code: str
    name: str
    fixed: tuple[Fixed, ...]
    variable: tuple[str, ...]
    required: frozenset[str] = frozenset()
    repeatable: frozenset[str] = frozenset({"AF", "AG"})


def _date(name: str = "transaction_date") -> Fixed:
    return Fixed(name, DATE_WIDTH, DATE)


# A checkout's answer (12) and a renewal's (30) have one layout in the spec: fixed fields,
# variable fields in order, and the ones it requires.
_LOAN_ANSWER = (
    (
        Fixed("ok", 1, OK01),
        Fixed("renewal_ok", 1, YN),
        Fixed("magnetic_media", 1, YNU),
        Fixed("desensitize", 1, YNU),
        _date(),
    ),
    ("AO", "AA", "AB", "AJ", "AH", "BT", "CI", "BH", "BV", "CK", "CH", "BK", "AF", "AG"),
    frozenset({"AO", "AA", "AB", "AJ", "AH"}),
)
_ITEM_LISTS = frozenset({"AF", "AG", "AS", "AT", "AU", "AV", "BU", "CD"})

# Requests (kiosk to ACS). ``required`` holds only what the service truly cannot do
# without; kiosks differ in what else they send, and the spec says to ignore the unknown.
REQUESTS: dict[str, Layout] = {
    layout.code: layout
    for layout in (
        Layout(
            "93",
            "login",
            (Fixed("uid_algorithm", 1), Fixed("pwd_algorithm", 1)),
            ("CN", "CO", "CP"),
            frozenset({"CN", "CO"}),
        ),
        Layout(
            "99",
            "sc_status",
            (
                Fixed("status_code", 1, DIGITS),
                Fixed("max_print_width", 3, DIGITS),
                Fixed("protocol_version", 4),
            ),
            (),
        ),
        Layout(
            "63",
            "patron_information",
            (Fixed("language", 3, DIGITS), _date(), Fixed("summary", 10, FLAGS)),
            ("AO", "AA", "AC", "AD", "BP", "BQ"),
            frozenset({"AA"}),
        ),
        Layout(
            "23",
            "patron_status",
            (Fixed("language", 3, DIGITS), _date()),
            ("AO", "AA", "AC", "AD"),
            frozenset({"AA"}),
        ),
        Layout(
            "11",
            "checkout",
            (
                Fixed("sc_renewal_policy", 1, YN),
                Fixed("no_block", 1, YN),
                _date(),
                Fixed("nb_due_date", DATE_WIDTH, DATE_OR_BLANK),
            ),
            ("AO", "AA", "AB", "AC", "CH", "AD", "BO", "BI"),
            frozenset({"AA", "AB"}),
        ),
        Layout(
            "09",
            "checkin",
            (Fixed("no_block", 1, YN), _date(), _date("return_date")),
            ("AP", "AO", "AB", "AC", "CH", "BI"),
            frozenset({"AB"}),
        ),
        Layout(
            "29",
            "renew",
            (
                Fixed("third_party_allowed", 1, YN),
                Fixed("no_block", 1, YN),
                _date(),
                Fixed("nb_due_date", DATE_WIDTH, DATE_OR_BLANK),
            ),
            ("AO", "AA", "AD", "AB", "AJ", "AC", "CH", "BO"),
            frozenset({"AA"}),
        ),
        Layout("17", "item_information", (_date(),), ("AO", "AB", "AC"), frozenset({"AB"})),
        Layout(
            "35",
            "end_patron_session",
            (_date(),),
            ("AO", "AA", "AC", "AD"),
            frozenset({"AA"}),
        ),
        Layout("97", "request_acs_resend", (), ()),
    )
}

# Responses (ACS to kiosk). ``required`` ids are always written, empty if not given,
# because the spec makes them required and kiosks index into them.
RESPONSES: dict[str, Layout] = {
    layout.code: layout
    for layout in (
        Layout("94", "login_response", (Fixed("ok", 1, OK01),), ()),
        Layout(
            "98",
            "acs_status",
            (
                Fixed("online_status", 1, YN),
                Fixed("checkin_ok", 1, YN),
                Fixed("checkout_ok", 1, YN),
                Fixed("acs_renewal_policy", 1, YN),
                Fixed("status_update_ok", 1, YN),
                Fixed("offline_ok", 1, YN),
                Fixed("timeout_period", 3, DIGITS),
                Fixed("retries_allowed", 3, DIGITS),
                _date("date_time_sync"),
                Fixed("protocol_version", 4),
            ),
            ("AO", "AM", "BX", "AN", "AF", "AG"),
            frozenset({"AO", "BX"}),
        ),
        Layout(
            "64",
            "patron_information_response",
            (
                Fixed("patron_status", 14, FLAGS),
                Fixed("language", 3, DIGITS),
                _date(),
                Fixed("hold_items_count", 4, COUNT),
                Fixed("overdue_items_count", 4, COUNT),
                Fixed("charged_items_count", 4, COUNT),
                Fixed("fine_items_count", 4, COUNT),
                Fixed("recall_items_count", 4, COUNT),
                Fixed("unavailable_holds_count", 4, COUNT),
            ),
            (
                "AO",
                "AA",
                "AE",
                "BZ",
                "CA",
                "CB",
                "BL",
                "CQ",
                "BH",
                "BV",
                "CC",
                "AS",
                "AT",
                "AU",
                "AV",
                "BU",
                "CD",
                "BD",
                "BE",
                "BF",
                "AF",
                "AG",
            ),  # fmt: skip
            frozenset({"AO", "AA", "AE"}),
            _ITEM_LISTS,
        ),
        Layout(
            "24",
            "patron_status_response",
            (Fixed("patron_status", 14, FLAGS), Fixed("language", 3, DIGITS), _date()),
            ("AO", "AA", "AE", "BL", "CQ", "BH", "BV", "AF", "AG"),
            frozenset({"AO", "AA", "AE"}),
        ),
        Layout(
            "12",
            "checkout_response",
            *_LOAN_ANSWER,
        ),
        Layout(
            "10",
            "checkin_response",
            (
                Fixed("ok", 1, OK01),
                Fixed("resensitize", 1, YN),
                Fixed("magnetic_media", 1, YNU),
                Fixed("alert", 1, YN),
                _date(),
            ),
            ("AO", "AB", "AQ", "AJ", "CL", "AA", "CK", "CH", "AF", "AG"),
            frozenset({"AO", "AB", "AQ"}),
        ),
        Layout(
            "30",
            "renew_response",
            *_LOAN_ANSWER,
        ),
        Layout(
            "18",
            "item_information_response",
            (
                Fixed("circulation_status", 2, DIGITS),
                Fixed("security_marker", 2, DIGITS),
                Fixed("fee_type", 2, DIGITS),
                _date(),
            ),
            (
                "CF",
                "AH",
                "CJ",
                "CM",
                "AB",
                "AJ",
                "BG",
                "BH",
                "BV",
                "CK",
                "AQ",
                "AP",
                "CH",
                "AF",
                "AG",
            ),  # fmt: skip
            frozenset({"AB", "AJ"}),
        ),
        Layout(
            "36",
            "end_session_response",
            (Fixed("end_session", 1, YN), _date()),
            ("AO", "AA", "AF", "AG"),
            frozenset({"AO", "AA"}),
        ),
        Layout("96", "request_sc_resend", (), ()),
    )
}

# What the variable field ids used here stand for (the spec's names), for logs and docs.
FIELD_NAMES: dict[str, str] = {
    "AA": "patron identifier",
    "AB": "item identifier",
    "AC": "terminal password",
    "AD": "patron password",
    "AE": "personal name",
    "AF": "screen message",
    "AG": "print line",
    "AH": "due date",
    "AJ": "title identifier",
    "AM": "library name",
    "AN": "terminal location",
    "AO": "institution id",
    "AP": "current location",
    "AQ": "permanent location",
    "AS": "hold items",
    "AT": "overdue items",
    "AU": "charged items",
    "AV": "fine items",
    "BD": "home address",
    "BE": "e-mail address",
    "BF": "home phone number",
    "BG": "owner",
    "BH": "currency type",
    "BI": "cancel",
    "BK": "transaction id",
    "BL": "valid patron",
    "BO": "fee acknowledged",
    "BP": "start item",
    "BQ": "end item",
    "BT": "fee type",
    "BU": "recall items",
    "BV": "fee amount",
    "BX": "supported messages",
    "BZ": "hold items limit",
    "CA": "overdue items limit",
    "CB": "charged items limit",
    "CC": "fee limit",
    "CD": "unavailable hold items",
    "CF": "hold queue length",
    "CH": "item properties",
    "CI": "security inhibit",
    "CJ": "recall date",
    "CK": "media type",
    "CL": "sort bin",
    "CM": "hold pickup date",
    "CN": "login user id",
    "CO": "login password",
    "CP": "location code",
    "CQ": "valid patron password",
}

# The 16 positions of the ACS status's supported-messages field (BX), in the spec's order,
# by the request that stands for each.
SUPPORTED_MESSAGE_ORDER: tuple[str, ...] = (
    "23",  # patron status request
    "11",  # checkout
    "09",  # checkin
    "01",  # block patron
    "99",  # SC/ACS status
    "97",  # request SC/ACS resend
    "93",  # login
    "63",  # patron information
    "35",  # end patron session
    "37",  # fee paid
    "17",  # item information
    "19",  # item status update
    "25",  # patron enable
    "15",  # hold
    "29",  # renew
    "65",  # renew all
)

# Item circulation status (18's first fixed field), the spec's codes.
CIRCULATION_STATUS = {
    "other": "01",
    "on_order": "02",
    "available": "03",
    "charged": "04",
    "charged_not_recallable": "05",
    "in_process": "06",
    "recalled": "07",
    "waiting_on_hold_shelf": "08",
    "waiting_to_be_reshelved": "09",
    "in_transit": "10",
    "claimed_returned": "11",
    "lost": "12",
    "missing": "13",
}

# The 14 positions of patron status (24, 64), in the spec's order.
PATRON_STATUS_ORDER: tuple[str, ...] = (
    "charge_privileges_denied",
    "renewal_privileges_denied",
    "recall_privileges_denied",
    "hold_privileges_denied",
    "card_reported_lost",
    "too_many_items_charged",
    "too_many_items_overdue",
    "too_many_renewals",
    "too_many_claims_of_items_returned",
    "too_many_items_lost",
    "excessive_outstanding_fines",
    "excessive_outstanding_fees",
    "recall_overdue",
    "too_many_items_billed",
)

# The 10 positions of 63's summary: which list of items the kiosk asks for.
SUMMARY_ORDER: tuple[str, ...] = (
    "hold_items",
    "overdue_items",
    "charged_items",
    "fine_items",
    "recall_items",
    "unavailable_holds",
)


def supported_messages(request_codes: Iterable[str]) -> str:
    """BX: 16 Y/N, true to what is implemented (the codes of the requests answered)."""
    codes = set(request_codes)
    return "".join("Y" if code in codes else "N" for code in SUPPORTED_MESSAGE_ORDER)


def patron_status(flags: Iterable[str] = ()) -> str:
    """The 14-character patron status with a 'Y' at each named position."""
    names = set(flags)
    unknown = names - set(PATRON_STATUS_ORDER)
    if unknown:
        raise ValueError(f"unknown patron status flags: {sorted(unknown)}")
    return "".join("Y" if name in names else " " for name in PATRON_STATUS_ORDER)


# --- dates and checksums -----------------------------------------------------------------


def format_date(when: datetime) -> str:
    """``YYYYMMDDZZZZHHMMSS``: four blanks for local time, ``   Z`` for an aware (UTC) time."""
    if when.tzinfo is not None:
        when = when.astimezone(UTC)
        zone = "   Z"
    else:
        zone = "    "
    return f"{when:%Y%m%d}{zone}{when:%H%M%S}"


_DATE = re.compile(r"(\d{8})([A-Z ]{4})(\d{6})")


def parse_date(text: str, field_name: str = "date") -> datetime:
    """A SIP2 date as a datetime: naive for local time (blank zone), UTC for a ``Z`` zone."""
    match = _DATE.fullmatch(text)
    if match is None:
        raise BadDate(f"{field_name} {text!r} is not YYYYMMDDZZZZHHMMSS")
    day, zone, time = match.groups()
    try:
        when = datetime.strptime(day + time, "%Y%m%d%H%M%S")
    except ValueError as error:
        raise BadDate(f"{field_name} {text!r} is not a real date and time") from error
    return when.replace(tzinfo=UTC) if zone.strip() == "Z" else when


def checksum(data: bytes) -> str:
    """AZ: the 16-bit two's complement of the byte sum, as 4 upper-case hex digits.

    ``data`` is everything sent up to and including the ``AZ`` itself, so that the sum of
    the message and its checksum is zero modulo 2**16 (the spec's "Error Detection")."""
    return f"{-sum(data) & 0xFFFF:04X}"


# --- messages ----------------------------------------------------------------------------


@dataclass
class Message:
    """A parsed or to-be-built message: its fixed fields by name, variable ones by id.

    Variable fields keep every occurrence (AF, AU ... repeat); ``get`` gives the first.
    ``sequence`` is the AY digit and ``checksummed`` whether AZ was (or is to be) sent."""

    code: str
    fixed: dict[str, str] = field(default_factory=dict)
    fields: dict[str, list[str]] = field(default_factory=dict)
    sequence: int | None = None
    checksummed: bool = False

    @property
    def name(self) -> str:
        layout = REQUESTS.get(self.code) or RESPONSES.get(self.code)
        return layout.name if layout else self.code

    def get(self, field_id: str, default: str | None = None) -> str | None:
        values = self.fields.get(field_id)
        return values[0] if values else default

    def all(self, field_id: str) -> list[str]:
        return list(self.fields.get(field_id, ()))

    def date(self, name: str = "transaction_date") -> datetime | None:
        """A fixed date field as a datetime (None for a blank nb due date)."""
        text = self.fixed[name]
        return None if not text.strip() else parse_date(text, name)


# --- framing -----------------------------------------------------------------------------


def take_message(buffer: bytes, max_bytes: int = MAX_MESSAGE_BYTES) -> tuple[bytes | None, bytes]:
    """The first whole message in a stream buffer (without its CR, LF or CRLF) and the rest.

    ``(None, buffer)`` while no terminator has come; ``MessageTooLong`` once the buffer
    holds more than ``max_bytes`` without one, so a server never buffers without bound."""
    buffer = buffer.lstrip(b"\r\n")  # the LF of a CRLF split across two reads
    ends = [i for i in (buffer.find(b"\r"), buffer.find(b"\n")) if i >= 0]
    if not ends:
        if len(buffer) > max_bytes:
            raise MessageTooLong(f"{len(buffer)} bytes without a terminator (limit {max_bytes})")
        return None, buffer
    end = min(ends)
    if end > max_bytes:
        raise MessageTooLong(f"a message of {end} bytes (limit {max_bytes})")
    rest = buffer[end + 1 :]
    if buffer[end : end + 1] == b"\r" and rest.startswith(b"\n"):
        rest = rest[1:]
    return buffer[:end], rest


def _strip_terminator(raw: bytes) -> bytes:
    for ending in (b"\r\n", b"\r", b"\n"):
        if raw.endswith(ending):
            return raw[: -len(ending)]
    return raw


# --- parsing -----------------------------------------------------------------------------

_TRAILER = re.compile(rb"(?:AY([0-9]))?AZ([0-9A-Fa-f]{4})\Z")
_SEQUENCE_ONLY = re.compile(r"AY([0-9])\Z")
_FIELD_ID = re.compile(r"[A-Z]{2}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _split_trailer(body: bytes) -> tuple[bytes, int | None, bool]:
    """Take the error-detection trailer off, verifying the checksum over the raw bytes."""
    match = _TRAILER.search(body)
    if match is None:
        return body, None, False
    given = match.group(2).decode("ascii").upper()
    end_of_az = match.end() - 4
    expected = checksum(body[:end_of_az])
    if given != expected:
        raise BadChecksum(f"checksum {given} does not match the message (expected {expected})")
    sequence = match.group(1)
    return body[: match.start()], (int(sequence) if sequence else None), True


def _check_fixed(spec: Fixed, value: str) -> None:
    ok = {
        YN: lambda v: v in ("Y", "N"),
        YNU: lambda v: v in ("Y", "N", "U"),
        OK01: lambda v: v in ("0", "1"),
        DIGITS: str.isdigit,
        COUNT: lambda v: (v.isdigit() and v.isascii()) or v == " " * spec.width,
        FLAGS: lambda v: set(v) <= {"Y", " "},
        ANY: lambda v: True,
    }
    if spec.kind == DATE:
        parse_date(value, spec.name)
    elif spec.kind == DATE_OR_BLANK:
        if value.strip():
            parse_date(value, spec.name)
    elif not ok[spec.kind](value) or (spec.kind == DIGITS and not value.isascii()):
        raise BadFieldValue(f"{spec.name} {value!r} is not {spec.kind}")


def _parse_variable(text: str) -> dict[str, list[str]]:
    fields: dict[str, list[str]] = {}
    parts = text.split("|")
    if parts and parts[-1] == "":
        parts.pop()  # the '|' ending the last field (some kiosks leave it off)
    for part in parts:
        if len(part) < 2 or not _FIELD_ID.fullmatch(part[:2]):
            raise BadFieldValue(f"variable field {part[:20]!r} has no two-letter id")
        fields.setdefault(part[:2], []).append(part[2:])
    return fields


def parse(
    raw: bytes,
    encoding: str = DEFAULT_ENCODING,
    *,
    max_bytes: int = MAX_MESSAGE_BYTES,
    layouts: Mapping[str, Layout] = REQUESTS,
) -> Message:
    """One message (with or without its CR / LF / CRLF) into a ``Message``, or a ``Sip2Error``.

    Order matters: size first (cheap, and before any work on a hostile buffer), then the
    checksum over the bytes as sent, then decoding, then the layout."""
    if len(raw) > max_bytes:
        raise MessageTooLong(f"a message of {len(raw)} bytes (limit {max_bytes})")
    body = _strip_terminator(raw)
    if not body:
        raise FieldTooShort("an empty message has no command code")
    body, sequence, checksummed = _split_trailer(body)
    try:
        text = body.decode(encoding)
    except UnicodeDecodeError as error:
        raise UndecodableMessage(f"bytes that are not {encoding}: {error.reason}") from None
    if _CONTROL.search(text):
        raise UndecodableMessage("control characters inside a message")
    if not checksummed:  # a sequence number without a checksum: AY<digit> at the end
        match = _SEQUENCE_ONLY.search(text)
        if match and match.start() >= 2:
            text, sequence = text[: match.start()], int(match.group(1))

    code = text[:2]
    layout = layouts.get(code)
    if layout is None:
        raise UnknownCommand(f"unknown command code {code!r}")
    fixed: dict[str, str] = {}
    position = 2
    for spec in layout.fixed:
        value = text[position : position + spec.width]
        if len(value) < spec.width:
            raise FieldTooShort(
                f"{layout.name}: {spec.name} needs {spec.width} characters, got {len(value)}"
            )
        _check_fixed(spec, value)
        fixed[spec.name] = value
        position += spec.width
    fields = _parse_variable(text[position:])
    if "AY" in fields or "AZ" in fields:  # only ever in the trailer: this one is mangled
        raise BadChecksum(f"malformed error-detection trailer in {layout.name}")
    missing = sorted(layout.required - fields.keys())
    if missing:
        raise MissingField(f"{layout.name} without {', '.join(missing)}")
    return Message(code, fixed, fields, sequence, checksummed)


# --- building ----------------------------------------------------------------------------

FixedValue = str | bool | int | datetime | date


def _format_fixed(spec: Fixed, value: FixedValue) -> str:
    if isinstance(value, bool):
        text = ("1" if value else "0") if spec.kind == OK01 else ("Y" if value else "N")
    elif isinstance(value, datetime):
        text = format_date(value)
    elif isinstance(value, int):
        text = f"{value:0{spec.width}d}"
    else:
        text = str(value)
    if len(text) != spec.width:
        raise BadFieldValue(f"{spec.name} {text!r} is not {spec.width} characters wide")
    _check_fixed(spec, text)
    return text


def build(
    message: Message,
    encoding: str = DEFAULT_ENCODING,
    *,
    layouts: Mapping[str, Layout] = RESPONSES,
    values: Mapping[str, FixedValue] | None = None,
) -> bytes:
    """A message as bytes to send, CR included: fixed fields in order, variable fields in
    the spec's order (required ones always, empty if not given), then AY/AZ as asked.

    ``values`` may give fixed fields as bools, ints or datetimes; they are formatted here."""
    layout = layouts.get(message.code)
    if layout is None:
        raise UnknownCommand(f"no layout for command code {message.code!r}")
    given = {**message.fixed, **(values or {})}
    unknown = set(given) - {spec.name for spec in layout.fixed}
    if unknown:
        raise BadFieldValue(f"{layout.name} has no fixed fields {sorted(unknown)}")
    parts = [layout.code]
    for spec in layout.fixed:
        if spec.name not in given:
            raise BadFieldValue(f"{layout.name} without its {spec.name}")
        parts.append(_format_fixed(spec, given[spec.name]))
    extra = set(message.fields) - set(layout.variable)
    if extra:
        raise BadFieldValue(f"{layout.name} has no fields {sorted(extra)}")
    for field_id in layout.variable:
        values_of = message.fields.get(field_id)
        if not values_of:
            if field_id in layout.required:
                parts.append(f"{field_id}|")
            continue
        if len(values_of) > 1 and field_id not in layout.repeatable:
            raise BadFieldValue(f"{field_id} does not repeat in {layout.name}")
        for value in values_of:
            if "|" in value or _CONTROL.search(value):
                raise BadFieldValue(f"{field_id} {value[:20]!r} holds '|' or a control character")
            parts.append(f"{field_id}{value}|")
    text = "".join(parts)
    # 96/97 carry a checksum but never a sequence number (the spec's resend messages).
    if message.sequence is not None and message.code not in ("96", "97"):
        if not 0 <= message.sequence <= 9:
            raise BadFieldValue(f"sequence number {message.sequence} is not one digit")
        text += f"AY{message.sequence}"
    data = text.encode(encoding)
    if message.checksummed:
        data += b"AZ"
        data += checksum(data).encode("ascii")
    return data + TERMINATOR


def response(
    code: str,
    request: Message | None = None,
    fields: Mapping[str, str | Iterable[str] | None] | None = None,
    **fixed: FixedValue,
) -> Message:
    """A response with the request's error detection echoed (its AY digit, and AZ when the
    request carried one), fixed fields as keywords and variable ones by id (None omitted)."""
    variable: dict[str, list[str]] = {}
    for field_id, value in (fields or {}).items():
        if value is None:
            continue
        variable[field_id] = [value] if isinstance(value, str) else list(value)
    message = Message(code, {}, variable)
    if request is not None:
        message.sequence = request.sequence
        message.checksummed = request.checksummed
    message.fixed = {name: _format_fixed(_fixed_spec(code, name), v) for name, v in fixed.items()}
    return message


def _fixed_spec(code: str, name: str) -> Fixed:
    layout = RESPONSES.get(code)
    if layout is None:
        raise UnknownCommand(f"no layout for command code {code!r}")
    for spec in layout.fixed:
        if spec.name == name:
            return spec
    raise BadFieldValue(f"{layout.name} has no fixed field {name!r}")


def resend(checksummed: bool = True) -> bytes:
    """96, asking the kiosk to send its last message again (after a bad checksum)."""
    return build(Message("96", checksummed=checksummed))
