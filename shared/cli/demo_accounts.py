"""The demo school's people: who signs in, with which password.

A librarian, an assistant per campus and an operator (staff accounts the
librarian makes), two class teachers and two students (their accounts follow
from their demo cards; the librarian gives each a first password and the
teachers their classes). Run again, it keeps the accounts and the passwords of
``.run/demo.json``, so what was printed before still signs in.
"""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

ACCOUNT_WAIT = 300.0  # the accounts service takes in the demo's 1,200 cards


@dataclass(frozen=True)
class Person:
    key: str  # its name in .run/demo.json: the role first
    username: str
    name: str
    roles: tuple[str, ...] = ()  # a staff account's; a card holder's come from the card
    campus: str | None = None
    classes: tuple[str, ...] = ()  # a class teacher's
    email: str | None = None  # where notices go (the demo's mail box, docs/notices.md)


STAFF = (
    Person("librarian", "lib-wang", "王建华", ("librarian",)),
    Person("assistant-north", "zhang-north", "张小雨", ("assistant",), "north"),
    Person("assistant-south", "li-south", "李思思", ("assistant",), "south"),
    Person("operator", "ops-chen", "陈运维", ("operator",)),
)
# Demo cards (shared.cli.demo.roster): T002 teaches at north, T001 at south; a
# student's card number is S<grade><class><seat>.
CARD_HOLDERS = (
    Person("teacher-1", "T002", "", classes=("G7-3",), email="t002@school.example"),
    Person("teacher-2", "T001", "", classes=("G8-6",), email="t001@school.example"),
    Person("student-1", "S70301", ""),
    Person("student-2", "S80601", ""),
)


def password() -> str:
    """A password to read out and type: 12 letters and digits, no look-alikes."""
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    return "".join(secrets.choice(alphabet) for _ in range(12))


def ensure(
    call: Callable[..., Any], kept: Mapping[str, Any], say: Callable[[str], None]
) -> dict[str, dict[str, str]]:
    """Every demo person's account, signed in with the password kept (or a new one)."""
    people: dict[str, dict[str, str]] = {}
    for person in (*STAFF, *CARD_HOLDERS):
        secret = (kept.get(person.key) or {}).get("password") or password()
        ensure_one(call, person, secret)
        people[person.key] = {"username": person.username, "password": secret}
    say(f"{len(people)} accounts: librarian, assistants, operator, teachers, students")
    return people


def ensure_one(call: Callable[..., Any], person: Person, secret: str) -> None:
    """One account as ``person`` describes it, signing in with ``secret``: made when it
    has roles of its own (staff, a kiosk), else waited for (a card holder's)."""
    from shared.cli.rpc import RemoteFailure

    try:
        call("accounts", "get_account", person.username)
        exists = True
    except RemoteFailure as failure:
        if failure.exc_type != "NotFound":
            raise
        exists = False
    if not exists and person.roles:
        call("accounts", "create_account", _command(
            username=person.username, name=person.name, roles=list(person.roles),
            campus=person.campus, password=secret,
        ))  # fmt: skip
    else:
        if not exists:
            _wait_for(call, person.username)
        call("accounts", "reset_password", _command(username=person.username, password=secret))
    if person.classes:
        call("accounts", "set_classes", _command(
            username=person.username, classes=list(person.classes)
        ))  # fmt: skip
    if person.email and call("accounts", "get_account", person.username).get("email") != (
        person.email
    ):
        call("accounts", "change_email", _command(
            username=person.username, email=person.email
        ))  # fmt: skip


def _command(**fields: Any) -> dict[str, Any]:
    return {"command_id": str(uuid.uuid4()), **fields}


def _wait_for(call: Callable[..., Any], username: str) -> None:
    """Until the accounts service has made the card holder's account from the card."""
    from shared.cli.rpc import RemoteFailure

    deadline = time.monotonic() + ACCOUNT_WAIT
    while True:
        try:
            call("accounts", "get_account", username)
            return
        except RemoteFailure as failure:
            if failure.exc_type != "NotFound" or time.monotonic() > deadline:
                raise
        time.sleep(0.5)  # the accounts' consumer is taking in circulation's cards
