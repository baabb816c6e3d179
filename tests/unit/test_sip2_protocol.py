"""The SIP2 codec against the 2.00 specification: every message pair round-trips through
the codec and an independent client (tests/sip2_client.py), checksums match hand sums,
and every kind of bad input is refused with its own error, never a crash."""

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.sip2 import protocol as p
from tests.sip2_client import Client, sip_checksum, sip_now

NOW = datetime(2026, 3, 2, 9, 31, 5)
IMPLEMENTED = ("23", "11", "09", "99", "97", "93", "63", "35", "17", "29")


def served(request_line: bytes, code: str, fields=None, encoding="utf-8", **fixed):
    """Parse a kiosk's line, answer it with ``code``; the request and the answer's bytes."""
    request = p.parse(request_line, encoding)
    answer = p.build(p.response(code, request, fields, **fixed), encoding)
    return request, answer


# --- checksums, by hand ----------------------------------------------------------------


def test_the_checksum_is_the_twos_complement_of_the_byte_sum_as_the_spec_says():
    # "9900401.00AY1AZ": 57+57+48+48+52+48+49+46+48+48 + 65+89+49 + 65+90 = 859 = 0x035B,
    # and 0x10000 - 0x035B = 0xFCA5.
    assert p.checksum(b"9900401.00AY1AZ") == "FCA5"
    # "96AZ": 57+54+65+90 = 266 = 0x010A -> 0xFEF6; "97AZ": 267 -> 0xFEF5.
    assert p.checksum(b"96AZ") == "FEF6"
    assert p.checksum(b"97AZ") == "FEF5"
    assert p.resend() == b"96AZFEF6\r"


def test_a_checked_message_sums_to_zero_with_its_checksum():
    data = b"11YN20260302    093105                  AOschool|AAP1|ABC1|AC|AY4AZ"
    total = sum(data) + int(p.checksum(data), 16)
    assert total % 0x10000 == 0


@given(st.binary(max_size=300))
def test_the_codec_and_the_client_sum_alike(data):
    assert p.checksum(data) == sip_checksum(data)


def test_a_good_checksum_is_accepted_and_a_bad_one_refused():
    message = p.parse(b"9900401.00AY1AZFCA5\r")
    assert (message.code, message.sequence, message.checksummed) == ("99", 1, True)
    assert message.fixed == {
        "status_code": "0",
        "max_print_width": "040",
        "protocol_version": "1.00",
    }
    with pytest.raises(p.BadChecksum, match="expected FCA5"):
        p.parse(b"9900401.00AY1AZFCA6\r")
    with pytest.raises(p.BadChecksum):  # one byte changed in transit, checksum kept
        p.parse(b"9900402.00AY1AZFCA5\r")
    assert p.parse(b"9900401.00AY1AZfca5\r").checksummed  # lower-case hex is read


def test_a_mangled_trailer_is_a_checksum_error():
    with pytest.raises(p.BadChecksum, match="malformed"):
        p.parse(b"9900401.00AY1AZFC\r")
    with pytest.raises(p.BadChecksum, match="malformed"):
        p.parse(b"17" + sip_now().encode() + b"AOschool|ABC1|AY1AZ12G4\r")


# --- every message pair, round trip ------------------------------------------------------


def test_login_93_94():
    kiosk = Client()
    request, answer = served(kiosk.login("kiosk1", "s3cret", "north-hall"), "94", ok=True)
    assert request.name == "login"
    assert request.fixed == {"uid_algorithm": "0", "pwd_algorithm": "0"}
    assert (request.get("CN"), request.get("CO"), request.get("CP")) == (
        "kiosk1",
        "s3cret",
        "north-hall",
    )
    reply = kiosk.read(answer)
    assert (reply.code, reply.fixed["ok"], reply.sequence) == ("94", "1", 0)
    _, refused = served(kiosk.login("kiosk1", "wrong"), "94", ok=False)
    assert kiosk.read(refused).fixed["ok"] == "0"


