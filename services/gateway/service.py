"""The gateway: the HTTP JSON API and the dashboard, owning no data.

Each route below is the whole of its operation: who may call it, what it reads
and answers (see ``routing.route``), and the one service call it makes. Tokens,
input checks, problem answers and the OpenAPI document live in their own
modules; services are called over nameko RPC with a timeout (``calls``).
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

from nameko.dependency_providers import Config

from services.gateway import exports, labels, lists, openapi, prints, scopes, static, status, terms
from services.gateway import replies as r
from services.gateway import schemas as s
from services.gateway.auth import PUBLIC, SIGNED_IN, Caller, missing, needs
from services.gateway.calls import ServiceRpc
from services.gateway.desk import DeskCampus
from services.gateway.formats import produces
from services.gateway.live import EVENT_STREAM, LIVE, LiveEvents
from services.gateway.parsing import XLSX
from services.gateway.problems import Conflict, RemoteFailure
from services.gateway.receipts import receipt_answer
from services.gateway.routing import CSV, ApiRequest, Reply, route
from services.gateway.sessions import SignInThrottle
from shared.events import CATALOGUE
from shared.messaging.rpc import rpc
from shared.paper.pdf import PDF
from shared.runtime.logs import WorkerLog
from shared.runtime.metrics import Metrics
from shared.runtime.school_calendar import calendar_from_config

CATALOG, CIRCULATION, READING, RECORDS, PEOPLE, SYSTEM = (
    "catalog",
    "circulation",
    "reading programme",
    "books of record",
    "people",
    "system",
)
# Sources whose events name people (their feed needs ``events.personal``).
PERSONAL_SOURCES = frozenset(CATALOGUE.personal_sources())

# What opens each route (services/accounts/rights.py); ``also`` rights are narrowed by
# the handler to the caller's own card, classes or campus (``scopes``).
SEARCH = needs("catalogue.search")
COLLECTION = needs("collection.manage")
DESK = needs("desk")
LOANS = needs("loans.manage")
PATRON = needs("patrons.read", "own.read", "class.read")
CLASS = needs("patrons.read", "class.read")
RESERVE = needs("desk", "reservations.own")
NOTE = needs("desk", "notes.own")
AWARD = needs("notes.award")
ENTER = needs("desk", "notes.award", "notes.own")
CLASS_NOTES = needs("patrons.read", "records.read", "class.read")
TARGETS = needs("records.read", "class.read")
READS = needs("records.read")
CLOSE_TERM = needs("records.manage")
EVENTS = needs("events.read", "events.personal")
OPERATE = needs("operate")
ACCOUNTS = needs("accounts.manage")
AUDIT = needs("audit.read")
OWN = needs("own.read")
NOTICES = needs("notices.send")


def command(request: ApiRequest) -> dict[str, Any]:
    """A command's payload: the body, with the record named in the path (both as given)."""
    return {**request.body, **request.path}


def bulk_lent(answer: dict[str, Any], request: ApiRequest) -> dict[str, Any]:
    """A bulk lend's answer when at least one copy was lent; a 409 when none was.

    The 409 is a ``nothing_lent`` problem carrying each copy's refusal (``refused``:
    barcode, reason, code), as the 201 lists the copies refused beside those lent.
    """
    if answer["loans"]:
        return answer
    refused = answer["refused"]
    reasons = sorted({refusal["code"] for refusal in refused})
    raise Conflict(
        f"No copy was lent to {request.body['patron_id']}: all {len(refused)} were refused "
        f"({', '.join(reasons)}); each copy's reason is under 'refused'.",
        code="nothing_lent",
        members={"refused": refused},
    )


def own_classes(caller: Caller, query: dict[str, Any], *wide: str) -> dict[str, Any]:
    """A class list's query as the caller may ask it: the ``wide`` rights see every
    class; a class teacher (``class.read``) hers only, her one class when she names
    none. A refusal names the first wide right."""
    if any(caller.has(right) for right in wide):
        return query
    asked, classes = query.get("class"), caller.classes
    if asked is None and len(classes) == 1:
        return {**query, "class": classes[0]}
    if asked is None:
        raise missing(
            wide[0],
            "Name one of your classes (class=" + ", ".join(classes or ("-",)) + "); the whole "
            f"school needs the right '{wide[0]}'.",
        )
    if asked not in classes:
        raise missing(
            wide[0],
            f"{asked} is not one of your classes; other classes need the right '{wide[0]}'.",
        )
    return query


