"""``passes`` answers as marshmallow would, for every event type's schema and the envelope's,
on valid payloads and on every kind of bad field."""

from __future__ import annotations

import copy
import uuid
from typing import Any

import pytest
from marshmallow import Schema, fields, validates_schema

from shared.events import CATALOGUE
from shared.events.envelope import _ENVELOPE, Envelope, InvalidEnvelope
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
