"""The shape every aggregate follows (the Decider): pure functions, no I/O.

``decide(state, command) -> list[Event]`` says what happens, or raises a
``Refused`` with a reason a librarian can read; ``evolve(state, event) -> state``
folds one event into the state. Services load a stream, fold it, decide, and
append what was decided; nothing in a domain module touches a server.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

S = TypeVar("S")


@dataclass(frozen=True)
class Event:
    """A decided event: its type in the catalogue and its JSON-ready payload."""

    type: str
    data: Mapping[str, Any]


class Refused(Exception):
    """Raised by ``decide`` when a command is not allowed in the current state.

    ``code`` is stable for programs (``copy_not_damaged``); the message is for people.
    """

    code = "refused"

    def __init__(self, message: str, code: str | None = None) -> None:
        # Both travel in ``args``, so an RPC caller can rebuild the refusal with its code.
        super().__init__(message, code or self.code)
        self.code = code or self.code

    def __str__(self) -> str:
        return self.args[0]


def fold(evolve: Callable[[S, Any], S], initial: S, events: Iterable[Any]) -> S:
    """The state after applying ``events`` in order to ``initial``."""
    state = initial
    for event in events:
        state = evolve(state, event)
    return state


@dataclass(frozen=True)
class Aggregate(Generic[S]):
    """One kind of stream (a card, a copy, a note): its ids, first state, fold and decision.

    ``missing``, when given, is the message of the ``NotFound`` answered for a
    stream with no events yet (``{key}`` is the key asked for); without it an
    empty stream is simply ``initial``. ``campus`` says which campus a stream's
    events belong to when their payload does not name one. ``cached``: the
    unit of work keeps recently folded states of this kind (``FoldCache``).
    """

    name: str
    stream_prefix: str
    initial: S
    evolve: Callable[[S, Any], S]
    decide: Callable[[S, Any], list[Event]]
    missing: str | None = None
    campus: Callable[[S], str | None] | None = None
    cached: bool = False

    def stream_id(self, key: str) -> str:
        return f"{self.stream_prefix}{key}"
