"""``@command``: the RPC entrypoint of one command, carried out by the command pipeline.

A service method decorated with ``@command(Schema)`` is the command's handler:
``(self, uow, command) -> receipt``. The entrypoint validates the payload with
the schema (``BadRequest`` naming each bad field), then hands the typed command
to the service's store (``self.store.run``), which owns idempotency, the
transaction and the retry (``shared.eventsourcing.pipeline``). So a command
method says only which stream, which decision and which receipt.

The RPC reply of a command carries, beside ``result`` and ``error``, the positions
its events got (``positions``: ``{source: position}``), for callers that read their
own writes (``shared.runtime.read_after``); nameko's proxies ignore the extra key.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial, update_wrapper
from typing import Any

from marshmallow import Schema
from nameko.rpc import Responder

from shared.errors import load
from shared.messaging.rpc import EXPECTED_FAILURES, SurvivingRpc, TransientResponder
from shared.runtime import read_after
from shared.runtime.metrics import observe_command

CommandHandler = Callable[[Any, Any, Mapping[str, Any]], Any]


def command(
    schema: Schema | type[Schema], secret: tuple[str, ...] = ()
) -> Callable[[CommandHandler], Callable[..., Any]]:
    """Make ``handler(self, uow, command)`` the RPC entrypoint ``name(payload)`` of a command.

    ``secret``: fields (a password) the pipeline keeps no fingerprint of.
    """
    loader = schema() if isinstance(schema, type) else schema

    def decorate(handler: CommandHandler) -> Callable[..., Any]:
        name = handler.__name__

        def entrypoint(self: Any, payload: Any) -> Any:
            with observe_command(self.name, name):  # counted by outcome, timed
                parameters = load(loader, payload)
                return self.store.run(name, parameters, partial(handler, self), secret=secret)

        update_wrapper(entrypoint, handler)
        del entrypoint.__wrapped__  # nameko checks calls against (self, payload)
        entrypoint.command_schema = loader  # type: ignore[attr-defined]
        return CommandRpc.decorator(expected_exceptions=EXPECTED_FAILURES)(entrypoint)

    return decorate


class PositionsResponder(TransientResponder):
    """nameko's responder, adding the command's positions to the reply's body."""

    def __init__(self, *args: Any, positions: Mapping[str, int], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.positions = dict(positions)

    def payload(self, result: Any, error: Any) -> dict[str, Any]:
        # One more key (JSON-safe: source names and whole numbers).
        payload = super().payload(result, error)
        if error is None and self.positions:
            payload[read_after.REPLY_KEY] = self.positions
        return payload


class CommandRpc(SurvivingRpc):
    """The RPC entrypoint of a command: its reply names where its events went."""

    def responder(self, message: Any, worker_ctx: Any, responder_cls: type = TransientResponder,
                  **extra: Any) -> Responder:  # fmt: skip
        positions = read_after.noted(worker_ctx)
        if not positions:
            return super().responder(message, worker_ctx, responder_cls, **extra)
        return super().responder(message, worker_ctx, PositionsResponder, positions=positions)


def commands_of(service_cls: type) -> dict[str, Schema]:
    """A service's commands: entrypoint name -> its schema."""
    return {
        name: member.command_schema
        for name, member in vars(service_cls).items()
        if hasattr(member, "command_schema")
    }
