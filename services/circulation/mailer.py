"""Sending the library's e-mails over SMTP (smtplib), with the settings from the config.

``NOTICES`` in infra/config.yml::

    NOTICES:
      smtp: {host: 127.0.0.1, port: 8025, sender: library@school.example,
             user: null, password: null, starttls: false, timeout: 10}
      web_address: http://127.0.0.1:8000   # where the links in the e-mails point
      language: zh-CN                        # unless the account says otherwise
      hold_pick_up_days: 3                   # open days a reserved book is kept
      release_on_timer: true                 # the periodic check releases holds past their day

A refusal or an unreachable server is an answer (``Sent(False, error)``), never an
exception: the notice is then recorded as failed, with the server's words.
"""

from __future__ import annotations

import smtplib
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

from nameko.extensions import DependencyProvider

from services.circulation.holds import DEFAULT_PICK_UP_DAYS
from shared.paper.words import DEFAULT_LANGUAGE


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8025
    sender: str = "library@school.example"
    user: str | None = None
    password: str | None = None
    starttls: bool = False
    timeout: float = 10.0
    web_address: str = "http://127.0.0.1:8000"
    language: str = DEFAULT_LANGUAGE
    hold_pick_up_days: int = DEFAULT_PICK_UP_DAYS
    release_on_timer: bool = True  # the periodic check releases holds past their day


@dataclass(frozen=True)
class Sent:
    delivered: bool
    error: str | None = None


def settings_from_config(config: dict[str, Any]) -> Settings:
    section = config.get("NOTICES") or {}
    smtp = section.get("smtp") or {}
    default = Settings()
    return Settings(
        host=str(smtp.get("host") or default.host),
        port=int(smtp.get("port") or default.port),
        sender=str(smtp.get("sender") or default.sender),
        user=smtp.get("user") or None,
        password=smtp.get("password") or None,
        starttls=str(smtp.get("starttls", False)).lower() in ("1", "true", "yes"),
        timeout=float(smtp.get("timeout") or default.timeout),
        web_address=str(section.get("web_address") or default.web_address),
        language=str(section.get("language") or default.language),
        hold_pick_up_days=int(section.get("hold_pick_up_days") or default.hold_pick_up_days),
        release_on_timer=str(section.get("release_on_timer", True)).lower()
        not in ("0", "false", "no"),
    )


def send(settings: Settings, mail: EmailMessage) -> Sent:
    """Hand one e-mail to the SMTP server; what it said when it would not take it."""
    return send_many(settings, [mail])[0]


def send_many(settings: Settings, mails: Sequence[EmailMessage]) -> list[Sent]:
    """Hand e-mails to the SMTP server over one connection (a school's overdue notices
    in one go); for each, whether it was taken or what the server said."""
    if not mails:
        return []
    try:
        server = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
    except (TimeoutError, smtplib.SMTPException, OSError) as error:
        return [_failure(error)] * len(mails)
    with server:
        try:
            if settings.starttls:
                server.starttls()
            if settings.user:
                server.login(settings.user, settings.password or "")
        except (TimeoutError, smtplib.SMTPException, OSError) as error:
            return [_failure(error)] * len(mails)
        return [_one(server, mail) for mail in mails]


def _one(server: smtplib.SMTP, mail: EmailMessage) -> Sent:
    try:
        refused = server.send_message(mail)
    except (TimeoutError, smtplib.SMTPException, OSError) as error:
        if not isinstance(error, smtplib.SMTPServerDisconnected):
            try:
                server.rset()  # the next message starts clean
            except (TimeoutError, smtplib.SMTPException, OSError):
                pass
        return _failure(error)
    if refused:
        return Sent(
            False, "; ".join(f"{to}: {code} {why!r}" for to, (code, why) in refused.items())
        )
    return Sent(True)


def _failure(error: Exception) -> Sent:
    """The server's own words (code and text) when it answered, else what went wrong."""
    if isinstance(error, smtplib.SMTPResponseException):
        message = error.smtp_error
        text = message.decode("utf-8", "replace") if isinstance(message, bytes) else str(message)
        return Sent(False, f"{error.smtp_code} {text}")
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return Sent(
            False,
            "; ".join(f"{to}: {code} {why!r}" for to, (code, why) in error.recipients.items()),
        )
    return Sent(False, f"{type(error).__name__}: {error}")


class Mailer(DependencyProvider):
    """Gives workers the notice settings read once from the config."""

    def setup(self) -> None:
        self.settings = settings_from_config(self.container.config)

    def get_dependency(self, worker_ctx: Any) -> Settings:
        return self.settings
