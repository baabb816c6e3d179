"""The envelope: what a consumer accepts off the wire, and what it refuses."""

import json

import pytest

from shared.events.envelope import MAX_BODY_BYTES, Envelope, InvalidEnvelope, NewEvent, derived_id

from .test_catalogue import BOOK_ADDED


def envelope(**overrides):
    fields = {
        "event_id": "6f1c1f9e-8d53-4a38-9b4c-1c0f3d1d2a10",
        "type": "BookAdded",
        "schema_version": 1,
        "source": "catalog",
        "position": 1,
        "stream_id": "copy-C00000001",
        "stream_version": 1,
        "occurred_at": "2026-09-01T08:00:00+00:00",
        "recorded_at": "2026-09-01T08:00:00.001+00:00",
        "campus": "north",
        "correlation_id": "c-1",
        "causation_id": None,
        "data": dict(BOOK_ADDED),
    }
    fields.update(overrides)
    return fields


def test_round_trip_through_json():
    event = Envelope.from_dict(envelope())
    assert Envelope.from_json(event.to_json()) == event
    assert json.loads(event.to_json())["data"]["title"] == "红楼梦"


@pytest.mark.parametrize(
    "body, field",
    [
        (b"not json at all", "_body"),
        (b"\xff\xfe", "_body"),
        (b"[1, 2]", "_schema"),
        (json.dumps(envelope(type="BookBurned")).encode(), "type"),
        (json.dumps(envelope(position=0)).encode(), "position"),
        (json.dumps(envelope(event_id="nope")).encode(), "event_id"),
        (json.dumps(envelope(campus="east")).encode(), "campus"),
        (json.dumps(envelope(extra=1)).encode(), "extra"),
        (json.dumps(envelope(data={**BOOK_ADDED, "price": "free"})).encode(), "data"),
        (
            json.dumps({k: v for k, v in envelope().items() if k != "stream_id"}).encode(),
            "stream_id",
        ),
    ],
)
def test_malformed_messages_are_refused_naming_the_field(body, field):
    with pytest.raises(InvalidEnvelope) as caught:
        Envelope.from_json(body)
    assert field in caught.value.errors


def test_huge_bodies_are_refused_before_parsing():
    with pytest.raises(InvalidEnvelope, match="larger than"):
        Envelope.from_json(b" " * (MAX_BODY_BYTES + 1))


def test_new_events_are_validated_strictly():
    with pytest.raises(ValueError, match="barcode"):
        NewEvent("Repaired", "copy-x", {"barcode": "??"}).validated()


def test_derived_ids_are_stable_per_command_and_index():
    command = "0b7f7a4e-5c1e-4c3a-8f0a-7b6e1d2c3b4a"
    assert derived_id(command, 0) == derived_id(command, 0)
    assert derived_id(command, 0) != derived_id(command, 1)
