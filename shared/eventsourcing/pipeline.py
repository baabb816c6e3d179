"""The command pipeline: the one way every command of every service is carried out.

A command is a name (``lend``), its validated parameters and a handler that
decides and records in a unit of work and says what to answer (the receipt).
The pipeline owns everything around the handler, once for all services:

* **idempotency**: a command that carries a ``command_id`` is run once. Sent
  again with the same command and parameters it is answered with the receipt
  it got the first time, without running again; sent with another command or
  other parameters it is refused (``CommandReused``, 409), as payment APIs do,
  and never answered with another command's result;
* **the transaction**: the handler runs in one unit of work, committed when it
  answers and rolled back when it raises (a refusal records nothing);
* **retry**: when a stream moved under the handler (optimistic concurrency), a
  deadlock or a serialization failure, the whole command runs again on the new
  state, up to ``RETRIES`` times;
* **positions**: once committed, the positions its events got in the service's
  log (``{source: highest position}``) are handed to ``on_positions``, so a caller
  can ask a read model for "at least what I just did" (read your own writes). A
  command answered again names the positions its events got the first time.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Collection, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import date, time
from decimal import Decimal
from typing import Any, TypeVar

from shared.events.envelope import Envelope
from shared.eventsourcing.decider import Refused
from shared.eventsourcing.unit_of_work import CONFLICTS, RETRIES, UnitOfWork

T = TypeVar("T")
Handler = Callable[[UnitOfWork, Mapping[str, Any]], Any]
OpenUnitOfWork = Callable[[str | None], AbstractContextManager[UnitOfWork]]
Positions = dict[str, int]
"""The highest position a command's events got, per source (the service's log)."""
PositionsSink = Callable[[Positions], None]


class CommandReused(Refused):
    """Raised when a ``command_id`` comes again with another command or other parameters."""

    code = "command_id_reused"


# The name under which migration common/004 keeps command ids that ran before answers
# were kept: their events exist, their answer does not, so a resend can only be refused.
FROM_BEFORE = "before_receipts_were_kept"


def fingerprint(name: str, parameters: Mapping[str, Any]) -> str:
    """A digest of a command and its parameters (the ``command_id`` left out)."""
    given = {key: value for key, value in parameters.items() if key != "command_id"}
    text = json.dumps({"command": name, "parameters": given}, sort_keys=True, default=_as_text)
    return hashlib.sha256(text.encode()).hexdigest()


def command_key(parameters: Mapping[str, Any]) -> str | None:
    """The command's idempotency key as text, or None when it carries none."""
    command_id = parameters.get("command_id")
    return str(command_id) if command_id else None


def derived_name(prefix: str, command_id: uuid.UUID | None, what: str) -> str:
    """A short id for what a command creates (``L3f9a...``: a loan), derived from the
    command's id when it has one, so a command run again names it the same."""
    if command_id is None:
        return f"{prefix}{uuid.uuid4().hex[:16]}"
    return f"{prefix}{uuid.uuid5(command_id, what).hex[:16]}"


def receipt_of(events: Sequence[Envelope], *types: str) -> dict[str, Any]:
    """What a desk is told of a command: the payload of its main event (the first of ``types``)."""
    for event in events:
        if event.type in types:
            return dict(event.data)
    raise LookupError(f"none of {types} among {[e.type for e in events]}")


def run_command(
    open_unit_of_work: OpenUnitOfWork,
    name: str,
    parameters: Mapping[str, Any],
    handle: Handler,
    attempts: int = RETRIES,
    secret: Collection[str] = (),
    on_positions: PositionsSink | None = None,
) -> Any:
    """Carry out one command: answered again if it ran, else decided, recorded and answered.

    ``secret`` names parameters (a password) left out of the fingerprint that is kept:
    a SHA-256 over a password would be a fast hash of it. A resend with the same
    ``command_id`` is the same command whatever its secret says.

    ``on_positions`` is called after the commit with the positions the command's
    events got (an empty dict when it recorded nothing).
    """
    key = command_key(parameters)
    kept = {name: value for name, value in parameters.items() if name not in secret}
    digest = fingerprint(name, kept) if key else ""

    def attempt() -> tuple[Any, Positions]:
        with open_unit_of_work(key) as uow:
            earlier = uow.command_run()
            if earlier is not None:
                if earlier.name == FROM_BEFORE:
                    raise CommandReused(
                        f"command_id {key} was carried out before this library kept its "
                        "answers, so it is not carried out again; look up its result, or "
                        "send a new command_id for a new command",
                    )
                if (earlier.name, earlier.fingerprint) != (name, digest):
                    raise CommandReused(
                        f"command_id {key} was already used for another command or other "
                        f"parameters ({earlier.name}); send a new command_id for a new command",
                    )
                before = positions_recorded_before(uow, key) if on_positions else {}
                return earlier.receipt, before
            # What is kept is what is answered, the first time as every time after (and
            # without a command_id, when nothing is kept, the answer is the same JSON).
            kept = receipt_json(handle(uow, parameters))
            if key is not None:
                uow.remember(name, digest, kept)
            return json.loads(kept), positions_recorded(uow)

    receipt, positions = retrying(attempt, attempts)
    if on_positions is not None:
        on_positions(positions)
    return receipt


def positions_recorded(uow: UnitOfWork) -> Positions:
    """Where this unit's events went: ``{source: highest position}``, or {} for none."""
    if not uow.recorded:
        return {}
    return {uow.store.source: max(envelope.position for envelope in uow.recorded)}


def positions_recorded_before(uow: UnitOfWork, command_id: str) -> Positions:
    """Where a command answered again put its events the first time (found by their
    causation id, the command's id: an indexed lookup)."""
    events = uow.store.caused_by(uow.cursor, command_id)
    return {uow.store.source: max(e.position for e in events)} if events else {}


def receipt_json(receipt: Any) -> str:
    """A receipt as the JSON text that is kept and answered.

    The kept receipt comes back from jsonb through the standard ``json`` module,
    so dates, times, Decimals and UUIDs are written as text here: kombu's JSON
    writes them as ``{"__type__": ...}`` objects and reads those back as dates,
    so a resend was answered otherwise than the first send. NaN is refused, as
    jsonb refuses it.
    """
    return json.dumps(receipt, default=_as_text, allow_nan=False)


def _as_text(value: Any) -> str:
    if isinstance(value, date | time):  # a datetime is a date
        return value.isoformat()
    if isinstance(value, Decimal | uuid.UUID):
        return str(value)
    raise TypeError(f"expected JSON values, dates, Decimals and UUIDs, not {value!r}")


def retrying(attempt: Callable[[], T], attempts: int = RETRIES) -> T:
    """Run a whole load-decide-record ``attempt`` again when a stream moved under it.

    The loser of a race decides again on the new state (and is then refused, or
    succeeds).
    """
    for remaining in range(attempts - 1, -1, -1):
        try:
            return attempt()
        except CONFLICTS:
            if not remaining:
                raise
    raise AssertionError("unreachable")
