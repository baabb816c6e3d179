"""The event catalogue: every type registered once, payloads checked field by field."""

import pytest
from marshmallow import Schema, fields

from shared.events import CATALOGUE, EventCatalogue, InvalidEvent, UnknownEventType
from shared.events.fields import isbn_is_valid
from tests.factories import book_added

BOOK_ADDED = book_added("C00000001")


def test_the_contract_names_exist():
    for name in ("BookAdded", "Lent", "Returned", "Repaired", "Weeded"):
        assert name in CATALOGUE


def test_every_type_belongs_to_a_known_service():
    assert CATALOGUE.sources() == ["accounts", "activities", "archives", "catalog", "circulation"]
    assert {t.name for t in CATALOGUE.types("catalog")} >= {"BookAdded", "Weeded", "Repaired"}


def test_a_valid_payload_passes():
    assert CATALOGUE.validate("BookAdded", BOOK_ADDED).source == "catalog"


def test_unknown_type_is_refused_by_name():
    with pytest.raises(UnknownEventType, match="'BookBurned'"):
        CATALOGUE.validate("BookBurned", {})


def test_unknown_version_is_refused():
    with pytest.raises(UnknownEventType, match="BookAdded v9"):
        CATALOGUE.get("BookAdded", 9)


def test_invalid_payload_names_each_bad_field():
    bad = {**BOOK_ADDED, "campus": "east", "price": "-3", "isbn": "978-7-02-000220-8"}
    del bad["title"]
    with pytest.raises(InvalidEvent) as caught:
        CATALOGUE.validate("BookAdded", bad)
    assert set(caught.value.errors) == {"campus", "price", "isbn", "title"}
    assert "campus" in str(caught.value)


def test_publishers_refuse_unknown_fields_but_consumers_tolerate_them():
    extended = {**BOOK_ADDED, "added_later": 1}
    with pytest.raises(InvalidEvent, match="added_later"):
        CATALOGUE.validate("BookAdded", extended)
    CATALOGUE.validate("BookAdded", extended, strict=False)


def test_payload_must_be_an_object():
    with pytest.raises(InvalidEvent, match="data"):
        CATALOGUE.validate("Repaired", ["C00000001"])


def test_a_type_version_registers_only_once():
    catalogue = EventCatalogue()

    class Ping(Schema):
        at = fields.Integer(required=True)

    catalogue.register("test", "Ping", Ping)
    with pytest.raises(ValueError, match="already registered"):
        catalogue.register("test", "Ping", Ping)


def test_upcasters_bring_old_versions_to_the_latest():
    catalogue = EventCatalogue()

    class PingV1(Schema):
        at = fields.Integer(required=True)

    class PingV2(Schema):
        at_ms = fields.Integer(required=True)

    catalogue.register("test", "Ping", PingV1, version=1)
    catalogue.register("test", "Ping", PingV2, version=2)

    @catalogue.upcaster("Ping", from_version=1)
    def seconds_to_ms(data):
        return {"at_ms": data.pop("at") * 1000}

    assert catalogue.upcast("Ping", 1, {"at": 2}) == (2, {"at_ms": 2000})
    assert catalogue.latest_version("Ping") == 2


@pytest.mark.parametrize(
    "isbn, valid",
    [
        ("978-7-02-000220-7", True),
        ("9787020002207", True),
        ("7-02-000220-X", True),
        ("7-02-000220-5", False),
        ("0-306-40615-2", True),
        ("978-7-02-000220-8", False),
        ("abc", False),
    ],
)
def test_isbn_check_digits(isbn, valid):
    assert isbn_is_valid(isbn) is valid
