"""Carrying out a command on one copy: load its history, decide, record.

The RPC entrypoints and the reactions to circulation both change copies this
way, so a copy follows the same rules whoever asks. Writes are optimistic: the
events are appended only if the copy's stream is still at the version that was
decided on, and a command that lost a race is carried out again on the new
state (two librarians touching one copy at once).
"""

from __future__ import annotations

from collections.abc import Callable
from logging import getLogger
from typing import TypeVar

from services.catalog import domain
from shared.domain import fold
from shared.envelope import Envelope, derived_id
from shared.store import ConcurrencyError
from shared.unit_of_work import UnitOfWork

_log = getLogger(__name__)

T = TypeVar("T")
ATTEMPTS = 3


def carry_out(uow: UnitOfWork, command: domain.Command) -> list[Envelope]:
    """Decide ``command`` on its copy's history and record what was decided.

    A command whose ``command_id`` already recorded its events (a retry) is not
    decided again, since the copy has moved on because of it: nothing new is
    recorded and nothing is refused.
    """
    stream = domain.stream_id(command.barcode)
    history = uow.load(stream)
    if _done_before(uow, history):
        return []
    state = fold(domain.evolve, domain.INITIAL, history)
    events = domain.decide(state, command)
    return uow.append(stream, len(history), events, campus=state.campus)


def retrying(attempt: Callable[[], T], attempts: int = ATTEMPTS) -> T:
    """Run a whole load-decide-append ``attempt`` again when the stream moved under it."""
    for number in range(1, attempts + 1):
        try:
            return attempt()
        except ConcurrencyError as conflict:
            if number == attempts:
                raise
            _log.info("deciding again (attempt %d of %d): %s", number + 1, attempts, conflict)
    raise AssertionError("unreachable")


def _done_before(uow: UnitOfWork, history: list[Envelope]) -> bool:
    """True when this unit of work's command id already recorded the first of its events."""
    if uow.command_id is None:
        return False
    first = derived_id(uow.command_id, 0)
    return any(envelope.event_id == first for envelope in history)
