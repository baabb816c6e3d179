"""Carrying out a command on one note or competition: load its history, decide, record.

Writes are optimistic: the events are appended only if the stream is still at
the version that was decided on; the service runs a command that lost such a
race again on the new state (``shared.eventsourcing.unit_of_work.retrying``), which is how
two notes about one loan, or two entries by one student, end with one refused.
"""

from __future__ import annotations

import uuid
from typing import Any

from services.activities import domain
from shared.errors import NotFound
from shared.events.envelope import Envelope
from shared.eventsourcing.decider import fold
from shared.eventsourcing.unit_of_work import UnitOfWork


def new_id(prefix: str, command_id: Any, what: str) -> str:
    """A short id, derived from the command's id when it has one (so a retry reuses it)."""
    if command_id is None:
        return f"{prefix}{uuid.uuid4().hex[:16]}"
    return f"{prefix}{uuid.uuid5(command_id, what).hex[:16]}"


def carry_out(
    uow: UnitOfWork,
    stream_id: str,
    initial: domain.State,
    command: domain.Command,
    *,
    missing: str | None = None,
    campus: str | None = None,
) -> list[Envelope]:
    """Decide ``command`` on the stream's history and record what was decided.

    With ``missing``, a stream with no history is ``NotFound`` with that message.
    """
    history = uow.load(stream_id)
    if missing is not None and not history:
        raise NotFound(missing)
    state = fold(domain.evolve, initial, history)
    events = domain.decide(state, command)
    return uow.append(stream_id, len(history), events, campus=campus)
