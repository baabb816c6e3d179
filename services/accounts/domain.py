"""The accounts' rules: who may sign in, with which roles, and what a password must be.

Pure: ``decide(account, command) -> events`` or a ``Refused`` a librarian can
read, ``evolve(account, event) -> account``. An account's id is its username in
lower case, so one stream per username makes two accounts of one name impossible.
A teacher's or a student's account is their library card's (username = card
number); staff accounts (librarian, assistant, operator) are a librarian's to
make. Secrets never reach here as stored values: a new password is checked
here (its rules), hashed by the service, and kept out of the events.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from shared.events.accounts import ROLES
from shared.eventsourcing.decider import Aggregate, Event, Refused

STAFF_ROLES = ("librarian", "assistant", "operator")
CARD_ROLES = ("teacher", "student")
MIN_PASSWORD = 8
MAX_PASSWORD = 128


def account_id_for(username: str) -> str:
    """The account's id: its username, compared without case."""
    return username.lower()


@dataclass(frozen=True)
class Account:
    account_id: str | None = None
    username: str | None = None
    name: str | None = None
    roles: tuple[str, ...] = ()
    campus: str | None = None
    patron_id: str | None = None
    classes: tuple[str, ...] = ()
    disabled: bool = False
    has_password: bool = False
    email: str | None = None

    @property
    def exists(self) -> bool:
        return self.account_id is not None


NO_ACCOUNT = Account()


@dataclass(frozen=True)
class ApiKey:
    key_id: str | None = None
    name: str | None = None
    rights: tuple[str, ...] = ()
    revoked: bool = False


NO_KEY = ApiKey()
State = Account | ApiKey


# ------------------------------------------------------------------ commands


@dataclass(frozen=True)
class CreateAccount:
    username: str
    name: str
    roles: tuple[str, ...]
    campus: str | None = None
    patron_id: str | None = None
    classes: tuple[str, ...] = ()
    password: str | None = None  # checked here, hashed by the service, never recorded
    email: str | None = None


@dataclass(frozen=True)
class ChangeRoles:
    roles: tuple[str, ...]
    campus: str | None = None


@dataclass(frozen=True)
class SetClasses:
    classes: tuple[str, ...]


@dataclass(frozen=True)
class ChangeEmail:
    email: str | None  # None removes the address


@dataclass(frozen=True)
class SetPassword:
    password: str
    reset: bool  # by a librarian (True) or by the account's owner


@dataclass(frozen=True)
class Lock:
    failures: int
    until: datetime


@dataclass(frozen=True)
class Disable:
    reason: str


@dataclass(frozen=True)
class Enable:
    pass


@dataclass(frozen=True)
class CreateKey:
    key_id: str
    name: str
    rights: tuple[str, ...]


@dataclass(frozen=True)
class RevokeKey:
    pass


Command = (
    CreateAccount | ChangeRoles | SetClasses | ChangeEmail | SetPassword | Lock | Disable | Enable
) | (CreateKey | RevokeKey)


def decide(state: State, command: Any) -> list[Event]:
    match command:
        case CreateKey():
            return _create_key(_as(ApiKey, state), command)
        case RevokeKey():
            key = _as(ApiKey, state)
            if key.revoked:
                raise Refused(f"The key {key.name} is revoked already.", "key_revoked")
            return [Event("ApiKeyRevoked", {"key_id": key.key_id, "name": key.name})]
    account = _as(Account, state)
    match command:
        case CreateAccount():
            return _create(account, command)
        case ChangeRoles():
            _check_roles(command.roles, command.campus, account.patron_id)
            return [
                Event(
                    "AccountRoleChanged",
                    {
                        "account_id": account.account_id,
                        "roles": list(command.roles),
                        "campus": command.campus,
                    },
                )
            ]
        case SetClasses():
            if "teacher" not in account.roles:
                raise Refused(
                    f"{account.username} is not a teacher: only a class teacher's account "
                    "has classes.",
                    "not_a_teacher",
                )
            classes = sorted(set(command.classes))
            return [
                Event("AccountClassesSet", {"account_id": account.account_id, "classes": classes})
            ]
        case ChangeEmail():
            email = normal_email(command.email)
            if email == account.email:
                raise Refused(f"{account.username}'s e-mail address is that already.", "same_email")
            return [Event("EmailChanged", {"account_id": account.account_id, "email": email})]
        case SetPassword():
            check_password(command.password, account.username or "")
            return [
                Event("PasswordChanged", {"account_id": account.account_id, "reset": command.reset})
            ]
        case Lock():
            return [
                Event(
                    "AccountLocked",
                    {
                        "account_id": account.account_id,
                        "failures": command.failures,
                        "until": command.until.isoformat(),
                    },
                )
            ]
        case Disable():
            if account.disabled:
                raise Refused(f"{account.username} is disabled already.", "account_disabled")
            return [
                Event(
                    "AccountDisabled", {"account_id": account.account_id, "reason": command.reason}
                )
            ]
        case Enable():
            if not account.disabled:
                raise Refused(f"{account.username} is not disabled.", "account_not_disabled")
            return [Event("AccountEnabled", {"account_id": account.account_id})]
    raise TypeError(f"not an accounts command: {command!r}")


