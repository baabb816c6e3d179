"""The example subscriber (examples/subscriber) against a running library, as its docs say.

It catches up from the replay feed, follows live without a gap or a double at
the switch-over, stops, misses some events while down, and resumes from its
checkpoint; a campus-filtered one sees only its campus.
"""

import json
import signal
import subprocess
import sys

from kombu import Connection

from services.archives.service import ArchivesService
from services.catalog.service import CatalogService
from services.circulation.service import CirculationService
from shared.config import REPO_ROOT, SERVICES
from shared.messaging.names import declare_campus_routing
from tests.helpers import wait_until
from tests.integration.test_gateway import start_gateway

EXAMPLE = REPO_ROOT / "examples" / "subscriber" / "subscriber.py"


def lines(path):
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_catch_up_follow_live_and_resume_without_gaps_or_doubles(runner_factory, config, tmp_path):
    api = start_gateway(runner_factory, config, CatalogService, CirculationService, ArchivesService)
    with Connection(config["AMQP_URI"]) as connection:
        declare_campus_routing(connection, list(SERVICES))

    def card(name, campus="north"):
        answer = api.post(
            "/api/cards", {"name": name, "kind": "teacher", "campus": campus}, role="assistant"
        )
        assert answer.status_code == 201, answer.text
        return answer.json()["patron_id"]

    def archived():
        reply = api.get("/api/events?source=circulation&limit=1000", role="reader").json()
        return len(reply["events"])

    def subscriber(name, *extra):
        command = [
            sys.executable,
            str(EXAMPLE),
            "--amqp",
            config["AMQP_URI"],
            "--api",
            api.base,
            "--token",
            api.tokens["reader"],
            "--name",
            name,
            "--source",
            "circulation",
            "--state",
            str(tmp_path / f"{name}.json"),
            "--out",
            str(tmp_path / f"{name}.jsonl"),
            *extra,
        ]
        return subprocess.Popen(command, stdout=subprocess.PIPE, text=True)

    history = [card("王老师"), card("张老师", "south"), card("刘老师")]
    wait_until(lambda: archived() == 3, what="the archive to hold the history")
    out = tmp_path / "records.jsonl"
    first = subscriber("records", "--types", "CardIssued,CardRetired")
    north = subscriber("north", "--campus", "north")
    assert "following live" in first.stdout.readline()
    assert "following live" in north.stdout.readline()

    live = [card("赵老师"), card("钱老师", "south")]
    wait_until(lambda: len(lines(out)) == 5, what="the live events")
    first.send_signal(signal.SIGTERM)
    first.wait(timeout=20)

    while_down = [card("孙老师"), card("李老师")]
    wait_until(lambda: archived() == 7, what="the archive to hold what was missed")
    again = subscriber("records", "--types", "CardIssued,CardRetired")
    assert "following live" in again.stdout.readline()
    after = [card("周老师")]
    wait_until(lambda: len(lines(out)) == 8, what="the resumed subscriber to catch up")
    again.send_signal(signal.SIGTERM)
    north.send_signal(signal.SIGTERM)
    again.wait(timeout=20)
    north.wait(timeout=20)

    seen = lines(out)
    assert [e["data"]["patron_id"] for e in seen] == history + live + while_down + after
    assert [e["position"] for e in seen] == sorted(e["position"] for e in seen)
    assert len({e["event_id"] for e in seen}) == len(seen)
    campus_only = lines(tmp_path / "north.jsonl")
    assert {e["campus"] for e in campus_only} == {"north"}
    assert [e["data"]["name"] for e in campus_only] == [
        "王老师",
        "刘老师",
        "赵老师",
        "孙老师",
        "李老师",
        "周老师",
    ]
