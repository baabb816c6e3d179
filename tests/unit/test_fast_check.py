"""``passes`` answers as marshmallow would, for every event type's schema and the envelope's,
on valid payloads and on every kind of bad field."""

from __future__ import annotations

import copy
import uuid
from types import MappingProxyType
from typing import Any

import pytest
from marshmallow import (
    EXCLUDE,
    INCLUDE,
    RAISE,
    Schema,
    ValidationError,
    fields,
    validate,
    validates_schema,
)

from shared.events import CATALOGUE
from shared.events import fields as f
from shared.events.envelope import _ENVELOPE, Envelope, EnvelopeSchema, InvalidEnvelope
from shared.events.examples import EXAMPLES
from shared.events.registry import _validator
from shared.fast_check import passes

WRONG_VALUES = (None, "", "x" * 5000, 12345, -1, 1.5, True, [], {}, ["a"], {"a": 1}, "\x00")


def envelope(**changes: Any) -> dict[str, Any]:
    raw = {
        "event_id": str(uuid.uuid4()),
        "type": "Lent",
        "schema_version": CATALOGUE.latest_version("Lent"),
        "source": "circulation",
        "position": 42,
        "stream_id": "card-P0000123",
        "stream_version": 3,
        "occurred_at": "2026-12-08T02:00:00.123456+00:00",
        "recorded_at": "2026-12-08T02:00:00.223456+00:00",
        "campus": "north",
        "correlation_id": "desk-42",
        "causation_id": str(uuid.uuid4()),
        "data": copy.deepcopy(EXAMPLES["Lent"]),
        "actor": {"id": "a1", "username": "lin-desk", "role": "assistant"},
    }
    return {**raw, **changes}


