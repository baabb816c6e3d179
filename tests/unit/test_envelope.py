"""The envelope: what a consumer accepts off the wire, and what it refuses."""

import json

import pytest

from shared.events.envelope import (
    MAX_ACTOR_ROLE,
    MAX_ACTOR_USERNAME,
    MAX_BODY_BYTES,
    Envelope,
    InvalidActor,
    InvalidEnvelope,
    NewEvent,
    checked_actor,
    derived_id,
)

from .test_catalogue import BOOK_ADDED

LIBRARIAN = {"id": "a-17", "username": "wang.li", "role": "librarian"}


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
        "actor": None,
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


# ------------------------------------------------------------ the actor


def test_an_envelope_always_says_who_did_it_null_when_nobody_is_known():
    unknown = Envelope.from_dict(envelope())
    assert unknown.actor is None and unknown.to_dict()["actor"] is None
    known = Envelope.from_dict(envelope(actor=LIBRARIAN))
    assert known.to_dict()["actor"] == LIBRARIAN
    assert json.loads(known.to_json())["actor"] == LIBRARIAN


def test_the_actor_round_trips_through_json():
    event = Envelope.from_dict(envelope(actor={**LIBRARIAN, "username": "王老师"}))
    assert Envelope.from_json(event.to_json()) == event
    assert event.actor == {**LIBRARIAN, "username": "王老师"}


def test_an_envelope_from_before_actors_is_accepted_with_none():
    older = {k: v for k, v in envelope().items() if k != "actor"}
    event = Envelope.from_json(json.dumps(older).encode())
    assert event.actor is None
    assert list(event.to_dict()) == [*(k for k in older if k != "data"), "actor", "data"]


def test_the_envelope_keeps_its_own_actor_whatever_is_done_to_its_dicts():
    raw = envelope(actor=dict(LIBRARIAN))
    event = Envelope.from_dict(raw)
    raw["actor"]["role"] = "student"
    event.to_dict()["actor"]["role"] = "student"
    assert event.actor == LIBRARIAN


@pytest.mark.parametrize(
    "actor",
    [
        "wang.li",
        ["a-17", "wang.li", "librarian"],
        {"id": "a-17", "username": "wang.li"},
        {**LIBRARIAN, "email": "wang@school.cn"},
        {**LIBRARIAN, "id": 17},
        {**LIBRARIAN, "role": None},
        {**LIBRARIAN, "username": ""},
        {**LIBRARIAN, "username": "x" * (MAX_ACTOR_USERNAME + 1)},
        {**LIBRARIAN, "role": "r" * (MAX_ACTOR_ROLE + 1)},
        {**LIBRARIAN, "username": "wang\x00li"},
    ],
)
def test_a_malformed_actor_is_refused_naming_the_actor(actor):
    with pytest.raises(InvalidEnvelope) as caught:
        Envelope.from_json(json.dumps(envelope(actor=actor)).encode())
    assert "actor" in caught.value.errors
    with pytest.raises(InvalidActor):
        checked_actor(actor)
    with pytest.raises(InvalidActor):
        NewEvent("BookAdded", "copy-C00000001", dict(BOOK_ADDED), actor=actor).validated()


def test_a_well_formed_actor_is_checked_into_a_fresh_dict():
    given = dict(LIBRARIAN)
    checked = checked_actor(given)
    assert checked == LIBRARIAN and checked is not given
    assert checked_actor(None) is None
    key = {"id": "k-3", "username": "key:kiosk-north", "role": "operator"}
    assert (
        NewEvent("Repaired", "copy-x", {"barcode": "C00000001"}, actor=key).validated().actor == key
    )
