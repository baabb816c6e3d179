"""Read your own writes and the live stream, the parts that need no server.

The pipeline hands over where a command's events went (the first time as when
answered again); the headers are read and written strictly; a live stream sends
an event once, and only to those allowed to see it.
"""

from __future__ import annotations

import uuid

import eventlet
import pytest

from services.gateway.live import (
    MAX_REPLAY,
    Client,
    LiveSettings,
    LiveStream,
    Pushed,
    carries_personal_data,
    parse_last_event_id,
)
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
    assert plain.offer(lent) and not plain.shown(lent)  # queued, to see the position, not sent
    assert allowed.offer(lent) and allowed.shown(lent)
    assert allowed.fresh(lent) and not allowed.fresh(lent) and not allowed.fresh(pushed(
        "circulation", 6, "Lent"))  # fmt: skip
    assert lent.message().decode().startswith("id: circulation:7\nevent: Lent\ndata: {")


class Hub:
    """What a ``LiveStream`` asks of its gateway's ``LiveEvents``."""

    settings = LiveSettings(heartbeat=0.01)

    def leave(self, client: Client) -> None:
        client.closed = True


def sent_by(stream: LiveStream, count: int) -> list[str]:
    """The ids of the first ``count`` events the stream sends (heartbeats skipped)."""
    ids: list[str] = []
    with eventlet.Timeout(5):  # a stream that never sends them fails the test, not hangs it
        for chunk in stream:
            ids += [line[4:] for line in chunk.decode().splitlines() if line.startswith("id: ")]
            if len(ids) >= count:
                break
    stream.close()
    return ids


def test_a_hole_before_an_event_is_filled_from_the_feed_once_the_archives_hold_it():
    archived = {"circulation": 3}  # the feed holds #1-#3 now; #4-#5 come a moment later
    asked: list[tuple[str, int]] = []

    def read_feed(source: str, after: int, limit: int) -> list[dict]:
        asked.append((source, after))
        if len(asked) == 3:
            archived[source] = 5
        head = archived[source]
        return [{"source": source, "position": p, "type": "Returned", "data": {}}
                for p in range(after + 1, min(head, after + limit) + 1)]  # fmt: skip

    client = Client(personal=True, size=10, seen={"circulation": 1})
    stream = LiveStream(Hub(), client, [pushed("circulation", 2, "Returned")], read_feed)
    client.offer(pushed("circulation", 6, "Returned"))  # received live after a hole
    assert sent_by(stream, 5) == [f"circulation:{p}" for p in range(2, 7)]
    assert asked[0] == ("circulation", 2) and len(asked) == 3  # asked again until it held #5


def test_a_resumed_stream_sends_up_to_the_sources_head_though_nothing_comes_live():
    archived = {"circulation": 1}  # #2 and #3 were committed before the bind, not archived

    def read_feed(source: str, after: int, limit: int) -> list[dict]:
        archived[source] += 1  # the archives catch up a little at each ask
        head = min(archived[source], 3)
        return [{"source": source, "position": p, "type": "Returned", "data": {}}
                for p in range(after + 1, min(head, after + limit) + 1)]  # fmt: skip

    client = Client(personal=True, size=10, seen={"circulation": 1})
    stream = LiveStream(Hub(), client, [], read_feed, heads={"circulation": 3})
    assert sent_by(stream, 2) == ["circulation:2", "circulation:3"]


def test_withheld_events_are_no_hole_and_a_source_not_begun_has_none():
    def read_feed(source: str, after: int, limit: int) -> list[dict]:
        raise AssertionError("no hole to fill")

    plain = Client(personal=False, size=10)
    stream = LiveStream(Hub(), plain, [], read_feed)
    for event in (pushed("catalog", 8), pushed("circulation", 3, "Lent"), pushed("catalog", 9),
                  pushed("circulation", 4, "ClosedDaysSet")):  # fmt: skip
        plain.offer(event)
    assert sent_by(stream, 3) == ["catalog:8", "catalog:9", "circulation:4"]
    assert plain.hole_before(pushed("circulation", 4 + MAX_REPLAY + 2)) is None  # too far back


def test_a_client_too_far_behind_is_told_so():
    client = Client(personal=True, size=1)
    assert client.offer(pushed("catalog", 1))
    assert not client.offer(pushed("catalog", 2))
