"""The SIP2 server with the real services: every message a kiosk sends, round trip over a
socket with the spec's client (tests/sip2_client.py), checked against what the HTTP API
then shows; and the refusals a kiosk's screen shows, in the librarian's Chinese."""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import pytest

from services.sip2.server import Sip2Server
from services.sip2.service import Sip2Service
from tests.helpers import free_port, wait_until
from tests.integration.test_accounts import PASSWORD, People
from tests.integration.test_gateway import ALL_SERVICES, start_gateway
from tests.sip2_client import Client, Reply, sip_now

KIOSK = "kiosk-north-1"
IDLE_TIMEOUT = 60.0  # long enough for the HTTP steps between two messages of a test
FAILURE_DELAY = 0.2


@dataclass
class Kiosk(Client):
    """The spec's client, with a clock: each message carries a transaction date of its own,
    one second after the last, as a real kiosk's would."""

    clock: datetime = field(default_factory=lambda: datetime(2026, 12, 8, 9, 0, 0))

    def line(self, text: str) -> bytes:
        self.clock += timedelta(seconds=1)
        return super().line(text.replace(sip_now(), sip_now(self.clock)))


class Line:
    """One kiosk's TCP connection: send a request, read its answer (up to its CR)."""

    def __init__(self, port: int, kiosk: Kiosk | None = None, timeout: float = 30) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.kiosk = kiosk or Kiosk(institution="north")
        self.buffer = b""

    def ask(self, line: bytes) -> Reply:
        self.sock.sendall(line)
        return self.kiosk.read(self.receive())

    def receive(self) -> bytes:
        while b"\r" not in self.buffer:
            data = self.sock.recv(4096)
            if not data:
                raise ConnectionError(f"closed by the server; had {self.buffer!r}")
            self.buffer += data
        answer, _, self.buffer = self.buffer.partition(b"\r")
        return answer + b"\r"

    def closed(self) -> bool:
        """Whether the server has closed this connection (reads its end of file)."""
        try:
            return self.sock.recv(4096) == b""
        except ConnectionResetError:
            return True
        except TimeoutError:
            return False

    def sign_in(self, user: str = KIOSK, password: str = PASSWORD, location=None) -> Reply:
        return self.ask(self.kiosk.login(user, password, location))

    def close(self) -> None:
        self.sock.close()


class Library(People):
    """The gateway and every service, the SIP2 service among them, on a port of its own."""

    port: int

    def line(self, **kwargs) -> Line:
        return Line(self.port, **kwargs)

    def kiosk_account(self, username: str = KIOSK, campus: str = "north") -> None:
        body = {"username": username, "name": f"{campus} 自助借还机", "roles": ["kiosk"]}
        made = self.post("/api/accounts", {**body, "campus": campus, "password": PASSWORD})
        assert made.status_code == 201, made.text

    def signed_in_line(self, **kwargs) -> Line:
        line = self.line(**kwargs)
        assert line.sign_in().fixed["ok"] == "1"
        return line

    def loans(self, patron_id: str) -> list[dict]:
        answer = self.get(f"/api/patrons/{patron_id}/loans")
        assert answer.status_code == 200, answer.text
        return answer.json()["loans"]

    def backdated_lend(self, barcode: str, patron_id: str, days_ago: int) -> None:
        on = date.today() - timedelta(days=days_ago)
        body = {"barcode": barcode, "patron_id": patron_id, "campus": "north"}
        lent = self.post("/api/loans", {**body, "on": on.isoformat()}, role="assistant")
        assert lent.status_code == 201, lent.text


def sip2_config(config: dict, port: int, **settings) -> dict:
    listener = {"name": "school", "host": "127.0.0.1", "port": port, "encoding": "utf-8"}
    section = {
        "listeners": [listener],
        "language": "zh-CN",
        "idle_timeout": IDLE_TIMEOUT,
        "max_connections": 200,
        "login_failure_delay": FAILURE_DELAY,
        **settings,
    }
    return {**config, "SIP2": section}


def start_library(runner_factory, config, **settings) -> Library:
    port = free_port()
    api = start_gateway(runner_factory, sip2_config(config, port, **settings),
                        *ALL_SERVICES, Sip2Service)  # fmt: skip
    library = Library(api.base, api.tokens, api.runner)
    library.port = port
    library.kiosk_account()
    return library


@pytest.fixture
def library(runner_factory, config) -> Library:
    return start_library(runner_factory, config)


def sip2_server(library: Library) -> Sip2Server:
    container = next(c for c in library.runner.containers if c.service_name == "sip2")
    return next(e for e in container.subextensions if isinstance(e, Sip2Server))


