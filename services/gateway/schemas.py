"""What the HTTP API accepts: the services' own schemas, shaped for HTTP.

A request is checked with the schema of the service that will carry it out
(``services/<name>/schemas.py``), so a rule is written once: what the gateway
refuses, the service would refuse too, and what the OpenAPI document says is
what both enforce. The gateway then sends on the caller's values as given
(only the fields given, plus what it adds), and the service loads them once.

Where the HTTP shape differs, it is derived here, not re-declared:

* a record named in the URL (a copy's barcode, a card, a loan) is the path's
  parameter, that field of the service's schema (``fields_of``), and is left
  out of the body (``body(..., path=...)``);
* a campus the gateway's desk fills in (``desk.py``) is optional in the body
  (``filled``), with its description saying so;
* a default the HTTP API applies where the service's command has none
  (``defaults``, e.g. making a copy reference-only unless told otherwise) is
  sent when the caller leaves the field out;
* a field the service takes but the HTTP operation has no use for is left out
  (``exclude``: the day of a loss or of a payment changes nothing).

Only the leaderboard's path (students, classes, campuses) and the dashboard's
file names are the gateway's own.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from typing import Any

from marshmallow import Schema, fields, missing, validate

from services.accounts import schemas as accounts
from services.activities import schemas as activities
from services.archives import schemas as archives
from services.catalog import schemas as catalog
from services.circulation import schemas as circulation
from shared.events import fields as f

# The leaderboards in the URL, by the scope the reading programme counts them over.
BOARDS = {"students": "student", "classes": "class", "campuses": "campus"}
if sorted(BOARDS.values()) != sorted(activities.SCOPES):
    raise ValueError(f"the boards {BOARDS} do not match the scopes {activities.SCOPES}")

DESK = "A campus gateway fills in its own and refuses another; a whole-school gateway needs it."
HOME = "A campus gateway's own when left out; a whole-school gateway needs it."
OWN_CARD = "A reader's own card when left out (and a reader may name no other); the desk names it."


def fields_of(source: type[Schema], *names: str, name: str) -> type[Schema]:
    """A schema of some of ``source``'s fields, as the service declares them (a path's)."""
    declared = source._declared_fields
    return Schema.from_dict({field: declared[field] for field in names}, name=name)


def optional(field: fields.Field, description: str, **changes: Any) -> fields.Field:
    """The service's ``field``, not required here: the gateway supplies it when left out."""
    derived = copy.copy(field)
    derived.required = False
    derived.metadata = {**field.metadata, "description": description}
    for attribute, value in changes.items():
        setattr(derived, attribute, value)
    return derived


def service_defaults(schema: type[Schema]) -> dict[str, Any]:
    """The values ``schema`` loads for fields left out (a service's own defaults)."""
    return {
        field.data_key or name: field.load_default
        for name, field in schema._declared_fields.items()
        if field.load_default is not missing and not callable(field.load_default)
    }


def body(
    source: type[Schema],
    name: str,
    *,
    path: type[Schema] | None = None,
    exclude: tuple[str, ...] = (),
    filled: Mapping[str, str] | None = None,
    defaults: Mapping[str, Any] | None = None,
) -> type[Schema]:
    """``source`` (the service's schema, its validators included) as an HTTP request takes it.

    ``path``: the fields the URL carries, left out here; ``exclude``: fields the
    operation does not take; ``filled``: fields the gateway fills in when left
    out, by their description; ``defaults``: values sent when left out.
    """
    declared = source._declared_fields
    changed: dict[str, Any] = {}
    for field, description in (filled or {}).items():
        original = declared[field].metadata.get("description", "")
        changed[field] = optional(declared[field], f"{original} {description}".strip())
    for field, value in (defaults or {}).items():
        original = declared[field].metadata.get("description", "")
        changed[field] = optional(
            declared[field],
            f"{original} {json.dumps(value)} when left out.".strip(),
            load_default=value,
        )
    leave_out = (*(path._declared_fields if path else ()), *exclude)
    meta = type("Meta", (getattr(source, "Meta", object),), {"exclude": leave_out})
    return type(
        name,
        (source,),
        {
            **changed,
            "Meta": meta,
            "__doc__": source.__doc__,
            "__module__": __name__,
            "http_defaults": dict(defaults or {}),
            "service_schema": source,
        },
    )


# ------------------------------------------------------------------ catalog

