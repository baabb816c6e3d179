"""The accounts service: the people who sign in, their sessions, and machine clients' keys.

Account changes are ``@command`` handlers like every service's (one stream per
account, rules in ``domain``); what is secret (password hashes, key secrets,
sessions, failed sign-ins) is kept by ``credentials`` in the same transaction
and never in an event. ``authenticate`` is what the gateway asks on every
request: one indexed query, so disabling an account ends its sessions at once.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import timedelta
from logging import getLogger
from typing import Any

from nameko.dependency_providers import Config

from services.accounts import credentials as c
from services.accounts import domain, queries
from services.accounts import schemas as s
from services.accounts.class_teachers import ClassTeachers
from services.accounts.projections import CardHolders, Directory
from shared.errors import SignInRefused, found, load
from shared.events.envelope import Envelope
from shared.eventsourcing.unit_of_work import UnitOfWork
from shared.messaging.rpc import rpc
from shared.messaging.subscriber import subscribe
from shared.runtime import event_feed
from shared.runtime.commands import command
from shared.runtime.dependencies import EventStoreProvider, Projections
from shared.runtime.rights import rights_of

_log = getLogger(__name__)
Command = Mapping[str, Any]
WRONG = "The username or the password is wrong."
LOCKS = uuid.UUID("0b6f2f0e-5d7c-4c3a-9e1a-6b1f3c2d4e5f")
LOCKED = "This account is locked after too many wrong passwords; try again in {minutes} minutes."


CIRCULATION_LINGER_MS = 250


class AccountsService(event_feed.EventFeed):
    name = "accounts"
    store = EventStoreProvider(Directory())
    projections = Projections(CardHolders(), ClassTeachers())
    config = Config()

    # Only a card issued or retired matters here (its holder's account), and the year's
    # turn (class teachers' classes): the queue carries those types alone (the
    # projections' ``types``), not the desks' loans and returns. A quarter second is soon
    # enough, and a roster's cards are then taken many at a time, in one transaction.
    @subscribe("circulation", linger_ms=CIRCULATION_LINGER_MS)
    def on_circulation_events(self, events: list[Envelope]) -> Any:
        return self.projections.apply(events)

    # ------------------------------------------------------------ signing in

    @rpc
    def login(self, payload: dict[str, Any]) -> dict[str, Any]:
        """A new session for a right username and password; ``SignInRefused`` otherwise."""
        given = load(s.Login(), payload)
        account_id = domain.account_id_for(given["username"])
        settings = self._settings()
        with self.store.cursor() as cursor:
            account = queries.account(cursor, account_id)
            stored = c.stored_password(cursor, account_id) if account else None
        # The hash is checked (or a decoy) whether or not the account exists: same time.
        matches = c.password_matches(stored, given["password"])
        signed_in = matches and account is not None and not account["disabled"]
        failures = c.Failures(0, None)
        with self.store.cursor() as cursor:
            if account is not None:
                failures = c.failures(cursor, account_id)
                if failures.locked_until is not None and failures.locked_until > c.now(cursor):
                    raise SignInRefused(
                        LOCKED.format(minutes=settings["lock_minutes"]), "account_locked"
                    )
            if signed_in:
                c.clear_failures(cursor, account_id)
                token, expires = c.open_session(
                    cursor,
                    account_id,
                    timedelta(seconds=settings["session_seconds"]),
                    given["address"],
                )
            elif account is not None and not matches:
                failures = c.record_failure(
                    cursor, account_id, settings["lock_after"],
                    timedelta(minutes=settings["lock_minutes"]),
                )  # fmt: skip
                _log.warning(
                    "wrong password for %s (%d in a row)",
                    account_id,
                    failures.count,
                    extra={"actor": account_id, "address": given["address"]},
                )
        if not signed_in:
            if failures.locked_until is not None:
                self._locked(account_id, failures)
                raise SignInRefused(
                    LOCKED.format(minutes=settings["lock_minutes"]), "account_locked"
                )
            raise SignInRefused(WRONG)
        _log.info("%s signed in", account_id, extra={"actor": account_id})
        return {"token": token, "expires_at": expires.isoformat(), "account": _public(account)}

    def _locked(self, account_id: str, failures: c.Failures) -> None:
        """Record the lock (an event, so the audit shows it) and log it."""
        _log.warning(
            "%s locked until %s after %d wrong passwords",
            account_id,
            failures.locked_until.isoformat(),
            failures.count,
            extra={"actor": account_id},
        )
        lock = domain.Lock(failures.count, failures.locked_until)
        # One lock, one command: a retried sign-in does not record the lock twice.
        key = uuid.uuid5(LOCKS, f"{account_id}:{failures.locked_until.isoformat()}")
        self.store.run(
            "lock_account",
            {"command_id": key},
            lambda uow, _: bool(uow.execute(domain.ACCOUNT, account_id, lock)),
        )

    @rpc
    def authenticate(self, token: str) -> dict[str, Any] | None:
        """Who holds ``token`` (a session or an API key) and their rights; None if nobody."""
        if not isinstance(token, str) or len(token) > 200:
            return None
        with self.store.cursor() as cursor:
            if token.startswith(c.KEY_PREFIX):
                key = c.key_of(cursor, token)
                if key is None:
                    return None
                return {
                    "kind": "key",
                    "account_id": f"key:{key['name']}",
                    "username": f"key:{key['name']}",
                    "name": key["name"],
                    "roles": ["system"],
                    "rights": sorted(key["rights"]),
                    "campus": None,
                    "patron_id": None,
                    "classes": [],
                }
            found_session = c.session_account(cursor, token)
        if found_session is None:
            return None
        account, expires = found_session
        return {
            "kind": "session",
            **account,
            "rights": sorted(rights_of(account["roles"])),
            "expires_at": expires.isoformat(),
        }

    @rpc
    def logout(self, token: str) -> bool:
        """End the session of ``token``; false when it was not open."""
        with self.store.cursor() as cursor:
            return c.end_session(cursor, token)

    # ------------------------------------------------------------ accounts

    @command(s.CreateAccount, secret=("password",))
    def create_account(self, uow: UnitOfWork, command: Command) -> dict[str, Any]:
        """A staff account (librarian, assistant, operator) with its first password."""
        account_id = domain.account_id_for(command["username"])
        create = domain.CreateAccount(
            username=command["username"],
            name=command["name"],
            roles=tuple(command["roles"]),
            campus=command["campus"],
            password=command["password"],
            email=command["email"],
        )
        uow.execute(domain.NEW_ACCOUNT, account_id, create)
        c.store_password(uow.cursor, account_id, c.hash_password(command["password"]))
        return _public(found(queries.account(uow.cursor, account_id), "no account"))

    @command(s.ChangeRoles)
    def change_roles(self, uow: UnitOfWork, command: Command) -> dict[str, Any]:
        account_id = domain.account_id_for(command["username"])
        uow.execute(
            domain.ACCOUNT,
            account_id,
            domain.ChangeRoles(tuple(command["roles"]), command["campus"]),
        )
        return _public(queries.account(uow.cursor, account_id))

    @command(s.SetClasses)
    def set_classes(self, uow: UnitOfWork, command: Command) -> dict[str, Any]:
        account_id = domain.account_id_for(command["username"])
        uow.execute(domain.ACCOUNT, account_id, domain.SetClasses(tuple(command["classes"])))
        return _public(queries.account(uow.cursor, account_id))

    @command(s.ChangeEmail)
    def change_email(self, uow: UnitOfWork, command: Command) -> dict[str, Any]:
        """Set, change or remove (None) the address the library's notices go to."""
        account_id = domain.account_id_for(command["username"])
        uow.execute(domain.ACCOUNT, account_id, domain.ChangeEmail(command["email"]))
        return _public(queries.account(uow.cursor, account_id))

    @command(s.ResetPassword, secret=("password",))
    def reset_password(self, uow: UnitOfWork, command: Command) -> dict[str, Any]:
        """A librarian sets a password (a forgotten one, a card's first): every session ends."""
        account_id = domain.account_id_for(command["username"])
        uow.execute(domain.ACCOUNT, account_id, domain.SetPassword(command["password"], True))
        c.store_password(uow.cursor, account_id, c.hash_password(command["password"]))
        c.end_sessions(uow.cursor, account_id)
        c.clear_failures(uow.cursor, account_id)
        return _public(queries.account(uow.cursor, account_id))

    @command(s.ChangePassword, secret=("current_password", "new_password", "token"))
    def change_password(self, uow: UnitOfWork, command: Command) -> dict[str, Any]:
        """The signed-in owner changes her password; her other sessions end."""
        signed_in = c.session_account(uow.cursor, command["token"])
        if signed_in is None:
            raise SignInRefused("This session has ended: sign in again.")
        account_id = signed_in[0]["account_id"]
        if not c.password_matches(
            c.stored_password(uow.cursor, account_id), command["current_password"]
        ):
            raise SignInRefused("The current password is wrong.", "wrong_password")
        uow.execute(domain.ACCOUNT, account_id, domain.SetPassword(command["new_password"], False))
        c.store_password(uow.cursor, account_id, c.hash_password(command["new_password"]))
        c.end_sessions(uow.cursor, account_id, keep=command["token"])
        return _public(queries.account(uow.cursor, account_id))

    @command(s.Disable)
    def disable(self, uow: UnitOfWork, command: Command) -> dict[str, Any]:
        """No more signing in; the account's sessions end now."""
        account_id = domain.account_id_for(command["username"])
        uow.execute(domain.ACCOUNT, account_id, domain.Disable(command["reason"]))
        c.end_sessions(uow.cursor, account_id)
        return _public(queries.account(uow.cursor, account_id))

    @command(s.Enable)
    def enable(self, uow: UnitOfWork, command: Command) -> dict[str, Any]:
        account_id = domain.account_id_for(command["username"])
        uow.execute(domain.ACCOUNT, account_id, domain.Enable())
        return _public(queries.account(uow.cursor, account_id))

    @rpc
    def get_account(self, username: str) -> dict[str, Any]:
        query = load(s.AccountPath(), {"username": username})
        with self.store.cursor() as cursor:
            account = queries.account(cursor, domain.account_id_for(query["username"]))
        return _public(found(account, f"no account {query['username']!r}"))

    @rpc
    def accounts(self, payload: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        query = load(s.AccountsQuery(), payload or {})
        with self.store.cursor() as cursor:
            return [_public(row) for row in queries.accounts(cursor, **query)]

    # ------------------------------------------------------------ API keys

    @command(s.CreateKey, secret=("secret",))
    def create_key(self, uow: UnitOfWork, command: Command) -> dict[str, Any]:
        """A named key with its rights; its secret (made by the caller) is stored hashed."""
        key_id = domain.account_id_for(command["name"])
        create = domain.CreateKey(key_id, command["name"], tuple(command["rights"]))
        uow.execute(domain.NEW_KEY, key_id, create)
        c.store_key_secret(uow.cursor, key_id, command["secret"])
        return found(queries.key(uow.cursor, key_id), "no key")

    @command(s.RevokeKey)
    def revoke_key(self, uow: UnitOfWork, command: Command) -> dict[str, Any]:
        key_id = domain.account_id_for(command["name"])
        uow.execute(domain.KEY, key_id, domain.RevokeKey())
        return found(queries.key(uow.cursor, key_id), "no key")

    @rpc
    def keys(self) -> list[dict[str, Any]]:
        with self.store.cursor() as cursor:
            return queries.keys(cursor)

    def _settings(self) -> dict[str, int]:
        section = self.config.get("ACCOUNTS") or {}
        return {
            "session_seconds": int(section.get("session_seconds") or 12 * 3600),
            "lock_after": int(section.get("lock_after") or 10),
            "lock_minutes": int(section.get("lock_minutes") or 15),
        }


def _public(account: Mapping[str, Any]) -> dict[str, Any]:
    """What the account's holder and a librarian see of it: never a secret."""
    return {
        "account_id": account["account_id"],
        "username": account["username"],
        "name": account["name"],
        "roles": list(account["roles"]),
        "campus": account["campus"],
        "patron_id": account["patron_id"],
        "classes": list(account["classes"]),
        "disabled": bool(account.get("disabled", False)),
        "email": account.get("email"),
    }
