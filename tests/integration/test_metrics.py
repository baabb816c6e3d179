"""/metrics of the running services as Prometheus scrapes them (shared/runtime/metrics.py).

Every service runs in this one process behind the gateway, as the integration
tests run them: one server answers for all, each series names its service.
A lend through the gateway moves the command counter and histogram of
circulation and the HTTP counter of the gateway; the lag of a projection is
visible in events and in seconds.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest
import requests
import yaml
from kombu import Connection, Exchange, Queue
from nameko.standalone.rpc import ClusterRpcProxy
from prometheus_client.parser import text_string_to_metric_families

from shared.config import REPO_ROOT
from tests.helpers import free_port, wait_until
from tests.integration.test_gateway import ALL_SERVICES, TODAY, start_gateway


def scrape(url: str) -> dict[tuple[str, frozenset], float]:
    """Every sample of ``url``: (name, labels) -> value."""
    answer = requests.get(url, timeout=10)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


def value(samples, name: str, **labels) -> float:
    """One sample's value; 0 when the series does not exist yet."""
    return samples.get((name, frozenset(labels.items())), 0.0)


@pytest.fixture
def running(runner_factory, config):
    settings = {**config, "METRICS": {**config["METRICS"], "refresh_seconds": 0.3}}
    api = start_gateway(runner_factory, settings, *ALL_SERVICES)
    with ClusterRpcProxy(config) as cluster:
        urls = {
            name: getattr(cluster, name).health()["metrics"]
            for name in ("circulation", "catalog", "gateway")
        }
    return api, urls


def test_one_server_per_process_answers_for_every_service_in_it(running):
    _, urls = running
    assert urls["circulation"].startswith("http://127.0.0.1:")
    assert urls["circulation"].endswith("/metrics")
    assert urls["circulation"] == urls["catalog"] == urls["gateway"]  # ephemeral, one per process
    samples = scrape(urls["circulation"])
    for service in ("catalog", "circulation", "activities", "archives", "accounts"):
        assert value(samples, "library_db_pool_size", service=service) == 8


def test_a_lend_through_the_gateway_moves_the_counters_and_the_histogram(running):
    api, urls = running
    barcode = api.add_books(copies=1)[0]
    patron = api.card()
    before = scrape(urls["circulation"])

    assert api.lend(barcode, patron).status_code == 201
    assert api.lend(barcode, patron).status_code == 409  # on loan already: refused

    after = scrape(urls["gateway"])
    lend = {"service": "circulation", "command": "lend"}
    for outcome in ("ok", "refused"):
        moved = value(after, "library_commands_total", **lend, outcome=outcome) - value(
            before, "library_commands_total", **lend, outcome=outcome
        )
        assert moved == 1, outcome
    timed = value(after, "library_command_seconds_count", **lend) - value(
        before, "library_command_seconds_count", **lend
    )
    assert timed == 2
    assert value(after, "library_command_seconds_bucket", **lend, le="+Inf") >= 2
    assert value(after, "library_command_seconds_sum", **lend) > 0

    route = {"route": "/api/loans", "method": "POST"}
    for status in ("201", "409"):
        moved = value(after, "library_http_requests_total", **route, status=status) - value(
            before, "library_http_requests_total", **route, status=status
        )
        assert moved == 1, status
    assert value(after, "library_http_request_seconds_count", **route) >= 2
    assert not any(
        name == "library_http_requests_total" and barcode in dict(labels).get("route", "")
        for name, labels in after
    )  # the pattern, never the path
    assert value(after, "library_events_appended_total", service="circulation") > value(
        before, "library_events_appended_total", service="circulation"
    )

    unmatched = {"route": "<unmatched>", "method": "GET", "status": "404"}
    before = value(scrape(urls["gateway"]), "library_http_requests_total", **unmatched)
    for path in ("/api/no-such-thing", "/wp-login.php", "/api/loans/x/y/z"):
        assert api.get(path).status_code == 404
    counted = value(scrape(urls["gateway"]), "library_http_requests_total", **unmatched)
    assert counted - before == 3  # one series for every path no route matches

    def published() -> dict:
        samples = scrape(urls["circulation"])
        ok = (
            value(samples, "library_relay_lag_events", service="circulation") == 0
            and value(samples, "library_events_published_total", service="circulation")
            >= value(samples, "library_event_store_head", service="circulation")
            > 0
        )
        return samples if ok else {}

    samples = wait_until(published, timeout=15, what="the relay to publish the lend")
    assert value(samples, "library_relay_leader", service="circulation") == 1
    queue = "circulation.from.catalog.dlq"
    assert (
        "library_dead_letters",
        frozenset({"service": "circulation", "queue": queue}.items()),
    ) in samples


