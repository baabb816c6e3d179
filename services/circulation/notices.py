"""The library's e-mails, worded and recorded: pure (no SMTP, no database).

Two notices: a class teacher's list of her class's overdue loans (逾期未还图书通知:
student, title, barcode, due date, days overdue, and a link to where it is printed:
the class on 我的班级, whose PDF is ``/api/overdue?class=...&format=pdf``), and a
reader's 预约到书 notice ("your reserved book is ready, pick it up by <date>").
Both are plain text with a simple HTML twin, worded from
``shared/paper/locales/<language>/notices.json`` (Chinese unless the settings say
otherwise). Each e-mail the library tried to send is a ``NoticeSent`` event on its
own stream ``notice-<notice_id>``, delivered or failed.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from typing import Any
from urllib.parse import urlencode

from shared.eventsourcing.decider import Aggregate, Event, Refused
from shared.paper.classes import written_class
from shared.paper.words import Words

LOAN_COLUMNS = ("name", "title", "barcode", "due_on", "days_overdue")


@dataclass(frozen=True)
class Notice:
    subject: str
    text: str
    html: str


def written_date(day: date | str, words: Words) -> str:
    """2026-12-10 as the reader's language writes it (2026年12月10日)."""
    day = day if isinstance(day, date) else date.fromisoformat(day)
    return words("notices.date", year=day.year, month=day.month, day=day.day)


def overdue_print_link(web_address: str, class_name: str) -> str:
    """Where the teacher prints the same list: her class on 我的班级, whose PDF button is
    the exports' ``GET /api/overdue?class=...&format=pdf`` (signed in: the API wants a
    session, so a bare API link would not open from an e-mail)."""
    return f"{web_address.rstrip('/')}/#/teacher?{urlencode({'class': class_name})}"


def overdue_notice(
    class_name: str,
    teacher: str,
    loans: Sequence[Mapping[str, Any]],
    on: date | str,
    pdf_link: str,
    words: Words,
) -> Notice:
    """A class teacher's e-mail: her class's overdue loans as of ``on``, oldest due first."""
    loans = sorted(loans, key=lambda loan: (loan["due_on"], loan["name"], loan["barcode"]))
    written = written_class(class_name, words)
    day = written_date(on, words)
    subject = words("notices.overdue.subject", class_name=written, date=day)
    greeting = words("notices.overdue.greeting", name=teacher)
    intro = words("notices.overdue.intro", class_name=written, date=day, count=len(loans))
    headers = [words(f"notices.overdue.columns.{column}") for column in LOAN_COLUMNS]
    rows = [
        [
            loan["name"],
            words("notices.title", title=loan["title"] or loan["barcode"]),
            loan["barcode"],
            written_date(loan["due_on"], words),
            words("notices.overdue.days", days=loan["days_overdue"]),
        ]
        for loan in loans
    ]
    printed = words("notices.overdue.printed", link=pdf_link)
    closing = words("notices.closing", library=words("common.library"))
    text = "\n".join(
        [
            greeting,
            "",
            intro,
            "",
            *("  ".join(cells) for cells in [headers, *rows]),
            "",
            printed,
            "",
            closing,
        ]
    )
    table = "".join(
        [
            "<table border='1' cellpadding='4' cellspacing='0'><thead><tr>",
            *(f"<th>{html.escape(h)}</th>" for h in headers),
            "</tr></thead><tbody>",
            *(
                "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in cells) + "</tr>"
                for cells in rows
            ),
            "</tbody></table>",
        ]
    )
    link = html.escape(pdf_link, quote=True)
    body = (
        f"<p>{html.escape(greeting)}</p><p>{html.escape(intro)}</p>{table}"
        f'<p><a href="{link}">{html.escape(printed)}</a></p>'
        f"<p>{html.escape(closing).replace(chr(10), '<br>')}</p>"
    )
    return Notice(subject, text, _page(subject, body, words))


def hold_ready_notice(name: str, hold: Mapping[str, Any], words: Words) -> Notice:
    """A reader's e-mail: the copy held for them, where, and the day to pick it up by."""
    title = words("notices.title", title=hold["title"])
    by = written_date(hold["pick_up_by"], words)
    subject = words("notices.hold_ready.subject", title=title)
    lines = [
        words("notices.hold_ready.greeting", name=name),
        "",
        words("notices.hold_ready.ready", date=by),
        words("notices.hold_ready.book", title=title, barcode=hold["barcode"]),
        words(
            "notices.hold_ready.where",
            campus=words(f"common.campus.{hold['campus']}"),
            library=words("common.library"),
        ),
        words("notices.hold_ready.later"),
        "",
        words("notices.closing", library=words("common.library")),
    ]
    body = "".join(
        "<p>" + html.escape(line).replace("\n", "<br>") + "</p>" for line in lines if line
    )
    return Notice(subject, "\n".join(lines), _page(subject, body, words))


def _page(subject: str, body: str, words: Words) -> str:
    lang = "zh-CN" if words.language == "zh-CN" else "en"
    return (
        f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">'
        f"<title>{html.escape(subject)}</title></head><body>{body}</body></html>"
    )


def message(notice: Notice, sender: str, to: str, name: str, words: Words) -> EmailMessage:
    """The e-mail itself: UTF-8 subject and body, plain text with an HTML alternative."""
    mail = EmailMessage()
    mail["Subject"] = notice.subject
    mail["From"] = formataddr((words("notices.sender", library=words("common.library")), sender))
    mail["To"] = formataddr((name, to))
    mail["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    mail.set_content(notice.text)
    mail.add_alternative(notice.html, subtype="html")
    return mail


# ---------------------------------------------------------------- the record


@dataclass(frozen=True)
class RecordNotice:
    """What was sent (or tried): the ``NoticeSent`` event's fields."""

    notice_id: str
    kind: str
    account_id: str
    name: str
    email: str
    language: str
    subject: str
    sent_at: datetime
    delivered: bool
    error: str | None = None
    class_name: str | None = None
    loan_ids: tuple[str, ...] = ()
    reservation_id: str | None = None


def decide(recorded: bool, command: RecordNotice) -> list[Event]:
    if recorded:
        raise Refused(f"notice {command.notice_id} is recorded already", "notice_recorded")
    return [
        Event(
            "NoticeSent",
            {
                "notice_id": command.notice_id,
                "kind": command.kind,
                "account_id": command.account_id,
                "name": command.name,
                "email": command.email,
                "language": command.language,
                "subject": command.subject,
                "class_name": command.class_name,
                "loan_ids": list(command.loan_ids),
                "reservation_id": command.reservation_id,
                "outcome": "delivered" if command.delivered else "failed",
                "error": None if command.delivered else (command.error or "")[:1000],
                "sent_at": command.sent_at.isoformat(),
            },
        )
    ]


def evolve(recorded: bool, event: Any) -> bool:
    return recorded or event.type == "NoticeSent"


NOTICE = Aggregate("notice", "notice-", False, evolve, decide)
