"""``@command``: the RPC entrypoint of one command, carried out by the command pipeline.

A service method decorated with ``@command(Schema)`` is the command's handler:
``(self, uow, command) -> receipt``. The entrypoint validates the payload with
the schema (``BadRequest`` naming each bad field), then hands the typed command
to the service's store (``self.store.run``), which owns idempotency, the
transaction and the retry (``shared.eventsourcing.pipeline``). So a command
method says only which stream, which decision and which receipt.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial, update_wrapper
from typing import Any

from marshmallow import Schema

from shared.errors import load
from shared.messaging.rpc import rpc

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
            parameters = load(loader, payload)
            return self.store.run(name, parameters, partial(handler, self), secret=secret)

        update_wrapper(entrypoint, handler)
        del entrypoint.__wrapped__  # nameko checks calls against (self, payload)
        entrypoint.command_schema = loader  # type: ignore[attr-defined]
        return rpc(entrypoint)

    return decorate


def commands_of(service_cls: type) -> dict[str, Schema]:
    """A service's commands: entrypoint name -> its schema."""
    return {
        name: member.command_schema
        for name, member in vars(service_cls).items()
        if hasattr(member, "command_schema")
    }
