"""The campus of the gateway's desk: filled in where a request leaves it out.

A campus host's gateway (``CAMPUS: north``) is the north desk's: what it lends,
takes back and receives, it does at north, so a desk program need not say so
each time. Naming the other campus in such a command is refused (400, naming
the ``campus`` field): a book lent "at south" through the north desk's gateway
is a misconfigured desk program, not something a librarian means to do; the
south desk has its own gateway. Where the campus is the patron's or the
reader's choice rather than the desk's (a new card, a reservation), a campus
gateway only supplies its own when none is given.

A whole-school gateway (``CAMPUS`` empty, one host) has no desk of its own, so
every desk command must name its campus, as before.

An assistant works the desk of her own campus (her account's): her desk
commands are done there, and the other campus's gateway refuses her desk work
(403). A librarian's desk is the gateway's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nameko.extensions import DependencyProvider

from services.gateway.auth import Caller
from services.gateway.problems import Forbidden, InvalidRequest
from shared.runtime.campus import campus_setting

MISSING = (
    "Missing data for required field: this gateway serves the whole school, so name the campus."
)


@dataclass(frozen=True)
class Desk:
    """The gateway's campus (None: the whole school) and how requests are completed with it."""

    campus: str | None

    def of(self, caller: Caller | None) -> Desk:
        """The desk ``caller`` works: her own campus's if she is an assistant of one."""
        own = None
        if caller is not None and caller.campus and "librarian" not in caller.roles:
            own = caller.campus
        if own is None or own == self.campus:
            return self
        if self.campus is not None:
            raise Forbidden(
                f"{caller.name} works the {own} desk: this is the {self.campus} desk's gateway.",
                code="other_campus_desk",
                members={"right": "desk"},
            )
        return Desk(own)

    def at_desk(self, body: dict[str, Any], caller: Caller | None = None) -> dict[str, Any]:
        """A desk command's body with the desk's campus: filled in, or refused if another."""
        if caller is not None:
            return self.of(caller).at_desk(body)
        given = body.get("campus")
        if self.campus is None:
            if given is None:
                raise InvalidRequest("Invalid body: campus.", errors={"campus": [MISSING]})
            return body
        if given is None:
            return {**body, "campus": self.campus}
        if given != self.campus:
            raise InvalidRequest(
                f"This is the {self.campus} desk's gateway: it lends, takes back and receives "
                f"books at {self.campus} only. Use the {given} desk's gateway for {given}.",
                errors={"campus": [f"Must be {self.campus} (this gateway's campus) or left out."]},
            )
        return body

    def default(self, body: dict[str, Any], caller: Caller | None = None) -> dict[str, Any]:
        """A body whose campus defaults to the gateway's (another campus may be named)."""
        if caller is not None and caller.campus and body.get("campus") is None:
            return {**body, "campus": caller.campus}
        if body.get("campus") is not None:
            return body
        if self.campus is None:
            raise InvalidRequest("Invalid body: campus.", errors={"campus": [MISSING]})
        return {**body, "campus": self.campus}


class DeskCampus(DependencyProvider):
    """Gives workers the gateway's ``Desk``, its campus read once from ``CAMPUS``."""

    def setup(self) -> None:
        self.desk = Desk(campus_setting(self.container.config))

    def get_dependency(self, worker_ctx: Any) -> Desk:
        return self.desk