def variants(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """The payload with each field left out, and set to each wrong value, and with a key
    of its own added; nested objects' fields too, one level down."""
    out = [{**payload, "unknown_key": 1}]
    for key, value in payload.items():
        out.append({k: v for k, v in payload.items() if k != key})
        out.extend({**payload, key: wrong} for wrong in WRONG_VALUES)
        if isinstance(value, dict):
            out.extend({**payload, key: inner} for inner in variants(value)[:40])
        if isinstance(value, list) and value and isinstance(value[0], dict):
            out.extend({**payload, key: [inner]} for inner in variants(value[0])[:40])
    return out


def agrees(schema: Schema, data: Any) -> None:
    assert passes(schema, data) == (schema.validate(data) == {}), data


@pytest.mark.parametrize("event_type", CATALOGUE.types(), ids=lambda t: f"{t.name}-v{t.version}")
def test_every_event_schema_is_answered_as_marshmallow_answers(event_type):
    example = EXAMPLES[event_type.name]
    for strict in (True, False):
        schema = _validator(event_type.schema, strict)
        for data in [example, *variants(example)]:
            agrees(schema, data)


def test_the_fast_way_is_taken_for_nearly_every_event_type():
    latest = [t for t in CATALOGUE.types() if t.version == CATALOGUE.latest_version(t.name)]
    fast = [t.name for t in latest if passes(_validator(t.schema, False), EXAMPLES[t.name])]
    assert len(fast) >= 0.9 * len(latest), sorted({t.name for t in latest} - set(fast))


def test_the_envelope_is_answered_as_marshmallow_answers():
    valid = envelope()
    assert passes(_ENVELOPE, valid)
    for data in variants(valid):
        agrees(_ENVELOPE, data)
    agrees(_ENVELOPE, envelope(occurred_at="2026-12-08T02:00:00"))  # no time zone
    agrees(_ENVELOPE, envelope(campus="east"))
    agrees(_ENVELOPE, envelope(event_id="not-a-uuid"))


def test_a_bad_envelope_is_still_refused_with_marshmallows_messages():
    with pytest.raises(InvalidEnvelope) as raised:
        Envelope.from_dict(envelope(position=0, campus="east"))
    assert set(raised.value.errors) == {"position", "campus"}
    with pytest.raises(InvalidEnvelope) as raised:
        Envelope.from_dict(envelope(data={**EXAMPLES["Lent"], "barcode": 7}))
    assert "barcode" in raised.value.errors["data"]


def test_a_valid_envelope_keeps_a_copy_of_its_actor_and_data():
    raw = envelope()
    event = Envelope.from_dict(raw)
    assert event.actor == raw["actor"] and event.actor is not raw["actor"]
    assert event.data == raw["data"] and event.data is not raw["data"]
    assert Envelope.from_dict(envelope(actor=None)).actor is None
    left_out = envelope()
    del left_out["actor"]
    assert Envelope.from_dict(left_out).actor is None


def test_a_schema_with_hooks_is_left_to_marshmallow():
    class Checked(Schema):
        low = fields.Integer(required=True)
        high = fields.Integer(required=True)

        @validates_schema
        def ordered(self, data, **kwargs):
            if data["low"] > data["high"]:
                raise ValueError("low above high")

    assert not passes(Checked(), {"low": 1, "high": 2})  # not answered here: marshmallow runs


# The fast paths: each kind of value a shortcut could wrongly take.


class Weird(str):
    """A str whose length lies: marshmallow checks ``str(value)``, never the value."""

    def __len__(self) -> int:
        return 0


class Long(str):
    """A str that claims to be longer than it is."""

    def __len__(self) -> int:
        return 5


class Level(int):
    pass


class Inner(Schema):
    code = f.text(8)
    count = f.whole(1, 9, required=False)


class Hooked(Schema):
    code = fields.String(required=True)

    @validates_schema
    def short(self, data, **kwargs):
        if len(data["code"]) > 3:
            raise ValidationError("too long")


def _doubled(value: Any) -> Any:
    return value * 2 if isinstance(value, str) else value


def _odd(value: Any) -> None:
    if value % 2 == 0:
        raise ValidationError("Must be odd.")


def _no_x(value: str) -> None:
    if "x" in value:
        raise ValidationError("No x.")


class LooseInner(Inner):
    class Meta:
        unknown = INCLUDE


class Everything(Schema):
    """One field of every kind ``passes`` takes a shortcut for, and some it does not."""

    name = f.text(10)
    kind = f.choice(("a", "b"))
    exact = fields.String(validate=validate.Length(equal=3))
    prefix = fields.String(validate=validate.Regexp(r"[a-z]+"))  # a match at the start
    barcode = f.barcode(required=False)
    count = f.whole(0, 10, required=False)
    between = fields.Integer(
        validate=validate.Range(min=0, max=5, min_inclusive=False, max_inclusive=False)
    )
    strict = fields.Integer(strict=True)
    level = fields.Integer(validate=validate.OneOf([1, 2]))
    nullable = fields.String(required=True, allow_none=True)
    renamed = fields.String(data_key="Renamed-Key", required=True)
    inner = fields.Nested(Inner, required=False)
    loose = fields.Nested(Inner, unknown=INCLUDE)
    nullable_inner = fields.Nested(Inner, allow_none=True)
    hooked = fields.Nested(Hooked)
    several = fields.Nested(Inner, many=True)
    only = fields.Nested(Inner, only=("code",))
    items = fields.List(fields.Nested(Inner))
    tags = fields.List(f.text(5), required=False)
    blob = fields.Dict()
    checked_blob = fields.Dict(validate=validate.Length(max=1))
    day = f.day()
    price = f.money(required=False)
    default = fields.String(load_default=lambda: "x", validate=validate.Length(max=2))
    doubled = fields.String(pre_load=[_doubled], validate=validate.Length(max=2))
    odd = fields.Integer(validate=_odd)
    no_x = fields.String(validate=_no_x)
    tight = fields.Nested(LooseInner, unknown=RAISE)
    also_loose = fields.Nested(LooseInner)


VALID = {
    "name": "Lin",
    "kind": "a",
    "exact": "abc",
    "prefix": "abc1",
    "barcode": "C00000042",
    "count": 3,
    "between": 2,
    "strict": 7,
    "level": 2,
    "nullable": None,
    "Renamed-Key": "kept",
    "inner": {"code": "x1", "count": 2},
    "loose": {"code": "x1", "extra": 1},
    "nullable_inner": None,
    "hooked": {"code": "abc"},
    "several": [{"code": "a"}],
    "only": {"code": "a"},
    "items": [{"code": "a"}, {"code": "b", "count": 9}],
    "tags": ["red", "blue"],
    "blob": {"any": ["thing"]},
    "checked_blob": {"one": 1},
    "day": "2026-12-08",
    "price": "12.50",
    "doubled": "a",
    "odd": 3,
    "no_x": "abc",
    "tight": {"code": "x1"},
    "also_loose": {"code": "x1", "extra": 1},
    "default": "x",
}

ODD_VALUES = (
    *WRONG_VALUES,
    False,
    0,
    2,
    3,
    5,
    10,
    11,
    2.0,
    "2",
    " 2",
    Level(2),
    10**40,
    "a",
    "b",
    "abc",
    "abcd",
    "1abc",
    Weird("abc"),
    Weird(""),
    Long(""),
    Long("abcdefghijkl"),
    "x" * 11,
    "C00000042\n",
    b"abc",
    ("a",),
    {"code": "x1"},
    {"code": "x1", "count": 0},
    {"code": "x1", "count": True},
    {"code": "x1", "extra": 1},
    {"code": Long("")},
    {"count": 2},
    {"code": 7},
    MappingProxyType({"code": "x1"}),
    [{"code": "x1"}, 5],
    [{"code": "x1"}, {"code": ""}],
    [{"code": "x1"}, None],
    ["ok", 5],
    ["ok", ""],
    ["ok", "toolong"],
    ["ok", Weird("abc")],
    ["ok", Long("")],
    [None],
    {"a": 1, "b": 2},
    "2026-02-30",
    "12.505",
)


@pytest.mark.parametrize("unknown", [RAISE, INCLUDE, EXCLUDE])
def test_every_kind_of_field_is_answered_as_marshmallow_answers(unknown):
    schema = Everything(unknown=unknown)
    assert passes(schema, VALID)
    agrees(schema, {**VALID, "unknown_key": 1})
    agrees(schema, {**VALID, "renamed": "by its attribute's name"})
    for key in VALID:
        agrees(schema, {k: v for k, v in VALID.items() if k != key})
        for value in ODD_VALUES:
            agrees(schema, {**VALID, key: value})


def test_a_bool_is_not_a_whole_number():
    schema = _validator(CATALOGUE.get("StocktakeClosed").schema, True)
    for flag in (True, False):
        assert not passes(schema, {**EXAMPLES["StocktakeClosed"], "expected": flag})
    assert not passes(_ENVELOPE, envelope(position=True))
    assert not passes(_ENVELOPE, envelope(schema_version=True))
    assert passes(_ENVELOPE, envelope(position=Level(42)))  # an int subclass: marshmallow's int()
    assert passes(_ENVELOPE, envelope(position="42"))  # Integer (not strict) takes text


def test_a_str_subclass_is_checked_as_marshmallow_checks_it():
    assert passes(_ENVELOPE, envelope(source=Weird("circulation")))  # str() of it: not empty
    assert not passes(_ENVELOPE, envelope(source=Weird("")))
    agrees(_ENVELOPE, envelope(actor={"id": Weird("a1"), "username": "lin", "role": "r"}))


def test_none_is_taken_only_where_allowed():
    assert passes(_ENVELOPE, envelope(campus=None, correlation_id=None, actor=None))
    assert not passes(_ENVELOPE, envelope(type=None))
    assert not passes(_ENVELOPE, envelope(data=None))
    for key in ("campus", "correlation_id", "causation_id"):
        left_out = envelope()
        del left_out[key]  # required, though None is allowed
        assert not passes(_ENVELOPE, left_out)


def test_a_nested_object_must_be_an_object_with_its_required_keys():
    for actor in (
        "a1",
        ["a1"],
        1,
        {"id": "a1", "username": "lin"},
        {"id": "", "username": "l", "role": "r"},
    ):
        assert not passes(_ENVELOPE, envelope(actor=actor))
        agrees(_ENVELOPE, envelope(actor=actor))
    agrees(_ENVELOPE, envelope(actor=MappingProxyType({"id": "a1", "username": "l", "role": "r"})))
    assert not passes(_ENVELOPE, envelope(actor={"id": "a1", "username": "l", "role": "r", "x": 1}))
    schema = _validator(CATALOGUE.get("Lent").schema, False)
    override = EXAMPLES["Lent"]["override"]
    for changed in (
        {k: v for k, v in override.items() if k != "code"},
        {**override, "set_aside": ["loan_limit", 5]},
        {**override, "set_aside": ["loan_limit", ""]},
        {**override, "set_aside": "loan_limit"},
        {**override, "set_aside": ("loan_limit",)},
    ):
        data = {**EXAMPLES["Lent"], "override": changed}
        assert passes(schema, data) == (schema.validate(data) == {}), changed
    assert not passes(schema, {**EXAMPLES["Lent"], "override": {**override, "set_aside": [1]}})


def test_a_field_is_read_by_its_data_key():
    class Keyed(Schema):
        name = fields.String(data_key="full-name", required=True, validate=validate.Length(min=1))

    for unknown in (RAISE, INCLUDE):
        schema = Keyed(unknown=unknown)
        assert passes(schema, {"full-name": "Lin"})
        assert not passes(schema, {"name": "Lin"})
        assert not passes(schema, {"full-name": ""})
        agrees(schema, {"full-name": "Lin", "name": "Lin"})


def test_a_field_class_of_its_own_is_run_in_full():
    class Upper(fields.String):
        def deserialize(self, value, attr=None, data=None, **kwargs):
            value = super().deserialize(value, attr, data, **kwargs)
            if value != value.upper():
                raise ValidationError("Upper case only.")
            return value

    class Shouting(Schema):
        word = Upper(required=True)

    assert passes(Shouting(), {"word": "HI"})
    assert not passes(Shouting(), {"word": "hi"})


def test_a_schema_with_partial_is_left_to_marshmallow():
    assert not passes(Inner(partial=True), {"code": "x1"})
    assert passes(Inner(partial=False), {"code": "x1"})
    assert not passes(Inner(partial=False), {})


def test_a_copied_schema_gets_checks_of_its_own():
    strict = Inner(unknown=RAISE)
    assert not passes(strict, {"code": "x1", "extra": 1})
    lenient = copy.copy(strict)
    lenient.unknown = INCLUDE
    assert passes(lenient, {"code": "x1", "extra": 1})


def test_a_valid_event_is_checked_without_marshmallows_deserialize(monkeypatch):
    calls = []
    original = fields.Field.deserialize

    def counted(self, *args, **kwargs):
        calls.append(self.name)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(fields.Field, "deserialize", counted)
    raw = envelope()
    assert passes(EnvelopeSchema(unknown=RAISE), raw)  # own instances: checks built anew
    assert passes(CATALOGUE.get("Lent").schema(unknown=INCLUDE), raw["data"])
    assert calls == []
    assert not passes(EnvelopeSchema(unknown=RAISE), envelope(position=0))
    assert calls == ["position"]  # a refusal is marshmallow's own
