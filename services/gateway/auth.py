"""Who may call what: bearer tokens per role, and the permission each route needs.

Roles: a librarian may do everything; an assistant works the desk (lend,
return, renew, cards, reservations, reading notes) and asks any query; an
operator sees the status of the services; a reader sees only the read side
(books, copies, ledgers, leaderboards, registers, the event feed).
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass

from services.gateway.problems import Forbidden, Unauthorized

CHALLENGE = 'Bearer realm="library"'


@dataclass(frozen=True)
class Permission:
    """A kind of work, and the roles allowed to do it."""

    name: str
    roles: frozenset[str]
    description: str

    def allows(self, role: str) -> bool:
        return role in self.roles


PUBLIC = Permission("public", frozenset(), "no token needed")
READ = Permission(
    "read", frozenset({"librarian", "assistant", "reader"}), "the catalogue and books of record"
)
QUERY = Permission("query", frozenset({"librarian", "assistant"}), "cards, loans and patrons")
DESK = Permission("desk", frozenset({"librarian", "assistant"}), "work at the desk")
MANAGE = Permission("manage", frozenset({"librarian"}), "managing the collection and accounts")
OPERATE = Permission("operate", frozenset({"librarian", "operator"}), "running the system")


def authenticate(authorization: str | None, tokens: Mapping[str, str]) -> str:
    """The role whose token is in the ``Authorization`` header; ``Unauthorized`` otherwise."""
    if not authorization:
        raise Unauthorized(
            "This needs a bearer token: send 'Authorization: Bearer <token>'.",
            headers={"WWW-Authenticate": CHALLENGE},
        )
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    role = None
    if scheme.lower() == "bearer" and token:
        # Compare against every token, so timing does not tell which one was close.
        for candidate, expected in tokens.items():
            if hmac.compare_digest(token.encode(), expected.encode()):
                role = candidate
    if role is None:
        raise Unauthorized(
            "The bearer token is not valid.",
            headers={"WWW-Authenticate": f'{CHALLENGE}, error="invalid_token"'},
        )
    return role


def authorize(role: str, permission: Permission) -> None:
    """``Forbidden`` unless ``role`` may do work of ``permission``'s kind."""
    if not permission.allows(role):
        raise Forbidden(f"A {role} may not do this ({permission.description}).")
