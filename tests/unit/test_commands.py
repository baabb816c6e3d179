"""Every command of every service goes through the one command pipeline.

A command is an RPC entrypoint that changes something; each is a ``@command``
handler (``shared.runtime.commands``), so idempotency by ``command_id``, the
transaction and the retry are the pipeline's and nowhere else.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest
from nameko.cli.run import import_service
from nameko.rpc import Rpc

from services.accounts.service import AccountsService
from services.activities.service import ActivitiesService
from services.archives.service import ArchivesService
from services.catalog.service import CatalogService
from services.circulation.service import CirculationService
from shared.runtime.commands import commands_of

ROOT = Path(__file__).resolve().parents[2]
SERVICES = (
    CatalogService,
    CirculationService,
    ActivitiesService,
    ArchivesService,
    AccountsService,
)
# Plumbing that belongs to the pipeline (and SQL that belongs to queries.py / the store).
PLUMBING = re.compile(
    r"\bretrying\b|def attempt\b|unit_of_work\(|\bearlier\(|\bSELECT\b|\bINSERT\b|\bUPDATE\b"
)


def rpc_methods(service_cls: type) -> dict[str, object]:
    return {
        name: member
        for name, member in vars(service_cls).items()
        if any(isinstance(e, Rpc) for e in getattr(member, "nameko_entrypoints", ()))
    }


@pytest.mark.parametrize("service_cls", SERVICES, ids=lambda cls: cls.name)
def test_every_command_takes_a_command_id_and_is_run_by_the_pipeline(service_cls):
    commands = commands_of(service_cls)
    assert commands, f"{service_cls.name} has no commands"
    for name, schema in commands.items():
        assert "command_id" in schema.fields, f"{service_cls.name}.{name} takes no command_id"
        assert name in rpc_methods(service_cls), f"{name} is not an RPC entrypoint"


@pytest.mark.parametrize("service_cls", SERVICES, ids=lambda cls: cls.name)
def test_the_other_entrypoints_only_read(service_cls):
    for name, method in rpc_methods(service_cls).items():
        if name in commands_of(service_cls):
            continue
        source = inspect.getsource(method)
        assert "uow" not in source and "unit_of_work" not in source, f"{name} writes"


@pytest.mark.parametrize(
    "service", ["catalog", "circulation", "activities", "archives", "accounts"]
)
def test_no_service_module_has_retry_loops_or_sql(service):
    source = (ROOT / "services" / service / "service.py").read_text()
    assert PLUMBING.findall(source) == []


def test_an_entrypoint_checks_its_calls_against_the_payload_signature():
    entrypoint = CirculationService.lend
    assert list(inspect.signature(entrypoint).parameters) == ["self", "payload"]


@pytest.mark.parametrize(
    "service", ["catalog", "circulation", "activities", "archives", "accounts"]
)
def test_nameko_run_finds_the_one_service_of_each_service_module(service):
    # infra/services.sh and the benches run ``nameko run services.<name>.service``, which
    # takes every class with entrypoints in the module: a base class imported by name
    # there (EventFeed) would be taken for a second service and stop the run.
    assert [cls.name for cls in import_service(f"services.{service}.service")] == [service]
