"""Read your own writes: positions a command's events got, and waiting for read models.

A command's events are recorded in its service's log at positions; the gateway
hands them to the caller (``X-Event-Positions: circulation=1234``) and a later
query may name them back (``X-Read-After``). Before answering such a query, each
service asked waits until every projection of it that follows a named source has a
checkpoint at or past the position (``caught_up``): read models are updated
asynchronously, so "at once" means "as of at least what I did".

The wait is done here, in the service next to its ``projection_checkpoints``,
polling the checkpoints every few milliseconds (a local indexed read) rather than
in the browser. A service's own events are applied to its inline projections in
the command's transaction, so its own source is there at once; a service with no
projection following a source has nothing to wait for.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Mapping
from typing import Any

import eventlet

from shared.storage.pool import ConnectionPool

POSITIONS_HEADER = "X-Event-Positions"
READ_AFTER_HEADER = "X-Read-After"
# Where a worker keeps the positions its commands' events got (set by StoreAccess.run,
# read by the command entrypoint when it replies, and by the gateway's client).
WORKER_ATTRIBUTE = "event_positions"
# What the RPC reply of a command carries beside ``result`` and ``error``.
REPLY_KEY = "positions"

MAX_WAIT = 30.0  # seconds a caller may ask a service to wait, at most
MAX_SOURCES = 20
SOURCE = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")
POSITION = re.compile(r"^[0-9]{1,15}$")
HEADER_RULE = (
    "Must be source=position pairs separated by commas, e.g. 'circulation=1234,catalog=56' "
    "(a source: lower-case letters, digits, _ or -; a position: up to 15 digits)."
)
# Checkpoints of the named projections for one source (a row not there yet: position 0).
SELECT_CHECKPOINTS = """
    SELECT projection, position FROM projection_checkpoints
    WHERE source = %s AND projection = ANY(%s)
"""
POLL_FIRST, POLL_MOST = 0.002, 0.01  # seconds between looks: doubling from the first


def format_positions(positions: Mapping[str, int]) -> str:
    """``{"circulation": 1234, "catalog": 56}`` as ``catalog=56,circulation=1234``."""
    return ",".join(f"{source}={int(position)}" for source, position in sorted(positions.items()))


def parse_positions(text: str) -> dict[str, int]:
    """The positions named by an ``X-Read-After`` header; ``ValueError`` (why) if malformed.

    A source named twice keeps its highest position; an empty header names none.
    """
    positions: dict[str, int] = {}
    text = text.strip()
    if not text:
        return positions
    parts = text.split(",")
    if len(parts) > MAX_SOURCES:
        raise ValueError(f"at most {MAX_SOURCES} sources")
    for part in parts:
        source, equals, position = part.strip().partition("=")
        source, position = source.strip(), position.strip()
        if not equals or not SOURCE.fullmatch(source) or not POSITION.fullmatch(position):
            raise ValueError(f"{part.strip()!r} is not source=position")
        positions[source] = max(positions.get(source, 0), int(position))
    return positions


def merge(into: dict[str, int], positions: Mapping[str, int]) -> dict[str, int]:
    """Keep the highest position per source of both (``into`` is changed and answered)."""
    for source, position in positions.items():
        into[source] = max(into.get(source, 0), int(position))
    return into


def note(worker_ctx: Any, positions: Mapping[str, int]) -> None:
    """Remember on a worker where its commands' events went (highest per source)."""
    if not positions:
        return
    kept = getattr(worker_ctx, WORKER_ATTRIBUTE, None)
    if kept is None:
        kept = {}
        setattr(worker_ctx, WORKER_ATTRIBUTE, kept)
    merge(kept, positions)


def noted(worker_ctx: Any) -> dict[str, int]:
    """The positions a worker's commands got (empty when it recorded nothing)."""
    return dict(getattr(worker_ctx, WORKER_ATTRIBUTE, None) or {})


def checked(positions: Any, timeout: Any) -> tuple[dict[str, int], float]:
    """The ``caught_up`` RPC's arguments, checked: ValueError names what is wrong."""
    if not isinstance(positions, Mapping):
        raise ValueError("positions must be an object of source: position")
    good: dict[str, int] = {}
    for source, position in positions.items():
        if not isinstance(source, str) or not SOURCE.fullmatch(source):
            raise ValueError(f"{source!r} is not a source")
        if isinstance(position, bool) or not isinstance(position, int) or position < 0:
            raise ValueError(f"the position of {source} must be a whole number >= 0")
        good[source] = position
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout < 0:
        raise ValueError("timeout must be a number of seconds >= 0")
    return good, min(float(timeout), MAX_WAIT)


def behind(
    pool: ConnectionPool,
    following: Mapping[str, Iterable[str]],
    positions: Mapping[str, int],
) -> dict[str, int]:
    """Per named source, the lowest checkpoint of the projections following it that is
    still short of the position (a source caught up, or followed by none, is left out)."""
    short: dict[str, int] = {}
    with pool.transaction() as cursor:
        for source, position in positions.items():
            names = sorted(set(following.get(source, ())))
            if not names or position <= 0:
                continue
            cursor.execute(SELECT_CHECKPOINTS, (source, names))
            found = dict(cursor.fetchall())
            lowest = min(int(found.get(name) or 0) for name in names)
            if lowest < position:
                short[source] = lowest
    return short


def wait_caught_up(
    pool: ConnectionPool,
    following: Mapping[str, Iterable[str]],
    positions: Mapping[str, int],
    timeout: float,
) -> dict[str, Any]:
    """Wait up to ``timeout`` s until this service's read models have the positions.

    Answers ``{"caught_up": bool, "behind": {source: lowest checkpoint}, "waited_ms"}``.
    """
    started = time.monotonic()
    deadline = started + timeout
    pause = POLL_FIRST
    short = behind(pool, following, positions)
    while short and time.monotonic() < deadline:
        eventlet.sleep(min(pause, max(0.0, deadline - time.monotonic())))
        pause = min(pause * 2, POLL_MOST)
        short = behind(pool, following, short_positions(positions, short))
    return {
        "caught_up": not short,
        "behind": short,
        "waited_ms": round((time.monotonic() - started) * 1000, 1),
    }


def short_positions(positions: Mapping[str, int], short: Mapping[str, int]) -> dict[str, int]:
    """The positions still to wait for: those of the sources still short."""
    return {source: positions[source] for source in short}


def following_of(projections: Iterable[Any]) -> dict[str, list[str]]:
    """Source -> the names of the given projections that follow it."""
    following: dict[str, list[str]] = {}
    for projection in projections:
        for source in projection.sources:
            following.setdefault(source, []).append(projection.name)
    return following
