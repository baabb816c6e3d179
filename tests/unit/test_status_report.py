"""The broker's part of the status (``shared.runtime.status_report``), written once for the
console and the gateway; the gateway's page when the management API does not answer;
the gateway's broker user's one tag; the terms of the calendar."""

from __future__ import annotations

from datetime import date, timedelta

from services.gateway import status, terms
from shared.runtime import permissions
from shared.runtime.school_calendar import SchoolCalendar, Term
from shared.runtime.status_report import (
    BrokerView,
    ManagementUnavailable,
    QueueState,
    login_of,
    look_at_broker,
    owner,
    queue_state,
    read_queues,
    vhost_of,
)
from tests.helpers import free_port

QUEUES = [
    QueueState("archives.from.catalog", 2, 1, 1, publish_rate=4.2, deliver_rate=3.8),
    QueueState("archives.from.catalog.dlq", 3, 0, 0),
    QueueState("circulation.from.catalog.dlq", 0, 0, 0),
    QueueState("ext.records.events", 5, 0, 1),
    QueueState("rpc-catalog", 0, 0, 2),
]


def test_each_queue_is_its_consumer_s():
    assert owner("rpc-circulation") == "circulation"
    assert owner("archives.from.catalog") == owner("archives.from.catalog.dlq") == "archives"
    assert owner("gateway.live.0123456789abcdef") == "gateway"
    assert owner("ext.records.events") == "ext.records"
    assert owner("library.something") is None and owner("test-listener") is None


def test_the_view_gives_instances_queues_and_every_dead_letter_queue():
    view = BrokerView(QUEUES)
    assert view.instances("catalog") == 2 and view.instances("activities") is None
    assert [row["name"] for row in view.queue_rows()] == [
        "archives.from.catalog",
        "ext.records.events",
        "rpc-catalog",
    ]
    assert view.queue_rows()[0] == {
        "name": "archives.from.catalog",
        "service": "archives",
        "messages": 3,
        "ready": 2,
        "unacked": 1,
        "consumers": 1,
        "publish_rate": 4.2,
        "deliver_rate": 3.8,
    }
    assert view.dead_letter_rows() == [
        {"queue": "archives.from.catalog.dlq", "service": "archives", "messages": 3},
        {"queue": "circulation.from.catalog.dlq", "service": "circulation", "messages": 0},
    ]


def test_a_queue_s_rates_are_read_from_the_api_s_message_stats():
    busy = {"name": "rpc-circulation", "messages_ready": 0, "consumers": 2, "message_stats": {
        "publish_details": {"rate": 12.345}, "deliver_get_details": {"rate": 12.0}}}  # fmt: skip
    idle = {"name": "catalog.from.circulation", "messages_ready": 0, "consumers": 1}
    assert (queue_state(busy).publish_rate, queue_state(busy).deliver_rate) == (12.3, 12.0)
    assert (queue_state(idle).publish_rate, queue_state(idle).deliver_rate) == (0.0, 0.0)


def test_without_the_broker_s_figures_they_are_none_and_the_problem_is_said():
    view = BrokerView(problems=["the management API cannot be reached"])
    assert view.queue_rows() is None and view.dead_letter_rows() is None
    assert view.instances("catalog") is None


def test_the_login_and_vhost_are_read_from_the_first_address():
    cluster = "amqp://gateway:s3cret@rabbit1:5672/school;amqp://gateway:s3cret@rabbit2/school"
    assert login_of(cluster) == ("gateway", "s3cret")
    assert login_of("amqp://rabbit1:5672/") is None
    assert vhost_of(cluster) == "school" and vhost_of("amqp://h:5672/") == "/"
    assert vhost_of("pyamqp://u:p@h:5672/nameko_test_x") == "nameko_test_x"


def test_an_api_that_does_not_answer_is_one_line_without_the_password():
    closed = free_port()
    try:
        read_queues(f"http://library:s3cret@127.0.0.1:{closed}/", "/", timeout=1)
    except ManagementUnavailable as error:
        message = str(error)
    else:
        raise AssertionError("a closed port answered")
    assert f"127.0.0.1:{closed}" in message and "s3cret" not in message
    assert len(message.splitlines()) == 1
    config = {
        "RABBIT_MANAGEMENT_URI": f"http://library:s3cret@127.0.0.1:{closed}/",
        "AMQP_URI": "amqp://gateway:gw@127.0.0.1:5672/",
    }
    view = look_at_broker(config, as_amqp_user=True, timeout=1)
    assert view.queues is None and "cannot be reached" in view.problems[0]
    assert look_at_broker({"AMQP_URI": "amqp://h/"}).problems == [
        "no RABBIT_MANAGEMENT_URI in the config"
    ]


class Answered:
    def __init__(self, value):
        self.value = value

    def result(self):
        return self.value


class Client:
    status_timeout = 1.0

    def __init__(self, name):
        self.name = name

    def send(self, question, timeout=None):
        answers = {"health": {"service": self.name, "head": 3}, "projection_lag": []}
        return Answered(answers[question])


def test_the_gateway_s_page_stands_when_the_management_api_does_not_answer():
    config = {
        "RABBIT_MANAGEMENT_URI": f"http://127.0.0.1:{free_port()}/",
        "AMQP_URI": "amqp://gateway:gw@127.0.0.1:5672/",
    }
    page = status.collect({"catalog": Client("catalog")}, config)
    assert page["status"] == "ok"
    assert page["queues"] is None and page["dead_letters"] is None
    [catalog] = page["services"]
    assert catalog["up"] and catalog["instances"] is None and catalog["health"]["head"] == 3
    [why] = page["problems"]
    assert "management API cannot be reached" in why


def test_only_the_gateway_s_broker_user_has_a_tag_and_it_is_management():
    assert permissions.tags_for("gateway") == "management"
    for user in ("catalog", "circulation", "activities", "archives", "accounts", "external"):
        assert permissions.tags_for(user) == ""


def test_the_terms_say_which_is_current_and_which_the_archives_closed():
    today = date.today()
    calendar = SchoolCalendar(
        (
            Term("last", today - timedelta(days=200), today - timedelta(days=100)),
            Term("now", today - timedelta(days=30), today + timedelta(days=30)),
            Term("next", today + timedelta(days=100), today + timedelta(days=200)),
        ),
        timezone="UTC",
    )
    closed = {
        "type": "TermClosed",
        "position": 1,
        "data": {"term": "last", "closed_on": "2026-01-23"},
    }
    feed = [closed] + [
        {"type": "Other", "position": n, "data": {}} for n in range(2, terms.FEED_PAGE + 3)
    ]
    asked = []

    def events_since(after, limit):
        asked.append(after)
        return [event for event in feed if event["position"] > after][:limit]

    listed = terms.of_calendar(calendar, events_since)
    assert asked == [0, terms.FEED_PAGE]  # read through, a page at a time
    assert [(t["term"], t["current"], t["closed"]) for t in listed["terms"]] == [
        ("last", False, True),
        ("now", True, False),
        ("next", False, False),
    ]
    assert listed["terms"][0]["closed_on"] == "2026-01-23"
    assert listed["terms"][1]["from"] == (today - timedelta(days=30)).isoformat()
