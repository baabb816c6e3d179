"""Configuration: the nameko YAML file with ``${VAR:default}`` substitution.

Services get their config from ``nameko run --config``; command-line tools and
tests load the same file through ``load_config`` so all agree on one source.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG_PATH = REPO_ROOT / "infra" / "config.yml"
SERVICES = ("catalog", "circulation", "activities", "archives", "accounts")
CALLERS = ("gateway", "sip2")
"""The processes that call the services and answer only their own health RPC: they own
no events and no database."""

Config = dict[str, Any]


class ConfigError(KeyError):
    """Raised when a setting a component needs is missing from the config."""


def load_config(path: str | os.PathLike[str] | None = None) -> Config:
    """Read the YAML config, substituting environment variables as nameko does."""
    from nameko.cli.main import setup_yaml_parser

    setup_yaml_parser()
    path = path or os.environ.get("LIBRARY_CONFIG") or DEFAULT_CONFIG_PATH
    with open(path) as handle:
        return yaml.safe_load(handle)


def database_url(config: Config, service: str) -> str:
    """The DSN of ``service``'s own database."""
    try:
        return config["DATABASES"][service]
    except KeyError:
        raise ConfigError(f"no DATABASES.{service} in the config") from None


def amqp_uri(config: Config) -> str:
    """The broker's address, or a cluster's: several addresses separated by ``;``.

    kombu's ``Connection`` takes the list as it is and fails over from one
    address to the next (round robin) when a connection cannot be made or is lost.
    """
    try:
        return config["AMQP_URI"]
    except KeyError:
        raise ConfigError("no AMQP_URI in the config") from None


def addresses(uri: str) -> list[str]:
    """Each address of a broker setting (``AMQP_URI``, ``RABBIT_MANAGEMENT_URI``): one, or
    a cluster's nodes separated by ``;``."""
    return [address.strip() for address in str(uri).split(";") if address.strip()]


def connect_retries(uri: str) -> int:
    """How many retries let kombu's ``ensure_connection`` try each address of ``uri`` once
    (at least one, so a single broker is tried twice, as before)."""
    return max(1, len(addresses(uri)) - 1)


ROLES = ("librarian", "assistant", "operator", "reader")


def role_tokens(config: Config) -> dict[str, str]:
    """The gateway's bearer token of each role: ``GATEWAY.tokens``, else ``<ROLE>_TOKEN``.

    Tokens are never written in code; the config's defaults are for local
    development only. A role without a token cannot sign in at all.
    """
    configured = (config.get("GATEWAY") or {}).get("tokens") or {}
    tokens = {}
    for role in ROLES:
        token = configured.get(role, os.environ.get(f"{role.upper()}_TOKEN"))
        # YAML may read a numeric token as a number; a blank one disables the role.
        if token is not None and str(token).strip():
            tokens[role] = str(token).strip()
    return tokens
