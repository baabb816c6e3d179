"""Carrying out a command on one copy: load its history, decide, record.

The RPC entrypoints and the reactions to circulation both change copies this
way, so a copy follows the same rules whoever asks. Writes are optimistic: the
events are appended only if the copy's stream is still at the version that was
decided on; the service runs a command that lost such a race again on the new
state (``shared.eventsourcing.unit_of_work.retrying``), for two librarians touching one copy.
"""

from __future__ import annotations

from services.catalog import domain
from shared.events.envelope import Envelope
from shared.eventsourcing.decider import Refused, fold
from shared.eventsourcing.unit_of_work import UnitOfWork


def carry_out(uow: UnitOfWork, command: domain.Command) -> list[Envelope]:
    """Decide ``command`` on its copy's history and record what was decided.

    A command whose ``command_id`` already recorded its events (a retry) is not
    decided again, since the copy has moved on because of it: nothing new is
    recorded and nothing is refused.
    """
    if uow.earlier():
        return []
    return record(uow, command)


def record(uow: UnitOfWork, command: domain.Command) -> list[Envelope]:
    """Decide ``command`` on its copy's history and record it (no retry check)."""
    stream = domain.stream_id(command.barcode)
    history = uow.load(stream)
    state = fold(domain.evolve, domain.INITIAL, history)
    events = domain.decide(state, command)
    return uow.append(stream, len(history), events, campus=state.campus)


def changes_anything(uow: UnitOfWork, command: domain.Command) -> bool:
    """Whether ``command`` would record anything on its copy as it stands (refused: no)."""
    history = uow.load(domain.stream_id(command.barcode))
    try:
        return bool(domain.decide(fold(domain.evolve, domain.INITIAL, history), command))
    except Refused:
        return False