def test_sc_status_99_98_with_the_supported_messages_in_the_spec_order():
    kiosk = Client()
    request, answer = served(
        kiosk.sc_status(),
        "98",
        {"AO": "school", "AM": "Library", "BX": p.supported_messages(IMPLEMENTED), "AF": "欢迎"},
        online_status=True,
        checkin_ok=True,
        checkout_ok=True,
        acs_renewal_policy=True,
        status_update_ok=False,
        offline_ok=False,
        timeout_period=30,
        retries_allowed=3,
        date_time_sync=NOW,
        protocol_version="2.00",
    )
    assert request.fixed["protocol_version"] == "2.00"
    reply = kiosk.read(answer)
    assert answer.startswith(
        b"98YYYYNN030003" + b"20260302    093105" + b"2.00AOschool|AMLibrary|BX"
    )
    assert reply.fixed["timeout_period"] == "030" and reply.fixed["retries_allowed"] == "003"
    bx = reply.first("BX")
    # patron status, checkout, checkin, block patron, status, resend, login, patron info,
    # end session, fee paid, item info, item status update, patron enable, hold, renew,
    # renew all
    assert bx == "YYYNYYYYYNYNNNYN"
    assert len(bx) == 16
    assert p.supported_messages(["23"]) == "Y" + "N" * 15
    assert p.supported_messages(["65"]) == "N" * 15 + "Y"


def test_patron_information_63_64_with_the_charged_items():
    kiosk = Client()
    summary = "  Y       "  # charged items
    request, answer = served(
        kiosk.patron_information("P0000001", summary),
        "64",
        {
            "AO": "school",
            "AA": "P0000001",
            "AE": "李明",
            "CB": "0005",
            "BL": "Y",
            "AU": ["C00000001", "C00000002"],
            "AF": "您借了 2 本书",
        },
        patron_status=p.patron_status(),
        language="000",
        transaction_date=NOW,
        hold_items_count=0,
        overdue_items_count=0,
        charged_items_count=2,
        fine_items_count=0,
        recall_items_count=0,
        unavailable_holds_count="    ",
    )
    assert request.fixed["summary"] == summary and request.get("AA") == "P0000001"
    reply = kiosk.read(answer)
    assert reply.fixed["charged_items_count"] == "0002"
    assert reply.fixed["unavailable_holds_count"] == "    "
    assert reply.fields["AU"] == ["C00000001", "C00000002"]
    assert reply.first("AE") == "李明" and reply.first("BL") == "Y"
    # variable fields in the spec's order whatever order they were given in
    fixed_width = 2 + 14 + 3 + 18 + 6 * 4
    ids = [part[:2] for part in answer.decode()[fixed_width:].split("|")[:-1]]
    assert ids == ["AO", "AA", "AE", "CB", "BL", "AU", "AU", "AF"]


def test_patron_status_23_24_of_a_blocked_card():
    kiosk = Client()
    status = p.patron_status({"charge_privileges_denied", "renewal_privileges_denied"})
    assert status == "YY" + " " * 12
    request, answer = served(
        kiosk.patron_status("P0000002"),
        "24",
        {"AO": "school", "AA": "P0000002", "AE": "王芳", "BL": "Y", "AF": "借书证已停用"},
        patron_status=status,
        language="000",
        transaction_date=NOW,
    )
    assert request.get("AA") == "P0000002" and request.get("AD") == ""
    reply = kiosk.read(answer)
    assert reply.fixed["patron_status"] == status and reply.first("AF") == "借书证已停用"


def test_checkout_11_12():
    kiosk = Client(terminal_password="tp")
    request, answer = served(
        kiosk.checkout("P0000001", "C00000003"),
        "12",
        {"AO": "school", "AA": "P0000001", "AB": "C00000003", "AJ": "红楼梦", "AH": "2026-03-23"},
        ok=True,
        renewal_ok=False,
        magnetic_media="N",
        desensitize=True,
        transaction_date=NOW,
    )
    assert request.fixed["sc_renewal_policy"] == "N" and request.fixed["no_block"] == "N"
    assert request.date() == datetime(2026, 3, 2, 9, 30, 0)
    assert request.date("nb_due_date") is None  # 18 blanks
    assert (request.get("AA"), request.get("AB"), request.get("AC")) == (
        "P0000001",
        "C00000003",
        "tp",
    )
    reply = kiosk.read(answer)
    assert reply.fixed == {
        "ok": "1",
        "renewal_ok": "N",
        "magnetic_media": "N",
        "desensitize": "Y",
        "transaction_date": "20260302    093105",
    }
    assert reply.first("AJ") == "红楼梦" and reply.first("AH") == "2026-03-23"


