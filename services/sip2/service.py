"""The SIP2 service: self-check kiosks lend, take back and renew through circulation.

How it works. ``Sip2Server`` (server.py), a nameko shared extension like nameko's own
web server, listens on each address of ``SIP2.listeners`` (settings.py) and serves every
kiosk's connection in a green thread of its own: it cuts the byte stream into messages
(``protocol.take_message``, 4 KiB at most, CR ended), closes a connection silent for
``idle_timeout`` seconds or stuck in half a message as long, and refuses kiosks beyond
``max_connections``. Each message is parsed by the codec (protocol.py, the 2.00 layouts)
in the listener's encoding (UTF-8, or GB18030 for older kiosks); conversation.py answers
what needs no library data (96 for a bad checksum or an unreadable line, 97's resend of
the last answer, the refusal of a kiosk that has not signed in, the growing delay after
a wrong password) and hands the rest to this service's ``answer`` in a nameko worker.

``answer`` runs one ``Desk`` (desk.py): 93 signs in against the accounts service (a
kiosk is an account with the role ``kiosk`` and a campus: its campus is the kiosk's, the
institution id AO of every answer, and a login's location CP must name it); 11, 09 and
29 are circulation's ``lend``, ``return_copy`` and ``renew`` at the kiosk's campus, with
the kiosk as the actor (the worker's context data, as the gateway passes its caller) and
a ``command_id`` derived from the message, so a kiosk resending a checkout after a
dropped connection or a kill -9 of this service gets the first answer, not a second loan;
63/23 read the card (``patron_loans``), 17 the copy (``copy_availability``), 99 the
status with the supported messages (BX) true to ``answers.IMPLEMENTED``. Refusals are
the response's ok 0 with a screen message (AF) worded in ``SIP2.language`` (Chinese by
default) from shared/paper/locales/<language>/sip2.json by circulation's refusal code.

The patron password AD is not checked: a school's cards have no password of their own
(a reader is who holds the card, as at the desk); CQ says Y when the kiosk sent one.
This service owns no data and no database: what it knows of a kiosk lives as long as
its connection.
"""

from __future__ import annotations

from typing import Any

from nameko.dependency_providers import Config

from services.sip2 import protocol as p
from services.sip2.answers import Answers
from services.sip2.calls import ServiceRpc
from services.sip2.desk import Desk
from services.sip2.server import sip2
from services.sip2.session import Session
from services.sip2.settings import Sip2Settings
from shared.messaging.rpc import rpc
from shared.runtime.logs import WorkerLog
from shared.runtime.metrics import Metrics


class Sip2Service:
    name = "sip2"
    accounts = ServiceRpc("accounts")
    circulation = ServiceRpc("circulation")
    config = Config()
    metrics = Metrics()
    worker_log = WorkerLog()  # its workers' log lines carry correlation id, actor, role

    @sip2
    def answer(self, session: Session, message: p.Message) -> p.Message:
        """The response to one message of a kiosk (signed in, or signing in)."""
        settings = Sip2Settings.from_config(self.config)
        campus = session.kiosk.campus if session.kiosk else None
        answers = Answers(settings.language, settings.now(), campus)
        calls = (self.circulation, self.accounts)
        return Desk(session, *calls, answers, self._max_loans, settings.rpc_timeout).answer(message)

    @rpc
    def health(self) -> dict[str, Any]:
        """This instance answers; its listeners' addresses."""
        settings = Sip2Settings.from_config(self.config)
        return {
            "service": self.name,
            "listeners": [
                {"name": x.name, "host": x.host, "port": x.port, "encoding": x.encoding}
                for x in settings.listeners
            ],
            "metrics": self.metrics.url,
        }

    def _max_loans(self, kind: str) -> int | None:
        """A card kind's loan limit (CIRCULATION.policies), for the patron answers' CB."""
        policies = (self.config.get("CIRCULATION") or {}).get("policies") or {}
        limit = (policies.get(kind) or {}).get("max_loans")
        return int(limit) if limit is not None else None
