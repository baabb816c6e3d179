"""Errors a service answers RPC callers with, shared so the gateway maps them once."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from marshmallow import Schema, ValidationError

T = TypeVar("T")


class BadRequest(ValueError):
    """Raised when a command or query fails validation; ``errors`` names each bad field.

    ``code`` (optional) says what is wrong where a field's message cannot (a file that
    cannot be read), and ``members`` where (``{"record": 3}``): the problem carries both.
    """

    def __init__(
        self,
        message: str,
        errors: Mapping[str, Any] | None = None,
        code: str | None = None,
        members: Mapping[str, Any] | None = None,
    ) -> None:
        self.errors = dict(errors or {})
        self.code = code
        self.members = dict(members or {})
        super().__init__(message, self.errors, code, self.members)

    def __str__(self) -> str:
        return self.args[0]


class NotFound(LookupError):
    """Raised when the thing asked for (a copy, a card, a loan) does not exist."""


def found(value: T | None, message: str) -> T:
    """``value``, unless a query found nothing (None): then ``NotFound`` with ``message``.

    The one convention for "not found": a stream that must exist names its message in
    its ``Aggregate`` (``missing``); a read model's row that is not there goes through here.
    """
    if value is None:
        raise NotFound(message)
    return value


def load(schema: Schema, payload: Any) -> dict[str, Any]:
    """Validate ``payload`` with ``schema``; raise ``BadRequest`` naming every bad field."""
    if not isinstance(payload, Mapping):
        raise BadRequest("expected an object", {"_schema": ["Expected an object."]})
    try:
        return schema.load(payload)
    except ValidationError as error:
        messages = (
            error.messages if isinstance(error.messages, dict) else {"_schema": error.messages}
        )
        fields = ", ".join(sorted(map(str, messages)))
        raise BadRequest(f"invalid request: {fields}", messages) from None


class SignInRefused(PermissionError):
    """Raised when a sign-in fails; ``code`` is ``invalid_credentials`` or ``account_locked``.

    The message never says whether the username or the password was wrong.
    """

    def __init__(self, message: str, code: str = "invalid_credentials") -> None:
        super().__init__(message, code)
        self.code = code

    def __str__(self) -> str:
        return self.args[0]
