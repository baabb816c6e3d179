"""Bad input at the SIP2 server, each on its own: every one is answered or its connection
closed, and the service goes on serving the other kiosks."""

from __future__ import annotations

import time

import eventlet
import pytest

from tests.helpers import wait_until
from tests.integration.test_sip2 import (
    FAILURE_DELAY,
    Line,
    sip2_server,
    start_library,
)
from tests.sip2_client import sip_checksum

RESEND = b"96AZFEF6\r"
RESEND_PLAIN = b"96\r"  # to a kiosk not known to use error detection
IDLE_TIMEOUT = 1.5  # the idle tests' own


@pytest.fixture
def library(runner_factory, config):
    return start_library(runner_factory, config)


def still_serving(library) -> None:
    """Another kiosk connects, signs in and is answered: the service did not fall over."""
    line = library.line()
    assert line.sign_in().fixed["ok"] == "1"
    assert line.ask(line.kiosk.sc_status()).code == "98"
    line.close()


def test_garbage_bytes_are_answered_96_and_the_connection_goes_on(library):
    line = library.line()
    line.sock.sendall(b"\x00\xff\xfe\x80garbage\r")
    assert line.receive() == RESEND_PLAIN
    line.sock.sendall("99中文\r".encode("gb18030"))  # not UTF-8: this listener's encoding
    assert line.receive() == RESEND_PLAIN
    assert line.sign_in().fixed["ok"] == "1"  # the same connection, a good message
    still_serving(library)


def test_a_message_of_100_kb_closes_its_connection(library):
    line = library.line()
    try:
        line.sock.sendall(b"11" + b"Y" * 100_000 + b"\r")
    except OSError:
        pass  # the server may close before it has read it all
    assert wait_until(line.closed, timeout=10, what="the connection closed")
    still_serving(library)


def test_a_wrong_checksum_is_answered_96_and_the_resent_message_served(library):
    line = library.line()
    good = line.kiosk.sc_status()
    damaged = good[:-5] + (b"0000" if good[-5:-1] != b"0000" else b"1111") + b"\r"
    line.sock.sendall(damaged)
    assert line.receive() == RESEND
    assert line.ask(good).code == "98"


def test_an_unknown_message_code_is_answered_96_then_closed_when_it_keeps_coming(library):
    line = library.line()
    unknown = line.kiosk.line("01N20261208    090000AOnorth|ALlost|AAP1|")  # block patron
    for _ in range(3):
        line.sock.sendall(unknown)
        assert line.receive() == RESEND
    line.sock.sendall(unknown)  # the fourth in a row: a kiosk stuck in a loop
    assert wait_until(line.closed, timeout=10, what="the connection closed")
    still_serving(library)


def test_half_a_message_then_silence_is_closed_after_the_idle_timeout(runner_factory, config):
    library = start_library(runner_factory, config, idle_timeout=IDLE_TIMEOUT)
    line = library.line()
    line.sock.sendall(b"9900302.0")
    began = time.monotonic()
    assert wait_until(line.closed, timeout=IDLE_TIMEOUT + 10, what="the idle connection closed")
    assert time.monotonic() - began >= IDLE_TIMEOUT * 0.9
    still_serving(library)


def test_a_silent_kiosk_is_closed_after_the_idle_timeout_too(runner_factory, config):
    library = start_library(runner_factory, config, idle_timeout=IDLE_TIMEOUT)
    line = library.signed_in_line()
    assert wait_until(line.closed, timeout=IDLE_TIMEOUT + 10, what="the silent connection closed")


def test_a_kiosk_that_disconnects_mid_message_leaves_the_others_served(library):
    server = sip2_server(library)
    line = library.line()
    line.sock.sendall(b"11NN20261208    090000")
    line.close()
    wait_until(lambda: server.connections == 0, timeout=10, what="its connection dropped")
    still_serving(library)


def test_a_hundred_kiosks_connected_at_once_are_all_answered(library):
    lines = [library.line() for _ in range(100)]
    wait_until(lambda: sip2_server(library).connections == 100, timeout=20, what="100 kiosks")

    def ask(line: Line) -> str:
        status = line.ask(line.kiosk.sc_status())
        refused = line.ask(line.kiosk.item_information("B-1"))  # before signing in
        return status.code + refused.code + refused.first("AF")

    pool = eventlet.GreenPool(100)
    answers = list(pool.imap(ask, lines))
    assert answers == ["9818自助借还机尚未登录"] * 100
    signed = list(pool.imap(lambda line: line.sign_in().fixed["ok"], lines[:10]))
    assert signed == ["1"] * 10
    for line in lines:
        line.close()


def test_connections_beyond_the_cap_are_closed_and_the_others_served(runner_factory, config):
    library = start_library(runner_factory, config, max_connections=3)
    lines = [library.line() for _ in range(3)]
    wait_until(lambda: sip2_server(library).connections == 3, timeout=10, what="3 kiosks")
    extra = library.line()
    assert wait_until(extra.closed, timeout=10, what="the fourth kiosk closed")
    assert lines[0].sign_in().fixed["ok"] == "1"


def test_a_wrong_password_is_answered_ok_0_and_each_one_more_slowly(library):
    line = library.line()
    timings = []
    for _ in range(2):
        began = time.monotonic()
        assert line.sign_in(password="not-the-password").fixed["ok"] == "0"
        timings.append(time.monotonic() - began)
    assert timings[0] >= FAILURE_DELAY * 0.9
    assert timings[1] >= 2 * FAILURE_DELAY * 0.9
    assert line.sign_in().fixed["ok"] == "1"  # the right one, still on the same connection


def test_a_message_before_signing_in_is_refused_and_lends_nothing(library):
    [barcode] = library.add_books(title="边城")
    patron = library.card()
    line = library.line()
    answer = line.ask(line.kiosk.checkout(patron, barcode))
    assert answer.code == "12" and answer.fixed["ok"] == "0"
    assert answer.first("AF") == "自助借还机尚未登录"
    patron_answer = line.ask(line.kiosk.patron_information(patron))
    assert patron_answer.first("BL") == "N" and patron_answer.first("AE") == ""
    assert library.loans(patron) == []


def test_a_resend_request_with_nothing_sent_yet_closes_the_connection(library):
    line = library.line()
    line.sock.sendall(b"97AZ" + sip_checksum(b"97AZ").encode() + b"\r")
    assert wait_until(line.closed, timeout=10, what="the connection closed")