BarcodePath = fields_of(catalog.CopyCommand, "barcode", name="BarcodePath")
AddBooksBody = body(catalog.AddCopies, "AddBooksBody")
AddTitlesBody = body(catalog.AddTitles, "AddTitlesBody")
DamageBody = body(catalog.MarkDamaged, "DamageBody", path=BarcodePath)
RepairBody = body(catalog.Repair, "RepairBody", path=BarcodePath)
WeedBody = body(catalog.Weed, "WeedBody", path=BarcodePath)
TransferBody = body(catalog.Transfer, "TransferBody", path=BarcodePath)
ReceiveBody = body(catalog.Receive, "ReceiveBody", path=BarcodePath, filled={"campus": DESK})
ReferenceBody = body(
    catalog.SetReferenceOnly, "ReferenceBody", path=BarcodePath, defaults={"reference_only": True}
)
SearchQuery = catalog.Search
# Stock-takes (清点): the scanner's file is the body itself (plain text or CSV).
StocktakePath = fields_of(catalog.StocktakeQuery, "stocktake_id", name="StocktakePath")
OpenStocktakeBody = body(catalog.OpenStocktake, "OpenStocktakeBody")
CountCopiesBody = body(
    catalog.CountCopies, "CountCopiesBody", path=StocktakePath, exclude=("file",)
)
ScannerFileBody = body(
    catalog.CountCopies, "ScannerFileBody", path=StocktakePath, exclude=("barcodes", "command_id")
)
SCANNER_FILE_TYPES = ("text/plain", "text/csv")
SCANNER_UPLOAD = ("file", catalog.MAX_SCANNER_FILE)
CloseStocktakeBody = body(catalog.CloseStocktake, "CloseStocktakeBody", path=StocktakePath)
StocktakesQuery = catalog.StocktakesQuery
TwiceMissingQuery = catalog.TwiceMissingQuery
WeedMissingBody = body(catalog.WeedMissing, "WeedMissingBody")
LabelsQuery = catalog.LabelRange
# A MARC file: where its records go (the query), the file itself (the body), the export's choice.
MarcImportQuery = catalog.MarcImportQuery
MarcFileBody = catalog.MarcFile
MarcExportQuery = catalog.MarcExportQuery
MARC = catalog.MARC_MEDIA_TYPE
MARC_UPLOAD = ("file", catalog.MAX_MARC_BYTES)

# ------------------------------------------------------------------ circulation

PatronPath = fields_of(circulation.CardChange, "patron_id", name="PatronPath")
LoanPath = fields_of(circulation.LoanCommand, "loan_id", name="LoanPath")
ReservationPath = fields_of(circulation.CancelReservation, "reservation_id", name="ReservationPath")
IssueCardBody = body(circulation.IssueCard, "IssueCardBody", filled={"campus": HOME})
ImportCardsBody = body(circulation.ImportCards, "ImportCardsBody")
CardChangeBody = body(circulation.CardChange, "CardChangeBody", path=PatronPath)
LendBody = body(circulation.Lend, "LendBody", filled={"campus": DESK})
LendManyBody = body(circulation.LendMany, "LendManyBody", filled={"campus": DESK})
ReturnBody = body(circulation.Return, "ReturnBody", filled={"campus": DESK})
RenewBody = body(circulation.Renew, "RenewBody", path=LoanPath)
RenewCopyBody = body(circulation.RenewCopy, "RenewCopyBody", filled={"campus": DESK})
# Offline circulation (docs/offline.md): a desk's queue, its file, the conflicts.
OfflineBody = body(circulation.OfflineBatch, "OfflineBody", filled={"campus": DESK})
OfflineFileQuery = body(circulation.OfflineFileQuery, "OfflineFileQuery", filled={"campus": DESK})
OfflineFileBody = body(circulation.OfflineFile, "OfflineFileBody", exclude=("campus",))
OFFLINE_FILE_TYPES = ("text/csv", "text/plain")
OFFLINE_UPLOAD = ("file", circulation.MAX_OFFLINE_FILE)
OfflineConflictsQuery = circulation.OfflineConflictsQuery
OfflineConflictPath = fields_of(
    circulation.ResolveOfflineConflict, "conflict_id", name="OfflineConflictPath"
)
ResolveOfflineBody = body(
    circulation.ResolveOfflineConflict, "ResolveOfflineBody", path=OfflineConflictPath
)
# A loss and a payment are recorded as of today: their day would change nothing.
LostBody = body(circulation.LoanCommand, "LostBody", path=LoanPath, exclude=("on",))
# Who took a payment is the signed-in person (the gateway fills in their name).
PaymentBody = body(circulation.Pay, "PaymentBody", path=LoanPath, exclude=("on", "taken_by"))
ReplacementBody = body(
    circulation.ReplaceLost,
    "ReplacementBody",
    path=LoanPath,
    exclude=("on",),
    filled={"new_barcode": "Left out: the catalog issues one (its next C-number)."},
)
ReceiptPath = fields_of(circulation.ReceiptNumber, "receipt_no", name="ReceiptPath")
ReserveBody = body(
    circulation.Reserve, "ReserveBody", filled={"campus": HOME, "patron_id": OWN_CARD}
)
CancelReservationBody = body(
    circulation.CancelReservation, "CancelReservationBody", path=ReservationPath
)
OverdueQuery = circulation.OverdueQuery
ClearanceQuery = circulation.ClearanceQuery
# The school calendar: closed days and the class borrowing rota (a librarian's, over the config's).
CalendarQuery = circulation.CalendarQuery
RotaQuery = circulation.RotaQuery
ClosedDaysPath = fields_of(circulation.RemoveClosedDays, "starts", name="ClosedDaysPath")
RotaClassPath = fields_of(circulation.ClearRotaSlot, "class_name", name="RotaClassPath")
SetClosedDaysBody = body(circulation.SetClosedDays, "SetClosedDaysBody")
SetRotaSlotBody = body(circulation.SetRotaSlot, "SetRotaSlotBody")
TurnSchoolYearBody = body(circulation.TurnSchoolYear, "TurnSchoolYearBody")
RetireGraduatesBody = body(circulation.RetireGraduates, "RetireGraduatesBody")
GraduatesQuery = circulation.GraduatesQuery