def test_a_projection_behind_its_source_shows_its_lag_in_events_and_seconds(
    running, config, pool_for
):
    api, urls = running
    barcode = api.add_books(copies=1)[0]
    patron = api.card()
    assert api.lend(barcode, patron, on=TODAY).status_code == 201
    followed = {"service": "catalog", "projection": "copies_on_loan", "source": "circulation"}
    with ClusterRpcProxy(config) as cluster:
        head = cluster.circulation.health()["head"]
        wait_until(
            lambda: any(
                row["projection"] == "copies_on_loan" and row["lag"] == 0
                for row in cluster.catalog.projection_lag()
            ),
            timeout=15,
            what="catalog's copies on loan to take in the lend",
        )

        def caught_up() -> bool:
            samples = scrape(urls["catalog"])
            return (
                value(samples, "library_projection_lag_events", **followed) == 0
                and (
                    "library_projection_lag_seconds",
                    frozenset(followed.items()),
                )
                in samples
            )

        wait_until(caught_up, timeout=15, what="the caught-up lag on /metrics")

        # The projection as it would be with the lend's events not applied yet.
        with pool_for("catalog").transaction() as cursor:
            cursor.execute(
                "UPDATE projection_checkpoints SET position = %s "
                "WHERE projection = 'copies_on_loan' AND source = 'circulation'",
                (head - 1,),
            )
        rows = {row["projection"]: row for row in cluster.catalog.projection_lag()}
        assert rows["copies_on_loan"]["lag"] == 1
        assert rows["copies_on_loan"]["seconds"] > 0

    def behind() -> dict:
        samples = scrape(urls["catalog"])
        return samples if value(samples, "library_projection_lag_events", **followed) == 1 else {}

    samples = wait_until(behind, timeout=15, what="the lag of one event on /metrics")
    assert value(samples, "library_projection_lag_seconds", **followed) > 0


def test_an_instance_serves_on_its_own_port_names_itself_to_prometheus_and_stops_cleanly(
    config, tmp_path, pool_for
):
    """``catalog@2`` as the supervisor runs it: /metrics on the base port + 1, its target
    written, and, stopped while a source it follows is down (its queue kept, nobody
    consuming: a call to it waits), it stops anyway and takes its target away."""
    port = free_port()
    targets = tmp_path / "targets"
    metrics = {"ports": {"catalog": port - 1}, "targets": str(targets), "refresh_seconds": 0.2}
    settings = {**config, "METRICS": {**config["METRICS"], **metrics}}
    path = tmp_path / "config.yml"
    path.write_text(yaml.safe_dump(settings))
    with Connection(config["AMQP_URI"]) as connection:  # circulation down, its queue kept
        exchange = Exchange("nameko-rpc", type="topic", durable=True)
        Queue("rpc-circulation", exchange, routing_key="circulation.*")(connection).declare()
    with pool_for("catalog").transaction() as cursor:  # a projection following it
        cursor.execute(
            "INSERT INTO projection_checkpoints (projection, source, position) "
            "VALUES ('copies_on_loan', 'circulation', 0)"
        )
    log = open(tmp_path / "catalog@2.log", "w")
    process = subprocess.Popen(
        [sys.executable, "-m", "nameko", "run", "--config", str(path), "services.catalog.service"],
        cwd=REPO_ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONWARNINGS": "ignore", "LIBRARY_INSTANCE": "2"},
    )
    try:
        written = wait_until(lambda: list(targets.glob("catalog@2-*.json")), timeout=60)
        assert json.loads(written[0].read_text()) == [
            {"targets": [f"127.0.0.1:{port}"], "labels": {"service": "catalog", "replica": "2"}}
        ]
        url = f"http://127.0.0.1:{port}/metrics"
        refreshed = wait_until(
            lambda: value(
                scrape(url), "library_metrics_refreshed_timestamp_seconds", service="catalog"
            ),
            timeout=30,
            what="a refresh of catalog's store and dead-letter figures",
        )
        assert refreshed > 0
        process.send_signal(signal.SIGTERM)
        # Not held by the refresh waiting on circulation: each of its two steps gives up
        # after 5 s. 20 s was too short once for a clean-clone run on a loaded machine.
        process.wait(timeout=60)
        assert not written[0].exists()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
