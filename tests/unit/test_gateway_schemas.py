"""The gateway checks requests with the services' own schemas, and documents what they enforce.

No servers: the schemas, the OpenAPI document built from them, and the rules
the services' fields carry (their validators), compared field by field.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import date

import pytest
from marshmallow import ValidationError, fields, validate

from services.accounts import schemas as accounts
from services.activities import schemas as activities
from services.archives import schemas as archives
from services.catalog import schemas as catalog
from services.circulation import schemas as circulation
from services.circulation.roster import read_roster
from services.gateway import formats, openapi, parsing
from services.gateway import schemas as s
from services.gateway.problems import Conflict, InvalidRequest
from services.gateway.service import GatewayService
from services.gateway.settings import DEFAULT_MAX_ROSTER_BODY, GatewaySettings
from shared.config import REPO_ROOT
from shared.events import fields as f

# Which service schema carries out each operation's input (path, query, body): written
# here, apart from the gateway, so the comparison below is with the service itself.
SERVICE_SCHEMAS = {
    "add_books": {"body": catalog.AddCopies},
    "add_titles": {"body": catalog.AddTitles},
    "import_marc": {"query": catalog.MarcImportQuery, "body": catalog.MarcFile},
    "export_marc": {"query": catalog.MarcExportQuery},
    "search": {"query": catalog.Search},
    "print_labels": {"query": catalog.LabelRange},
    "copy": {"path": catalog.CopyCommand},
    # circulation takes the barcode as an argument: the catalog's (the shared) barcode rule.
    "availability": {"path": catalog.CopyCommand},
    "damage": {"path": catalog.MarkDamaged, "body": catalog.MarkDamaged},
    "repair": {"path": catalog.Repair, "body": catalog.Repair},
    "weed": {"path": catalog.Weed, "body": catalog.Weed},
    "transfer": {"path": catalog.Transfer, "body": catalog.Transfer},
    "receive": {"path": catalog.Receive, "body": catalog.Receive},
    "reference": {"path": catalog.SetReferenceOnly, "body": catalog.SetReferenceOnly},
    "open_stocktake": {"body": catalog.OpenStocktake},
    "stocktakes": {"query": catalog.StocktakesQuery},
    "twice_missing": {"query": catalog.TwiceMissingQuery},
    "weed_missing": {"body": catalog.WeedMissing},
    "stocktake": {"path": catalog.StocktakeQuery},
    "count_copies": {"path": catalog.CountCopies, "body": catalog.CountCopies},
    "count_scanner_file": {"path": catalog.CountCopies, "body": catalog.CountCopies},
    "close_stocktake": {"path": catalog.CloseStocktake, "body": catalog.CloseStocktake},
    "issue_card": {"body": circulation.IssueCard},
    "import_cards": {"body": circulation.ImportCards},
    "card": {"path": circulation.CardChange},
    "block_card": {"path": circulation.CardChange, "body": circulation.CardChange},
    "unblock_card": {"path": circulation.CardChange, "body": circulation.CardChange},
    "retire_card": {"path": circulation.CardChange, "body": circulation.CardChange},
    "lend": {"body": circulation.Lend},
    "school_calendar": {"query": circulation.CalendarQuery},
    "set_closed_days": {"body": circulation.SetClosedDays},
    "remove_closed_days": {"path": circulation.RemoveClosedDays},
    "rota": {"query": circulation.RotaQuery},
    "set_rota_slot": {"body": circulation.SetRotaSlot},
    "clear_rota_slot": {"path": circulation.ClearRotaSlot},
    "lend_many": {"body": circulation.LendMany},
    "return_copy": {"body": circulation.Return},
    "renew": {"path": circulation.Renew, "body": circulation.Renew},
    "renew_copy": {"body": circulation.RenewCopy},
    "sync_offline": {"body": circulation.OfflineBatch},
    "sync_offline_file": {"query": circulation.OfflineFileQuery, "body": circulation.OfflineFile},
    "offline_conflicts": {"query": circulation.OfflineConflictsQuery},
    "resolve_offline_conflict": {
        "path": circulation.ResolveOfflineConflict,
        "body": circulation.ResolveOfflineConflict,
    },
    "desk_today": {"query": archives.DeskTodayQuery},
    "declare_lost": {"path": circulation.LoanCommand, "body": circulation.LoanCommand},
    "pay": {"path": circulation.Pay, "body": circulation.Pay},
    "replace_lost": {"path": circulation.ReplaceLost, "body": circulation.ReplaceLost},
    "loss": {"path": circulation.LoanCommand},
    "receipt": {"path": circulation.ReceiptNumber},
    "reserve": {"body": circulation.Reserve},
    "cancel_reservation": {
        "path": circulation.CancelReservation,
        "body": circulation.CancelReservation,
    },
    "patron_loans": {"path": circulation.CardChange},
    "patron_target": {"path": activities.NotesQuery},
    "overdue": {"query": circulation.OverdueQuery},
    "clearance": {"query": circulation.ClearanceQuery},
    "turn_school_year": {"body": circulation.TurnSchoolYear},
    "graduates": {"query": circulation.GraduatesQuery},
    "retire_graduates": {"body": circulation.RetireGraduates},
    "leaderboard": {"query": activities.LeaderboardQuery},
    "submit_note": {"body": activities.SubmitNote},
    "award_note": {"path": activities.AwardNote, "body": activities.AwardNote},
    "notes": {"path": activities.NotesQuery},
    "class_notes": {"query": activities.NoteListQuery},
    "monthly_winners": {"query": activities.MonthlyWinnersQuery},
    "competitions": {"query": activities.CompetitionsQuery},
    "open_competition": {"body": activities.OpenCompetition},
    "enter_competition": {
        "path": activities.EnterCompetition,
        "body": activities.EnterCompetition,
    },
    "score_entry": {"path": activities.ScoreEntry, "body": activities.ScoreEntry},
    "close_competition": {
        "path": activities.CloseCompetition,
        "body": activities.CloseCompetition,
    },
    "competition_results": {"path": activities.CloseCompetition},
    "term_targets": {"query": activities.TermTargetsQuery},
    "bulletin": {"query": activities.BulletinQuery},
    "top_titles": {"query": activities.TopTitlesQuery},
    "general_ledger": {"query": archives.Period},
    "classification_ledger": {"query": archives.Period},
    "writeoff_ledger": {"query": archives.Period},
    "register": {"path": archives.RegisterQuery, "query": archives.RegisterQuery},
    "events": {"query": archives.ArchiveQuery},
    "term_report": {"path": archives.TermReportQuery, "query": archives.TermReportQuery},
    "close_term": {"path": archives.CloseTerm, "body": archives.CloseTerm},
    "audit": {"query": archives.AuditQuery},
    "copy_history": {"path": catalog.CopyCommand},
    "sign_in": {"body": accounts.Login},
    "change_password": {"body": accounts.ChangePassword},
    "accounts_list": {"query": accounts.AccountsQuery},
    "create_account": {"body": accounts.CreateAccount},
    "account": {"path": accounts.AccountPath},
    "change_roles": {"path": accounts.ChangeRoles, "body": accounts.ChangeRoles},
    "set_classes": {"path": accounts.SetClasses, "body": accounts.SetClasses},
    "change_email": {"path": accounts.ChangeEmail, "body": accounts.ChangeEmail},
    "send_overdue_notices": {"body": circulation.SendOverdueNotices},
    "notices": {"query": circulation.NoticesQuery},
    "expire_holds": {"body": circulation.ExpireHolds},
    "reset_password": {"path": accounts.ResetPassword, "body": accounts.ResetPassword},
    "disable": {"path": accounts.Disable, "body": accounts.Disable},
    "enable": {"path": accounts.Enable, "body": accounts.Enable},
}
# The only input fields that are the gateway's own: the URL's words for a leaderboard's
# scope, and the dashboard's file names.
GATEWAY_OWN = {("leaderboard", "path", "board"), ("static_file", "path", "name")}
RULES = ("type", "format", "minimum", "maximum", "x-minimum", "x-maximum", "minLength",
         "maxLength", "minItems", "maxItems", "pattern", "enum")  # fmt: skip


def enforced(field: fields.Field) -> dict:
    """The rules a service's field enforces, read from its type and validators."""
    rules: dict = {}
    if isinstance(field, f.Money):
        return {"type": "string", "pattern": field.pattern.pattern}
    if isinstance(field, fields.Integer):
        rules["type"] = "integer"
    elif isinstance(field, fields.Date):
        rules.update(type="string", format="date")
    elif isinstance(field, fields.DateTime):  # after Date, which is a DateTime
        rules.update(type="string", format="date-time")
    elif isinstance(field, fields.UUID):
        rules.update(type="string", format="uuid")
    elif isinstance(field, fields.String):
        rules["type"] = "string"
    elif isinstance(field, fields.Boolean):
        rules["type"] = "boolean"
    elif isinstance(field, fields.List):
        rules.update(type="array", items=enforced(field.inner))
    elif isinstance(field, fields.Nested):
        return {name: enforced(inner) for name, inner in field.schema.fields.items()}
    for validator in field.validators:
        if isinstance(validator, validate.Range):
            low, high = (
                ("x-minimum", "x-maximum") if rules.get("format") else ("minimum", "maximum")
            )
            for key, bound in ((low, validator.min), (high, validator.max)):
                if bound is not None:
                    rules[key] = bound.isoformat() if isinstance(bound, date) else bound
        elif isinstance(validator, validate.Length):
            low, high = (
                ("minItems", "maxItems") if rules["type"] == "array" else ("minLength", "maxLength")
            )
            for key, bound in ((low, validator.min), (high, validator.max)):
                if bound is not None:
                    rules[key] = bound
        elif isinstance(validator, validate.Regexp):
            rules["pattern"] = validator.regex.pattern
        elif isinstance(validator, validate.OneOf):
            rules["enum"] = sorted(validator.choices)
    return rules


