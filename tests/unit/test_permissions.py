"""Broker rights and addresses as written down in shared/runtime/permissions.py (no broker needed;
tests/integration/test_security.py proves RabbitMQ enforces them)."""

import re

import pytest

from shared.config import SERVICES
from shared.runtime.permissions import (
    NO_RIGHTS,
    SystemUserRefused,
    amqp_uri_for,
    permissions_for,
    system_permissions,
    vhost_of,
)

CONFIG = {
    "AMQP_URI": "amqp://library:secret@rabbit.example:5673/school",
    "RABBIT_USERS": {"catalog": "c@t/pw", "gateway": "gw-pw"},
}


def allowed(pattern, name):
    return re.fullmatch(pattern, name) is not None


def test_a_service_address_keeps_the_broker_and_vhost_and_changes_only_the_login():
    uri = amqp_uri_for(CONFIG, "catalog")
    assert uri == "amqp://catalog:c%40t%2Fpw@rabbit.example:5673/school"
    assert vhost_of(uri) == "school"
    assert "secret" not in uri and "library" not in uri


def test_every_node_of_a_cluster_gets_the_login():
    config = {**CONFIG, "AMQP_URI": "amqp://library:x@rabbit1:5672/;amqp://library:x@rabbit2:5672/"}
    assert amqp_uri_for(config, "gateway") == (
        "amqp://gateway:gw-pw@rabbit1:5672/;amqp://gateway:gw-pw@rabbit2:5672/"
    )
    assert vhost_of(amqp_uri_for(config, "gateway")) == "/"


def test_a_user_without_a_password_in_the_config_has_no_address():
    with pytest.raises(ValueError, match="RABBIT_USERS.archives"):
        amqp_uri_for(CONFIG, "archives")


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_publishes_to_its_own_exchange_only(service):
    rights = permissions_for(service)
    for other in SERVICES:
        assert allowed(rights.write, f"{other}.events") == (other == service)
        assert not allowed(rights.read, f"rpc-{other}") or other == service
        assert not allowed(rights.write, f"{other}.from.x") or other == service
    assert allowed(rights.write, "library.dlx")
    assert not allowed(rights.write, "library.events.by_campus")
    assert not allowed(rights.configure, "library.events.by_campus")


def test_the_gateway_may_only_call_and_answer_rpc_and_follow_the_events_it_streams():
    rights = permissions_for("gateway")
    for permission in (rights.configure, rights.write, rights.read):
        assert allowed(permission, "nameko-rpc")
        assert allowed(permission, "rpc-gateway")
        assert allowed(permission, "rpc.reply-gateway-3f2a")
        assert allowed(permission, "gateway.live.0f3a9c2b7d1e4a56")  # its live stream's queue
        for name in ("library.dlx", "library.events.by_campus", "rpc-catalog", "gateway.live."):
            assert not allowed(permission, name)
    for source in SERVICES:  # it follows every source's events, and publishes none
        assert allowed(rights.read, f"{source}.events")
        assert allowed(rights.configure, f"{source}.events")  # declared as followers do
        assert not allowed(rights.write, f"{source}.events")


def test_the_sip2_server_only_calls_the_services_and_answers_its_own_health():
    rights = permissions_for("sip2")
    for permission in (rights.configure, rights.write, rights.read):
        assert allowed(permission, "nameko-rpc")
        assert allowed(permission, "rpc-sip2")  # its health RPC (infra/services.sh asks it)
        assert allowed(permission, "rpc.reply-sip2-3f2a")
        assert not allowed(permission, "rpc.reply-gateway-3f2a")
        assert not allowed(permission, "gateway.live.0f3a9c2b7d1e4a56")
        for name in ("library.dlx", "library.events.by_campus", "sip2.events", "sip2.from.x"):
            assert not allowed(permission, name)
        for source in SERVICES:  # it owns no events and follows none
            assert not allowed(permission, f"{source}.events")
            assert not allowed(permission, f"rpc-{source}")  # nor answers for a service


def test_every_library_user_in_the_config_has_its_rights_written_down():
    from shared.config import load_config

    users = load_config()["RABBIT_USERS"]
    assert {*SERVICES, "gateway", "sip2"} <= set(users)
    for user in users:
        permissions_for(user)  # raises for a user nobody wrote rights for


def test_the_retired_shared_external_user_has_no_rights_at_all():
    assert permissions_for("external") == NO_RIGHTS


EVERY_EXCHANGE = [f"{service}.events" for service in SERVICES] + [
    "nameko-rpc",
    "library.dlx",
    "library.events.by_campus",
    "amq.default",
    "ext.other.events",
]


def test_a_school_system_configures_nothing_and_writes_only_to_its_own_queues():
    rights = system_permissions("records", ["catalog", "archives"], ["events", "audit"])
    assert rights.configure == "^$"
    for name in EVERY_EXCHANGE + ["ext.records", "ext.records.other", "ext.recordsx.events"]:
        assert not allowed(rights.write, name) and not allowed(rights.configure, name)
    assert allowed(rights.write, "ext.records.events") and allowed(
        rights.write, "ext.records.audit"
    )


def test_a_school_system_reads_its_own_queues_and_only_the_exchanges_it_was_given():
    rights = system_permissions("records", ["catalog", "archives"])
    assert allowed(rights.read, "ext.records.events")
    assert allowed(rights.read, "catalog.events") and allowed(rights.read, "archives.events")
    for name in ("circulation.events", "library.events.by_campus", "ext.timetable.events"):
        assert not allowed(rights.read, name)
    everything = system_permissions("records", list(SERVICES))
    assert allowed(everything.read, "library.events.by_campus")  # it carries every source


@pytest.mark.parametrize(
    ("system", "queues", "sources"),
    [
        ("Records", ["events"], ["catalog"]),  # upper case
        ("a.b", ["events"], ["catalog"]),  # a dot would make ext.a.b ambiguous
        ("records", ["a.b"], ["catalog"]),
        ("records", [], ["catalog"]),
        ("records", ["events"], ["payroll"]),  # not a service
        ("x" * 51, ["events"], ["catalog"]),
    ],
)
def test_a_bad_school_system_name_queue_or_source_is_refused(system, queues, sources):
    with pytest.raises(SystemUserRefused):
        system_permissions(system, sources, queues)
