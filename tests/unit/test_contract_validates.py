"""The published contract is valid JSON Schema, and says what the wire carries.

``tests/unit/test_contract.py`` proves the files agree with the catalogue; this
proves they are right: every file under docs/schemas/ passes the metaschema its
``$schema`` names, every example in docs/asyncapi.yaml passes its message's
payload schema, money is a string with two decimals (as ``Money`` dumps it),
and no bound is written as a string. The AsyncAPI CLI checks the document as a
whole (``make contract``, infra/asyncapi/check.sh).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft7Validator, FormatChecker
from jsonschema.validators import validator_for
from marshmallow import fields
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from shared.events import CATALOGUE, EventType
from shared.events import fields as f
from shared.messaging.asyncapi import ASYNCAPI_PATH, SCHEMAS_DIR, schema_name

DOCUMENT = yaml.safe_load(ASYNCAPI_PATH.read_text())
SCHEMA_FILES = sorted(SCHEMAS_DIR.glob("*.json"))
DOCUMENT_URI = "urn:test:asyncapi"
BOUNDS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")
# The amounts the catalogue had when the issue was filed: at least these are money.
KNOWN_MONEY = {
    ("BookAdded", "price"),
    ("Weeded", "value"),
    ("DeclaredLost", "replacement_cost"),
    ("CompensationPaid", "amount"),
}


def formats() -> FormatChecker:
    """Every format jsonschema knows (uuid included, which draft 7 leaves out)."""
    return FormatChecker()


def walk(node: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    yield path, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from walk(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from walk(value, f"{path}/{index}")


def money_paths(declared: dict[str, fields.Field], prefix: str = "") -> Iterator[str]:
    """Every ``Money`` field of a schema, as a path like ``fines[].amount``."""
    for name, field in declared.items():
        path = prefix + (field.data_key or name)
        while isinstance(field, fields.List):
            field, path = field.inner, path + "[]"
        if isinstance(field, f.Money):
            yield path
        elif isinstance(field, fields.Nested):
            yield from money_paths(field.schema.fields, path + ".")


def node_at(schema: dict[str, Any], path: str) -> dict[str, Any]:
    """The JSON Schema of the field at ``path`` (``a.b[].c``) in an object schema."""
    node = schema
    for part in path.split("."):
        name, lists = part.rstrip("[]"), part.count("[]")
        node = node["properties"][name]
        for _ in range(lists):
            node = node["items"]
    return node


def payload_validator(message: str) -> Draft7Validator:
    """A validator for a message's payload, its ``$ref`` resolved within the document."""
    registry = Registry().with_resource(DOCUMENT_URI, Resource(DOCUMENT, specification=DRAFT7))
    schema = {"$ref": f"{DOCUMENT_URI}#/components/messages/{message}/payload"}
    return Draft7Validator(schema, registry=registry, format_checker=formats())


# ------------------------------------------------------------------ the files are JSON Schema


def test_there_is_one_schema_file_per_event_type_and_version():
    assert [path.name for path in SCHEMA_FILES] == sorted(
        f"{schema_name(t)}.json" for t in CATALOGUE.types()
    )


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=lambda path: path.stem)
def test_every_schema_file_passes_the_metaschema_it_names(path: Path):
    schema = json.loads(path.read_text())
    validator = validator_for(schema, default=None)
    assert validator is not None, f"{path.name}: unknown $schema {schema.get('$schema')!r}"
    validator.check_schema(schema)  # raises SchemaError naming the bad keyword


def test_every_schema_in_the_document_passes_draft_7():
    # AsyncAPI 2.6's Schema Object is a superset of JSON Schema draft 7.
    schemas = dict(DOCUMENT["components"]["schemas"])
    for name, message in DOCUMENT["components"]["messages"].items():
        schemas |= {f"{name} payload": message["payload"], f"{name} headers": message["headers"]}
    metaschema = Draft7Validator(Draft7Validator.META_SCHEMA)
    wrong = [
        f"{name}: {'/'.join(map(str, error.absolute_path))}: {error.message}"
        for name, schema in schemas.items()
        for error in metaschema.iter_errors(schema)
    ]
    assert wrong == []


