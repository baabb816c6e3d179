"""One kiosk's connection: who signed in on it, its wrong passwords, its last answer.

Held by the connection's green thread and handed to each message's worker; nothing here
outlives the connection (a kiosk that reconnects signs in again, as the spec has it).
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.events.envelope import Actor


@dataclass(frozen=True)
class Kiosk:
    """A signed-in kiosk account: the actor of what it lends and takes back, at its campus."""

    account_id: str
    username: str
    campus: str

    def actor(self) -> Actor:
        return {"id": self.account_id, "username": self.username, "role": "kiosk"}


@dataclass
class Session:
    """What one connection knows. ``last_answer`` is resent on 97; ``error_detection``
    says whether the kiosk sends AY/AZ (then a garbled message is answered 96 with AZ)."""

    listener: str
    encoding: str
    address: str
    kiosk: Kiosk | None = None
    login_failures: int = 0
    garbled_in_a_row: int = 0
    error_detection: bool | None = None
    last_answer: bytes | None = None
    messages: int = 0

    @property
    def signed_in(self) -> bool:
        return self.kiosk is not None
