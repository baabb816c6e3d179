"""Events published by the accounts service: the people who use the library, and keys.

No secret is ever in an event: a password's hash and a key's secret live in the
accounts service's own ``credentials`` table, written in the same transaction
as the event that says they changed (see services/accounts/README.md).
"""

from typing import Any

from marshmallow import Schema, fields, validate

from shared.events import fields as f
from shared.events.registry import CATALOGUE

SOURCE = "accounts"

ROLES = ("librarian", "assistant", "operator", "teacher", "student", "kiosk")
USERNAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{1,31}$"


def username(**kwargs: Any) -> fields.String:
    """A sign-in name: kept as given, compared without case."""
    return fields.String(
        required=kwargs.pop("required", True),
        validate=f.Pattern(
            USERNAME_PATTERN,
            error="Not a valid username: 2-32 letters, digits, '.', '_' or '-'.",
        ),
        **kwargs,
    )


def roles(**kwargs: Any) -> fields.List:
    return fields.List(
        f.choice(ROLES),
        required=kwargs.pop("required", True),
        validate=validate.Length(min=1, max=len(ROLES)),
        **kwargs,
    )


EMAIL_MAX = 254


EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


def email(**kwargs: Any) -> fields.String:
    """An e-mail address (where the library's notices go): one ``@``, a dot in the domain,
    no spaces, at most 254 characters (the domain normalises it: ``normal_email``)."""
    return fields.String(
        required=kwargs.pop("required", True),
        validate=[
            validate.Length(max=EMAIL_MAX),
            f.Pattern(EMAIL_PATTERN, error="Not a valid e-mail address."),
        ],
        **kwargs,
    )


def classes(**kwargs: Any) -> fields.List:
    return fields.List(
        f.class_name(required=True),
        required=kwargs.pop("required", True),
        validate=validate.Length(max=40),
        **kwargs,
    )


class AccountCreated(Schema):
    """A person can sign in: staff created by a librarian, teachers and students from their card."""

    account_id = f.personal(f.identifier())
    username = f.personal(username())
    name = f.personal(f.text(100))
    roles = roles()
    campus = f.campus(required=False, allow_none=True)
    patron_id = f.personal(f.patron_id(required=False, allow_none=True))
    classes = f.personal(classes(required=False))
    email = f.personal(email(required=False, allow_none=True))


class AccountRoleChanged(Schema):
    """An account's roles were replaced by a librarian."""

    account_id = f.personal(f.identifier())
    roles = roles()
    campus = f.campus(required=False, allow_none=True)


class AccountClassesSet(Schema):
    """The classes a class teacher's account sees (set by a librarian or from the roster)."""

    account_id = f.personal(f.identifier())
    classes = f.personal(classes())


class PasswordChanged(Schema):
    """A password was set: by its owner, or reset by a librarian (``reset``). No hash here."""

    account_id = f.personal(f.identifier())
    reset = fields.Boolean(required=True)


class AccountLocked(Schema):
    """Too many wrong passwords in a row: no sign-in until ``until``."""

    account_id = f.personal(f.identifier())
    failures = fields.Integer(required=True, validate=validate.Range(min=1))
    until = fields.DateTime(required=True)


class AccountDisabled(Schema):
    """An account may no longer sign in; its sessions ended at once."""

    account_id = f.personal(f.identifier())
    reason = f.text(300)


class AccountEnabled(Schema):
    """A disabled account may sign in again."""

    account_id = f.personal(f.identifier())


class EmailChanged(Schema):
    """An account's e-mail address (where notices go) was set, changed or removed (None)."""

    account_id = f.personal(f.identifier())
    email = f.personal(email(allow_none=True))


class ApiKeyCreated(Schema):
    """A named key for another school system, the bench or the tests, with its rights."""

    key_id = f.identifier()
    name = username()
    rights = fields.List(fields.String(validate=validate.Length(min=1, max=40)), required=True)


class ApiKeyRevoked(Schema):
    """A key stopped working for good."""

    key_id = f.identifier()
    name = username()


for _schema in (
    AccountCreated,
    AccountRoleChanged,
    AccountClassesSet,
    PasswordChanged,
    AccountLocked,
    AccountDisabled,
    AccountEnabled,
    EmailChanged,
    ApiKeyCreated,
    ApiKeyRevoked,
):
    CATALOGUE.register(SOURCE, _schema.__name__, _schema)
