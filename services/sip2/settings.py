"""The SIP2 section of the config, read once with defaults a test can override.

::

    SIP2:
      listeners:
        - {name: school, host: 127.0.0.1, port: 6001, encoding: utf-8}
      language: zh-CN           # the kiosks' screen messages (AF)
      idle_timeout: 300         # seconds a connection may stay silent, or half a message
      max_connections: 200      # kiosks connected at once, over every listener
      login_failure_delay: 1.0  # seconds, doubled per wrong password on a connection
      rpc_timeout: 10           # seconds a call to circulation or accounts may take

A kiosk's campus is its account's (``kiosk`` role, docs/sip2.md), not its listener's: one
listener serves both campuses, and a school may give each campus its own port (and an
older kiosk GB18030) with a listener each.
"""

from __future__ import annotations

import codecs
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from shared.config import ConfigError
from shared.paper.words import DEFAULT_LANGUAGE, LANGUAGES
from shared.runtime.school_calendar import DEFAULT_TIMEZONE  # SCHOOL.timezone: the kiosks' clock

SECTION = "SIP2"
DEFAULT_LISTENER = {"name": "school", "host": "127.0.0.1", "port": 6001, "encoding": "utf-8"}
DEFAULT_IDLE_TIMEOUT = 300.0
DEFAULT_MAX_CONNECTIONS = 200
DEFAULT_LOGIN_FAILURE_DELAY = 1.0
MAX_LOGIN_FAILURE_DELAY = 30.0
DEFAULT_RPC_TIMEOUT = 10.0


@dataclass(frozen=True)
class Listener:
    """One address kiosks connect to, and the encoding its kiosks speak."""

    name: str
    host: str
    port: int
    encoding: str = "utf-8"


@dataclass(frozen=True)
class Sip2Settings:
    listeners: tuple[Listener, ...]
    language: str = DEFAULT_LANGUAGE
    idle_timeout: float = DEFAULT_IDLE_TIMEOUT
    max_connections: int = DEFAULT_MAX_CONNECTIONS
    login_failure_delay: float = DEFAULT_LOGIN_FAILURE_DELAY
    rpc_timeout: float = DEFAULT_RPC_TIMEOUT
    timezone: str = DEFAULT_TIMEZONE

    def now(self) -> datetime:
        """The school's local time, as SIP2 dates are written (no zone)."""
        return datetime.now(ZoneInfo(self.timezone)).replace(tzinfo=None, microsecond=0)

    def failure_delay(self, failures: int) -> float:
        """How long the answer to the ``failures``-th wrong login in a row waits:
        the configured delay, doubled each time, at most ``MAX_LOGIN_FAILURE_DELAY``."""
        if failures <= 0:
            return 0.0
        return min(MAX_LOGIN_FAILURE_DELAY, self.login_failure_delay * 2 ** (failures - 1))

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Sip2Settings:
        section = config.get(SECTION) or {}
        raw = section.get("listeners") or [DEFAULT_LISTENER]
        listeners = tuple(_listener(item, index) for index, item in enumerate(raw))
        names = [listener.name for listener in listeners]
        if len(set(names)) != len(names):
            raise ConfigError(f"{SECTION}.listeners: each listener needs a name of its own")
        language = str(section.get("language") or DEFAULT_LANGUAGE)
        if language not in LANGUAGES:
            raise ConfigError(f"{SECTION}.language {language!r} is not one of {LANGUAGES}")
        settings = cls(
            listeners=listeners,
            language=language,
            idle_timeout=float(section.get("idle_timeout") or DEFAULT_IDLE_TIMEOUT),
            max_connections=int(section.get("max_connections") or DEFAULT_MAX_CONNECTIONS),
            login_failure_delay=float(
                section.get("login_failure_delay", DEFAULT_LOGIN_FAILURE_DELAY) or 0.0
            ),
            rpc_timeout=float(section.get("rpc_timeout") or DEFAULT_RPC_TIMEOUT),
            timezone=str((config.get("SCHOOL") or {}).get("timezone") or DEFAULT_TIMEZONE),
        )
        if settings.idle_timeout <= 0 or settings.max_connections <= 0:
            raise ConfigError(f"{SECTION}: idle_timeout and max_connections must be positive")
        return settings


def _listener(item: Any, index: int) -> Listener:
    if not isinstance(item, Mapping):
        raise ConfigError(f"{SECTION}.listeners[{index}] is not a mapping")
    encoding = str(item.get("encoding") or "utf-8")
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise ConfigError(f"{SECTION}.listeners[{index}]: unknown encoding {encoding!r}") from None
    try:
        port = int(item.get("port", DEFAULT_LISTENER["port"]))
    except (TypeError, ValueError):
        raise ConfigError(f"{SECTION}.listeners[{index}]: port is not a number") from None
    return Listener(
        name=str(item.get("name") or f"listener-{index}"),
        host=str(item.get("host") or DEFAULT_LISTENER["host"]),
        port=port,
        encoding=encoding,
    )
