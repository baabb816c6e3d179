"""What a connection answers to each message, before (and around) the service's worker.

The rules that need no library data, in the order they apply:

- A message that cannot be read (bytes not in the listener's encoding, a fixed field
  cut short or of the wrong kind, an unknown command code, a required field missing)
  is answered 96, the spec's "send it again", with a checksum when the kiosk uses error
  detection; after ``GARBLED_LIMIT`` in a row the connection is closed, so a kiosk
  stuck resending the same bad line does not loop for ever.
- A wrong checksum (AZ) is answered 96: the line was damaged on its way.
- 97 is answered with the last response sent on this connection, byte for byte; with
  none yet the connection is closed (there is nothing to resend, and no other answer
  to a 97 exists in the spec).
- Before a successful 93 login, only 93 and 99 (status) are served; every other
  message gets its own response saying no — ok 0, or the patron's privileges denied,
  or the item unknown — with the screen message (AF) "the kiosk has not signed in".
  The connection stays open so the kiosk can sign in.
- A 94 with ok 0 waits ``SIP2.login_failure_delay`` seconds, doubled for each wrong
  password in a row on this connection (at most 30 s); the accounts service's own lock
  after repeated failures applies too.
- Anything else goes to the service's worker. A worker that fails (a service down, a
  timeout) is answered with the message's refusal "see the desk", never silence.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from logging import getLogger

from services.sip2 import protocol as p
from services.sip2.answers import Answers
from services.sip2.session import Session
from services.sip2.settings import Sip2Settings

_log = getLogger(__name__)

GARBLED_LIMIT = 3  # unreadable messages in a row before the connection is closed
SERVED_BEFORE_LOGIN = ("93", "99")

Worker = Callable[[Session, p.Message], p.Message]


class ConnectionClosed(Exception):
    """Raised when a kiosk hung up, went silent too long, or sent too long a message."""


@dataclass
class Reply:
    """What the connection does with a message: send ``data`` (after ``delay`` seconds),
    then close when ``close``."""

    data: bytes | None = None
    delay: float = 0.0
    close: bool = False


class Conversation:
    """One message of one connection: parse, the rules above, the worker, the bytes."""

    def __init__(self, session: Session, settings: Sip2Settings, worker: Worker) -> None:
        self.session = session
        self.settings = settings
        self.worker = worker

    def reply(self, raw: bytes) -> Reply:
        session = self.session
        try:
            message = p.parse(raw, session.encoding)
        except p.BadChecksum as error:
            _log.info("SIP2 from %s: %s", session.address, error.reason)
            session.error_detection = True
            return Reply(p.resend(checksummed=True))
        except p.Sip2Error as error:
            session.garbled_in_a_row += 1
            _log.info("SIP2 from %s: %s", session.address, error.reason)
            if session.garbled_in_a_row > GARBLED_LIMIT:
                return Reply(close=True)
            checksummed = session.error_detection
            if checksummed is None:
                checksummed = b"AZ" in raw
            return Reply(p.resend(checksummed=checksummed))
        session.garbled_in_a_row = 0
        session.error_detection = message.checksummed
        session.messages += 1
        if message.code == "97":
            if session.last_answer is None:
                return Reply(close=True)
            return Reply(session.last_answer)
        answer = self._answer(message)
        data = self._bytes(message, answer)
        session.last_answer = data
        delay = 0.0
        if message.code == "93" and not session.signed_in:
            delay = self.settings.failure_delay(session.login_failures)
        return Reply(data, delay=delay)

    def answers(self) -> Answers:
        kiosk = self.session.kiosk
        return Answers(self.settings.language, self.settings.now(), kiosk.campus if kiosk else None)

    def _answer(self, message: p.Message) -> p.Message:
        if message.code not in SERVED_BEFORE_LOGIN and not self.session.signed_in:
            answers = self.answers()
            return answers.refused(message, answers.refusal_text("sign_in_first"))
        try:
            return self.worker(self.session, message)
        except ConnectionClosed:
            raise
        except Exception:  # noqa: BLE001 - the kiosk is told to go to the desk
            _log.exception("SIP2 %s from %s failed", message.name, self.session.address)
            answers = self.answers()
            return answers.refused(message, answers.refusal_text("unavailable"))

    def _bytes(self, request: p.Message, answer: p.Message) -> bytes:
        try:
            return p.build(answer, self.session.encoding)
        except (p.Sip2Error, UnicodeEncodeError):
            # A value the kiosk's encoding cannot carry (a title in GB18030 always can).
            _log.exception("SIP2 answer to %s could not be built", request.name)
            answers = self.answers()
            refusal = answers.refused(request, answers.refusal_text("unavailable"))
            return p.build(refusal, self.session.encoding)