def resolve(node: dict, doc: dict) -> dict:
    while "$ref" in node:
        target = doc
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def documented(prop: dict, doc: dict) -> dict:
    """The same rules, as the OpenAPI document gives them."""
    prop = resolve(prop, doc)
    if "properties" in prop:
        return {name: documented(inner, doc) for name, inner in prop["properties"].items()}
    rules = {key: prop[key] for key in RULES if key in prop}
    if "enum" in rules:
        rules["enum"] = sorted(value for value in rules["enum"] if value is not None)
    if prop.get("type") == "array":
        rules["items"] = documented(prop["items"], doc)
    return rules


def service_field(schema: type, name: str) -> fields.Field:
    """The service's field that a caller writes as ``name`` (its data key)."""
    for attribute, field in schema().fields.items():
        if (field.data_key or attribute) == name and not isinstance(field, f.Renamed):
            return field
    raise AssertionError(f"{schema.__name__} has no field {name!r}")


def operations(doc: dict):
    for operations_ in doc["paths"].values():
        for operation in operations_.values():
            yield operation["operationId"], operation


def test_every_documented_bound_pattern_and_choice_is_the_one_the_service_enforces():
    doc = openapi.document(GatewayService)
    compared = 0
    for name, operation in operations(doc):
        places = [(p["in"], p["name"], p["schema"]) for p in operation["parameters"] if "in" in p]
        body = operation.get("requestBody", {}).get("content", {}).get("application/json")
        if body:
            properties = resolve(body["schema"], doc)["properties"]
            places += [("body", key, prop) for key, prop in properties.items()]
        for where, key, prop in places:
            if (name, where, key) in GATEWAY_OWN:
                continue
            if where == "query" and key in formats.GATEWAY_QUERY:  # a file's: the gateway's
                continue
            assert name in SERVICE_SCHEMAS, f"{name}: which service schema does it use?"
            schema = SERVICE_SCHEMAS[name][where]
            assert documented(prop, doc) == enforced(service_field(schema, key)), (name, key)
            compared += 1
    assert compared > 120