# ------------------------------------------------------------------ signing in, status


def test_a_kiosk_signs_in_and_reads_the_status_with_the_messages_it_may_send(library):
    line = library.line()
    before = line.ask(line.kiosk.sc_status())
    assert before.code == "98" and before.fixed["checkout_ok"] == "N"
    signed = line.sign_in(location="north")
    assert signed.code == "94" and signed.fixed["ok"] == "1"
    assert signed.sequence == line.kiosk.last_sequence and signed.checksum
    status = line.ask(line.kiosk.sc_status())
    assert status.fixed["online_status"] == "Y" and status.fixed["checkout_ok"] == "Y"
    assert status.fixed["checkin_ok"] == "Y" and status.fixed["protocol_version"] == "2.00"
    assert status.first("AO") == "north"
    # BX, in the spec's order: 23 11 09 01 99 97 93 63 35 37 17 19 25 15 29 65.
    assert status.first("BX") == "YYYNYYYYYNYNNNYN"


def test_a_kiosk_at_the_wrong_campus_or_no_kiosk_at_all_is_not_signed_in(library):
    assert library.line().sign_in(location="south").fixed["ok"] == "0"
    library.staff("zhang-li", ["assistant"], campus="north")  # a person, not a kiosk
    assert library.line().sign_in("zhang-li").fixed["ok"] == "0"
    assert library.line().sign_in(location="北区").fixed["ok"] == "1"  # the campus's name


# ------------------------------------------------------------------ lending and returning


def test_a_checkout_lends_the_book_as_the_desk_shows_it_with_the_kiosk_as_actor(library):
    barcode = library.add_books(title="西游记")[0]
    patron = library.card(name="李雷")
    line = library.signed_in_line()
    lent = line.ask(line.kiosk.checkout(patron, barcode))
    assert lent.code == "12" and lent.fixed["ok"] == "1", lent.raw
    assert lent.fixed["desensitize"] == "Y" and lent.fixed["renewal_ok"] == "N"
    assert (lent.first("AO"), lent.first("AA"), lent.first("AB")) == ("north", patron, barcode)
    assert lent.first("AJ") == "西游记"
    [loan] = library.loans(patron)
    assert loan["barcode"] == barcode
    due = date.fromisoformat(loan["due_on"])
    assert lent.first("AH") == due.strftime("%Y%m%d") + "    235959"
    assert lent.first("AF") == f"借书成功，应还日期 {loan['due_on']}"

    def lent_events():
        answer = library.get("/api/events", params={"source": "circulation", "limit": 500})
        return [e for e in answer.json()["events"] if e["type"] == "Lent"]

    [event] = wait_until(lent_events, timeout=20, what="the Lent event in the feed")
    assert event["actor"] == {"id": KIOSK, "username": KIOSK, "role": "kiosk"}


def test_a_checkin_takes_the_book_back_and_a_renewal_moves_the_due_date(library):
    first, second = library.add_books(copies=2, title="水浒传")
    patron = library.card(name="韩梅梅")
    line = library.signed_in_line()
    for barcode in (first, second):
        assert line.ask(line.kiosk.checkout(patron, barcode)).fixed["ok"] == "1"
    due_before = {x["barcode"]: x["due_on"] for x in library.loans(patron)}

    renewed = line.ask(line.kiosk.renew(patron, second))
    assert renewed.code == "30" and renewed.fixed["ok"] == "1", renewed.raw
    assert renewed.fixed["renewal_ok"] == "Y" and renewed.first("AJ") == "水浒传"
    [loan] = [x for x in library.loans(patron) if x["barcode"] == second]
    assert loan["due_on"] > due_before[second] and loan["renewed"]
    assert renewed.first("AH").startswith(loan["due_on"].replace("-", ""))
    again = line.ask(line.kiosk.renew(patron, second))
    assert again.fixed["ok"] == "0" and again.first("AF") == "该书已续借过一次，不能再续借"

    back = line.ask(line.kiosk.checkin(first))
    assert back.code == "10" and back.fixed["ok"] == "1", back.raw
    assert back.fixed["alert"] == "N" and back.fixed["resensitize"] == "Y"
    assert back.first("AQ") == "north" and back.first("AA") == patron
    assert back.first("AF") == "还书成功" and back.first("CL") is None
    assert [x["barcode"] for x in library.loans(patron)] == [second]
    returned = library.get(f"/api/patrons/{patron}/loans").json()["returned"]
    assert [x["barcode"] for x in returned] == [first]

    twice = line.ask(line.kiosk.checkin(first))  # a new scan of a book already back
    assert twice.fixed["ok"] == "0" and twice.first("AF") == "该书未借出"