class GatewayService:
    name = "gateway"

    config = Config()
    desk = DeskCampus()
    catalog = ServiceRpc("catalog")
    circulation = ServiceRpc("circulation")
    activities = ServiceRpc("activities")
    archives = ServiceRpc("archives")
    accounts = ServiceRpc("accounts")
    sip2 = ServiceRpc("sip2")  # its health, on the status page
    throttle = SignInThrottle()
    metrics = Metrics()  # /metrics: its HTTP requests by route and status
    worker_log = WorkerLog()  # its workers' log lines carry correlation id, actor, role

    # ------------------------------------------------------------ the page and the contract

    @route("GET", "/", allow=PUBLIC, tag=SYSTEM, summary="The dashboard page",
           produces=("text/html",), api=False)  # fmt: skip
    def dashboard(self, request: ApiRequest) -> Reply:
        return static.dashboard()

    @route("GET", "/static/<path:name>", allow=PUBLIC, tag=SYSTEM, path=s.StaticPath,
           summary="The dashboard's files", produces=("*/*",), api=False)  # fmt: skip
    def static_file(self, request: ApiRequest) -> Reply:
        return static.static_file(request.path["name"])

    @route("GET", "/openapi.json", allow=PUBLIC, tag=SYSTEM, summary="This API, as OpenAPI 3")
    def openapi(self, request: ApiRequest) -> dict[str, Any]:
        return openapi.document(type(self))

    # ------------------------------------------------------------ catalog

    @route("POST", "/api/books", allow=COLLECTION, tag=CATALOG, body=s.AddBooksBody,
           reply=r.Barcodes, status=201, summary="Catalogue copies of a title")  # fmt: skip
    def add_books(self, request: ApiRequest) -> Any:
        return self.catalog.add_copies(request.body)

    @route("POST", "/api/books/batch", allow=COLLECTION, tag=CATALOG, body=s.AddTitlesBody,
           reply=r.TitlesReply, status=201,
           summary="Catalogue a delivery of many titles in one command")  # fmt: skip
    def add_titles(self, request: ApiRequest) -> Any:
        return self.catalog.add_titles(request.body)

    @route("POST", "/api/books/marc", allow=COLLECTION, tag=CATALOG, query=s.MarcImportQuery,
           body=s.MarcFileBody, accepts=(s.MARC,), upload=s.MARC_UPLOAD, reply=r.MarcReport,
           status=201, statuses=(200,), summary="Catalogue a MARC file (ISO 2709, MARC 21 or "
           "CNMARC): a line per record, catalogued, already catalogued or refused")  # fmt: skip
    def import_marc(self, request: ApiRequest) -> Reply:
        answer = self.catalog.import_marc({**request.query, **request.body})
        return Reply(answer, status=201 if answer["catalogued"] else 200)

    @route("GET", "/api/books/marc", allow=COLLECTION, tag=CATALOG, query=s.MarcExportQuery,
           produces=(s.MARC,), summary="The catalogue as a MARC file (a record per title and "
           "campus, its copies' barcodes in 852 or 905), paged through the catalog")  # fmt: skip
    def export_marc(self, request: ApiRequest) -> Reply:
        first = self.catalog.export_marc({**request.query, "after": None})

        def pages() -> Iterator[bytes]:
            """Page after page of titles, streamed as the catalog answers them (the
            first asked before answering, so a refusal is still a problem answer)."""
            page = first
            while True:
                yield base64.b64decode(page["file"])
                if page["next"] is None:
                    return
                page = self.catalog.export_marc({**request.query, "after": page["next"]})

        name = f"catalogue-{request.query.get('campus') or 'all'}-{request.query['flavour']}.mrc"
        disposition = {"Content-Disposition": f'attachment; filename="{name}"'}
        return Reply(pages(), content_type=s.MARC, headers=disposition)

    @route("GET", "/api/books", allow=SEARCH, tag=CATALOG, query=s.SearchQuery,
           reply=r.CopyPage, summary="Search the copies, by pinyin too, and their titles "
           "with the copies at north and south")  # fmt: skip
    def search(self, request: ApiRequest) -> Any:
        found = self.catalog.search(request.query)
        if found["titles"]:  # circulation counts each title's copies, in one call
            isbns = [title["isbn"] for title in found["titles"]]
            counts = self.circulation.title_availability({"isbns": isbns})["titles"]
            found["titles"] = [{**title, **counts[title["isbn"]]} for title in found["titles"]]
        return found

    @route("GET", "/api/labels", allow=COLLECTION, tag=CATALOG, query=s.LabelsQuery,
           produces=(PDF,), summary="Barcode or spine labels for a range of copies, on an "
           "A4 label sheet, as a PDF to print at 100 %")  # fmt: skip
    def print_labels(self, request: ApiRequest) -> Reply:
        found = self.catalog.label_copies(request.query)
        return labels.pdf_reply(found["copies"], request.query, request.language)

    @route("GET", "/api/labels/layouts", allow=COLLECTION, tag=CATALOG,
           reply=r.LabelLayoutsReply, summary="The label sheets labels print on")  # fmt: skip
    def label_layouts(self, request: ApiRequest) -> Any:
        return labels.layouts()

    @route("GET", "/api/copies/<barcode>", allow=SEARCH, tag=CATALOG, path=s.BarcodePath,
           reply=r.CopyReply, summary="One copy")  # fmt: skip
    def copy(self, request: ApiRequest) -> Any:
        return self.catalog.get_copy(request.path["barcode"])

    @route("GET", "/api/copies/<barcode>/availability", allow=SEARCH, tag=CIRCULATION,
           path=s.BarcodePath, reply=r.AvailabilityReply,
           summary="Whether circulation would lend the copy now")  # fmt: skip
    def availability(self, request: ApiRequest) -> Any:
        return self.circulation.copy_availability(request.path["barcode"])

    @route("POST", "/api/copies/<barcode>/damage", allow=COLLECTION, tag=CATALOG,
           path=s.BarcodePath, body=s.DamageBody, reply=r.CopyReply,
           summary="Take a damaged copy off the shelf")  # fmt: skip
    def damage(self, request: ApiRequest) -> Any:
        return self.catalog.mark_damaged(command(request))

    @route("POST", "/api/copies/<barcode>/repair", allow=COLLECTION, tag=CATALOG,
           path=s.BarcodePath, body=s.RepairBody, reply=r.CopyReply,
           summary="Put a repaired copy back on the shelf")  # fmt: skip
    def repair(self, request: ApiRequest) -> Any:
        return self.catalog.repair(command(request))

    @route("POST", "/api/copies/<barcode>/weed", allow=COLLECTION, tag=CATALOG,
           path=s.BarcodePath, body=s.WeedBody, reply=r.CopyReply,
           summary="Write a copy off")  # fmt: skip
    def weed(self, request: ApiRequest) -> Any:
        return self.catalog.weed(command(request))

    @route("POST", "/api/copies/<barcode>/transfer", allow=COLLECTION, tag=CATALOG,
           path=s.BarcodePath, body=s.TransferBody, reply=r.CopyReply,
           summary="Move a copy to the other campus")  # fmt: skip
    def transfer(self, request: ApiRequest) -> Any:
        return self.catalog.transfer(command(request))

    @route("POST", "/api/copies/<barcode>/receive", allow=DESK, tag=CATALOG,
           path=s.BarcodePath, body=s.ReceiveBody, reply=r.CopyReply,
           summary="Receive a copy back home from the other campus (ends its transit)")  # fmt: skip
    def receive(self, request: ApiRequest) -> Any:
        return self.catalog.receive(self.desk.at_desk(command(request), request.caller))

    @route("POST", "/api/copies/<barcode>/reference", allow=COLLECTION, tag=CATALOG,
           path=s.BarcodePath, body=s.ReferenceBody, reply=r.CopyReply,
           summary="Make a copy reference-only (never lent), or lendable again")  # fmt: skip
    def reference(self, request: ApiRequest) -> Any:
        return self.catalog.set_reference_only(command(request))

    # ------------------------------------------------------------ stock-takes (清点)

    @route("POST", "/api/stocktakes", allow=COLLECTION, tag=CATALOG, body=s.OpenStocktakeBody,
           reply=r.StocktakeReply, status=201,
           summary="Open a stock-take (清点) of a campus, or of some classes' shelves")  # fmt: skip
    def open_stocktake(self, request: ApiRequest) -> Any:
        return self.catalog.open_stocktake(request.body)

    @route("GET", "/api/stocktakes", allow=COLLECTION, tag=CATALOG, query=s.StocktakesQuery,
           reply=r.StocktakeList, summary="The latest stock-takes, newest first")  # fmt: skip
    def stocktakes(self, request: ApiRequest) -> Any:
        return self.catalog.stocktakes(request.query)

    @route("GET", "/api/stocktakes/twice-missing", allow=COLLECTION, tag=CATALOG,
           query=s.TwiceMissingQuery, reply=r.TwiceMissingReply,
           summary="The copies missing in the last two stock-takes that covered them")  # fmt: skip
    def twice_missing(self, request: ApiRequest) -> Any:
        return self.catalog.twice_missing(request.query)

    @route("POST", "/api/stocktakes/weed-missing", allow=COLLECTION, tag=CATALOG,
           body=s.WeedMissingBody, reply=r.WeedMissingReply,
           summary="Weed as lost, in one command, copies missing in two stock-takes in a "
                   "row (all or none)")  # fmt: skip
    def weed_missing(self, request: ApiRequest) -> Any:
        return self.catalog.weed_missing(request.body)

    @route("GET", "/api/stocktakes/<stocktake_id>", allow=COLLECTION, tag=CATALOG,
           path=s.StocktakePath, reply=r.StocktakeReport, produces=produces("csv", "xlsx"),
           summary="A stock-take's report: missing, misplaced, found on loan (format=csv, "
                   "xlsx: the three lists as one file)")  # fmt: skip
    def stocktake(self, request: ApiRequest) -> Any:
        report = self.catalog.stocktake_report(request.path)
        if not exports.wanted(request):
            return report
        table, rows = lists.stocktake(report)
        return exports.answer(request, table, rows, qualifier=report["stocktake_id"])

    @route("POST", "/api/stocktakes/<stocktake_id>/scans", allow=COLLECTION, tag=CATALOG,
           path=s.StocktakePath, body=s.CountCopiesBody, reply=r.CountReply,
           summary="Count copies scanned: each once; unknown barcodes reported")  # fmt: skip
    def count_copies(self, request: ApiRequest) -> Any:
        return self.catalog.count_copies(command(request))

    @route("POST", "/api/stocktakes/<stocktake_id>/scans/file", allow=COLLECTION, tag=CATALOG,
           path=s.StocktakePath, body=s.ScannerFileBody, accepts=s.SCANNER_FILE_TYPES,
           upload=s.SCANNER_UPLOAD, reply=r.CountReply,
           summary="Count the copies of a handheld scanner's file (text or CSV, UTF-8 or "
                   "GBK); bad lines reported by number")  # fmt: skip
    def count_scanner_file(self, request: ApiRequest) -> Any:
        return self.catalog.count_copies(command(request))

    @route("POST", "/api/stocktakes/<stocktake_id>/close", allow=COLLECTION, tag=CATALOG,
           path=s.StocktakePath, body=s.CloseStocktakeBody, reply=r.StocktakeReport,
           summary="Close a stock-take: its report is decided now")  # fmt: skip
    def close_stocktake(self, request: ApiRequest) -> Any:
        return self.catalog.close_stocktake(command(request))

    # ------------------------------------------------------------ cards

    @route("POST", "/api/cards", allow=DESK, tag=CIRCULATION, body=s.IssueCardBody,
           reply=r.CARD_ISSUED, status=201, summary="Issue a library card")  # fmt: skip
    def issue_card(self, request: ApiRequest) -> Any:
        return self.circulation.issue_card(self.desk.default(request.body, request.caller))

    @route("POST", "/api/cards/import", allow=DESK, tag=CIRCULATION, body=s.ImportCardsBody,
           roster=True, accepts=(CSV, XLSX, "application/json"), reply=r.RosterReply,
           status=201, statuses=(200,),
           summary="Issue cards for a roster (CSV in UTF-8 or GBK, XLSX, or JSON); "
                   "bad rows are listed by line")  # fmt: skip
    def import_cards(self, request: ApiRequest) -> Reply:
        answer = self.circulation.import_cards(request.body)
        return Reply(answer, status=201 if answer["issued"] else 200)

    @route("GET", "/api/cards/<patron_id>", allow=PATRON, tag=CIRCULATION, path=s.PatronPath,
           reply=r.CardReply, summary="One library card")  # fmt: skip
    def card(self, request: ApiRequest) -> Any:
        self.may_see(request, request.path["patron_id"])
        return self.circulation.get_card(request.path["patron_id"])

    @route("POST", "/api/cards/<patron_id>/block", allow=DESK, tag=CIRCULATION,
           path=s.PatronPath, body=s.CardChangeBody, reply=r.CardReply,
           summary="Stop a card borrowing")  # fmt: skip
    def block_card(self, request: ApiRequest) -> Any:
        return self.circulation.block_card(command(request))

    @route("POST", "/api/cards/<patron_id>/unblock", allow=DESK, tag=CIRCULATION,
           path=s.PatronPath, body=s.CardChangeBody, reply=r.CardReply,
           summary="Let a blocked card borrow again")  # fmt: skip
    def unblock_card(self, request: ApiRequest) -> Any:
        return self.circulation.unblock_card(command(request))

    @route("POST", "/api/cards/<patron_id>/retire", allow=DESK, tag=CIRCULATION,
           path=s.PatronPath, body=s.CardChangeBody, reply=r.CardReply,
           summary="Retire a card for good (leavers)")  # fmt: skip
    def retire_card(self, request: ApiRequest) -> Any:
        return self.circulation.retire_card(command(request))

    # ------------------------------------------------------------ loans

    @route("POST", "/api/loans", allow=DESK, tag=CIRCULATION, body=s.LendBody,
           reply=r.LENT, status=201, summary="Lend a copy")  # fmt: skip
    def lend(self, request: ApiRequest) -> Any:
        return self.circulation.lend(self.desk.at_desk(request.body, request.caller))

    @route("POST", "/api/loans/bulk", allow=DESK, tag=CIRCULATION, body=s.LendManyBody,
           reply=r.BulkLoansReply, status=201,
           summary="Lend a pile of copies to one card (a class book corner); 409 "
                   "(nothing_lent) when none was")  # fmt: skip
    def lend_many(self, request: ApiRequest) -> Any:
        return bulk_lent(
            self.circulation.lend_many(self.desk.at_desk(request.body, request.caller)), request
        )

    @route("POST", "/api/returns", allow=DESK, tag=CIRCULATION, body=s.ReturnBody,
           reply=r.RETURNED,
           summary="Take a copy back (at the other campus: it goes into transit home)")  # fmt: skip
    def return_copy(self, request: ApiRequest) -> Any:
        return self.circulation.return_copy(self.desk.at_desk(request.body, request.caller))

    @route("POST", "/api/loans/<loan_id>/renew", allow=DESK, tag=CIRCULATION,
           path=s.LoanPath, body=s.RenewBody, reply=r.RENEWED,
           summary="Renew a loan (once)")  # fmt: skip
    def renew(self, request: ApiRequest) -> Any:
        body = command(request)
        if body.get("campus") is None:  # the renewal names the desk's campus when there is one
            body = {**body, "campus": self.desk.of(request.caller).campus}
        return self.circulation.renew(body)

    @route("POST", "/api/renewals", allow=DESK, tag=CIRCULATION, body=s.RenewCopyBody,
           reply=r.RENEWED,
           summary="Renew by scanning the book: the copy's open loan is renewed (once); 409 "
                   "not_on_loan when it is on none")  # fmt: skip
    def renew_copy(self, request: ApiRequest) -> Any:
        return self.circulation.renew_copy(self.desk.at_desk(request.body, request.caller))

    # ------------------------------------------------------------ offline circulation

    @route("POST", "/api/offline", allow=DESK, tag=CIRCULATION, body=s.OfflineBody,
           reply=r.OfflineReport,
           summary="A desk's queued scans, sent in order when the link is back: each done "
                   "once; those refused now are kept as conflicts (docs/offline.md)")  # fmt: skip
    def sync_offline(self, request: ApiRequest) -> Any:
        return self.circulation.sync_offline(self.desk.at_desk(request.body, request.caller))

    @route("POST", "/api/offline/file", allow=DESK, tag=CIRCULATION, query=s.OfflineFileQuery,
           body=s.OfflineFileBody, accepts=s.OFFLINE_FILE_TYPES, upload=s.OFFLINE_UPLOAD,
           reply=r.OfflineFileReport,
           summary="An offline desk's CSV file (time,action,card,barcode or 时间,操作,借书证号,"
                   "条码号), applied as its scans; bad lines reported by number")  # fmt: skip
    def sync_offline_file(self, request: ApiRequest) -> Any:
        at_desk = self.desk.at_desk(dict(request.query), request.caller)
        return self.circulation.sync_offline_file({**request.body, **at_desk})

    @route("GET", "/api/offline/conflicts", allow=DESK, tag=CIRCULATION,
           query=s.OfflineConflictsQuery, reply=r.OfflineConflictsReply,
           summary="Offline scans refused when sent, newest first (open unless state= "
                   "resolved or all); a campus gateway's own campus unless named")  # fmt: skip
    def offline_conflicts(self, request: ApiRequest) -> Any:
        query = dict(request.query)
        if query.get("campus") is None:
            query["campus"] = self.desk.of(request.caller).campus
        return self.circulation.offline_conflicts(query)

    @route("POST", "/api/offline/conflicts/<conflict_id>/resolve", allow=DESK, tag=CIRCULATION,
           path=s.OfflineConflictPath, body=s.ResolveOfflineBody, reply=r.OfflineConflict,
           summary="Resolve an offline conflict once: override (a librarian: lend anyway), "
                   "return_and_relend or dismiss; 409 when resolved already")  # fmt: skip
    def resolve_offline_conflict(self, request: ApiRequest) -> Any:
        self.desk.of(request.caller)  # an assistant resolves at her own campus's desk only
        if request.body.get("resolution") == "override":
            request.caller.require(
                "loans.override",
                "Only a librarian may lend anyway, setting a refusal aside "
                "(the right 'loans.override').",
            )
        return self.circulation.resolve_offline_conflict(command(request))

    @route("POST", "/api/loans/<loan_id>/lost", allow=LOANS, tag=CIRCULATION,
           path=s.LoanPath, body=s.LostBody, reply=r.DECLARED_LOST,
           summary="Declare a lent copy lost (its price is owed)")  # fmt: skip
    def declare_lost(self, request: ApiRequest) -> Any:
        return self.circulation.declare_lost(command(request))

    @route("POST", "/api/loans/<loan_id>/payment", allow=LOANS, tag=CIRCULATION,
           path=s.LoanPath, body=s.PaymentBody, reply=r.COMPENSATION_PAID,
           summary="Record a payment for a lost copy, all that is owed or a part (409 "
                   "overpayment for more): its receipt, numbered, naming who took it")  # fmt: skip
    def pay(self, request: ApiRequest) -> Any:
        taken_by = request.caller.name if request.caller else None
        return self.circulation.pay_compensation({**command(request), "taken_by": taken_by})

    @route("POST", "/api/loans/<loan_id>/replacement", allow=LOANS, tag=CIRCULATION,
           path=s.LoanPath, body=s.ReplacementBody, reply=r.LOST_COPY_REPLACED,
           summary="Settle a loss with a new copy of its title the reader brought: the "
                   "catalog catalogues it in the lost copy's place (under new_barcode, or a "
                   "barcode it issues when left out); nothing is owed")  # fmt: skip
    def replace_lost(self, request: ApiRequest) -> Any:
        body = command(request)
        if not body.get("new_barcode"):  # a book without a label: the catalog's next barcode
            issued = self.catalog.issue_barcode({"command_id": body.get("command_id")})
            body = {**body, "new_barcode": issued["barcode"]}
        return self.circulation.replace_lost(body)

    @route("GET", "/api/loans/<loan_id>/loss", allow=LOANS, tag=CIRCULATION, path=s.LoanPath,
           reply=r.LossReply, summary="A lost copy's price, what is paid and still owed, "
           "and its payments with their receipts")  # fmt: skip
    def loss(self, request: ApiRequest) -> Any:
        return self.circulation.loss(request.path["loan_id"])

    @route("GET", "/api/receipts/<receipt_no>", allow=LOANS, tag=CIRCULATION,
           path=s.ReceiptPath, reply=r.PaymentLine, produces=produces("pdf"),
           summary="A payment's receipt (收据); ?format=pdf: printed, with the amount in "
                   "Chinese capitals (大写)")  # fmt: skip
    def receipt(self, request: ApiRequest) -> Any:
        payment = self.circulation.receipt(request.path["receipt_no"])
        return receipt_answer(request, payment)

    @route("POST", "/api/reservations", allow=RESERVE, tag=CIRCULATION, body=s.ReserveBody,
           reply=r.RESERVED, status=201, summary="Reserve a title at a campus")  # fmt: skip
    def reserve(self, request: ApiRequest) -> Any:
        body = scopes.own_card(request.caller, request.body, "reservations.own")
        return self.circulation.reserve(self.desk.default(body, request.caller))

    @route("POST", "/api/reservations/<reservation_id>/cancel", allow=RESERVE, tag=CIRCULATION,
           path=s.ReservationPath, body=s.CancelReservationBody,
           reply=r.RESERVATION_CANCELLED, summary="Cancel a reservation")  # fmt: skip
    def cancel_reservation(self, request: ApiRequest) -> Any:
        body = scopes.own_card(request.caller, command(request), "reservations.own")
        return self.circulation.cancel_reservation(body)

    # ------------------------------------------------------------ circulation queries

    @route("GET", "/api/desk/today", allow=DESK, tag=CIRCULATION, query=s.DeskTodayQuery,
           reply=r.DeskTodayReply,
           summary="What the desk did today: lends, returns, renewals and payments at a "
                   "campus, newest first, with who did each (an assistant: "
                   "her campus)")  # fmt: skip
    def desk_today(self, request: ApiRequest) -> Any:
        caller, asked = request.caller, request.query.get("campus")
        desk = self.desk.of(caller)  # an assistant at the other campus's gateway: 403
        if caller.campus and "librarian" not in caller.roles:
            if asked is not None and asked != caller.campus:
                raise missing("desk", f"You work the {caller.campus} desk: see its day only.")
            asked = caller.campus
        return self.archives.desk_today({**request.query, "campus": asked or desk.campus})

    @route("GET", "/api/patrons/<patron_id>/loans", allow=PATRON, tag=CIRCULATION,
           path=s.PatronPath, reply=r.PatronLoansReply,
           summary="A card's open loans, unpaid losses, reservations (with their titles) "
                   "and the loans it brought back this term")  # fmt: skip
    def patron_loans(self, request: ApiRequest) -> Any:
        self.may_see(request, request.path["patron_id"])
        return self.circulation.patron_loans(request.path["patron_id"])

    @route("GET", "/api/patrons/<patron_id>/target", allow=PATRON, tag=READING,
           path=s.NotesPath, reply=r.TargetProgressReply,
           summary="A reader's progress toward this term's reading target (a class "
                   "teacher: her classes' readers; a reader: his own); 404 for a card "
                   "without one (a class book corner)")  # fmt: skip
    def patron_target(self, request: ApiRequest) -> Any:
        self.may_see(request, request.path["patron_id"])
        return self.activities.target_progress(request.path["patron_id"])

    @route("GET", "/api/overdue", allow=CLASS, tag=CIRCULATION, query=s.OverdueQuery,
           reply=r.OverdueReply, produces=produces("csv", "xlsx", "pdf"),
           summary="Overdue loans by class; as a file (format=csv, xlsx), or printed "
                   "(format=pdf) as a notice per class teacher, one page a class")  # fmt: skip
    def overdue(self, request: ApiRequest) -> Any:
        answer = self.circulation.overdue(scopes.class_list(request.caller, request.query))
        if not exports.wanted(request):
            return answer
        teachers = {}
        if exports.wanted(request) == "pdf":
            teachers = prints.class_teachers(self.accounts.accounts({"role": "teacher"}))
        table, rows = lists.overdue(answer)
        qualifier = request.query.get("class") or request.query.get("campus")
        sheets = prints.overdue(answer, teachers)
        return exports.answer(request, table, rows, qualifier=qualifier, sheets=sheets)

    @route("GET", "/api/clearance", allow=CLASS, tag=CIRCULATION, query=s.ClearanceQuery,
           reply=r.ClearanceReply, produces=produces("csv", "xlsx", "pdf"),
           summary="Leavers' clearance: who in a grade or class still holds or owes; as a "
                   "file (format=csv, xlsx) or printed, a page a class (format=pdf)")  # fmt: skip
    def clearance(self, request: ApiRequest) -> Any:
        answer = self.circulation.clearance(scopes.class_list(request.caller, request.query))
        if not exports.wanted(request):
            return answer
        table, rows = lists.clearance(answer)
        qualifier = request.query.get("class") or request.query.get("grade")
        return exports.answer(
            request, table, rows, qualifier=qualifier, sheets=prints.clearance(answer)
        )

    # ------------------------------------------------------------ notices (docs/notices.md)

    @route("POST", "/api/notices/overdue", allow=NOTICES, tag=CIRCULATION,
           body=s.SendOverdueNoticesBody, reply=r.OverdueNoticesReply,
           summary="E-mail each class teacher her class's overdue loans (one class or all): "
                   "who was told, who has no address")  # fmt: skip
    def send_overdue_notices(self, request: ApiRequest) -> Any:
        return self.circulation.send_overdue_notices(command(request))

    @route("GET", "/api/notices", allow=NOTICES, tag=CIRCULATION, query=s.NoticesQuery,
           reply=r.NoticesReply, summary="The notices e-mailed, newest first")  # fmt: skip
    def notices(self, request: ApiRequest) -> Any:
        return self.circulation.notices(request.query)

    @route("POST", "/api/holds/expire", allow=NOTICES, tag=CIRCULATION,
           body=s.ExpireHoldsBody, reply=r.ExpireHoldsReply,
           summary="Release the reserved copies not picked up by their day (the periodic "
                   "check, now): each to the next reader waiting or back to the shelf")  # fmt: skip
    def expire_holds(self, request: ApiRequest) -> Any:
        return self.circulation.expire_holds(command(request))

    # ------------------------------------------------------------ the school calendar

    @route("GET", "/api/calendar", allow=SIGNED_IN, tag=CIRCULATION, query=s.CalendarQuery,
           reply=r.CalendarReply,
           summary="Terms, closed days (the config's and a librarian's) and the class "
                   "borrowing rota between two days, with the policies")  # fmt: skip
    def school_calendar(self, request: ApiRequest) -> Any:
        return self.circulation.calendar(request.query)

    @route("POST", "/api/calendar/closed", allow=CLOSE_TERM, tag=CIRCULATION,
           body=s.SetClosedDaysBody, reply=r.ClosedDaysReply, status=201,
           summary="Shut the library on a named day or range; a due date falling on it "
                   "moves to the next open day")  # fmt: skip
    def set_closed_days(self, request: ApiRequest) -> Any:
        return self.circulation.set_closed_days(request.body)

    @route("DELETE", "/api/calendar/closed/<starts>", allow=CLOSE_TERM, tag=CIRCULATION,
           path=s.ClosedDaysPath, reply=r.ClosedDaysRemovedReply,
           summary="Open the library again on the closed days starting on a day; 409 "
                   "no_such_closed_days when none do")  # fmt: skip
    def remove_closed_days(self, request: ApiRequest) -> Any:
        return self.circulation.remove_closed_days(command(request))

    @route("GET", "/api/rota", allow=SIGNED_IN, tag=CIRCULATION, query=s.RotaQuery,
           reply=r.RotaReply,
           summary="The class borrowing rota of a campus, and the classes on it "
                   "today")  # fmt: skip
    def rota(self, request: ApiRequest) -> Any:
        return self.circulation.rota(request.query)

    @route("POST", "/api/rota", allow=CLOSE_TERM, tag=CIRCULATION, body=s.SetRotaSlotBody,
           reply=r.RotaSlotReply, summary="Set a class's weekly borrowing slot")  # fmt: skip
    def set_rota_slot(self, request: ApiRequest) -> Any:
        return self.circulation.set_rota_slot(request.body)

    @route("DELETE", "/api/rota/<class_name>", allow=CLOSE_TERM, tag=CIRCULATION,
           path=s.RotaClassPath, reply=r.RotaSlotClearedReply,
           summary="Take a class off the rota; 409 no_such_rota_slot when it is on "
                   "none")  # fmt: skip
    def clear_rota_slot(self, request: ApiRequest) -> Any:
        return self.circulation.clear_rota_slot(command(request))

    # ------------------------------------------------------------ the school year

    @route("POST", "/api/school-year/turn", allow=CLOSE_TERM, tag=CIRCULATION,
           body=s.TurnSchoolYearBody, reply=r.SchoolYearReply,
           summary="Turn the school year: every class up a grade, graduating classes "
                   "left for clearance; the same year twice moves nothing")  # fmt: skip
    def turn_school_year(self, request: ApiRequest) -> Any:
        return self.circulation.turn_school_year(request.body)

    @route("GET", "/api/school-year/graduates", allow=needs("patrons.read"), tag=CIRCULATION,
           query=s.GraduatesQuery, reply=r.GraduatesReply,
           summary="The graduating classes' clearance: who still holds or owes")  # fmt: skip
    def graduates(self, request: ApiRequest) -> Any:
        return self.circulation.graduates(request.query)

    @route("POST", "/api/school-year/retire-graduates", allow=CLOSE_TERM, tag=CIRCULATION,
           body=s.RetireGraduatesBody, reply=r.RetireGraduatesReply,
           summary="Retire the graduates' cards that hold and owe nothing; list the "
                   "others, left active")  # fmt: skip
    def retire_graduates(self, request: ApiRequest) -> Any:
        return self.circulation.retire_graduates(request.body)

    # ------------------------------------------------------------ reading programme

    @route("GET", "/api/leaderboards/<any(students, classes, campuses):board>", allow=PUBLIC,
           tag=READING, path=s.LeaderboardPath, query=s.LeaderboardQuery,
           reply=r.LeaderboardReply, produces=produces("csv", "xlsx"),
           summary="Books read per student, class or campus (format=csv, xlsx: as a "
                   "file)")  # fmt: skip
    def leaderboard(self, request: ApiRequest) -> Any:
        board, query = request.path["board"], dict(request.query)
        if exports.wanted(request):  # the whole board, not the screen's top ten
            query.setdefault("limit", lists.BOARD_LIMIT)
        answer = self.activities.leaderboard({**query, "scope": s.BOARDS[board]})
        if not exports.wanted(request):
            return answer
        table, rows = lists.leaderboard(board, answer)
        return exports.answer(request, table, rows, qualifier=answer["name"])

    @route("POST", "/api/notes", allow=NOTE, tag=READING, body=s.SubmitNoteBody,
           reply=r.NoteReply, status=201, summary="Hand in a reading note")  # fmt: skip
    def submit_note(self, request: ApiRequest) -> Any:
        return self.activities.submit_note(
            scopes.own_card(request.caller, request.body, "notes.own")
        )

    @route("POST", "/api/notes/<note_id>/award", allow=AWARD, tag=READING, path=s.NotePath,
           body=s.AwardNoteBody, reply=r.NoteReply, summary="Award a reading note")  # fmt: skip
    def award_note(self, request: ApiRequest) -> Any:
        body = command(request)
        caller = request.caller
        if not caller.has("collection.manage") and body.get("awarded_by") != caller.patron_id:
            raise missing("collection.manage", "A teacher awards notes in her own name.")
        return self.activities.award_note(body)

    @route("GET", "/api/patrons/<patron_id>/notes", allow=PATRON, tag=READING,
           path=s.NotesPath, reply=r.NotesReply, summary="A reader's notes")  # fmt: skip
    def notes(self, request: ApiRequest) -> Any:
        self.may_see(request, request.path["patron_id"])
        return {"notes": self.activities.reading_notes(request.path)}

    @route("GET", "/api/notes", allow=CLASS_NOTES, tag=READING, query=s.NoteListQuery,
           reply=r.NotesReply,
           summary="Reading notes, newest first, by class, campus, reader or status "
                   "(a class teacher: her classes)")  # fmt: skip
    def class_notes(self, request: ApiRequest) -> Any:
        query = own_classes(request.caller, request.query, "patrons.read", "records.read")
        return {"notes": self.activities.notes(query)}

    @route("GET", "/api/notes/winners", allow=SIGNED_IN, tag=READING, query=s.WinnersQuery,
           reply=r.WinnersReply,
           summary="The month's best note writers per class and per campus")  # fmt: skip
    def monthly_winners(self, request: ApiRequest) -> Any:
        return self.activities.monthly_winners(request.query)

    @route("GET", "/api/competitions", allow=SIGNED_IN, tag=READING, query=s.CompetitionsQuery,
           reply=r.CompetitionList,
           summary="Competitions, latest closing date first")  # fmt: skip
    def competitions(self, request: ApiRequest) -> Any:
        return {"competitions": self.activities.competitions(request.query)}

    @route("POST", "/api/competitions", allow=AWARD, tag=READING, body=s.OpenCompetitionBody,
           reply=r.CompetitionReply, status=201,
           summary="Open an essay, quiz or reading-notes competition")  # fmt: skip
    def open_competition(self, request: ApiRequest) -> Any:
        return self.activities.open_competition(request.body)

    @route("POST", "/api/competitions/<competition_id>/entries", allow=ENTER, tag=READING,
           path=s.EntriesPath, body=s.EnterCompetitionBody, reply=r.EntryReply, status=201,
           summary="Enter a student (a student: himself) in a competition, once")  # fmt: skip
    def enter_competition(self, request: ApiRequest) -> Any:
        body, caller = command(request), request.caller
        if not (caller.has("desk") or caller.has("notes.award")):
            body = scopes.own_card(caller, body, "notes.own")
        return self.activities.enter_competition(body)

    @route("POST", "/api/competitions/<competition_id>/entries/<entry_id>/score", allow=AWARD,
           tag=READING, path=s.EntryPath, body=s.ScoreEntryBody, reply=r.EntryReply,
           summary="Score an entry 0-100 (again, until the close)")  # fmt: skip
    def score_entry(self, request: ApiRequest) -> Any:
        body, caller = command(request), request.caller
        if body.get("scored_by") is None and caller.patron_id:
            body["scored_by"] = caller.patron_id
        if not caller.has("collection.manage") and body.get("scored_by") != caller.patron_id:
            raise missing("collection.manage", "A teacher scores entries in her own name.")
        return self.activities.score_entry(body)

    @route("POST", "/api/competitions/<competition_id>/close", allow=AWARD, tag=READING,
           path=s.CompetitionPath, body=s.CloseCompetitionBody, reply=r.ResultsReply,
           summary="Close a competition whose entries are all scored: "
                   "its final ranking")  # fmt: skip
    def close_competition(self, request: ApiRequest) -> Any:
        return self.activities.close_competition(command(request))

    @route("GET", "/api/competitions/<competition_id>/results", allow=SIGNED_IN, tag=READING,
           path=s.CompetitionPath, reply=r.ResultsReply,
           summary="A competition's ranking (ties share a rank): final once closed")  # fmt: skip
    def competition_results(self, request: ApiRequest) -> Any:
        return self.activities.competition_results(request.path["competition_id"])

    @route("GET", "/api/targets", allow=TARGETS, tag=READING, query=s.TermTargetsQuery,
           reply=r.TermTargetsReply,
           summary="A term's reading targets: who is behind, class by class (a class "
                   "teacher: her classes)")  # fmt: skip
    def term_targets(self, request: ApiRequest) -> Any:
        query = own_classes(request.caller, request.query, "records.read")
        return self.activities.term_targets(query)

    @route("GET", "/api/bulletin", allow=PUBLIC, tag=READING, query=s.BulletinQuery,
           reply=r.BulletinReply, produces=produces("csv", "xlsx", "pdf"),
           summary="The weekly class borrowing bulletin, as JSON (with its text), as a file "
                   "(format=csv, xlsx; Accept: text/csv) or printed (format=pdf)")  # fmt: skip
    def bulletin(self, request: ApiRequest) -> Any:
        answer = self.activities.weekly_bulletin(request.query)
        if not exports.wanted(request):
            return answer
        table, rows = lists.bulletin(answer)
        qualifier = answer["week"]["name"]
        return exports.answer(
            request, table, rows, qualifier=qualifier, sheets=prints.bulletin(answer)
        )

    @route("GET", "/api/top-titles", allow=PUBLIC, tag=READING, query=s.TopTitlesQuery,
           reply=r.TopTitlesReply,
           summary="The titles students borrowed most in a week, month or term")  # fmt: skip
    def top_titles(self, request: ApiRequest) -> Any:
        return self.activities.top_titles(request.query)

    # ------------------------------------------------------------ books of record

    @route("GET", "/api/ledgers/general", allow=READS, tag=RECORDS, query=s.PeriodQuery,
           reply=r.LedgerReply, produces=produces("csv", "xlsx"),
           summary="The general ledger, per campus (format=csv, xlsx: as a file)")  # fmt: skip
    def general_ledger(self, request: ApiRequest) -> Any:
        lines = self.archives.general_ledger(request.query)
        if not exports.wanted(request):
            return {"ledger": "general", "lines": lines}
        table, rows = lists.ledger("general_ledger", "campus", lines)
        return exports.answer(request, table, rows, qualifier=request.query.get("campus"))

    @route("GET", "/api/ledgers/classification", allow=READS, tag=RECORDS, query=s.PeriodQuery,
           reply=r.LedgerReply, produces=produces("csv", "xlsx"),
           summary="The ledger by classification letter (format=csv, xlsx: as a "
                   "file)")  # fmt: skip
    def classification_ledger(self, request: ApiRequest) -> Any:
        lines = self.archives.classification_ledger(request.query)
        if not exports.wanted(request):
            return {"ledger": "classification", "lines": lines}
        table, rows = lists.ledger("classification_ledger", "class_letter", lines)
        return exports.answer(request, table, rows, qualifier=request.query.get("campus"))

    @route("GET", "/api/ledgers/writeoffs", allow=READS, tag=RECORDS, query=s.PeriodQuery,
           reply=r.WriteOffLedgerReply, produces=produces("csv", "xlsx"),
           summary="The write-off ledger (format=csv, xlsx: as a file)")  # fmt: skip
    def writeoff_ledger(self, request: ApiRequest) -> Any:
        answer = self.archives.writeoff_ledger(request.query)
        if not exports.wanted(request):
            return answer
        table = lists.table("writeoff_ledger", answer["columns"])
        qualifier = request.query.get("campus")
        return exports.answer(request, table, answer["rows"], qualifier=qualifier)

    @route("GET", "/api/registers", allow=READS, tag=RECORDS, reply=r.RegisterNames,
           summary="The registers there are")  # fmt: skip
    def registers(self, request: ApiRequest) -> Any:
        return {"registers": self.archives.registers()}

    @route("GET", "/api/registers/<name>", allow=READS, tag=RECORDS, path=s.RegisterPath,
           query=s.RegisterQuery, reply=r.RegisterReply, produces=produces("csv", "xlsx"),
           summary="A register: a page of it as JSON (limit, offset; total), or the whole "
                   "of it as a file (format=csv, xlsx; Accept: text/csv), paged through "
                   "the archives as it is written")  # fmt: skip
    def register(self, request: ApiRequest) -> Any:
        query = {**request.query, "name": request.path["name"]}
        if not exports.wanted(request):
            return self.archives.register(query)

        def page(limit: int, offset: int) -> dict[str, Any]:
            return self.archives.register({**query, "limit": limit, "offset": offset})

        first = page(exports.PAGE, 0)
        table = lists.table(query["name"], first["columns"])
        rows = exports.pages(page, first)
        return exports.answer(request, table, rows, qualifier=request.query.get("campus"))

    @route("GET", "/api/events", allow=EVENTS, tag=RECORDS, query=s.EventsQuery,
           reply=r.EventsReply, summary="The archived replay feed of one source")  # fmt: skip
    def events(self, request: ApiRequest) -> Any:
        # events(source, after, limit) takes its arguments in order: the archives' own
        # defaults fill in the ones left out.
        query = {**s.service_defaults(s.EventsQuery), **request.query}
        if query["source"] in PERSONAL_SOURCES:
            request.caller.require(
                "events.personal",
                f"The {query['source']} feed carries names and classes: it needs the right "
                "'events.personal'.",
            )
        else:
            request.caller.require("events.read")
        page = self.archives.events(query["source"], query["after"], query["limit"])
        after = int(query["after"])  # checked by the archives' schema: the digits 0-9
        next_after = page[-1]["position"] if page else after
        return {"source": query["source"], "after": after, "next_after": next_after, "events": page}

    @route("GET", "/api/terms", allow=READS, tag=RECORDS, reply=r.TermsReply,
           summary="The terms of the school calendar: which is current, which are "
                   "closed")  # fmt: skip
    def school_terms(self, request: ApiRequest) -> Any:
        return terms.of_calendar(calendar_from_config(self.config), self.archives.events_since)

    @route("GET", "/api/terms/<term>/report", allow=READS, tag=RECORDS, path=s.TermPath,
           query=s.TermReportQuery, reply=r.TermReport, produces=produces("csv", "xlsx", "pdf"),
           summary="A term's report (frozen once the term is closed); as a file (format=csv, "
                   "xlsx) or printed (format=pdf)")  # fmt: skip
    def term_report(self, request: ApiRequest) -> Any:
        term = request.path["term"]
        report = self.archives.term_report({"term": term})
        if not exports.wanted(request):
            return report
        rows = lists.report_rows(report)
        sheets = prints.term_report(report)
        return exports.answer(request, lists.TERM_REPORT, rows, qualifier=term, sheets=sheets)

    @route("POST", "/api/terms/<term>/close", allow=CLOSE_TERM, tag=RECORDS, path=s.CloseTermPath,
           body=s.CloseTermBody, reply=r.TermReport,
           summary="Close a term, freezing its report")  # fmt: skip
    def close_term(self, request: ApiRequest) -> Any:
        return self.archives.close_term(command(request))

    # ------------------------------------------------------------ people

    @route("POST", "/api/sessions", allow=PUBLIC, tag=PEOPLE, body=s.LoginBody,
           reply=r.SessionReply, status=201, problems=("401", "423", "429"),
           summary="Sign in with a username and password: a session token")  # fmt: skip
    def sign_in(self, request: ApiRequest) -> Any:
        self.throttle.attempt(request.address)
        try:
            return self.accounts.login({**request.body, "address": request.address})
        except RemoteFailure as failure:
            if failure.exc_type == "SignInRefused":
                self.throttle.failed(request.address)
            raise

    @route("DELETE", "/api/sessions/current", allow=SIGNED_IN, tag=PEOPLE, status=204,
           summary="Sign out: this session's token stops working")  # fmt: skip
    def sign_out(self, request: ApiRequest) -> Reply:
        if request.caller.kind == "session":
            self.accounts.logout(request.caller.token)
        return Reply(b"", status=204, content_type="text/plain")

    @route("GET", "/api/me", allow=SIGNED_IN, tag=PEOPLE, reply=r.MeReply,
           summary="Who is signed in: name, roles, campus, card, classes and rights")  # fmt: skip
    def me(self, request: ApiRequest) -> Any:
        return request.caller.account()

    @route("POST", "/api/me/password", allow=SIGNED_IN, tag=PEOPLE, body=s.ChangePasswordBody,
           reply=r.AccountReply,
           summary="Change one's own password (one's other sessions end)")  # fmt: skip
    def change_password(self, request: ApiRequest) -> Any:
        if request.caller.kind != "session":
            raise missing("accounts.manage", "Only a signed-in person changes her password.")
        return self.accounts.change_password({**request.body, "token": request.caller.token})

    @route("GET", "/api/me/loans", allow=OWN, tag=PEOPLE, reply=r.PatronLoansReply,
           summary="One's own loans, reservations, unpaid losses and the loans brought "
                   "back this term")  # fmt: skip
    def my_loans(self, request: ApiRequest) -> Any:
        return self.circulation.patron_loans(self.own_card(request))

    @route("GET", "/api/me/notes", allow=OWN, tag=PEOPLE, reply=r.NotesReply,
           summary="One's own reading notes")  # fmt: skip
    def my_notes(self, request: ApiRequest) -> Any:
        return {"notes": self.activities.reading_notes({"patron_id": self.own_card(request)})}

    @route("GET", "/api/me/target", allow=OWN, tag=PEOPLE, reply=r.TargetProgressReply,
           summary="One's progress toward this term's reading target")  # fmt: skip
    def my_target(self, request: ApiRequest) -> Any:
        return self.activities.target_progress(self.own_card(request))

    @route("GET", "/api/accounts", allow=ACCOUNTS, tag=PEOPLE, query=s.AccountsQuery,
           reply=r.AccountList, summary="The accounts, by role")  # fmt: skip
    def accounts_list(self, request: ApiRequest) -> Any:
        return {"accounts": self.accounts.accounts(request.query)}

    @route("POST", "/api/accounts", allow=ACCOUNTS, tag=PEOPLE, body=s.CreateAccountBody,
           reply=r.AccountReply, status=201,
           summary="Create a staff account (librarian, assistant, operator)")  # fmt: skip
    def create_account(self, request: ApiRequest) -> Any:
        return self.accounts.create_account(request.body)

    @route("GET", "/api/accounts/<username>", allow=ACCOUNTS, tag=PEOPLE, path=s.AccountPath,
           reply=r.AccountReply, summary="One account")  # fmt: skip
    def account(self, request: ApiRequest) -> Any:
        return self.accounts.get_account(request.path["username"])

    @route("POST", "/api/accounts/<username>/roles", allow=ACCOUNTS, tag=PEOPLE,
           path=s.AccountPath, body=s.RolesBody, reply=r.AccountReply,
           summary="Set an account's roles (and an assistant's campus)")  # fmt: skip
    def change_roles(self, request: ApiRequest) -> Any:
        return self.accounts.change_roles(command(request))

    @route("POST", "/api/accounts/<username>/classes", allow=ACCOUNTS, tag=PEOPLE,
           path=s.AccountPath, body=s.ClassesBody, reply=r.AccountReply,
           summary="Set the classes a class teacher sees")  # fmt: skip
    def set_classes(self, request: ApiRequest) -> Any:
        return self.accounts.set_classes(command(request))

    @route("POST", "/api/accounts/<username>/email", allow=ACCOUNTS, tag=PEOPLE,
           path=s.AccountPath, body=s.EmailBody, reply=r.AccountReply,
           summary="Set, change or remove (null) where the notices go")  # fmt: skip
    def change_email(self, request: ApiRequest) -> Any:
        return self.accounts.change_email(command(request))

    @route("POST", "/api/accounts/<username>/password", allow=ACCOUNTS, tag=PEOPLE,
           path=s.AccountPath, body=s.ResetPasswordBody, reply=r.AccountReply,
           summary="Reset a password (every session of the account ends)")  # fmt: skip
    def reset_password(self, request: ApiRequest) -> Any:
        return self.accounts.reset_password(command(request))

    @route("POST", "/api/accounts/<username>/disable", allow=ACCOUNTS, tag=PEOPLE,
           path=s.AccountPath, body=s.DisableBody, reply=r.AccountReply,
           summary="Disable an account: it cannot sign in, its sessions end now")  # fmt: skip
    def disable(self, request: ApiRequest) -> Any:
        return self.accounts.disable(command(request))

    @route("POST", "/api/accounts/<username>/enable", allow=ACCOUNTS, tag=PEOPLE,
           path=s.AccountPath, body=s.EnableBody, reply=r.AccountReply,
           summary="Let a disabled account sign in again")  # fmt: skip
    def enable(self, request: ApiRequest) -> Any:
        return self.accounts.enable(command(request))

    @route("GET", "/api/keys", allow=needs("keys.manage"), tag=PEOPLE, reply=r.KeyList,
           summary="The API keys of machine clients (made with `library keys create`)")  # fmt: skip
    def keys(self, request: ApiRequest) -> Any:
        return {"keys": self.accounts.keys()}

    @route("GET", "/api/audit", allow=AUDIT, tag=PEOPLE, query=s.AuditQuery,
           reply=r.AuditReply, summary="Who did what: events by actor and time")  # fmt: skip
    def audit(self, request: ApiRequest) -> Any:
        return self.archives.audit(request.query)

    @route("GET", "/api/copies/<barcode>/history", allow=needs("patrons.read"), tag=CATALOG,
           path=s.BarcodePath, reply=r.CopyHistoryReply,
           summary="A copy's whole history from the events, with who did each")  # fmt: skip
    def copy_history(self, request: ApiRequest) -> Any:
        return self.archives.copy_history({"barcode": request.path["barcode"]})

    def own_card(self, request: ApiRequest) -> str:
        if not request.caller.patron_id:
            raise missing("own.read", "This account has no library card of its own.")
        return request.caller.patron_id

    def may_see(self, request: ApiRequest, patron_id: str) -> None:
        """A student his own card only, a teacher her classes' cards (``scopes``)."""

        def class_of(card: str) -> str | None:
            try:
                return self.circulation.get_card(card).get("class_name")
            except RemoteFailure as failure:
                if failure.exc_type == "NotFound":
                    return None  # no such card: refused like another class's
                raise

        scopes.patron(request.caller, patron_id, class_of)

    # ------------------------------------------------------------ operations

    @rpc
    def health(self) -> dict[str, Any]:
        """For ``python -m shared.runtime.health gateway`` (infra/services.sh): it answers."""
        return {
            "service": self.name,
            "address": self.config.get("WEB_SERVER_ADDRESS"),
            "campus": self.desk.campus,
            "metrics": self.metrics.url,
        }

    @route("GET", "/api/status", allow=OPERATE, tag=SYSTEM, reply=r.StatusReply,
           summary="What `library status` shows: each service's health, instances and "
                   "projection lag (even when one is down), the queues and the dead "
                   "letters")  # fmt: skip
    def status(self, request: ApiRequest) -> Any:
        return status.collect(
            {
                "catalog": self.catalog,
                "circulation": self.circulation,
                "activities": self.activities,
                "archives": self.archives,
                "accounts": self.accounts,
                "sip2": self.sip2,
            },
            self.config,
        )

    # ------------------------------------------------------------ live

    live = LiveEvents()

    @route("GET", "/api/live", allow=LIVE, tag=RECORDS, produces=("text/event-stream",),
           summary="The library's events as they happen (server-sent events; personal ones "
                   "need 'events.personal' or 'patrons.read'); Last-Event-ID resumes")  # fmt: skip
    def live_events(self, request: ApiRequest) -> Reply:
        stream = self.live.open(
            request.caller, request.last_event_id, self.archives.events, self._head_of
        )
        return Reply(stream, content_type=EVENT_STREAM, headers={"X-Accel-Buffering": "no"})

    def _head_of(self, source: str) -> int:
        """The newest position of ``source``'s own log (its ``health``)."""
        return int(getattr(self, source).health()["head"])
