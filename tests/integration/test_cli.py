"""The ``library`` console against services running in this process, and against outages."""

import json

import pytest
import yaml
from nameko.standalone.rpc import ServiceRpcProxy

from services.accounts.service import AccountsService
from services.activities.service import ActivitiesService
from services.archives.service import ArchivesService
from services.catalog.service import CatalogService
from services.circulation.service import CirculationService
from services.gateway.service import GatewayService
from services.sip2.service import Sip2Service
from shared.cli import errors
from shared.cli.app import main
from shared.config import REPO_ROOT, SERVICES
from tests.factories import book_added
from tests.helpers import free_port, wait_until, with_sip2_listener, with_web_address

ROSTER_HEADER = "name,kind,class,campus"
TITLE = {k: v for k, v in book_added().items() if k != "barcode"}


def config_file(tmp_path, settings) -> str:
    path = tmp_path / "config.yml"
    path.write_text(yaml.safe_dump(settings, allow_unicode=True))
    return str(path)


@pytest.fixture
def system(runner_factory, config, tmp_path):
    """All five services, the gateway and the SIP2 server (on a port of its own) in this
    process; the path of their config, as an operator passes it."""
    settings = with_sip2_listener(with_web_address(config))
    runner = runner_factory(
        settings,
        CatalogService,
        CirculationService,
        ActivitiesService,
        ArchivesService,
        AccountsService,
        GatewayService,
        Sip2Service,
    )
    runner.start()
    return settings, config_file(tmp_path, settings)


def table_rows(out: str) -> dict[int, str]:
    """The rows of a rich table whose first cell is a number, by that number."""
    found = {}
    for line in out.splitlines():
        cells = [cell.strip() for cell in line.split("│")]
        if len(cells) > 2 and cells[1].isdigit():
            found[int(cells[1])] = cells[2]
    return found


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_status_says_every_service_is_up_with_its_relay_queues_and_lag(system, capsys):
    settings, path = system
    with ServiceRpcProxy("catalog", settings, timeout=15) as catalog:
        catalog.add_copies({**TITLE, "copies": 2})
    for follower in ("circulation", "archives"):  # lag is reported once a source has been seen
        with ServiceRpcProxy(follower, settings, timeout=15) as service:
            wait_until(
                lambda service=service: any(
                    row["source"] == "catalog" and row["checkpoint"] == 2
                    for row in service.projection_lag()
                ),
                what=f"{follower} to take in the copies",
            )
    code, out, err = run(capsys, "--config", path, "status", "--json")
    assert code == errors.OK, err
    report = json.loads(out)
    assert report["ok"] and report["problems"] == []
    services = {s["service"]: s for s in report["services"]}
    assert set(services) == {*SERVICES, "gateway", "sip2"}
    assert all(s["up"] for s in services.values())
    for name in SERVICES:
        assert services[name]["database"] == "ok" and services[name]["relay_leader"] is True
    assert services["sip2"]["database"] == "-"  # it owns none: its health only
    queues = {q["name"]: q for q in report["queues"]}
    assert "circulation.from.catalog" in queues  # (consumer counts lag by a few seconds)
    assert "archives.from.catalog.dlq" in report["dead_letters"]
    lag = {(row["service"], row["projection"], row["source"]) for row in report["projection_lag"]}
    assert ("circulation", "copy_availability", "catalog") in lag
    assert ("archives", "copy_ledger", "catalog") in lag

    code, out, _ = run(capsys, "--config", path, "status", "catalog", "circulation")
    assert code == errors.OK
    assert "Services" in out and "Projection lag" in out and "all services up" in out


def test_import_cards_issues_the_good_rows_and_names_the_bad_ones_by_their_line(
    system, capsys, tmp_path
):
    settings, path = system
    rows = [ROSTER_HEADER]
    for n in range(1, 26):
        kind = "pupil" if n == 6 else "student"
        class_name = "" if n == 18 else f"G7-{1 + n % 8}"
        rows.append(f"学生{n},{kind},{class_name},north")
    roster = tmp_path / "roster.csv"
    roster.write_text("\n".join(rows) + "\n", encoding="utf-8")

    code, out, err = run(
        capsys, "--config", path, "import-cards", str(roster), "--chunk-rows", "10"
    )
    assert code == errors.FAILED, err  # some rows were not imported
    assert "issued 23 card(s) from 25 row(s) in 3 command(s)" in out
    assert "2 row(s) not imported" in out
    refused = table_rows(out)
    assert sorted(refused) == [7, 19]
    assert refused[7].startswith("kind:") and "class" in refused[19]

    with ServiceRpcProxy("circulation", settings, timeout=15) as circulation:
        head = circulation.health()["head"]
        assert head == 23
    # The same roster again: each chunk is answered from what it recorded, no card twice.
    code, out, _ = run(capsys, "--config", path, "import-cards", str(roster), "--chunk-rows", "10")
    with ServiceRpcProxy("circulation", settings, timeout=15) as circulation:
        assert circulation.health()["head"] == head


@pytest.mark.parametrize("example", ["roster-gbk.csv", "roster.xlsx"])
def test_import_cards_reads_the_school_offices_files_gbk_csv_and_xlsx(system, capsys, example):
    settings, path = system
    roster = REPO_ROOT / "examples" / "rosters" / example
    code, out, err = run(capsys, "--config", path, "import-cards", str(roster))
    assert code == errors.FAILED, err  # line 9's class is not one the library knows
    assert "issued 7 card(s) from 8 row(s)" in out
    assert sorted(table_rows(out)) == [9]


def test_a_service_that_is_not_running_exits_4_naming_it(runner_factory, config, tmp_path, capsys):
    runner_factory(config, CatalogService).start()
    path = config_file(tmp_path, config)
    code, out, err = run(
        capsys, "--config", path, "status", "catalog", "activities", "--timeout", "1"
    )
    assert code == errors.SERVICE_DOWN
    assert "activities is not running" in out
    assert "Traceback" not in out + err


def test_a_broker_that_cannot_be_reached_exits_3_with_one_line(config, tmp_path, capsys):
    closed = free_port()  # nothing listens there
    settings = {**config, "AMQP_URI": f"amqp://library:secret@127.0.0.1:{closed}/"}
    path = config_file(tmp_path, settings)
    for argv in (["status"], ["import-cards", __file__], ["dlq", "list", "archives.from.catalog"]):
        code, out, err = run(capsys, "--config", path, *argv)
        assert code == errors.UNREACHABLE, (argv, out, err)
        assert err.strip().startswith("library: RabbitMQ cannot be reached at ")
        assert f"127.0.0.1:{closed}" in err and "secret" not in err
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_a_database_that_cannot_be_reached_exits_3(runner_factory, config, tmp_path, capsys):
    runner_factory(config, CatalogService).start()
    broken = {
        **config["DATABASES"],
        "catalog": f"postgresql://library:x@127.0.0.1:{free_port()}/db",
    }
    path = config_file(tmp_path, {**config, "DATABASES": broken})
    code, out, err = run(capsys, "--config", path, "status", "catalog", "--timeout", "2")
    assert code == errors.UNREACHABLE
    assert "catalog's PostgreSQL database" in out


def test_dead_letter_commands_name_a_queue_that_does_not_exist(config, tmp_path, capsys):
    path = config_file(tmp_path, config)
    code, _, err = run(capsys, "--config", path, "dlq", "retry", "no.such.queue")
    assert code == errors.USAGE
    assert "no dead-letter queue no.such.queue.dlq" in err
