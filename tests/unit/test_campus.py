"""The campus setting of a host, the gateway's desk campus, and the per-campus host files."""

from __future__ import annotations

import os
import subprocess

import pytest

from services.gateway.desk import Desk
from services.gateway.problems import InvalidRequest
from shared.config import REPO_ROOT, ConfigError, load_config
from shared.runtime.campus import campus_setting

DEPLOY = REPO_ROOT / "infra" / "deploy"
SECRETS = {
    "LIBRARY_AMQP_PASSWORD": "amqp-secret",
    "CATALOG_DB_PASSWORD": "cat-secret",
    "CIRCULATION_DB_PASSWORD": "circ-secret",
    "ACTIVITIES_DB_PASSWORD": "act-secret",
    "ARCHIVES_DB_PASSWORD": "arc-secret",
    "ACCOUNTS_DB_PASSWORD": "acc-secret",
}


# ------------------------------------------------------------------ the setting


@pytest.mark.parametrize("value", [None, "", "  "])
def test_an_empty_campus_is_a_whole_school_instance(value):
    assert campus_setting({"CAMPUS": value}) is None
    assert campus_setting({}) is None


def test_a_campus_is_north_or_south():
    assert campus_setting({"CAMPUS": "north"}) == "north"
    assert campus_setting({"CAMPUS": " South "}) == "south"
    with pytest.raises(ConfigError, match="'west'; it must be one of north, south"):
        campus_setting({"CAMPUS": "west"})


def test_the_default_config_is_a_whole_school_instance(monkeypatch):
    monkeypatch.delenv("LIBRARY_CAMPUS", raising=False)
    assert campus_setting(load_config()) is None
    monkeypatch.setenv("LIBRARY_CAMPUS", "south")
    assert campus_setting(load_config()) == "south"


# ------------------------------------------------------------------ the gateway's desk


LEND = {"barcode": "C00000001", "patron_id": "P0000001"}


def test_a_campus_gateway_lends_at_its_own_campus_when_the_request_says_none():
    north = Desk("north")
    assert north.at_desk(LEND) == {**LEND, "campus": "north"}
    assert north.at_desk({**LEND, "campus": "north"}) == {**LEND, "campus": "north"}


def test_a_campus_gateway_refuses_desk_work_at_the_other_campus():
    with pytest.raises(InvalidRequest) as caught:
        Desk("north").at_desk({**LEND, "campus": "south"})
    assert caught.value.status == 400
    assert "This is the north desk's gateway" in caught.value.detail
    assert caught.value.errors == {"campus": ["Must be north (this gateway's campus) or left out."]}


def test_a_whole_school_gateway_needs_the_campus_and_takes_either():
    school = Desk(None)
    assert school.at_desk({**LEND, "campus": "south"})["campus"] == "south"
    with pytest.raises(InvalidRequest) as caught:
        school.at_desk(LEND)
    assert list(caught.value.errors) == ["campus"]
    with pytest.raises(InvalidRequest):
        school.default({"name": "李雷"})


def test_a_card_or_reservation_defaults_to_the_gateway_campus_but_may_name_the_other():
    north = Desk("north")
    assert north.default({"name": "李雷"}) == {"name": "李雷", "campus": "north"}
    assert north.default({"name": "李雷", "campus": "south"})["campus"] == "south"


# ------------------------------------------------------------------ infra/deploy


def host_environment(campus: str, secrets: dict[str, str]) -> dict[str, str]:
    """The environment a campus host's services get after sourcing its file."""
    script = f"set -a; . {DEPLOY / f'{campus}.env'}; set +a; env -0"
    done = subprocess.run(
        ["bash", "-c", script],
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **secrets},
        capture_output=True,
        check=False,
    )
    if done.returncode:
        raise RuntimeError(done.stderr.decode())
    pairs = (item.split("=", 1) for item in done.stdout.decode().split("\0") if "=" in item)
    return dict(pairs)


@pytest.mark.parametrize("campus", ["north", "south"])
def test_each_campus_host_file_makes_a_config_for_that_campus(campus, monkeypatch):
    environment = host_environment(campus, SECRETS)
    for name in list(os.environ):
        monkeypatch.delenv(name)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    config = load_config()

    assert campus_setting(config) == campus
    nodes = config["AMQP_URI"].split(";")
    assert len(nodes) == 3 and all(n.startswith("amqp://library:amqp-secret@") for n in nodes)
    for service, host in [("catalog", "pg-catalog"), ("accounts", "pg-accounts")]:
        assert config["DATABASES"][service].startswith(f"postgresql://{service}:")
        assert f"@{host}.library.lan:5432/library_{service}" in config["DATABASES"][service]
    assert config["WEB_SERVER_ADDRESS"] == "0.0.0.0:8000"
    assert "LIBRARY_DEV_TOKENS" not in environment  # people sign in; no fixed tokens


def test_a_campus_host_file_refuses_to_start_without_its_secrets():
    missing = {k: v for k, v in SECRETS.items() if k != "ACCOUNTS_DB_PASSWORD"}
    with pytest.raises(RuntimeError, match="export ACCOUNTS_DB_PASSWORD"):
        host_environment("north", missing)