def test_a_refused_checkout_still_carries_the_required_fields_empty():
    kiosk = Client()
    _, answer = served(
        kiosk.checkout("P0000001", "C00000009"),
        "12",
        {"AO": "school", "AA": "P0000001", "AB": "C00000009", "AF": "此书仅供阅览"},
        ok=False,
        renewal_ok=False,
        magnetic_media="U",
        desensitize=False,
        transaction_date=NOW,
    )
    reply = kiosk.read(answer)
    assert reply.fixed["ok"] == "0" and reply.fixed["magnetic_media"] == "U"
    assert reply.fields["AJ"] == [""] and reply.fields["AH"] == [""]
    assert reply.first("AF") == "此书仅供阅览"


def test_checkin_09_10_with_sort_bin_screen_message_and_print_line():
    kiosk = Client()
    request, answer = served(
        kiosk.checkin("C00000003", "north-hall"),
        "10",
        {
            "AO": "school",
            "AB": "C00000003",
            "AQ": "north",
            "AJ": "红楼梦",
            "CL": "HOLD",
            "AA": "P0000001",
            "AF": ["已预约，请放入预约架", "Reserved"],
            "AG": "2026-03-02 还书 C00000003",
        },
        ok=True,
        resensitize=True,
        magnetic_media="N",
        alert=True,
        transaction_date=NOW,
    )
    assert request.fixed["no_block"] == "N" and request.get("AP") == "north-hall"
    assert request.date("return_date") == datetime(2026, 3, 2, 9, 30, 0)
    reply = kiosk.read(answer)
    assert reply.fixed["alert"] == "Y" and reply.first("CL") == "HOLD"
    assert reply.fields["AF"] == ["已预约，请放入预约架", "Reserved"]
    assert reply.first("AG") == "2026-03-02 还书 C00000003"


def test_renew_29_30():
    kiosk = Client()
    request, answer = served(
        kiosk.renew("P0000001", "C00000003"),
        "30",
        {"AO": "school", "AA": "P0000001", "AB": "C00000003", "AJ": "红楼梦", "AH": "2026-04-13"},
        ok=True,
        renewal_ok=True,
        magnetic_media="N",
        desensitize="U",
        transaction_date=NOW,
    )
    assert request.name == "renew" and request.fixed["third_party_allowed"] == "N"
    reply = kiosk.read(answer)
    assert reply.fixed["renewal_ok"] == "Y" and reply.first("AH") == "2026-04-13"


def test_item_information_17_18():
    kiosk = Client()
    request, answer = served(
        kiosk.item_information("C00000003"),
        "18",
        {"AB": "C00000003", "AJ": "红楼梦", "AH": "2026-03-23", "AQ": "north"},
        circulation_status=p.CIRCULATION_STATUS["charged"],
        security_marker="00",
        fee_type="01",
        transaction_date=NOW,
    )
    assert request.get("AB") == "C00000003"
    reply = kiosk.read(answer)
    assert reply.fixed["circulation_status"] == "04"
    assert reply.first("AJ") == "红楼梦" and reply.first("AQ") == "north"


def test_end_session_35_36():
    kiosk = Client()
    request, answer = served(
        kiosk.end_session("P0000001"),
        "36",
        {"AO": "school", "AA": "P0000001"},
        end_session=True,
        transaction_date=NOW,
    )
    assert request.name == "end_patron_session"
    reply = kiosk.read(answer)
    assert reply.fixed["end_session"] == "Y" and reply.first("AA") == "P0000001"


def test_resend_97_96_carry_a_checksum_but_never_a_sequence_number():
    kiosk = Client()
    request = p.parse(kiosk.resend())
    assert (request.code, request.sequence, request.checksummed) == ("97", None, True)
    answer = p.build(p.Message("96", sequence=5, checksummed=True))
    assert answer == b"96AZFEF6\r"
    assert kiosk.read(answer).sequence is None


# --- error detection echoed ----------------------------------------------------------------


def test_sequence_numbers_are_echoed_and_wrap_after_nine():
    kiosk = Client()
    seen = []
    for _ in range(12):
        _, answer = served(kiosk.end_session("P1"), "36", {"AO": "school", "AA": "P1"},
                           end_session=True, transaction_date=NOW)  # fmt: skip
        reply = kiosk.read(answer)
        assert reply.sequence == kiosk.last_sequence and reply.checksum is not None
        seen.append(reply.sequence)
    assert seen == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]