@pytest.mark.parametrize(
    ("operation_id", "key", "maximum"),
    [
        ("search", "offset", catalog.MAX_OFFSET),
        ("search", "limit", catalog.MAX_PAGE),
        ("events", "after", archives.MAX_POSITION),
        ("events", "limit", archives.MAX_PAGE),
        ("submit_note", "word_count", activities.MAX_WORDS),
        ("add_books", "copies", catalog.MAX_COPIES_PER_COMMAND),
    ],
)
def test_the_documented_maximum_is_taken_and_one_more_refused(operation_id, key, maximum):
    doc = openapi.document(GatewayService)
    [operation] = [op for name, op in operations(doc) if name == operation_id]
    params = {p["name"]: p["schema"] for p in operation["parameters"] if "in" in p}
    body = operation.get("requestBody", {}).get("content", {}).get("application/json")
    if body:
        params.update(resolve(body["schema"], doc)["properties"])
    assert params[key]["maximum"] == maximum
    [where] = SERVICE_SCHEMAS[operation_id]
    field = service_field(SERVICE_SCHEMAS[operation_id][where], key)
    assert field.deserialize(str(maximum)) == maximum
    with pytest.raises(ValidationError, match=f"Must be from .* to {maximum}"):
        field.deserialize(str(maximum + 1))


