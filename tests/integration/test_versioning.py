"""A breaking change made the documented way: a v2 schema plus an upcaster.

``CardBlocked`` gets a v2 in this test only (its free-text ``reason`` becomes a
coded ``reason_code`` plus ``note``). Events stored as v1 before the change
still load, replay and arrive off the wire as v2; new ones are stored as v2.
"""

import pytest
from marshmallow import Schema, fields, validate

from shared.events import CATALOGUE, InvalidEvent
from shared.events.envelope import Envelope, NewEvent
from shared.eventsourcing.store import ANY_VERSION, EventStore


class CardBlockedV2(Schema):
    """A card may not borrow until unblocked (v2: a coded reason and a free note)."""

    patron_id = fields.String(required=True)
    reason_code = fields.String(required=True, validate=validate.OneOf(["overdue", "other"]))
    note = fields.String(required=True)


def v1_to_v2(data):
    reason = data.pop("reason")
    data["reason_code"] = "overdue" if "overdue" in reason else "other"
    data["note"] = reason
    return data


@pytest.fixture
def catalogue_with_v2(monkeypatch):
    """The global catalogue with CardBlocked v2 registered, restored after the test."""
    monkeypatch.setattr(CATALOGUE, "_types", dict(CATALOGUE._types))
    monkeypatch.setattr(CATALOGUE, "_latest", dict(CATALOGUE._latest))
    monkeypatch.setattr(CATALOGUE, "_upcasters", dict(CATALOGUE._upcasters))

    def register():
        CATALOGUE.register("circulation", "CardBlocked", CardBlockedV2, version=2)
        CATALOGUE.upcaster("CardBlocked", from_version=1)(v1_to_v2)

    return register


def blocked(patron_id, reason):
    return NewEvent("CardBlocked", f"card-{patron_id}", {"patron_id": patron_id, "reason": reason})


def test_old_events_load_and_replay_as_the_new_version(pool_for, catalogue_with_v2):
    store, pool = EventStore("circulation"), pool_for("circulation")
    with pool.transaction() as cursor:
        store.append(cursor, "card-P1", ANY_VERSION, [blocked("P1", "three books overdue")])
        wire_v1 = store.read(cursor, 0, 10)[0].to_json()
    assert Envelope.from_json(wire_v1).schema_version == 1

    catalogue_with_v2()

    with pool.transaction() as cursor:
        cursor.execute("SELECT schema_version, data->>'reason' FROM events")
        assert cursor.fetchall() == [(1, "three books overdue")]  # history is never rewritten
        [loaded] = store.load(cursor, "card-P1")
        [replayed] = store.read(cursor, 0, 10)
    for event in (loaded, replayed, Envelope.from_json(wire_v1)):
        assert event.schema_version == 2
        assert event.data == {
            "patron_id": "P1",
            "reason_code": "overdue",
            "note": "three books overdue",
        }

    with pytest.raises(InvalidEvent, match="reason"):
        blocked("P2", "lost card").validated()  # publishers now speak v2 only
    new = NewEvent(
        "CardBlocked", "card-P2", {"patron_id": "P2", "reason_code": "other", "note": "lost card"}
    )
    with pool.transaction() as cursor:
        [stored] = store.append(cursor, "card-P2", ANY_VERSION, [new])
    assert stored.schema_version == 2
