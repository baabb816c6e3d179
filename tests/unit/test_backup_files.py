"""What a backup keeps and what it leaves out, without the servers.

The drills against real databases are tests/integration/test_backup_drills.py.
"""

import json

import pytest
import yaml

from shared.cli import errors
from shared.cli.app import main
from shared.cli.backup import MANIFEST, sha256_of, without_secrets
from shared.cli.pg_tools import login
from shared.cli.restore import kept_tables, without_rows_of_others
from shared.config import SERVICES, load_config

LISTING = """;
; Archive created at 2026-12-07 20:03:01 UTC
215; 1259 16465 TABLE public events library
216; 1259 16480 TABLE public loans library
3468; 0 16465 TABLE DATA public events library
3469; 0 16480 TABLE DATA public loans library
3490; 0 0 SEQUENCE SET public patron_seq library
3300; 2606 16500 CONSTRAINT public loans loans_pkey library
3310; 2620 16510 TRIGGER public events events_append_only library
"""


def test_the_saved_config_keeps_users_and_hosts_but_no_password_token_or_secret():
    config = {
        "AMQP_URI": "amqp://library:s3cret@10.0.0.5:5672/;amqp://library:s3cret@10.0.0.6:5672/",
        "DATABASES": {"catalog": "postgresql://library:pa%40ss@db:5432/library_catalog"},
        "RABBIT_USERS": {"catalog": "catalog-dev"},
        "GATEWAY": {"tokens": {"librarian": "dev-librarian"}, "rpc_timeout": 30},
        "NOTICES": {"smtp": {"host": "mail", "user": "library", "password": "mail-pw"}},
        "SIP2": {"listeners": [{"name": "school", "port": 6001}]},
        "signing_secret": "abc",
    }
    saved = without_secrets(config)
    text = json.dumps(saved)
    for secret in ("s3cret", "pa%40ss", "catalog-dev", "dev-librarian", "mail-pw", "abc"):
        assert secret not in text
    assert saved["DATABASES"]["catalog"] == "postgresql://library:***@db:5432/library_catalog"
    assert saved["AMQP_URI"].count("library:***@") == 2
    assert saved["GATEWAY"] == {"rpc_timeout": 30}
    assert saved["NOTICES"]["smtp"] == {"host": "mail", "user": "library"}
    assert saved["SIP2"] == config["SIP2"]


def test_the_password_goes_to_the_tools_in_the_environment_not_on_the_command_line():
    target, env = login("postgresql://library:pa%40ss@db.school:5433/library_catalog")
    assert target == "postgresql://library@db.school:5433/library_catalog"
    assert env["PGPASSWORD"] == "pa@ss"


def test_an_events_only_restore_keeps_the_whole_schema_and_only_the_event_stores_rows():
    kept = without_rows_of_others(LISTING, kept_tables("circulation"))
    assert "TABLE DATA public events" in kept and "TABLE DATA public loans" not in kept
    for line in ("TABLE public loans", "SEQUENCE SET", "CONSTRAINT", "TRIGGER"):
        assert line in kept
    assert "credentials" in kept_tables("accounts") and "credentials" not in kept_tables("catalog")


def backup_dir(tmp_path):
    (tmp_path / "config.yml").write_text("max_workers: 10\n")
    files = {"config.yml": {"size": 16, "sha256": sha256_of(tmp_path / "config.yml")}}
    (tmp_path / MANIFEST).write_text(json.dumps({"files": files, "heads": {}}))
    return tmp_path


@pytest.mark.parametrize(
    ("damage", "said"),
    [
        (lambda d: (d / "config.yml").write_text("max_workers: 99\n"), "config.yml has changed"),
        (lambda d: (d / "config.yml").unlink(), "config.yml is missing"),
        (lambda d: (d / MANIFEST).unlink(), "not a backup, or unfinished"),
    ],
)
def test_a_backup_that_does_not_match_its_manifest_is_refused(tmp_path, capsys, damage, said):
    directory = backup_dir(tmp_path)
    assert main(["backup", "--check", str(directory)]) == errors.OK
    damage(directory)
    assert main(["backup", "--check", str(directory)]) == errors.FAILED
    assert said in capsys.readouterr().err


def test_a_backup_with_postgresql_out_of_reach_ends_with_the_unreachable_code(tmp_path, capsys):
    config = load_config()
    config["DATABASES"] = {s: f"postgresql://library:pw@127.0.0.1:1/library_{s}" for s in SERVICES}
    path = tmp_path / "config.yml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True))
    assert main(["--config", str(path), "backup", str(tmp_path / "b")]) == errors.UNREACHABLE
    said = capsys.readouterr().err
    assert said.startswith("library: PostgreSQL cannot be reached") and "pw" not in said
