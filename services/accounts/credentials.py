"""Secrets: password hashes, session tokens, key secrets and failed sign-ins.

Passwords are hashed with argon2id (argon2-cffi, memory-hard) in a real OS
thread (``eventlet.tpool``), so a 0.1 s hash does not stop the service's other
green threads. Tokens and key secrets are 256 random bits (``secrets``); only
their SHA-256 is stored, which is enough for values that cannot be guessed.
None of it is ever in an event or a log.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from eventlet import tpool

Cursor = Any
HASHER = PasswordHasher()
# Compared against when there is no such user, so both answers take as long.
_NOBODY = HASHER.hash(secrets.token_urlsafe(16))
SESSION_PREFIX = "s."
KEY_PREFIX = "k."


def hash_password(password: str) -> str:
    return tpool.execute(HASHER.hash, password)


def password_matches(stored: str | None, password: str) -> bool:
    """Whether ``password`` is the one hashed in ``stored`` (no account: a decoy check)."""
    try:
        return tpool.execute(HASHER.verify, stored or _NOBODY, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def new_token(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(32)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# ------------------------------------------------------------------ passwords


def store_password(cursor: Cursor, account_id: str, hashed: str) -> None:
    cursor.execute(
        """INSERT INTO credentials (account_id, hash) VALUES (%s, %s)
           ON CONFLICT (account_id) DO UPDATE SET hash = EXCLUDED.hash, changed_at = now()""",
        (account_id, hashed),
    )


def stored_password(cursor: Cursor, account_id: str) -> str | None:
    cursor.execute("SELECT hash FROM credentials WHERE account_id = %s", (account_id,))
    row = cursor.fetchone()
    return row[0] if row else None


# ------------------------------------------------------------------ sessions


def open_session(
    cursor: Cursor, account_id: str, lifetime: timedelta, address: str | None
) -> tuple[str, datetime]:
    """A new session's token (given once, stored hashed) and when it expires."""
    token = new_token(SESSION_PREFIX)
    cursor.execute(
        """INSERT INTO sessions (token_hash, account_id, expires_at, address)
           VALUES (%s, %s, now() + %s, %s) RETURNING expires_at""",
        (digest(token), account_id, lifetime, address),
    )
    return token, cursor.fetchone()[0]


def end_session(cursor: Cursor, token: str) -> bool:
    cursor.execute(
        "UPDATE sessions SET ended_at = now() WHERE token_hash = %s AND ended_at IS NULL",
        (digest(token),),
    )
    return cursor.rowcount > 0


def end_sessions(cursor: Cursor, account_id: str, keep: str | None = None) -> None:
    """End every open session of an account (all but the token ``keep``)."""
    cursor.execute(
        """UPDATE sessions SET ended_at = now()
           WHERE account_id = %s AND ended_at IS NULL AND token_hash <> %s""",
        (account_id, digest(keep) if keep else ""),
    )


ACCOUNT_COLUMNS = "a.account_id, a.username, a.name, a.roles, a.campus, a.patron_id, a.classes"


def session_account(cursor: Cursor, token: str) -> tuple[dict[str, Any], datetime] | None:
    """The account of an open, unexpired session of an enabled account, and its expiry."""
    cursor.execute(
        f"""SELECT {ACCOUNT_COLUMNS}, s.expires_at FROM sessions s
            JOIN accounts a USING (account_id)
            WHERE s.token_hash = %s AND s.ended_at IS NULL AND s.expires_at > now()
              AND NOT a.disabled""",
        (digest(token),),
    )
    row = cursor.fetchone()
    return (account_row(row), row[-1]) if row else None


def account_row(row: tuple[Any, ...]) -> dict[str, Any]:
    account_id, username, name, roles, campus, patron_id, classes = row[:7]
    return {
        "account_id": account_id,
        "username": username,
        "name": name,
        "roles": list(roles),
        "campus": campus,
        "patron_id": patron_id,
        "classes": list(classes),
    }


# ------------------------------------------------------------------ failed sign-ins


@dataclass(frozen=True)
class Failures:
    count: int
    locked_until: datetime | None


def failures(cursor: Cursor, account_id: str) -> Failures:
    cursor.execute(
        "SELECT failures, locked_until FROM login_failures WHERE account_id = %s FOR UPDATE",
        (account_id,),
    )
    row = cursor.fetchone()
    return Failures(row[0], row[1]) if row else Failures(0, None)


def record_failure(
    cursor: Cursor, account_id: str, lock_after: int, lock_for: timedelta
) -> Failures:
    """One more wrong password; the tenth in a row (``lock_after``) locks the account."""
    cursor.execute(
        """INSERT INTO login_failures AS f (account_id, failures) VALUES (%s, 1)
           ON CONFLICT (account_id) DO UPDATE SET failures = f.failures + 1, last_at = now()
           RETURNING failures""",
        (account_id,),
    )
    count = cursor.fetchone()[0]
    if count < lock_after:
        return Failures(count, None)
    cursor.execute(
        """UPDATE login_failures SET locked_until = now() + %s, failures = 0
           WHERE account_id = %s RETURNING locked_until""",
        (lock_for, account_id),
    )
    return Failures(count, cursor.fetchone()[0])


def clear_failures(cursor: Cursor, account_id: str) -> None:
    cursor.execute("DELETE FROM login_failures WHERE account_id = %s", (account_id,))


def now(cursor: Cursor) -> datetime:
    cursor.execute("SELECT now()")
    return cursor.fetchone()[0]


# ------------------------------------------------------------------ API keys


def store_key_secret(cursor: Cursor, key_id: str, secret: str) -> None:
    cursor.execute(
        """INSERT INTO key_secrets (key_id, secret_hash) VALUES (%s, %s)
           ON CONFLICT (key_id) DO NOTHING""",
        (key_id, digest(secret)),
    )


def key_of(cursor: Cursor, secret: str) -> dict[str, Any] | None:
    cursor.execute(
        """SELECT k.key_id, k.name, k.rights FROM key_secrets s JOIN api_keys k USING (key_id)
           WHERE s.secret_hash = %s AND k.revoked_at IS NULL""",
        (digest(secret),),
    )
    row = cursor.fetchone()
    return {"key_id": row[0], "name": row[1], "rights": list(row[2])} if row else None
