"""The accounts' read side: one account, the list a librarian manages, the keys."""

from __future__ import annotations

from typing import Any

Cursor = Any
ACCOUNT = """
    SELECT account_id, username, name, roles, campus, patron_id, classes, disabled, email
    FROM accounts
"""
KEY = "SELECT key_id, name, rights, created_at, revoked_at FROM api_keys"


def _account(row: tuple[Any, ...]) -> dict[str, Any]:
    account_id, username, name, roles, campus, patron_id, classes, disabled, email = row
    return {
        "account_id": account_id,
        "username": username,
        "name": name,
        "roles": list(roles),
        "campus": campus,
        "patron_id": patron_id,
        "classes": list(classes),
        "disabled": disabled,
        "email": email,
    }


def account(cursor: Cursor, account_id: str) -> dict[str, Any] | None:
    cursor.execute(ACCOUNT + " WHERE account_id = %s", (account_id,))
    row = cursor.fetchone()
    return _account(row) if row else None


def accounts(
    cursor: Cursor, role: str | None = None, disabled: bool | None = None, limit: int = 200
) -> list[dict[str, Any]]:
    cursor.execute(
        ACCOUNT
        + """ WHERE (%(role)s::text IS NULL OR %(role)s = ANY(roles))
              AND (%(disabled)s::boolean IS NULL OR disabled = %(disabled)s)
            ORDER BY username LIMIT %(limit)s""",
        {"role": role, "disabled": disabled, "limit": limit},
    )
    return [_account(row) for row in cursor.fetchall()]


def _key(row: tuple[Any, ...]) -> dict[str, Any]:
    key_id, name, rights, created_at, revoked_at = row
    return {
        "key_id": key_id,
        "name": name,
        "rights": list(rights),
        "created_at": created_at.isoformat(),
        "revoked_at": revoked_at.isoformat() if revoked_at else None,
    }


def key(cursor: Cursor, key_id: str) -> dict[str, Any] | None:
    cursor.execute(KEY + " WHERE key_id = %s", (key_id,))
    row = cursor.fetchone()
    return _key(row) if row else None


def keys(cursor: Cursor) -> list[dict[str, Any]]:
    cursor.execute(KEY + " ORDER BY name")
    return [_key(row) for row in cursor.fetchall()]