def test_a_documented_amount_is_the_pattern_the_money_field_enforces_up_to_its_maximum():
    doc = openapi.document(GatewayService)
    price = doc["components"]["schemas"]["AddBooksBody"]["properties"]["price"]
    assert price["pattern"] == f.MONEY_PATTERN.pattern and str(f.MAX_MONEY) in price["description"]
    field = service_field(catalog.AddCopies, "price")
    for text, ok in [("99999999.99", True), ("100000000.00", False), ("0", True), ("0.5", True)]:
        assert (f.MONEY_PATTERN.fullmatch(text) is not None) == ok, text
        assert (catalog.AddCopies().validate({"price": text}).get("price") is None) == ok, text
    assert field.deserialize("39.5") == field.deserialize(39.5)


def test_the_isbn_and_classification_rules_are_in_the_document():
    doc = openapi.document(GatewayService)
    body = doc["components"]["schemas"]["AddBooksBody"]["properties"]
    assert (
        body["isbn"]["pattern"] == f.ISBN_PATTERN.pattern
        and "check digit" in (body["isbn"]["description"])
    )
    assert body["classification"]["pattern"] == f.CLASSIFICATION_PATTERN.pattern
    search = {p["name"]: p for p in doc["paths"]["/api/books"]["get"]["parameters"] if "in" in p}
    assert search["classification"]["schema"]["pattern"] == f.CLASSIFICATION_PATTERN.pattern
    assert search["isbn"]["schema"]["pattern"] == f.ISBN_PATTERN.pattern


# ------------------------------------------------------------------ one schema each


def test_the_gateway_re_declares_no_service_field():
    """Every input field of every route is the service's own (or one of the two URL words)."""
    gateway_declared = {
        name
        for name, value in vars(s).items()
        if isinstance(value, type)
        and value.__module__ == s.__name__
        and not hasattr(value, "service_schema")
    }
    assert gateway_declared == {"LeaderboardPath", "StaticPath"}
    for name, route in openapi.routes(GatewayService):
        for where in ("path", "query", "body"):
            schema = getattr(route, where)
            if schema is None:
                continue
            for attribute, field in schema().fields.items():
                key = field.data_key or attribute
                if (name, where, key) in GATEWAY_OWN or isinstance(field, f.Renamed):
                    continue
                mine = service_field(SERVICE_SCHEMAS[name][where], key)
                # The same validators, not a copy of them: a field the gateway derived
                # (made optional, given a default) still checks with the service's rules.
                assert field.validators == mine.validators, (name, where, key)
                assert type(field) is type(mine), (name, where, key)


