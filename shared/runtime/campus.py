"""Which campus an instance serves: the ``CAMPUS`` setting (``LIBRARY_CAMPUS`` in the environment).

A campus host runs its own gateway (and circulation instances) with
``CAMPUS: north`` or ``south``; left empty, an instance serves the whole school,
as a single-host deployment does. A value that is neither is a configuration
error at start-up, never a desk that silently lends at the wrong campus.

What the setting changes is up to each service: the gateway fills in its own
campus for desk commands that leave it out (``services/gateway/desk.py``);
circulation only reports it in ``health()``, since its instances are competing
consumers of one RPC queue and may serve either campus's desk.
"""

from __future__ import annotations

from logging import getLogger
from typing import Any

from nameko.extensions import DependencyProvider

from shared.config import ConfigError
from shared.events.fields import CAMPUSES

_log = getLogger(__name__)


def campus_setting(config: dict[str, Any]) -> str | None:
    """The instance's campus, or None for a whole-school instance."""
    value = config.get("CAMPUS")
    if value is None or str(value).strip() == "":
        return None
    campus = str(value).strip().lower()
    if campus not in CAMPUSES:
        raise ConfigError(
            f"CAMPUS (LIBRARY_CAMPUS) is {value!r}; it must be one of {', '.join(CAMPUSES)}, "
            "or empty for an instance that serves the whole school"
        )
    return campus


class Campus(DependencyProvider):
    """Gives workers the instance's campus (None: the whole school), read once at start-up."""

    def setup(self) -> None:
        self.campus = campus_setting(self.container.config)
        _log.info(
            "%s serves %s",
            self.container.service_name,
            f"the {self.campus} campus" if self.campus else "the whole school",
        )

    def get_dependency(self, worker_ctx: Any) -> str | None:
        return self.campus
