"""``library demo``'s school, without servers: the sizes from the brief, commands that fit."""

import random
from collections import Counter
from datetime import date

import pytest

from shared.cli import demo, demo_kiosks, demo_offline, roster
from shared.cli.rpc import RemoteFailure
from shared.config import load_config
from shared.events.fields import CLASSIFICATION_PATTERN, isbn_is_valid


def school():
    rng = random.Random(demo.SEED)
    return demo.roster(rng), demo.catalogue(rng)


def test_the_demo_school_has_the_sizes_of_the_brief():
    cards, titles = school()
    kinds = Counter(card.kind for card in cards)
    assert kinds == {"student": 1156, "teacher": 80, "class_corner": 24}
    assert len({card.patron_id for card in cards}) == len(cards)
    classes = {card.class_name for card in cards if card.kind == "student"}
    assert classes == {f"G{g}-{n}" for g in (7, 8, 9) for n in range(1, 9)}
    assert {card.class_name for card in cards if card.kind == "class_corner"} == classes
    assert sum(title.copies for title in titles) == 36_800
    assert {card.campus for card in cards} == {"north", "south"}


def test_about_one_percent_of_the_copies_are_reference_books():
    _, titles = school()
    reference = sum(title.copies for title in titles if title.reference_only)
    assert reference == demo.REFERENCE_COPIES == 368
    assert all(title.role == "reference" for title in titles if title.reference_only)


def test_the_collection_is_spread_over_the_classification_letters_literature_first():
    _, titles = school()
    held = Counter()
    for title in titles:
        assert CLASSIFICATION_PATTERN.match(title.classification), title
        held[title.classification[0]] += title.copies
    assert held.most_common(1)[0][0] == "I"
    assert len(held) >= 18
    assert abs(held["I"] / 36_800 - 0.30) < 0.02


def test_every_title_has_a_valid_isbn_shared_by_its_copies_at_both_campuses():
    _, titles = school()
    assert all(isbn_is_valid(title.isbn) for title in titles)
    favourite = [title for title in titles if title.title == "红楼梦"]
    assert {title.campus for title in favourite} == {"north", "south"}
    assert len({title.isbn for title in favourite}) == 1


def test_the_catalogue_goes_in_commands_the_catalog_accepts():
    _, titles = school()
    commands = demo.commands_of(titles)
    assert sum(len(command) for command in commands) == len(titles)
    for command in commands:
        assert len(command) <= demo.TITLES_PER_COMMAND
        assert sum(title.copies for title in command) <= demo.COPIES_PER_COMMAND


def test_the_roster_is_csv_the_console_and_circulation_read():
    cards, _ = school()
    chunks = roster.split_roster(demo.roster_csv(cards))
    assert sum(chunk.rows for chunk in chunks) == len(cards)


def test_the_desks_work_on_school_days_only():
    days = demo.school_days(date(2026, 11, 16), date(2026, 11, 26))
    assert [day.isoformat() for day in days][:5] == [
        "2026-11-16",
        "2026-11-17",
        "2026-11-18",
        "2026-11-19",
        "2026-11-20",
    ]
    assert all(day.weekday() < 5 for day in days) and len(days) == 9


def test_the_same_command_always_gets_the_same_id():
    assert demo.command_id("lend", "S70101", date(2026, 11, 2)) == demo.command_id(
        "lend", "S70101", date(2026, 11, 2)
    )
    assert demo.command_id("lend", "S70101", "x") != demo.command_id("lend", "S70102", "x")


# ---------------------------------------------------------------- the demo's kiosk


class Accounts:
    """The accounts service as the demo calls it: ``get_account`` says NotFound until made."""

    def __init__(self):
        self.made: dict[str, dict] = {}
        self.calls: list[tuple[str, dict | str]] = []

    def __call__(self, service, method, argument):
        assert service == "accounts"
        self.calls.append((method, argument))
        if method == "get_account":
            if argument not in self.made:
                raise RemoteFailure(service, method, {"exc_type": "NotFound", "exc_args": []})
            return self.made[argument]
        if method == "create_account":
            self.made[argument["username"]] = argument
        elif method == "reset_password":
            self.made[argument["username"]]["password"] = argument["password"]
        return {}


def test_the_demo_makes_a_north_kiosk_and_writes_where_it_speaks_sip2():
    config = load_config()
    accounts = Accounts()
    sip2 = demo_kiosks.ensure(accounts, config, {}, lambda text: None)
    assert set(sip2) == {"host", "port", "username", "password", "location"}
    listener = config["SIP2"]["listeners"][0]
    assert (sip2["host"], sip2["port"]) == ("127.0.0.1", listener["port"])
    assert (sip2["username"], sip2["location"]) == ("kiosk-north-1", "north")
    made = accounts.made["kiosk-north-1"]
    assert (made["roles"], made["campus"], made["password"]) == (
        ["kiosk"],
        "north",
        sip2["password"],
    )
    assert len(sip2["password"]) >= 8  # the accounts' password rule

    again = demo_kiosks.ensure(accounts, config, sip2, lambda text: None)
    assert again == sip2  # run again: the same account, the password kept in .run/demo.json
    assert [method for method, _ in accounts.calls].count("create_account") == 1
    assert accounts.calls[-1][0] == "reset_password"


def test_a_kiosk_reaches_a_listener_on_every_address_at_this_machine():
    listening = {"SIP2": {"listeners": [{"host": "0.0.0.0", "port": 6101}]}}
    assert demo_kiosks.listener_address(listening) == ("127.0.0.1", 6101)
    with pytest.raises(ValueError, match="SIP2.listeners"):
        demo_kiosks.listener_address({})


def test_the_demo_s_offline_morning_is_a_file_the_desk_reads_with_one_conflict_and_one_bad_line(
    tmp_path,
):
    """demo_offline: lends of books on the north shelf to students who may borrow, a book
    brought back, one out with another reader (the conflict), one mistyped time."""
    from services.circulation.offline_file import read_offline_file

    def call(service, method, key):
        assert service == "circulation"
        if method == "copy_availability":
            number = int(key[1:])
            return {"campus": "north" if number % 2 else "south", "available": number % 3 != 0}
        loans = [{"barcode": f"B{key}", "days_overdue": 0}] if key.endswith("1") else []
        return {"patron": {"status": "active", "owed": "0.00"}, "loans": loans}

    path = tmp_path / "offline-morning.csv"
    students = [f"S70{seat:03d}" for seat in range(1, 41)]
    written = demo_offline.write(call, load_config(), path, students, 1_000)

    raw = path.read_bytes()
    assert raw.startswith("\ufeff时间,操作,借书证号,条码号\r\n".encode())
    read = read_offline_file(raw.decode("utf-8-sig"), "north", "Asia/Shanghai", 500)
    assert [row["line"] for row in read.rows_refused] == written["bad_lines"] == [8]
    assert [e["action"] for e in read.entries] == ["lend"] * 3 + ["return"] + ["lend"] * 3
    lent = [e["barcode"] for e in read.entries if e["action"] == "lend"]
    assert len(set(lent[:5])) == 5 and all(int(b[1:]) % 2 for b in lent[:5])  # north, shelved
    assert lent[5].startswith("B")  # out with another reader: the conflict
