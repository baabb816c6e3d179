"""Read your own writes and the live stream, the parts that need no server.

The pipeline hands over where a command's events went (the first time as when
answered again); the headers are read and written strictly; a live stream sends
an event once, and only to those allowed to see it.
"""

from __future__ import annotations

import uuid

import pytest

from services.gateway.live import Client, Pushed, carries_personal_data, parse_last_event_id
from services.gateway.problems import InvalidRequest
from shared.eventsourcing.decider import Refused
from shared.eventsourcing.pipeline import run_command
from shared.runtime import read_after
from tests.unit.test_pipeline import ONE, TWO, Desk, damage, repair


def run(desk: Desk, name: str, parameters: dict, handle=damage) -> tuple[dict, dict]:
    got: list[dict] = []
    receipt = run_command(desk.open_unit_of_work, name, parameters, handle, on_positions=got.append)
    return receipt, got[0]


@pytest.fixture
def desk() -> Desk:
    return Desk()


def test_a_command_names_the_highest_position_its_events_got(desk):
    _, first = run(desk, "damage", {"barcode": ONE})
    _, second = run(desk, "damage", {"barcode": TWO})
    assert first == {"catalog": 1} and second == {"catalog": 2}


def test_a_command_answered_again_names_its_first_positions(desk):
    parameters = {"barcode": ONE, "command_id": str(uuid.uuid4())}
    receipt, first = run(desk, "damage", parameters)
    run(desk, "damage", {"barcode": TWO})  # the log moves on
    again, replayed = run(desk, "damage", dict(parameters))
    assert again == receipt and replayed == first == {"catalog": 1}


def test_a_refused_command_names_nothing(desk):
    got: list[dict] = []
    with pytest.raises(Refused):
        run_command(
            desk.open_unit_of_work, "repair", {"barcode": ONE}, repair, on_positions=got.append
        )
    assert got == []


@pytest.mark.parametrize(
    ("header", "positions"),
    [
        ("", {}),
        ("circulation=1234", {"circulation": 1234}),
        (" circulation = 5 , catalog=56", {"circulation": 5, "catalog": 56}),
        ("catalog=3,catalog=9,catalog=4", {"catalog": 9}),
    ],
)
def test_positions_are_read_from_the_header(header, positions):
    assert read_after.parse_positions(header) == positions


@pytest.mark.parametrize(
    "header", ["circulation", "circulation=", "=1", "Circulation=1", "a=1;b=2", "a=-1", "a=1.5",
               "a=1234567890123456", ",".join(f"s{i}=1" for i in range(21))],
)  # fmt: skip
def test_a_malformed_header_is_refused(header):
    with pytest.raises(ValueError):
        read_after.parse_positions(header)


def test_positions_are_written_sorted_and_merged_by_the_highest():
    assert read_after.format_positions({"circulation": 12, "catalog": 5}) == (
        "catalog=5,circulation=12"
    )
    assert read_after.merge({"a": 3, "b": 1}, {"a": 2, "b": 4}) == {"a": 3, "b": 4}


def test_caught_up_checks_its_arguments():
    assert read_after.checked({"circulation": 3}, 100) == ({"circulation": 3}, read_after.MAX_WAIT)
    for positions, timeout in (([], 1), ({"x": -1}, 1), ({"x": True}, 1), ({"X": 1}, 1),
                               ({"x": 1}, -1), ({"x": 1}, "3")):  # fmt: skip
        with pytest.raises(ValueError):
            read_after.checked(positions, timeout)


def test_last_event_id_is_a_source_and_position_the_stream_sent():
    sources = ("catalog", "circulation")
    assert parse_last_event_id(None, sources) == {}
    assert parse_last_event_id("circulation:12", sources) == {"circulation": 12}
    assert parse_last_event_id("circulation:12,catalog:3", sources) == {
        "circulation": 12,
        "catalog": 3,
    }
    for bad in ("circulation", "circulation:x", "library:1", "circulation:-1"):
        with pytest.raises(InvalidRequest):
            parse_last_event_id(bad, sources)


def pushed(source: str, position: int, event_type: str = "BookAdded") -> Pushed:
    envelope = {"source": source, "position": position, "type": event_type, "data": {}}
    return Pushed.of(envelope)


def test_a_stream_sends_each_event_once_and_personal_ones_only_to_those_allowed():
    lent = pushed("circulation", 7, "Lent")
    assert lent.personal and carries_personal_data("Lent") and not pushed("catalog", 1).personal
    assert carries_personal_data("NoSuchType")  # unknown: taken to name people
    plain, allowed = Client(personal=False, size=10), Client(personal=True, size=10)
    assert plain.offer(lent) and plain.queue.qsize() == 0
    assert allowed.offer(lent) and allowed.queue.qsize() == 1
    assert allowed.fresh(lent) and not allowed.fresh(lent) and not allowed.fresh(pushed(
        "circulation", 6, "Lent"))  # fmt: skip
    assert lent.message().decode().startswith("id: circulation:7\nevent: Lent\ndata: {")


def test_a_client_too_far_behind_is_told_so():
    client = Client(personal=True, size=1)
    assert client.offer(pushed("catalog", 1))
    assert not client.offer(pushed("catalog", 2))
