"""``GET /api/status`` shows what ``library status`` shows: each service's instances, the
queues, the dead letters and the projection lag, read from RabbitMQ's management API
as the gateway's own broker user, tagged ``management`` and nothing more; when that
API refuses, those figures are null with the reason and the rest of the page stands."""

from __future__ import annotations

import json
from urllib.parse import quote, urlsplit

import requests

from services.catalog.service import CatalogService
from services.sip2.service import Sip2Service
from shared.config import SERVICES
from shared.messaging.names import events_exchange
from shared.messaging.publisher import ConfirmingPublisher, OutgoingMessage
from shared.runtime.permissions import amqp_uri_as, apply, vhost_of
from tests.helpers import wait_until, with_sip2_listener
from tests.integration.test_gateway import ALL_SERVICES, problem, start_gateway
from tests.integration.test_gateway_openapi import conforms

FOLLOWED = "circulation.from.catalog"


def status(api):
    answer = api.get("/api/status", role="operator")
    assert answer.status_code == 200, answer.text
    return answer.json()


def by_name(rows, key="name"):
    return {row[key]: row for row in rows}


def poison(amqp_uri: str) -> None:
    """A message no follower of the catalog can read: each dead-letters it."""
    publisher = ConfirmingPublisher(amqp_uri)
    try:
        publisher.publish_batch(
            events_exchange("catalog").name,
            [OutgoingMessage("BookAdded", b"this is not json", message_id="poison-1")],
        )
    finally:
        publisher.close()


def test_an_operator_sees_every_service_s_instances_the_queues_and_a_dead_letter(
    runner_factory, config
):
    settings = with_sip2_listener(config)
    [listener] = settings["SIP2"]["listeners"]
    api = start_gateway(runner_factory, settings, *ALL_SERVICES, Sip2Service)

    def all_consuming():  # the management API's counts are a few seconds behind
        report = status(api)
        instances = {s["service"]: s["instances"] for s in report["services"]}
        return all((instances[name] or 0) >= 1 for name in (*SERVICES, "sip2")) and report

    report = wait_until(all_consuming, timeout=30, what="every service's RPC consumer counted")
    assert report["status"] == "ok" and report["problems"] == []
    services = by_name(report["services"], "service")
    assert set(services) == {*SERVICES, "sip2"}
    # The SIP2 server owns no data: its health (with its listener), no projections.
    kiosks = services.pop("sip2")
    assert kiosks["up"] and kiosks["projection_lag"] is None
    assert kiosks["health"]["listeners"][0]["port"] == listener["port"]
    assert all(s["up"] and isinstance(s["projection_lag"], list) for s in services.values())
    queues = by_name(report["queues"])
    assert queues["rpc-catalog"]["service"] == "catalog"
    assert queues["rpc-catalog"]["consumers"] == services["catalog"]["instances"]
    assert queues[FOLLOWED]["service"] == "circulation"
    for queue in queues.values():
        assert queue["messages"] == queue["ready"] + queue["unacked"]
        assert not queue["name"].endswith(".dlq") and not queue["name"].startswith("rpc.reply-")
    letters = by_name(report["dead_letters"], "queue")
    assert letters[f"{FOLLOWED}.dlq"] == {
        "queue": f"{FOLLOWED}.dlq",
        "service": "circulation",
        "messages": 0,
    }

    poison(config["AMQP_URI"])

    def dead_lettered():
        letters = by_name(status(api)["dead_letters"], "queue")
        return letters[f"{FOLLOWED}.dlq"]["messages"] == 1 and letters

    letters = wait_until(dead_lettered, timeout=30, what="the dead letter to be counted")
    assert letters["archives.from.catalog.dlq"]["messages"] == 1  # archives follows too

    doc = api.get("/openapi.json", role=None).json()
    conforms(doc, "GET", "/api/status", api.get("/api/status", role="operator"))
    problem(api.get("/api/status", role="reader"), 403)


def management(config):
    parts = urlsplit(config["RABBIT_MANAGEMENT_URI"])
    return f"http://{parts.hostname}:{parts.port or 15672}/api", (parts.username, parts.password)


def test_the_gateway_reads_the_queues_as_its_own_user_and_without_the_tag_says_so(
    runner_factory, config
):
    vhost = vhost_of(config["AMQP_URI"])
    [user] = apply(
        config["RABBIT_MANAGEMENT_URI"], vhost, {"gateway": "gateway-pw"}, suffix=f"-{vhost}"
    ).values()
    api_base, auth = management(config)
    try:
        tags = requests.get(f"{api_base}/users/{quote(user, safe='')}", auth=auth, timeout=10)
        assert tags.json()["tags"] in (["management"], "management")
        runner_factory(config, CatalogService).start()
        as_gateway = {**config, "AMQP_URI": amqp_uri_as(config["AMQP_URI"], user, "gateway-pw")}
        api = start_gateway(runner_factory, as_gateway, status_timeout=1)

        def catalog_counted():
            report = status(api)
            catalog = by_name(report["services"], "service")["catalog"]
            return catalog["up"] and catalog["instances"] == 1 and report

        report = wait_until(catalog_counted, timeout=30, what="the catalog's instance counted")
        assert report["problems"] == [] and "rpc-catalog" in by_name(report["queues"])
        assert report["status"] == "degraded"  # only the catalog runs

        # A broker user without the tag (as before this change): the page still answers.
        untagged = {"password": "gateway-pw", "tags": ""}
        requests.put(
            f"{api_base}/users/{quote(user, safe='')}", json=untagged, auth=auth, timeout=10
        ).raise_for_status()
        report = status(api)
        assert report["queues"] is None and report["dead_letters"] is None
        assert all(s["instances"] is None for s in report["services"])
        assert by_name(report["services"], "service")["catalog"]["up"]
        [why] = report["problems"]
        assert "refused the login" in why and "management" in why
        assert "gateway-pw" not in json.dumps(report)
    finally:
        requests.delete(f"{api_base}/users/{quote(user, safe='')}", auth=auth, timeout=10)