def test_a_returned_book_of_the_other_campus_goes_to_the_transfer_box(library):
    [barcode] = library.add_books(title="三国演义", campus="south")
    patron = library.card(name="王芳")
    lent = library.post(
        "/api/loans", {"barcode": barcode, "patron_id": patron, "campus": "south"},
        role="librarian",
    )  # fmt: skip
    assert lent.status_code == 201, lent.text
    line = library.signed_in_line()  # the north kiosk
    back = line.ask(line.kiosk.checkin(barcode))
    assert back.fixed["ok"] == "1" and back.fixed["alert"] == "Y"
    assert back.first("CL") == "south" and back.first("AQ") == "south"
    assert back.first("AF") == "该书属于南区，请放入调拨书箱"
    assert library.loans(patron) == []


def test_a_returned_book_a_reader_reserved_goes_to_the_reservations_shelf(library):
    [barcode] = library.add_books(title="骆驼祥子")
    borrower = library.card(name="李雷")
    teacher = library.card(name="王老师", kind="teacher", class_name=None)
    line = library.signed_in_line()
    assert line.ask(line.kiosk.checkout(borrower, barcode)).fixed["ok"] == "1"
    isbn = library.get(f"/api/copies/{barcode}/availability").json()["isbn"]
    reserved = library.post("/api/reservations", {"patron_id": teacher, "isbn": isbn,
                                                  "campus": "north"}, role="assistant")  # fmt: skip
    assert reserved.status_code == 201, reserved.text
    back = line.ask(line.kiosk.checkin(barcode))
    assert back.fixed["ok"] == "1" and back.fixed["alert"] == "Y"
    assert back.first("CL") == "reserved"
    assert back.first("AF") == "该书已被预约，请放入预约书架"


# ------------------------------------------------------------------ the reader and the copy


def test_patron_information_lists_the_charged_and_overdue_items(library):
    books = library.add_books(copies=3, title="朝花夕拾")
    patron = library.card(name="李雷")
    library.backdated_lend(books[0], patron, days_ago=40)
    line = library.signed_in_line()
    charged = line.ask(line.kiosk.patron_information(patron, summary="  Y       "))
    assert charged.code == "64" and charged.first("BL") == "Y", charged.raw
    assert charged.first("AE") == "李雷" and charged.fixed["charged_items_count"] == "0001"
    assert charged.fixed["overdue_items_count"] == "0001"
    assert charged.fields["AU"] == [books[0]]
    assert charged.fixed["patron_status"][0] == "Y"  # charge privileges denied: overdue
    assert charged.first("AF") == "有逾期未还图书，暂不能借书"
    overdue = line.ask(line.kiosk.patron_information(patron, summary=" Y        "))
    assert overdue.fields["AT"] == [books[0]] and "AU" not in overdue.fields

    status = line.ask(line.kiosk.patron_status(patron))
    assert status.code == "24" and status.first("AE") == "李雷" and status.first("BL") == "Y"
    assert status.fixed["patron_status"] == charged.fixed["patron_status"]

    unknown = line.ask(line.kiosk.patron_status("NO-SUCH-CARD"))
    assert unknown.first("BL") == "N" and unknown.first("AF") == "借书证号不存在"


def test_item_information_says_where_the_copy_is(library):
    [barcode] = library.add_books(title="城南旧事")
    patron = library.card()
    line = library.signed_in_line()
    shelf = line.ask(line.kiosk.item_information(barcode))
    assert shelf.code == "18" and shelf.fixed["circulation_status"] == "03"
    assert shelf.first("AJ") == "城南旧事" and shelf.first("AQ") == "north"
    line.ask(line.kiosk.checkout(patron, barcode))
    on_loan = line.ask(line.kiosk.item_information(barcode))
    [loan] = library.loans(patron)
    assert on_loan.fixed["circulation_status"] == "04"
    assert on_loan.first("AH").startswith(loan["due_on"].replace("-", ""))
    unknown = line.ask(line.kiosk.item_information("NO-SUCH-BOOK"))
    assert unknown.fixed["circulation_status"] == "01" and unknown.first("AF") == "条码不存在"


def test_end_patron_session_and_resend_of_the_last_answer(library):
    line = library.signed_in_line()
    ended = line.ask(line.kiosk.end_session("P-1"))
    assert ended.code == "36" and ended.fixed["end_session"] == "Y"
    assert (ended.first("AO"), ended.first("AA")) == ("north", "P-1")
    again = line.ask(line.kiosk.resend())
    assert again.raw == ended.raw


