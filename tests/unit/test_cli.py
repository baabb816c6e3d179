"""The ``library`` console without servers: its command line, exit codes, rosters in chunks."""

import csv
import io

import pytest

from services.circulation.roster import read_roster
from shared.cli import app, dlq, errors, roster, scale, status
from shared.cli.errors import CommandFailed, UsageError

HEADER = "name,kind,class,campus\n"


def parse(*argv):
    return app.build_parser().parse_args(list(argv))


# ---------------------------------------------------------------- the command line


def test_status_asks_every_service_the_gateway_and_sip2_with_a_short_timeout():
    args = parse("status")
    assert args.handler is app.cmd_status
    assert args.timeout == app.STATUS_TIMEOUT and not args.json
    assert status.services_to_check(args.services) == [
        "catalog",
        "circulation",
        "activities",
        "archives",
        "accounts",
        "gateway",
        "sip2",
    ]
    only = parse("status", "catalog", "archives", "--timeout", "1.5", "--json")
    assert only.services == ["catalog", "archives"] and only.timeout == 1.5 and only.json


def test_each_command_reaches_its_handler_with_its_arguments():
    assert parse("scale", "circulation", "3").count == 3
    rebuild = parse("rebuild", "archives", "copy_ledger", "--batch", "2000")
    assert (rebuild.service, rebuild.projection, rebuild.batch) == ("archives", "copy_ledger", 2000)
    assert parse("dlq", "list").queue is None
    assert parse("dlq", "list", "archives.from.catalog").handler is app.cmd_dlq_list
    assert parse("dlq", "retry", "archives.from.catalog", "--limit", "5").limit == 5
    cards = parse("import-cards", "roster.csv", "--chunk-rows", "200")
    assert (cards.roster, cards.chunk_rows) == ("roster.csv", 200)
    assert parse("--config", "/tmp/x.yml", "demo").config == "/tmp/x.yml"
    kiosk = parse("accounts", "create", "kiosk-north-2", "--name", "北区自助借还机 2",
                  "--role", "kiosk", "--campus", "north", "--password-stdin")  # fmt: skip
    assert (kiosk.roles, kiosk.campus) == (["kiosk"], "north")


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["launch"],
        ["scale", "circulation"],
        ["scale", "circulation", "-1"],
        ["scale", "circulation", "two"],
        ["scale", "gateway", "2"],
        ["rebuild", "archives"],
        ["rebuild", "library", "copy_ledger"],
        ["dlq"],
        ["dlq", "retry"],
        ["import-cards"],
        ["import-cards", "roster.csv", "--chunk-rows", "0"],
        ["status", "--timeout", "0"],
    ],
)
def test_a_mistyped_command_exits_2_without_a_traceback(argv, capsys):
    assert app.main(argv) == errors.USAGE
    assert "usage: library" in capsys.readouterr().err


def test_a_service_that_does_not_exist_is_a_usage_error(capsys):
    assert app.main(["status", "catalogue"]) == errors.USAGE
    assert "no service catalogue (there are: catalog, circulation" in capsys.readouterr().err


def test_help_exits_0_and_lists_the_exit_codes(capsys):
    assert app.main(["--help"]) == errors.OK
    out = capsys.readouterr().out
    assert "import-cards" in out and "  3  RabbitMQ or PostgreSQL cannot be reached" in out


def test_a_config_file_that_is_not_there_is_a_usage_error(tmp_path, capsys):
    missing = tmp_path / "nope.yml"
    assert app.main(["--config", str(missing), "status"]) == errors.USAGE
    assert capsys.readouterr().err.strip() == f"library: no config file {missing}"


def test_the_config_option_does_not_outlive_the_command(tmp_path, monkeypatch):
    monkeypatch.delenv(app.CONFIG_ENV, raising=False)
    app.main(["--config", str(tmp_path / "nope.yml"), "status"])
    assert app.CONFIG_ENV not in __import__("os").environ


def test_passwords_are_never_printed():
    assert (
        errors.redact("amqp://library:s3cret@10.0.0.5:5672/") == "amqp://library:***@10.0.0.5:5672/"
    )
    assert errors.redact("http://127.0.0.1:15672/") == "http://127.0.0.1:15672/"


