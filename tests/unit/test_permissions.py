"""Broker rights and addresses as written down in shared/runtime/permissions.py (no broker needed;
tests/integration/test_security.py proves RabbitMQ enforces them)."""

import re

import pytest

from shared.config import SERVICES
from shared.runtime.permissions import amqp_uri_for, permissions_for, vhost_of

CONFIG = {
    "AMQP_URI": "amqp://library:secret@rabbit.example:5673/school",
    "RABBIT_USERS": {"catalog": "c@t/pw", "external": "ext-pw"},
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
    assert amqp_uri_for(config, "external") == (
        "amqp://external:ext-pw@rabbit1:5672/;amqp://external:ext-pw@rabbit2:5672/"
    )
    assert vhost_of(amqp_uri_for(config, "external")) == "/"


def test_a_user_without_a_password_in_the_config_has_no_address():
    with pytest.raises(ValueError, match="RABBIT_USERS.gateway"):
        amqp_uri_for(CONFIG, "gateway")


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


def test_the_gateway_may_only_call_and_answer_rpc():
    rights = permissions_for("gateway")
    for permission in (rights.configure, rights.write, rights.read):
        assert allowed(permission, "nameko-rpc")
        assert allowed(permission, "rpc-gateway")
        assert allowed(permission, "rpc.reply-gateway-3f2a")
        for name in ("catalog.events", "library.dlx", "library.events.by_campus", "rpc-catalog"):
            assert not allowed(permission, name)


def test_the_external_user_can_write_to_no_exchange():
    rights = permissions_for("external")
    for name in [f"{service}.events" for service in SERVICES] + ["nameko-rpc", "library.dlx"]:
        assert not allowed(rights.write, name)
        assert not allowed(rights.configure, name)