def test_without_error_detection_the_answer_has_none():
    kiosk = Client(error_detection=False)
    request, answer = served(kiosk.login("k", "pw"), "94", ok=True)
    assert (request.sequence, request.checksummed) == (None, False)
    assert answer == b"941\r"


def test_a_sequence_number_without_a_checksum_is_echoed_without_one():
    request = p.parse(b"9900401.00AY7\r")
    assert (request.sequence, request.checksummed) == (7, False)
    answer = p.build(p.response("94", request, ok=True))
    assert answer == b"941AY7\r"


# --- encodings and framing ------------------------------------------------------------------


def test_gb18030_kiosks_get_chinese_screen_messages_checksummed_over_gb18030_bytes():
    kiosk = Client(encoding="gb18030")
    request, answer = served(
        kiosk.checkin("C00000003", "北校区图书馆"),
        "10",
        {"AO": "school", "AB": "C00000003", "AQ": "南校区", "AF": "此书属于南校区，请交给馆员"},
        encoding="gb18030",
        ok=True,
        resensitize=True,
        magnetic_media="N",
        alert=True,
        transaction_date=NOW,
    )
    assert request.get("AP") == "北校区图书馆"
    assert "此书属于南校区".encode("gb18030") in answer
    assert "此书属于南校区".encode() not in answer
    reply = kiosk.read(answer)  # the client verifies the checksum over these bytes
    assert reply.first("AF") == "此书属于南校区，请交给馆员" and reply.first("AQ") == "南校区"
    with pytest.raises(p.UndecodableMessage):  # GB18030 bytes read as UTF-8
        p.parse(kiosk.checkin("C00000003", "北校区"), "utf-8")


@pytest.mark.parametrize("ending", [b"\r", b"\n", b"\r\n", b""])
def test_a_message_ends_with_cr_lf_or_crlf(ending):
    assert p.parse(b"9900401.00AY1AZFCA5" + ending).sequence == 1


def test_a_stream_is_cut_into_messages():
    stream = b"9900401.00AY1AZFCA5\r\n9900401.00AY7\r93"
    first, rest = p.take_message(stream)
    second, rest = p.take_message(rest)
    third, rest = p.take_message(rest)
    assert (first, second, third, rest) == (b"9900401.00AY1AZFCA5", b"9900401.00AY7", None, b"93")
    with pytest.raises(p.MessageTooLong):
        p.take_message(b"9" * 5000)
    with pytest.raises(p.MessageTooLong):
        p.take_message(b"9" * 5000 + b"\r")


def test_a_crlf_split_across_reads_is_not_an_empty_message():
    first, rest = p.take_message(b"9900401.00AY7\r")
    assert (first, rest) == (b"9900401.00AY7", b"")
    second, rest = p.take_message(b"\n9900401.00AY8\r")
    assert second == b"9900401.00AY8"


def test_every_field_id_of_every_layout_has_its_spec_name():
    for layout in (*p.REQUESTS.values(), *p.RESPONSES.values()):
        assert set(layout.variable) <= set(p.FIELD_NAMES), layout.name


def test_dates_local_and_utc():
    assert p.format_date(NOW) == "20260302    093105"
    assert p.format_date(NOW.replace(tzinfo=UTC)) == "20260302   Z093105"
    assert p.parse_date("20260302   Z093105") == NOW.replace(tzinfo=UTC)
    assert p.parse_date("20260302    093105") == NOW


# --- bad input: a specific error each, never a crash ------------------------------------------


def test_an_unknown_command_code():
    with pytest.raises(p.UnknownCommand, match="'00'"):
        p.parse(b"00hello\r")
    with pytest.raises(p.UnknownCommand):
        p.parse(b"01N20260302    093105AOschool|ALlost|AAP1|AC|\r")  # block patron: not ours
    with pytest.raises(p.UnknownCommand):
        p.parse(b"hello world\r")


def test_a_field_too_short():
    with pytest.raises(p.FieldTooShort, match="transaction_date needs 18"):
        p.parse(b"11NN20260302    09\r")
    with pytest.raises(p.FieldTooShort, match="max_print_width"):
        p.parse(b"990\r")
    with pytest.raises(p.FieldTooShort):
        p.parse(b"\r")


