"""Running services as real ``nameko run`` processes, for tests that need several instances."""

import os
import signal
import subprocess
import sys

import pytest
import requests
import yaml

from shared.config import REPO_ROOT
from tests.helpers import wait_until
from tests.integration.school_systems import school_system  # noqa: F401 (a fixture)
from tests.integration.test_accounts import People, start


def rpc_consumers(config, service: str) -> int:
    """How many instances of ``service`` are consuming its RPC queue right now."""
    api = config["RABBIT_MANAGEMENT_URI"].rstrip("/")
    vhost = config["AMQP_URI"].rsplit("/", 1)[1]
    response = requests.get(f"{api}/api/queues/{vhost}/rpc-{service}", timeout=5)
    return response.json().get("consumers", 0) if response.ok else 0


@pytest.fixture
def nameko_processes(config, tmp_path):
    """Start ``count`` ``nameko run`` processes of a service; all are killed after the test."""
    config_path = tmp_path / "config.yml"
    config_path.write_text(yaml.safe_dump(config))
    started: list[subprocess.Popen] = []

    def start(service: str, count: int = 1) -> list[subprocess.Popen]:
        before = rpc_consumers(config, service)
        for _ in range(count):
            log = open(tmp_path / f"{service}-{len(started)}.log", "w")
            started.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "nameko",
                        "run",
                        "--config",
                        str(config_path),
                        f"services.{service}.service",
                    ],
                    cwd=REPO_ROOT,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env={**os.environ, "PYTHONWARNINGS": "ignore"},
                )
            )
        wait_until(
            lambda: rpc_consumers(config, service) >= before + count,
            timeout=60,
            what=f"{count} {service} instance(s) to consume",
        )
        return started[-count:]

    yield start
    for process in started:
        process.send_signal(signal.SIGKILL)
        process.wait()


@pytest.fixture
def people(runner_factory, config) -> People:
    """Every service in this process behind the gateway, and the people who call it
    (tests/integration/test_accounts.py: People)."""
    return start(runner_factory, config)


@pytest.fixture
def doc(people) -> dict:
    """The gateway's OpenAPI document, as a client reads it."""
    return people.get("/openapi.json", role=None).json()