def test_path_records_are_left_out_of_the_body_and_a_desk_campus_is_optional():
    assert "barcode" not in s.DamageBody().fields and "loan_id" not in s.PaymentBody().fields
    assert not s.LendBody().fields["campus"].required
    assert circulation.Lend().fields["campus"].required  # the service still needs it
    assert "fills in its own" in s.LendBody().fields["campus"].metadata["description"]
    assert "on" not in s.LostBody().fields and "on" not in s.PaymentBody().fields


def test_the_services_schemas_import_without_the_service_runtime():
    program = (
        "import sys\n"
        "import services.catalog.schemas, services.circulation.schemas\n"
        "import services.activities.schemas, services.archives.schemas\n"
        "import services.gateway.schemas\n"
        "loaded = [m for m in sys.modules if m.startswith('nameko') or m.endswith('.service')]\n"
        "print(loaded)\n"
    )
    ran = subprocess.run(
        [sys.executable, "-c", program], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    )
    assert ran.stdout.strip() == "[]"


def test_each_limit_is_written_once():
    assert DEFAULT_MAX_ROSTER_BODY == circulation.MAX_ROSTER_BYTES == 2 * 1024 * 1024
    assert GatewaySettings.from_config({}).max_roster_body == circulation.MAX_ROSTER_BYTES
    with pytest.raises(ValueError, match="circulation"):
        GatewaySettings.from_config({"GATEWAY": {"max_roster_bytes": 3 * 1024 * 1024}})
    assert GatewaySettings.from_config({"GATEWAY": {"max_roster_bytes": 1000}}).max_roster_body == (
        1000
    )
    assert f.MAX_MONEY == service_field(circulation.Pay, "amount").validators[0].max
    for module in (s, catalog, circulation, activities, archives):
        source = (REPO_ROOT / module.__file__).read_text()
        assert 'Regexp(r"^[A-Za-z0-9][A-Za-z0-9\\-]{0,31}' not in source, module.__name__
        assert "MAX_MONEY =" not in source and "999999" not in source, module.__name__


