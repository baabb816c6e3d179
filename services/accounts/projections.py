"""The accounts' read models, and the accounts that follow from library cards.

``Directory`` keeps the ``accounts`` and ``api_keys`` tables from the service's
own events, inline (an account can sign in the moment it is made). ``CardHolders``
follows circulation: a teacher's or a student's card issued makes their account
(username = card number, no password until a librarian sets one; a teacher's
card with a class makes her that class's teacher), a card retired disables it.
"""

from __future__ import annotations

from logging import getLogger

from services.accounts import domain
from shared.events.envelope import Envelope
from shared.eventsourcing.decider import Refused
from shared.eventsourcing.projection import Cursor, Projection, Reaction
from shared.eventsourcing.unit_of_work import UnitOfWork

_log = getLogger(__name__)


class Directory(Projection):
    """Every account and key with its roles, classes and whether it may still sign in."""

    name = "directory"
    sources = ("accounts",)
    tables = ("accounts", "api_keys")
    writes_only = True

    def apply(self, cursor: Cursor, event: Envelope) -> None:
        data = event.data
        match event.type:
            case "AccountCreated":
                cursor.execute(
                    """INSERT INTO accounts (account_id, username, name, roles, campus,
                                             patron_id, classes, created_at, email)
                       VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)
                       ON CONFLICT (account_id) DO NOTHING""",
                    (
                        data["account_id"],
                        data["username"],
                        data["name"],
                        data["roles"],
                        data.get("campus"),
                        data.get("patron_id"),
                        data.get("classes") or [],
                        event.occurred_at,
                        data.get("email"),
                    ),
                )
            case "EmailChanged":
                cursor.execute(
                    "UPDATE accounts SET email = %s WHERE account_id = %s",
                    (data["email"], data["account_id"]),
                )
            case "AccountRoleChanged":
                cursor.execute(
                    "UPDATE accounts SET roles = %s, campus = %s WHERE account_id = %s",
                    (data["roles"], data.get("campus"), data["account_id"]),
                )
            case "AccountClassesSet":
                cursor.execute(
                    "UPDATE accounts SET classes = %s WHERE account_id = %s",
                    (data["classes"], data["account_id"]),
                )
            case "AccountDisabled" | "AccountEnabled":
                cursor.execute(
                    "UPDATE accounts SET disabled = %s WHERE account_id = %s",
                    (event.type == "AccountDisabled", data["account_id"]),
                )
            case "ApiKeyCreated":
                cursor.execute(
                    """INSERT INTO api_keys (key_id, name, rights, created_at)
                       VALUES (%s, %s, %s, %s) ON CONFLICT (key_id) DO NOTHING""",
                    (data["key_id"], data["name"], data["rights"], event.occurred_at),
                )
            case "ApiKeyRevoked":
                cursor.execute(
                    "UPDATE api_keys SET revoked_at = %s WHERE key_id = %s",
                    (event.occurred_at, data["key_id"]),
                )


class CardHolders(Reaction):
    """A teacher's or a student's card makes their account; retiring the card disables it."""

    name = "card_holders"
    sources = ("circulation",)
    types = frozenset({"CardIssued", "CardRetired"})  # not the loans and returns

    def react(self, uow: UnitOfWork, event: Envelope) -> None:
        data = event.data
        if event.type == "CardIssued" and data["kind"] in domain.CARD_ROLES:
            classes = (data["class_name"],) if data.get("class_name") else ()
            command = domain.CreateAccount(
                username=data["patron_id"],
                name=data["name"],
                roles=(data["kind"],),
                campus=data.get("campus"),
                patron_id=data["patron_id"],
                classes=classes if data["kind"] == "teacher" else (),
            )
        elif event.type == "CardRetired":
            command = domain.Disable(f"card retired: {data['reason']}")
        else:
            return
        if uow.earlier():
            return
        loaded = uow.get(domain.NEW_ACCOUNT, domain.account_id_for(data["patron_id"]))
        if isinstance(command, domain.Disable) and not loaded.state.exists:
            return  # a class book corner's card: it never had an account
        try:
            uow.record(loaded, domain.decide(loaded.state, command))
        except Refused as refusal:  # a staff account of that name, a card retired twice
            _log.info(
                "%s #%d makes no account change for %s: %s",
                event.type,
                event.position,
                data["patron_id"],
                refusal,
                extra={"correlation_id": event.correlation_id},
            )
