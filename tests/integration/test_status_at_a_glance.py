"""``library status`` read at a glance: message rates per queue, projection lag in seconds,
each source's last event; ``library rebuild --help`` lists the projections and says what
the running service sees; and the console printing into a closed pipe exits quietly."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime

from nameko.standalone.rpc import ServiceRpcProxy

from shared.cli.app import main
from shared.config import REPO_ROOT
from tests.helpers import wait_until
from tests.integration.test_cli import TITLE, run
from tests.integration.test_cli import system as system  # a fixture

LIBRARY = [sys.executable, "-m", "shared.cli"]


def status_json(capsys, path) -> dict:
    code, out, _ = run(capsys, "--config", path, "status", "--json")
    assert code == 0, out
    return json.loads(out)


def test_status_gives_rates_lag_in_seconds_and_each_source_s_last_event(system, capsys):
    settings, path = system
    before = datetime.now(UTC)
    with ServiceRpcProxy("catalog", settings) as catalog:
        catalog.add_copies({**TITLE, "copies": 2})

    def caught_up():
        report = status_json(capsys, path)
        rows = [r for r in report["projection_lag"] if r["source"] == "catalog"]
        return rows and all(r["lag"] == 0 for r in rows) and report

    report = wait_until(caught_up, timeout=30, what="every follower of the catalog caught up")
    services = {s["service"]: s for s in report["services"]}
    last = datetime.fromisoformat(services["catalog"]["last_event_at"])
    assert before <= last <= datetime.now(UTC)
    for row in report["projection_lag"]:
        assert row["seconds"] == 0, row  # caught up: nothing waiting, so no age
        if row["source"] == "catalog":
            assert row["source_last_event_at"] == services["catalog"]["last_event_at"]
    assert all({"publish_rate", "deliver_rate"} <= set(q) for q in report["queues"])

    def rates_seen():  # RabbitMQ samples every 5 s; each status asks the services' health
        queues = {q["name"]: q for q in status_json(capsys, path)["queues"]}
        rpc = queues["rpc-catalog"]
        return rpc["publish_rate"] > 0 and rpc["deliver_rate"] > 0

    wait_until(rates_seen, timeout=40, what="RabbitMQ's rates of rpc-catalog")

    code, out, _ = run(capsys, "--config", path, "status")
    assert code == 0
    for heading in ("last event", "in/s", "out/s", "seconds", "s ago"):
        assert heading in out, heading


def test_status_json_into_a_pipe_closed_early_exits_quietly(system):
    _, path = system
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    into_head = subprocess.run(
        f"{' '.join(LIBRARY)} --config {path} status --json | head -1",
        shell=True,
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert into_head.stdout == "{\n" and into_head.stderr == "", into_head.stderr

    # The reader gone before a byte is written: every write meets a closed pipe. The
    # exit code is still the status's (0: all up), the tables' (rich's console) too.
    for output in (["--json"], []):
        read_end, write_end = os.pipe()
        os.close(read_end)
        closed = subprocess.run(
            [*LIBRARY, "--config", path, "status", *output],
            cwd=REPO_ROOT,
            env=env,
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
        )
        os.close(write_end)
        assert closed.returncode == 0 and closed.stderr == "", (output, closed.stderr)


def test_rebuild_help_lists_the_projections_and_what_the_running_service_sees(capsys):
    code = main(["rebuild", "--help"])
    out = capsys.readouterr().out
    assert code == 0
    assert "archives     copy_ledger" in out and "<- catalog, circulation (followed)" in out
    assert "circulation  loans" in out and "(inline, by its commands)" in out
    assert "returns_and_losses" in out.split("not rebuilt")[1]  # a reaction: not rebuilt
    for said in ("keeps running", "queries that read them wait", "commands wait too",
                 "rolls back"):  # fmt: skip
        assert said in " ".join(out.split()), said
