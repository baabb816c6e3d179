"""The demo's school system: a key and a broker user for student records, as a school makes one.

``library keys create student-records --rights events.read,events.personal`` done
once; run again, the demo keeps the key of ``.run/demo.json`` (a key's secret is
shown only when it is made). docs/integrating.md follows the example subscriber
with it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from shared.config import Config

SYSTEM = "student-records"
RIGHTS = ["events.personal", "events.read"]


def ensure(
    config: Config, kept: Mapping[str, Any], say: Callable[[str], None], timeout: float
) -> dict[str, dict[str, Any]]:
    """The demo's school system, its API key and broker login (kept, or made now)."""
    from shared.cli import keys

    listed = {key["name"]: key for key in keys.listing(config, timeout)}
    mine = kept.get(SYSTEM) or {}
    active = listed.get(mine.get("name", ""))
    if active and not active["revoked_at"] and mine.get("api_key"):
        return {SYSTEM: dict(mine)}
    name, number = SYSTEM, 1
    while name in listed:  # a revoked key's name is never given again
        number += 1
        name = f"{SYSTEM}-{number}"
    made = keys.create(config, name, RIGHTS, timeout)
    say(f"school system {name}: an API key and the broker user {made['broker']['user']}")
    return {
        SYSTEM: {
            "name": name,
            "api_key": made["api_key"],
            "amqp_uri": made["broker"]["amqp_uri"],
            "queue": made["broker"]["queues"][0],
        }
    }