def test_no_bound_is_written_as_a_string_anywhere():
    documents = {"docs/asyncapi.yaml": DOCUMENT}
    documents.update({f"docs/schemas/{p.name}": json.loads(p.read_text()) for p in SCHEMA_FILES})
    wrong = [
        f"{name}{path}/{bound} = {node[bound]!r}"
        for name, document in documents.items()
        for path, node in walk(document)
        if isinstance(node, dict)
        for bound in BOUNDS
        if bound in node
        and (isinstance(node[bound], bool) or not isinstance(node[bound], int | float))
    ]
    assert wrong == []


def test_the_format_checker_really_checks_dates_times_and_uuids():
    # date-time is checked only with rfc3339-validator installed: no silent pass.
    checker = formats()
    assert {"date", "date-time", "uuid"} <= set(checker.checkers)
    assert not checker.conforms("2026-10-12 08:15", "date-time")
    assert not checker.conforms("2026-02-30", "date")
    assert not checker.conforms("not-a-uuid", "uuid")
    assert checker.conforms("2026-10-12T00:15:00.004211+00:00", "date-time")


# ------------------------------------------------------------------ the examples pass


def test_every_message_has_an_example_and_it_passes_its_payload_schema():
    messages = DOCUMENT["components"]["messages"]
    assert sorted(messages) == sorted(schema_name(t) for t in CATALOGUE.types())
    for name, message in messages.items():
        assert message["messageId"] == name
        assert message["examples"], f"{name} has no example"
        validator = payload_validator(name)
        for example in message["examples"]:
            errors = [
                f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
                for e in validator.iter_errors(example["payload"])
            ]
            assert errors == [], f"{name}'s example {example['name']}"


def test_a_payload_schema_refuses_what_the_wire_never_carries():
    validator = payload_validator("BookAdded.v1")
    example = DOCUMENT["components"]["messages"]["BookAdded.v1"]["examples"][0]["payload"]
    assert validator.is_valid(example)
    for wrong in (
        {**example, "type": "Lent"},  # the message's own type only
        {**example, "event_id": "not-a-uuid"},
        {**example, "occurred_at": "yesterday"},
        {**example, "data": {**example["data"], "price": 59.7}},  # a number, not the string
        {**example, "data": {**example["data"], "price": "59.7"}},  # one decimal
        {**example, "data": {**example["data"], "colour": "red"}},  # an unknown field
        {key: value for key, value in example.items() if key != "position"},
    ):
        assert not validator.is_valid(wrong), wrong


def test_each_schema_file_accepts_its_example_data():
    for event_type in CATALOGUE.types():
        schema = json.loads((SCHEMAS_DIR / f"{schema_name(event_type)}.json").read_text())
        message = DOCUMENT["components"]["messages"][schema_name(event_type)]
        data = message["examples"][0]["payload"]["data"]
        validator_for(schema)(schema, format_checker=formats()).validate(data)


# ------------------------------------------------------------------ money is a string


def money_fields() -> list[tuple[EventType, str]]:
    return [(t, path) for t in CATALOGUE.types() for path in money_paths(t.schema().fields)]


def test_money_fields_are_two_decimal_strings_in_every_schema():
    found = money_fields()
    assert {(t.name, path) for t, path in found} >= KNOWN_MONEY
    pattern = f.MONEY_DUMPED_PATTERN.pattern
    for event_type, path in found:
        name = schema_name(event_type)
        file_schema = json.loads((SCHEMAS_DIR / f"{name}.json").read_text())
        for where, schema in (
            (f"docs/schemas/{name}.json", file_schema),
            (f"asyncapi.yaml {name}", DOCUMENT["components"]["schemas"][name]),
        ):
            node = node_at(schema, path)
            assert node["type"] == "string", (where, path)
            assert node["pattern"] == pattern, (where, path)
            assert not set(node) & {*BOUNDS, "format"}, (where, path)


def test_the_money_pattern_is_what_money_dumps():
    pattern = re.compile(f.MONEY_DUMPED_PATTERN.pattern)  # as a JSON Schema validator reads it
    field = f.money()
    for amount in ("0", "0.5", "12.5", "12.50", "59.70", "99999999.99"):
        dumped = field.serialize("amount", {"amount": Decimal(amount)})
        assert isinstance(dumped, str) and pattern.search(dumped), dumped
    for never in ("12.5", "12", "1e3", "-1.00", "100000000.00", "１２.50"):
        assert not pattern.search(never), never
    schema = {"type": "string", "pattern": f.MONEY_DUMPED_PATTERN.pattern}
    assert not Draft7Validator(schema).is_valid(12.5)