# ------------------------------------------------------------------ refusals, in Chinese


def refused(line: Line, request: bytes) -> str:
    answer = line.ask(request)
    assert answer.fixed["ok"] == "0", answer.raw
    return answer.first("AF")


def test_each_refusal_of_a_checkout_says_why_on_the_kiosk_screen(library):
    books = library.add_books(copies=6, title="红岩")
    [reference] = library.add_books(title="新华字典")
    marked = library.post(f"/api/copies/{reference}/reference", {"reference_only": True})
    assert marked.status_code == 200, marked.text
    [south] = library.add_books(title="红星照耀中国", campus="south")
    line = library.signed_in_line()
    reader, other = library.card(name="李雷"), library.card(name="韩梅梅")

    wait_until(lambda: library.get(f"/api/copies/{reference}/availability").json()
               .get("reference_only"), timeout=15, what="circulation to know it")  # fmt: skip
    assert refused(line, line.kiosk.checkout(reader, reference)) == "工具书不外借"
    assert refused(line, line.kiosk.checkout(reader, south)) == "该书属于南区，请在南区借阅"
    assert refused(line, line.kiosk.checkout(reader, "NO-SUCH-BOOK")) == "条码不存在"
    assert refused(line, line.kiosk.checkout("NO-SUCH-CARD", books[0])) == "借书证号不存在"

    for barcode in books[:3]:  # a student may have 3
        assert line.ask(line.kiosk.checkout(reader, barcode)).fixed["ok"] == "1"
    assert refused(line, line.kiosk.checkout(reader, books[3])) == "已达借阅上限，请先还书"
    assert refused(line, line.kiosk.checkout(other, books[0])) == "该书已借出"

    late = library.card(name="王芳")
    library.backdated_lend(books[4], late, days_ago=40)
    assert refused(line, line.kiosk.checkout(late, books[5])) == "有逾期未还图书，暂不能借书"

    blocked = library.card(name="赵雷")
    assert library.post(f"/api/cards/{blocked}/block", {"reason": "lost card"},
                        role="assistant").status_code == 200  # fmt: skip
    assert refused(line, line.kiosk.checkout(blocked, books[5])) == "借书证已停用，请到借还台办理"
    retired = library.card(name="钱明")
    assert library.post(f"/api/cards/{retired}/retire", {"reason": "left school"},
                        role="librarian").status_code == 200  # fmt: skip
    assert refused(line, line.kiosk.checkout(retired, books[5])) == "借书证已注销"
    assert [x["barcode"] for x in library.loans(reader)] == books[:3]


def test_english_screen_messages_when_the_school_asks_for_them(runner_factory, config):
    library = start_library(runner_factory, config, language="en")
    line = library.signed_in_line()
    assert refused(line, line.kiosk.checkout("NO-SUCH-CARD", "NO-SUCH-BOOK")) == "No such barcode"


def test_an_older_kiosk_speaks_gb18030_on_a_listener_of_its_own(runner_factory, config):
    old_port = free_port()
    listeners = [
        {"name": "school", "host": "127.0.0.1", "port": free_port(), "encoding": "utf-8"},
        {"name": "old", "host": "127.0.0.1", "port": old_port, "encoding": "gb18030"},
    ]
    library = start_library(runner_factory, config, listeners=listeners)
    library.port = old_port
    [barcode] = library.add_books(title="骆驼祥子")
    line = library.signed_in_line(kiosk=Kiosk(institution="north", encoding="gb18030"))
    item = line.ask(line.kiosk.item_information(barcode))
    assert item.first("AJ") == "骆驼祥子" and item.first("AF") == "在架"
    assert "骆驼祥子".encode("gb18030") in item.raw  # and its checksum is over these bytes
    unknown = line.ask(line.kiosk.checkout("NO-SUCH-CARD", barcode))
    assert unknown.first("AF") == "借书证号不存在"


def test_a_kiosk_account_needs_a_campus_and_can_do_nothing_on_the_web(library):
    body = {"username": "kiosk-x", "name": "自助机", "roles": ["kiosk"], "password": PASSWORD}
    refused = library.post("/api/accounts", body)
    assert refused.status_code in (409, 422), refused.text
    assert refused.json()["code"] == "kiosk_needs_campus"
    token = library.session(KIOSK)  # it signs in, but no route is open to its one right
    patron = library.card()
    assert library.as_(token, "GET", f"/api/patrons/{patron}/loans").status_code == 403
    lend = {"barcode": "B-1", "patron_id": patron, "campus": "north"}
    assert library.as_(token, "POST", "/api/loans", json=lend).status_code == 403