def test_a_roster_is_measured_in_bytes_as_the_gateway_measures_its_body():
    limit = circulation.MAX_ROSTER_BYTES
    header = "name,kind,class,campus\n"
    exactly = header + "\n" * (limit - len(header))
    assert circulation.ImportCards().validate({"csv": exactly}) == {}
    errors = circulation.ImportCards().validate({"csv": exactly + "\n"})
    assert "bytes" in errors["csv"][0]
    wide = header + "王" * ((limit - len(header)) // 3 + 1)  # fewer characters, more bytes
    assert "csv" in circulation.ImportCards().validate({"csv": wide})


# ------------------------------------------------------------------ strict numbers


@pytest.mark.parametrize(
    ("schema", "where", "data", "field", "words"),
    [
        (s.AddBooksBody, "body", {"copies": 1.5}, "copies", "without a fraction"),
        (s.AddBooksBody, "body", {"copies": "5_0"}, "copies", "digits 0-9"),
        (s.AddBooksBody, "body", {"copies": True}, "copies", "not true or false"),
        (s.AddBooksBody, "body", {"price": "0.005"}, "price", "At most 2 decimal places"),
        (s.AddBooksBody, "body", {"price": 0.001}, "price", "At most 2 decimal places"),
        (s.AddBooksBody, "body", {"price": "３９.50"}, "price", "digits 0-9"),
        (s.PaymentBody, "body", {"amount": "1e3"}, "amount", "like 39.50"),
        (s.SearchQuery, "query", {"limit": "５"}, "limit", "digits 0-9"),
        (s.SearchQuery, "query", {"offset": "1_000"}, "offset", "digits 0-9"),
        (s.SearchQuery, "query", {"offset": " 5"}, "offset", "digits 0-9"),
        (s.EventsQuery, "query", {"source": "catalog", "after": "١٢"}, "after", "digits 0-9"),
        (s.LeaderboardQuery, "query", {"limit": "2.0"}, "limit", "digits 0-9"),
        (s.SubmitNoteBody, "body", {"word_count": 10.5}, "word_count", "without a fraction"),
    ],
)
def test_numbers_are_strict_and_a_refusal_names_the_field_in_words(
    schema, where, data, field, words
):
    with pytest.raises(InvalidRequest) as caught:
        parsing.check(schema(), data, where)
    assert field in caught.value.errors and words in " ".join(caught.value.errors[field])
    assert field in caught.value.detail


def test_whole_numbers_and_amounts_that_are_plainly_written_are_taken():
    copies, price = s.AddBooksBody().fields["copies"], s.AddBooksBody().fields["price"]
    assert [copies.deserialize(v) for v in (3, 3.0, "3")] == [3, 3, 3]
    assert {str(price.deserialize(v)) for v in ("39.5", "39.50", 39.5)} == {"39.50"}
    limit = s.SearchQuery().fields["limit"]
    assert limit.deserialize("500") == 500


# ------------------------------------------------------------------ one name: class


def test_a_class_is_written_class_and_class_name_is_refused_naming_it():
    card = {"name": "李雷", "kind": "student", "campus": "north"}
    assert parsing.check(s.IssueCardBody(), {**card, "class": "G7-3"}, "body")
    with pytest.raises(InvalidRequest) as caught:
        parsing.check(s.IssueCardBody(), {**card, "class_name": "G7-3"}, "body")
    assert caught.value.errors == {"class_name": ["Unknown field: use 'class'."]}
    for query in (s.OverdueQuery, s.ClearanceQuery):
        with pytest.raises(InvalidRequest) as caught:
            parsing.check(query(), {"class_name": "G7-3"}, "query")
        assert caught.value.errors["class_name"] == ["Unknown field: use 'class'."]
    assert circulation.IssueCard().load({**card, "class": "G7-3"})["class_name"] == "G7-3"
    refused = activities.TermTargetsQuery().validate({"class_name": "G7-3"})
    assert refused == {"class_name": ["Unknown field: use 'class'."]}


def test_the_document_names_class_and_never_class_name():
    doc = openapi.document(GatewayService)
    card = doc["components"]["schemas"]["IssueCardBody"]["properties"]
    assert "class" in card and "class_name" not in card
    for path in ("/api/overdue", "/api/clearance"):
        names = {p["name"] for p in doc["paths"][path]["get"]["parameters"] if "in" in p}
        assert "class" in names and "class_name" not in names


def test_a_roster_rows_bad_class_is_reported_under_its_column():
    roster = read_roster(
        "name,kind,class,campus\n王芳,student,9-3,north\n李雷,student,G7-1,north\n"
    )
    [error] = roster.errors
    assert error["line"] == 2 and list(error["errors"]) == ["class"]
    assert "'9-3' is not a class" in error["errors"]["class"][0]
    assert [card["class_name"] for _, card in roster.cards] == ["G7-1"]
    with pytest.raises(ValueError, match="'class', not 'class_name'"):
        read_roster("name,kind,class_name,campus\n王芳,student,G7-1,north\n")


# ------------------------------------------------------------------ problems


def test_a_problem_carries_its_extension_members():
    refused = [{"barcode": "C1", "reason": "on loan", "code": "copy_on_loan"}]
    document = Conflict("nothing", code="nothing_lent", members={"refused": refused}).document()
    assert document["code"] == "nothing_lent" and document["refused"] == refused
    problem = openapi.document(GatewayService)["components"]["schemas"]["Problem"]
    assert "refused" in problem["properties"]