def test_outages_that_escape_a_command_get_their_exit_code():
    import psycopg2
    from kombu.exceptions import OperationalError
    from nameko.exceptions import RpcTimeout

    assert app.translate(psycopg2.OperationalError("no route")).exit_code == errors.UNREACHABLE
    assert app.translate(OperationalError("refused")).exit_code == errors.UNREACHABLE
    assert app.translate(RpcTimeout(3)).exit_code == errors.SERVICE_DOWN
    assert app.translate(ValueError("a bug")) is None


def test_status_reports_unreachable_infrastructure_before_a_service_that_is_down():
    report = status.StatusReport()
    report.fail(errors.ServiceDown("activities is not running"))
    assert report.exit_code == errors.SERVICE_DOWN
    report.fail(errors.Unreachable("archives' PostgreSQL database: refused"))
    report.fail(errors.ServiceDown("archives did not answer"))
    assert report.exit_code == errors.UNREACHABLE
    assert len(report.problems) == 3


def test_a_service_without_a_database_is_asked_its_health_only(monkeypatch):
    asked = []

    class Services:
        def __init__(self, config, timeout):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def call(self, service, method):
            asked.append((service, method))
            return {"service": service}

    def no_database(*args):
        raise AssertionError("the SIP2 server owns no database")

    monkeypatch.setattr(status, "Services", Services)
    monkeypatch.setattr(status, "_database", no_database)
    state, lag, problems = status._check({}, "sip2", 1.0, status.BrokerView(queues=[]))
    assert asked == [("sip2", "health")]  # no projection_lag: it has no projections
    assert state.up and state.database == "-" and state.relay_leader is None
    assert lag == [] and problems == []


def test_the_gateway_is_looked_for_where_a_browser_can_reach_it():
    assert status.web_address({"WEB_SERVER_ADDRESS": "0.0.0.0:8000"}) == "http://127.0.0.1:8000"
    assert status.web_address({"WEB_SERVER_ADDRESS": "10.1.2.3:80"}) == "http://10.1.2.3:80"
    assert status.web_address({}) == "http://127.0.0.1:8000"


def test_a_dead_letter_queue_is_named_either_way():
    assert dlq.check_name("archives.from.catalog.dlq") == "archives.from.catalog"
    assert dlq.check_name(" archives.from.catalog ") == "archives.from.catalog"
    with pytest.raises(UsageError):
        dlq.check_name(".dlq")


# ---------------------------------------------------------------- scaling


def test_scaling_up_starts_the_missing_instances_and_down_stops_the_highest_first():
    assert scale.plan("circulation", 3, []) == (
        ["circulation", "circulation@2", "circulation@3"],
        [],
    )
    now = ["circulation", "circulation@2", "circulation@3"]
    assert scale.plan("circulation", 3, now) == ([], [])
    assert scale.plan("circulation", 1, now) == ([], ["circulation@3", "circulation@2"])
    assert scale.plan("circulation", 0, now) == (
        [],
        ["circulation@3", "circulation@2", "circulation"],
    )
    assert scale.plan("circulation", 2, ["circulation@2"]) == (["circulation"], [])
    # circulation@3 gave up (FATAL): not running, but not left behind when scaling to 2
    programs = ["circulation", "circulation@2", "circulation@3"]
    assert scale.plan("circulation", 2, now[:2], programs) == ([], ["circulation@3"])
    assert scale.plan("circulation", 3, now[:2], programs) == (["circulation@3"], [])


def test_scaling_refuses_unknown_services_and_silly_counts():
    with pytest.raises(UsageError, match="unknown service"):
        scale.plan("gateway", 2, [])
    with pytest.raises(UsageError, match="from 0 to"):
        scale.plan("circulation", scale.MAX_INSTANCES + 1, [])


def test_running_instances_are_the_services_programs_supervisord_has_up(tmp_path):
    states = {
        "circulation@3": "STARTING",  # coming up: counted (the script waited for its health)
        "circulation": "RUNNING",
        "circulation@2": "FATAL",  # given up after crashing at start: not running
        "catalog": "RUNNING",  # another service
        "circulation_x": "RUNNING",  # another name that starts alike
    }
    assert scale.alive_instances("circulation", states) == ["circulation", "circulation@3"]
    every = scale.instances("circulation", states)
    assert every == ["circulation", "circulation@2", "circulation@3"]
    assert scale.configured("circulation", tmp_path) == []
    assert scale.running("circulation", tmp_path) == []  # no supervisord in this run dir
    assert scale.instance_specs("circulation", 2) == ["circulation", "circulation@2"]


# ---------------------------------------------------------------- rosters in chunks


