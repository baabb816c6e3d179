"""Who is calling, and whether they may: sessions, API keys and the rights each route needs.

A request's bearer token is a session's (from ``POST /api/sessions``) or an API
key's; the accounts service says whose (``authenticate``): for an API key on every
request, so a revoked key stops at once; for a session the answer is kept a few
seconds (``session_cache``), and a change made through this gateway (a sign-out, a
disabled account) empties that at once. The fixed development tokens
of ``GATEWAY.tokens`` are honoured only when ``LIBRARY_DEV_TOKENS=1``.

A route needs one right (``shared.runtime.rights``); some also open to a
narrower right that the handler then checks against the caller: a teacher's
classes, a student's own card, an assistant's campus. A refusal names the
missing right.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from services.gateway.problems import Forbidden, Unauthorized
from shared.runtime.rights import RIGHTS, rights_of

CHALLENGE = 'Bearer realm="library"'
# The role an event's actor is named by, when an account has several.
ROLE_ORDER = ("librarian", "assistant", "operator", "teacher", "student", "system", "reader")


@dataclass(frozen=True)
class Caller:
    """The person or machine behind a request, with what they may do."""

    kind: str  # session, key or dev
    account_id: str
    username: str
    name: str
    roles: tuple[str, ...]
    rights: frozenset[str]
    campus: str | None = None
    patron_id: str | None = None
    classes: tuple[str, ...] = ()
    expires_at: str | None = None
    token: str | None = field(default=None, repr=False)

    @property
    def role(self) -> str:
        return next((r for r in ROLE_ORDER if r in self.roles), self.roles[0])

    def actor(self) -> dict[str, str]:
        """Who acted, as the events' envelope names them."""
        return {"id": self.account_id, "username": self.username, "role": self.role}

    def has(self, right: str) -> bool:
        return right in self.rights

    def require(self, right: str, why: str | None = None) -> None:
        """``Forbidden`` naming ``right`` unless the caller has it."""
        if not self.has(right):
            raise missing(right, why)

    def account(self) -> dict[str, Any]:
        """What ``GET /api/me`` answers."""
        answer: dict[str, Any] = {
            "username": self.username,
            "name": self.name,
            "roles": list(self.roles),
            "campus": self.campus,
            "rights": sorted(self.rights),
        }
        if self.patron_id:
            answer["patron_id"] = self.patron_id
        if "teacher" in self.roles:
            answer["classes"] = list(self.classes)
        if self.expires_at:
            answer["expires_at"] = self.expires_at
        return answer

    @classmethod
    def from_account(cls, found: Mapping[str, Any], token: str) -> Caller:
        return cls(
            kind=found["kind"],
            account_id=found["account_id"],
            username=found["username"],
            name=found["name"],
            roles=tuple(found["roles"]),
            rights=frozenset(found["rights"]),
            campus=found.get("campus"),
            patron_id=found.get("patron_id"),
            classes=tuple(found.get("classes") or ()),
            expires_at=found.get("expires_at"),
            token=token,
        )


def missing(right: str, why: str | None = None) -> Forbidden:
    description = RIGHTS.get(right, right)
    detail = why or f"This needs the right '{right}' ({description})."
    return Forbidden(detail, code="missing_right", members={"right": right})


@dataclass(frozen=True)
class Permission:
    """What opens a route: its right, or one of ``also`` (which the handler narrows)."""

    right: str | None
    also: tuple[str, ...] = ()

    @property
    def rights(self) -> tuple[str, ...]:
        return (self.right, *self.also) if self.right else ()

    def allows(self, caller: Caller) -> bool:
        return any(caller.has(right) for right in self.rights)

    def describe(self) -> str:
        return " or ".join(f"'{right}'" for right in self.rights) or "anyone"


def needs(right: str, *also: str) -> Permission:
    assert right in RIGHTS and all(r in RIGHTS for r in also), (right, also)
    return Permission(right, also)


PUBLIC = Permission(None)
SIGNED_IN = Permission("signed-in")  # any session or key


def bearer_token(authorization: str | None) -> str:
    """The token of an ``Authorization: Bearer`` header; ``Unauthorized`` otherwise."""
    if not authorization:
        raise Unauthorized(
            "This needs you to sign in: send 'Authorization: Bearer <token>'.",
            headers={"WWW-Authenticate": CHALLENGE},
            code="not_signed_in",
        )
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > 200:
        raise invalid_token()
    return token


def invalid_token() -> Unauthorized:
    return Unauthorized(
        "The sign-in has ended or the token is not valid: sign in again.",
        headers={"WWW-Authenticate": f'{CHALLENGE}, error="invalid_token"'},
        code="invalid_token",
    )


def dev_caller(token: str, tokens: Mapping[str, str]) -> Caller | None:
    """The fixed development token's role, compared with every token in constant time."""
    role = None
    for candidate, expected in tokens.items():
        if expected and hmac.compare_digest(token.encode(), expected.encode()):
            role = candidate
    if role is None:
        return None
    return Caller(
        kind="dev",
        account_id=f"dev:{role}",
        username=f"dev-{role}",
        name=f"dev {role}",
        roles=(role,),
        rights=rights_of([role]),
        token=token,
    )


def authorize(caller: Caller, permission: Permission) -> None:
    """``Forbidden`` naming the right unless the caller may open a route of ``permission``."""
    if permission is SIGNED_IN or permission.allows(caller):
        return
    if len(permission.rights) == 1:
        raise missing(permission.rights[0])
    raise Forbidden(
        f"This needs the right {permission.describe()}.",
        code="missing_right",
        members={"right": permission.rights[0]},
    )


def rights_table(roles: Iterable[str]) -> dict[str, list[str]]:
    return {role: sorted(rights_of([role])) for role in roles}
