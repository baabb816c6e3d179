"""School systems' own broker users for a test (shared/runtime/permissions.py), made on the
test's vhost as ``library keys create`` makes them, and deleted with their queues after it.

The fixture ``school_system`` is offered to every integration test by conftest.py.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import pytest

from shared.runtime.permissions import (
    DEFAULT_QUEUES,
    amqp_uri_as,
    create_system_user,
    delete_system_user,
    system_queue_name,
    vhost_of,
)


@dataclass(frozen=True)
class SchoolSystem:
    name: str
    user: str
    password: str
    uri: str  # the broker login, on the test's vhost
    queues: dict[str, str]  # short name -> ext.<system>.<queue>

    @property
    def queue(self) -> str:
        """Its only (or first) queue."""
        return next(iter(self.queues.values()))


@pytest.fixture
def school_system(config) -> Iterator:
    """``make(name, sources, queues=("events",))``: a school system named ``<name>-<random>``
    (user names are global on the broker), with the right to read ``sources``."""
    vhost = vhost_of(config["AMQP_URI"])
    made: list[str] = []

    def make(
        name: str, sources: Sequence[str], queues: Sequence[str] = DEFAULT_QUEUES
    ) -> SchoolSystem:
        system = f"{name}-{uuid.uuid4().hex[:8]}"
        password = secrets.token_urlsafe(16)
        user = create_system_user(
            config["RABBIT_MANAGEMENT_URI"], vhost, system, password, sources, queues
        )
        made.append(system)
        return SchoolSystem(
            system,
            user,
            password,
            amqp_uri_as(config["AMQP_URI"], user, password),
            {queue: system_queue_name(system, queue) for queue in queues},
        )

    yield make
    for system in made:
        delete_system_user(config["RABBIT_MANAGEMENT_URI"], vhost, system)
