"""The screens' tests: a whole library running in this process, a browser in another.

``school`` starts every service over the real RabbitMQ and PostgreSQL, the
gateway serving the built screens (``make web``), and makes a little school over
the HTTP API (tests/e2e/school.py). ``scenario(name)`` then runs
``python -m tests.e2e.scenarios.<name>`` in a process of its own (this one is
monkey-patched by eventlet, which Playwright must not share): the script drives
Debian's Chromium as a person would, asserts what each screen shows, and prints
what it measured as JSON. Its failure, with the assertion that failed, fails the test.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from services.gateway.service import GatewayService
from services.gateway.static import STATIC_DIR
from services.sip2.service import Sip2Service
from tests.e2e.school import make_school
from tests.helpers import with_sip2_listener, with_web_address
from tests.integration.test_gateway import ALL_SERVICES

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
# The SIP2 server too (on a port of its own), so the operator's page finds every service up.
SERVICES = (*ALL_SERVICES, GatewayService, Sip2Service)


@pytest.fixture
def library(runner_factory, config) -> dict[str, Any]:
    """Every service running, the gateway on a port of its own; returns the settings."""
    assert CHROMIUM.exists(), "Debian's chromium is needed (make test installs it)"
    assert (STATIC_DIR / "index.html").is_file(), (
        f"the screens are not built in {STATIC_DIR}: make web"
    )
    settings = with_sip2_listener(with_web_address(config))
    runner_factory(settings, *SERVICES).start()
    return settings


@pytest.fixture
def school(library) -> dict[str, Any]:
    """The little school of tests/e2e/school.py, made over the API: what the scenarios get."""
    return make_school(library)


@pytest.fixture
def scenario(school):
    """Run a browser scenario against ``school``; returns the JSON it printed."""

    def run(name: str, *args: str, timeout: float = 600, **facts: Any) -> Any:
        done = subprocess.run(
            [sys.executable, "-m", f"tests.e2e.scenarios.{name}", *args],
            cwd=ROOT,
            env={**os.environ, "LIBRARY_SCHOOL": json.dumps({**school, **facts})},
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        assert done.returncode == 0, f"scenario {name} failed:\n{done.stderr[-6000:]}"
        return json.loads(done.stdout or "null")

    return run