# ------------------------------------------------------------------ activities


class LeaderboardPath(Schema):
    board = f.choice(tuple(BOARDS))


LeaderboardQuery = body(
    activities.LeaderboardQuery,
    "LeaderboardQuery",
    exclude=("scope",),  # the path's board
    defaults={"period": "week"},
)
SubmitNoteBody = body(activities.SubmitNote, "SubmitNoteBody", filled={"patron_id": OWN_CARD})
NotePath = fields_of(activities.AwardNote, "note_id", name="NotePath")
AwardNoteBody = body(activities.AwardNote, "AwardNoteBody", path=NotePath)
NotesPath = activities.NotesQuery
NoteListQuery = activities.NoteListQuery
WinnersQuery = activities.MonthlyWinnersQuery
CompetitionsQuery = activities.CompetitionsQuery
OpenCompetitionBody = body(activities.OpenCompetition, "OpenCompetitionBody")
CompetitionPath = fields_of(activities.CloseCompetition, "competition_id", name="CompetitionPath")
EntriesPath = fields_of(activities.EnterCompetition, "competition_id", name="EntriesPath")
EnterCompetitionBody = body(
    activities.EnterCompetition,
    "EnterCompetitionBody",
    path=EntriesPath,
    filled={"patron_id": OWN_CARD},
)
EntryPath = fields_of(activities.ScoreEntry, "competition_id", "entry_id", name="EntryPath")
ScoreEntryBody = body(
    activities.ScoreEntry,
    "ScoreEntryBody",
    path=EntryPath,
    filled={"scored_by": "The caller's own card when left out (a teacher scores in her name)."},
)
CloseCompetitionBody = body(
    activities.CloseCompetition, "CloseCompetitionBody", path=CompetitionPath
)
TermTargetsQuery = activities.TermTargetsQuery
BulletinQuery = activities.BulletinQuery
TopTitlesQuery = body(activities.TopTitlesQuery, "TopTitlesQuery", defaults={"period": "week"})

# ------------------------------------------------------------------ archives

PeriodQuery = archives.Period
RegisterPath = fields_of(archives.RegisterQuery, "name", name="RegisterPath")
RegisterQuery = body(archives.RegisterQuery, "RegisterQuery", path=RegisterPath)
EventsQuery = archives.ArchiveQuery
TermPath = fields_of(archives.TermReportQuery, "term", name="TermPath")
TermReportQuery = body(archives.TermReportQuery, "TermReportQuery", path=TermPath)
CloseTermPath = fields_of(archives.CloseTerm, "term", name="CloseTermPath")
CloseTermBody = body(archives.CloseTerm, "CloseTermBody", path=CloseTermPath)

# ------------------------------------------------------------------ the dashboard


class StaticPath(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))


# ------------------------------------------------------------------ accounts

AccountPath = accounts.AccountPath
LoginBody = body(accounts.Login, "LoginBody", exclude=("address",))
ChangePasswordBody = body(accounts.ChangePassword, "ChangePasswordBody", exclude=("token",))
CreateAccountBody = body(accounts.CreateAccount, "CreateAccountBody")
RolesBody = body(accounts.ChangeRoles, "RolesBody", path=AccountPath)
ClassesBody = body(accounts.SetClasses, "ClassesBody", path=AccountPath)
ResetPasswordBody = body(accounts.ResetPassword, "ResetPasswordBody", path=AccountPath)
DisableBody = body(accounts.Disable, "DisableBody", path=AccountPath)
EnableBody = body(accounts.Enable, "EnableBody", path=AccountPath)
EmailBody = body(accounts.ChangeEmail, "EmailBody", path=AccountPath)
# Notices (services/circulation/notifying.py): overdue lists to class teachers, holds.
SendOverdueNoticesBody = body(circulation.SendOverdueNotices, "SendOverdueNoticesBody")
NoticesQuery = circulation.NoticesQuery
ExpireHoldsBody = body(circulation.ExpireHolds, "ExpireHoldsBody")
AccountsQuery = accounts.AccountsQuery
AuditQuery = archives.AuditQuery
DeskTodayQuery = archives.DeskTodayQuery
