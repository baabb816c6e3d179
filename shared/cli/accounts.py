"""``library accounts create|reset-password``: accounts from the library host's console.

The school's first librarian has no one to make her account over the API (that
needs a librarian): the operator makes it here, typing the password twice (or
piping it in), and she makes everyone else's on the screens. A forgotten
password of the only librarian is reset here too.
"""

from __future__ import annotations

import getpass
import sys
import uuid
from typing import Any

from shared.cli.errors import UsageError
from shared.cli.rpc import Services
from shared.config import Config


def read_password(stdin: bool) -> str:
    """The new password: one line of standard input, or typed twice without echo."""
    if stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("new password: ")
        if getpass.getpass("again: ") != password:
            raise UsageError("the two passwords differ; nothing was changed")
    if not password:
        raise UsageError("no password given; nothing was changed")
    return password


def create(
    config: Config,
    username: str,
    name: str,
    roles: list[str],
    campus: str | None,
    password: str,
    timeout: float,
) -> dict[str, Any]:
    with Services(config, timeout=timeout) as rpc:
        return rpc.call("accounts", "create_account", {
            "command_id": str(uuid.uuid4()), "username": username, "name": name,
            "roles": roles, "campus": campus, "password": password,
        })  # fmt: skip


def reset_password(config: Config, username: str, password: str, timeout: float) -> dict[str, Any]:
    with Services(config, timeout=timeout) as rpc:
        return rpc.call("accounts", "reset_password", {
            "command_id": str(uuid.uuid4()), "username": username, "password": password,
        })  # fmt: skip
