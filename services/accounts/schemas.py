"""Commands and queries the accounts service accepts, validated at the RPC edge.

The gateway validates its requests with these same schemas. Usernames and
passwords are bounded here, so a megabyte of either is refused as bad input
before anything is hashed or looked up.
"""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from services.accounts.domain import MAX_PASSWORD, MIN_PASSWORD
from shared.events import fields as f
from shared.events.accounts import ROLES, classes, email, roles, username
from shared.runtime.rights import KEY_RIGHTS

# What a sign-in takes: longer than any password allowed, shorter than a megabyte.
MAX_PASSWORD_INPUT = 4 * MAX_PASSWORD


def password(**kwargs: object) -> fields.String:
    """A new password: its length is the domain's rule (the rest is checked there too)."""
    return fields.String(
        required=kwargs.pop("required", True),
        validate=validate.Length(
            min=MIN_PASSWORD,
            max=MAX_PASSWORD,
            error=f"A password has {MIN_PASSWORD} to {MAX_PASSWORD} characters.",
        ),
        metadata={"description": "8-128 characters, not the username."},
        load_only=True,
        **kwargs,
    )


class Command(Schema):
    command_id = f.command_id()


class Login(Schema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=64))
    password = fields.String(required=True, validate=validate.Length(min=1, max=MAX_PASSWORD_INPUT))
    address = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=64))


class Token(Schema):
    token = fields.String(required=True, validate=validate.Length(min=1, max=200))


class CreateAccount(Command):
    username = username()
    name = f.text(100)
    roles = roles()
    campus = f.campus(required=False, load_default=None, allow_none=True)
    password = password()
    email = email(required=False, load_default=None, allow_none=True)


class AccountPath(Schema):
    username = username()


class ChangeRoles(Command, AccountPath):
    roles = roles()
    campus = f.campus(required=False, load_default=None, allow_none=True)


class SetClasses(Command, AccountPath):
    classes = classes()


class ChangeEmail(Command, AccountPath):
    email = email(allow_none=True, metadata={"description": "null removes the address"})


class ResetPassword(Command, AccountPath):
    password = password()


class ChangePassword(Command):
    token = fields.String(required=True, validate=validate.Length(min=1, max=200))
    current_password = fields.String(
        required=True, validate=validate.Length(min=1, max=MAX_PASSWORD_INPUT), load_only=True
    )
    new_password = password()


class Disable(Command, AccountPath):
    reason = f.text(300)


class Enable(Command, AccountPath):
    pass


class AccountsQuery(Schema):
    role = f.choice(ROLES, required=False, load_default=None)
    disabled = fields.Boolean(load_default=None, allow_none=True)
    limit = f.whole(1, 1000, load_default=200)


class CreateKey(Command):
    name = username()
    secret = fields.String(
        required=True,
        validate=validate.Length(min=40, max=200),
        load_only=True,
        metadata={"description": "Made by the caller (the console), stored hashed, never kept."},
    )
    rights = fields.List(
        fields.String(validate=validate.OneOf(sorted(KEY_RIGHTS))),
        required=True,
        validate=validate.Length(min=1),
    )


class RevokeKey(Command):
    name = username()