def rows(count, start=1):
    return "".join(f"学生{n},student,G7-{1 + n % 8},north\n" for n in range(start, start + count))


def test_a_roster_is_split_into_chunks_each_with_the_header():
    chunks = roster.split_roster(HEADER + rows(25), rows_per_chunk=10)
    assert [chunk.rows for chunk in chunks] == [10, 10, 5]
    for chunk in chunks:
        assert chunk.text.startswith(HEADER)
        assert len(list(csv.DictReader(io.StringIO(chunk.text)))) == chunk.rows
    # The first row of the third chunk is line 22 of the file (line 1 is the header).
    assert chunks[2].original_line(2) == 22
    assert chunks[0].original_line(1) == 1


def test_chunks_keep_multi_line_fields_whole_and_drop_blank_lines():
    text = (
        "\ufeffname,kind,class,campus\r\n"
        '"王\r\n小明",student,G7-1,north\r\n'
        "\r\n"
        "李雷,student,G7-2,south\r\n"
        ",,,\r\n"
        "韩梅梅,student,G7-3,north"  # no newline at the end
    )
    chunks = roster.split_roster(text, rows_per_chunk=2)
    assert [chunk.rows for chunk in chunks] == [2, 1]
    first = list(csv.DictReader(io.StringIO(chunks[0].text)))
    assert first[0]["name"] == "王\r\n小明"
    # 李雷's record ends on line 5 of the file; in its chunk on line 4.
    assert chunks[0].original_line(4) == 5
    assert chunks[1].original_line(2) == 7


def test_a_chunk_also_stays_under_a_size_limit():
    chunks = roster.split_roster(HEADER + rows(40), rows_per_chunk=1000, max_bytes=400)
    assert len(chunks) > 1
    assert sum(chunk.rows for chunk in chunks) == 40
    assert all(len(chunk.text.encode()) <= 400 for chunk in chunks)


@pytest.mark.parametrize(
    ("text", "message"),
    [("", "empty"), ("\n\n", "empty"), (HEADER, "no rows"), (HEADER + ",,,\n\n", "no rows")],
)
def test_a_roster_without_rows_is_refused_before_anything_is_sent(text, message):
    with pytest.raises(CommandFailed, match=message):
        roster.split_roster(text)


def test_a_chunk_has_the_same_command_id_each_time_and_chunks_differ():
    text = HEADER + rows(30)
    first, second = roster.split_roster(text, rows_per_chunk=20)
    assert roster.command_id(text, first) == roster.command_id(text, first)
    assert roster.command_id(text, first) != roster.command_id(text, second)
    assert roster.command_id(text, first) != roster.command_id(text + "x", first)


def test_errors_come_back_with_the_line_numbers_of_the_whole_file():
    """Chunked through a stand-in for circulation.import_cards that reads each chunk as the
    service does: the lines reported are those the service would give for the whole file."""
    lines = [HEADER.strip()]
    for n in range(1, 31):
        lines.append(f"学生{n},{'pupil' if n in (4, 17) else 'student'},G7-1,north")
    lines.insert(12, '"两行\n名字",student,,north')  # no class: refused; spans two lines
    text = "\n".join(lines) + "\n"
    expected = [5, 14, 20]  # 'pupil' on lines 5 and 20; the two-line record ends on 14
    assert [error["line"] for error in read_roster(text).errors] == [5, 20]

    sent = []

    def import_cards(payload):
        sent.append(payload)
        chunk = read_roster(payload["csv"])
        issued, refused = [], []  # the domain refuses a student without a class
        for line, card in chunk.cards:
            if card["class_name"] is None:
                refused.append({"line": line, "errors": {"class": ["A class, please."]}})
            else:
                issued.append({"line": line, "patron_id": f"P{line}"})
        return {"issued": issued, "errors": chunk.errors + refused}

    progress = []
    result = roster.import_roster(
        text, import_cards, progress.append, roster.split_roster(text, rows_per_chunk=7)
    )
    assert len(sent) == 5 and sum(progress) == 31 == result.rows
    assert [error["line"] for error in result.errors] == expected
    assert len(result.issued) == 28
    assert {card["line"] for card in result.issued}.isdisjoint(expected)
    assert "kind" in roster.describe(result.errors[0]["errors"])


def test_field_errors_read_as_one_line():
    assert (
        roster.describe({"kind": ["Must be one of: student."], "campus": ["Missing."]})
        == "kind: Must be one of: student.; campus: Missing."
    )