def test_a_bad_date():
    with pytest.raises(p.BadDate, match="not a real date"):
        p.parse(b"17" + b"20261302    093105" + b"AOschool|ABC1|\r")  # month 13
    with pytest.raises(p.BadDate, match="YYYYMMDDZZZZHHMMSS"):
        p.parse(b"17" + b"2026-03-02 09:31:0" + b"AOschool|ABC1|\r")
    with pytest.raises(p.BadDate):
        p.parse(b"11NN" + sip_now().encode() + b"20260230    000000AAP1|ABC1|\r")  # 30 Feb


def test_a_bad_fixed_field_value():
    with pytest.raises(p.BadFieldValue, match="no_block 'X' is not Y/N"):
        p.parse(b"11NX" + sip_now().encode() + b" " * 18 + b"AAP1|ABC1|\r")
    with pytest.raises(p.BadFieldValue, match="language"):
        p.parse(b"23abc" + sip_now().encode() + b"AAP1|\r")


def test_a_missing_field_and_a_field_without_an_id():
    with pytest.raises(p.MissingField, match="checkout without AB"):
        p.parse(b"11NN" + sip_now().encode() + b" " * 18 + b"AOschool|AAP1|\r")
    with pytest.raises(p.BadFieldValue, match="two-letter id"):
        p.parse(b"17" + sip_now().encode() + b"AOschool|x|ABC1|\r")


@pytest.mark.parametrize("size", [4097, 100 * 1024])
def test_a_message_over_the_size_limit(size):
    with pytest.raises(p.MessageTooLong, match=f"{size + 1} bytes"):
        p.parse(b"17" + b"A" * (size - 2) + b"\r")
    assert p.parse(b"9900401.00" + b"AFx|" * 10 + b"\r", max_bytes=64).code == "99"


def test_garbage_bytes_that_do_not_decode():
    with pytest.raises(p.UndecodableMessage, match="not utf-8"):
        p.parse(b"\xff\xfe\xfd\xfc\r")
    with pytest.raises(p.UndecodableMessage, match="control"):
        p.parse(b"99\x00\x01\x02401.00\r")
    with pytest.raises(p.UndecodableMessage):
        p.parse(b"\x81\r", "gb18030")


def test_every_error_is_a_sip2_error_and_a_value_error():
    for error in (p.UnknownCommand, p.FieldTooShort, p.BadChecksum, p.BadDate,
                  p.MessageTooLong, p.UndecodableMessage, p.MissingField):  # fmt: skip
        assert issubclass(error, p.Sip2Error) and issubclass(error, ValueError)
    try:
        p.parse(b"00\r")
    except p.Sip2Error as error:
        assert error.reason == "unknown command code '00'"


@settings(max_examples=300)
@given(st.binary(max_size=200), st.sampled_from(["utf-8", "gb18030"]))
def test_random_bytes_are_parsed_or_refused_never_crash(data, encoding):
    try:
        p.parse(data, encoding)
    except p.Sip2Error:
        pass


@settings(max_examples=200)
@given(st.sampled_from(sorted(p.REQUESTS)), st.binary(max_size=80))
def test_a_known_code_then_random_bytes_never_crash(code, tail):
    try:
        p.parse(code.encode() + tail)
    except p.Sip2Error:
        pass


# --- building refuses what cannot be sent -----------------------------------------------------


def test_the_builder_refuses_what_a_kiosk_could_not_read():
    with pytest.raises(p.BadFieldValue, match="holds '\\|'"):
        p.build(p.response("36", None, {"AO": "a|b", "AA": "P1"}, end_session=True,
                           transaction_date=NOW))  # fmt: skip
    with pytest.raises(p.BadFieldValue, match="does not repeat"):
        p.build(p.response("36", None, {"AO": "s", "AA": ["P1", "P2"]}, end_session=True,
                           transaction_date=NOW))  # fmt: skip
    with pytest.raises(p.BadFieldValue, match="3 characters wide"):
        p.response("98", None, timeout_period=1000)
    with pytest.raises(p.BadFieldValue, match="without its transaction_date"):
        p.build(p.response("36", None, {"AO": "s", "AA": "P1"}, end_session=True))
    with pytest.raises(p.BadFieldValue, match="has no fields"):
        p.build(p.response("94", None, {"AF": "hi"}, ok=True))
    with pytest.raises(p.UnknownCommand):
        p.build(p.Message("13"))