def _as(kind: type, state: State) -> Any:
    if not isinstance(state, kind):
        raise TypeError(f"{type(state).__name__} cannot take this command")
    return state


def _create(account: Account, command: CreateAccount) -> list[Event]:
    if account.exists:
        raise Refused(f"There is an account {account.username} already.", "account_exists")
    _check_roles(command.roles, command.campus, command.patron_id)
    if command.password is not None:
        check_password(command.password, command.username)
    created = {"email": normal_email(command.email)} if command.email else {}
    events = [
        Event(
            "AccountCreated",
            {
                "account_id": account_id_for(command.username),
                "username": command.username,
                "name": command.name,
                "roles": list(command.roles),
                "campus": command.campus,
                "patron_id": command.patron_id,
                "classes": sorted(set(command.classes)),
                **created,
            },
        )
    ]
    if command.password is not None:
        events.append(
            Event(
                "PasswordChanged", {"account_id": account_id_for(command.username), "reset": True}
            )
        )
    return events


def _check_roles(roles: tuple[str, ...], campus: str | None, patron_id: str | None) -> None:
    unknown = sorted(set(roles) - set(ROLES))
    if unknown:
        raise Refused(f"Unknown role: {', '.join(unknown)}.", "unknown_role")
    if not roles:
        raise Refused("An account needs at least one role.", "no_role")
    if "assistant" in roles and campus is None:
        raise Refused(
            "An assistant works the desk of one campus: name it (north or south).",
            "assistant_needs_campus",
        )
    if "kiosk" in roles and (len(roles) > 1 or campus is None):
        raise Refused(
            "A self-check kiosk's account is a kiosk only, at one campus: name it "
            "(north or south) and give it no other role.",
            "kiosk_needs_campus",
        )
    card_roles = set(roles) & set(CARD_ROLES)
    if len(card_roles) > 1:
        raise Refused("An account is a teacher's or a student's, not both.", "teacher_and_student")
    if card_roles and patron_id is None:
        raise Refused(
            f"A {card_roles.pop()}'s account follows from a library card: issue the card.",
            "card_role_needs_card",
        )
    if "student" in roles and set(roles) & {"librarian", "operator"}:
        raise Refused(
            "A student's account cannot be a librarian's or an operator's: make a staff "
            "account for a student who helps at the desk (assistant).",
            "student_staff_role",
        )


def check_password(password: str, username: str) -> None:
    """The password rules: refused (with the rule) unless 8-128 characters, not the username."""
    if len(password) < MIN_PASSWORD:
        raise Refused(f"A password needs at least {MIN_PASSWORD} characters.", "password_too_short")
    if len(password) > MAX_PASSWORD:
        raise Refused(f"A password has at most {MAX_PASSWORD} characters.", "password_too_long")
    if password.strip().lower() == username.lower():
        raise Refused("A password must not be the username.", "password_is_username")


def normal_email(email: str | None) -> str | None:
    """An address as kept: trimmed, its domain in lower case; refused unless one ``@`` with
    something on each side and a dot in the domain (the schema checks it fully first)."""
    if email is None or not email.strip():
        return None
    local, at, domain = email.strip().rpartition("@")
    if not at or not local or "." not in domain or " " in email.strip():
        raise Refused(f"{email!r} is not an e-mail address.", "bad_email")
    return f"{local}@{domain.lower()}"


def _create_key(key: ApiKey, command: CreateKey) -> list[Event]:
    if key.key_id is not None:
        raise Refused(f"There is a key named {key.name} already.", "key_exists")
    return [
        Event(
            "ApiKeyCreated",
            {"key_id": command.key_id, "name": command.name, "rights": sorted(set(command.rights))},
        )
    ]


def evolve(state: State, event: Any) -> State:
    data = event.data
    match event.type:
        case "AccountCreated":
            return Account(
                account_id=data["account_id"],
                username=data["username"],
                name=data["name"],
                roles=tuple(data["roles"]),
                campus=data.get("campus"),
                patron_id=data.get("patron_id"),
                classes=tuple(data.get("classes") or ()),
                email=data.get("email"),
            )
        case "AccountRoleChanged":
            return replace(state, roles=tuple(data["roles"]), campus=data.get("campus"))
        case "AccountClassesSet":
            return replace(state, classes=tuple(data["classes"]))
        case "EmailChanged":
            return replace(state, email=data["email"])
        case "PasswordChanged":
            return replace(state, has_password=True)
        case "AccountDisabled":
            return replace(state, disabled=True)
        case "AccountEnabled":
            return replace(state, disabled=False)
        case "ApiKeyCreated":
            return ApiKey(key_id=data["key_id"], name=data["name"], rights=tuple(data["rights"]))
        case "ApiKeyRevoked":
            return replace(state, revoked=True)
    return state


ACCOUNT = Aggregate("account", "account-", NO_ACCOUNT, evolve, decide, missing="no account {key!r}")
NEW_ACCOUNT = replace(ACCOUNT, missing=None)
KEY = Aggregate("key", "key-", NO_KEY, evolve, decide, missing="no API key {key!r}")
NEW_KEY = replace(KEY, missing=None)
