"""The broker's rights, proven: services publish only to their own exchange; the gateway
only calls and answers RPC; each school system reads its own queues and publishes nothing
(a forged event is refused), declares nothing, and cannot touch another's queues;
infra/services.sh logs each service in as its own user;
and the default ``guest`` user is gone."""

import json
import os
import subprocess
import time
import uuid
from urllib.parse import quote, urlsplit

import pytest
import requests
from kombu import Connection, Exchange, Queue
from nameko.standalone.rpc import ClusterRpcProxy

from shared.config import REPO_ROOT, SERVICES
from shared.messaging.names import declare_campus_routing
from shared.messaging.publisher import ConfirmingPublisher, OutgoingMessage, PublishNotConfirmed
from shared.runtime.permissions import (
    SystemUserRefused,
    amqp_uri_for,
    apply,
    create_system_user,
    delete_system_user,
    system_queues,
    vhost_of,
)
from tests.factories import book_added
from tests.helpers import bind_test_queue, body, drain, wait_until

FORGED = OutgoingMessage("Lent", b'{"type": "Lent", "forged": true}', message_id="forged")
REFUSED = "(?i)access.refused|403"


def management(config):
    """The management API's base URL and credentials (the administrator's)."""
    parts = urlsplit(config["RABBIT_MANAGEMENT_URI"])
    return f"http://{parts.hostname}:{parts.port or 15672}", (parts.username, parts.password)


@pytest.fixture
def users(config):
    """Per-test users with the production rights on this test's vhost."""
    vhost = vhost_of(config["AMQP_URI"])
    with Connection(config["AMQP_URI"]) as connection:
        declare_campus_routing(connection, list(SERVICES))
    roles = {"catalog": "catalog-pw", "gateway": "gateway-pw", "sip2": "sip2-pw"}
    names = apply(config["RABBIT_MANAGEMENT_URI"], vhost, roles, suffix=f"-{vhost}")
    host = urlsplit(config["AMQP_URI"])
    uris = {
        role: f"amqp://{name}:{roles[role]}@{host.hostname}:{host.port or 5672}/{vhost}"
        for role, name in names.items()
    }
    yield uris
    api, auth = management(config)
    for name in names.values():
        requests.delete(f"{api}/api/users/{quote(name, safe='')}", auth=auth, timeout=10)


def publish(uri, exchange, message=FORGED):
    publisher = ConfirmingPublisher(uri, confirm_timeout=5)
    try:
        publisher.publish_batch(exchange, [message])
    finally:
        publisher.close()


def declare(uri, queue):
    with Connection(uri) as connection:
        queue(connection.channel()).declare()


def consume(uri, queue_name):
    with Connection(uri) as connection:
        connection.channel().basic_consume(queue_name, callback=lambda message: None)


def read_own(uri, queue, count, timeout=30.0):
    """Take ``count`` messages off ``queue`` as a school system does: the queue is the
    library's, so it is only ever declared passively."""
    taken, deadline = [], time.monotonic() + timeout
    with Connection(uri) as connection:
        channel = connection.channel()
        channel.queue_declare(queue=queue, passive=True)
        while len(taken) < count and time.monotonic() < deadline:
            message = channel.basic_get(queue, no_ack=True)
            if message is None:
                time.sleep(0.05)  # basic_get does not block; the broker is local
                continue
            taken.append(message)
    assert len(taken) == count, f"only {len(taken)} of {count} messages on {queue}"
    return taken


def test_a_school_system_cannot_forge_an_event_anywhere(school_system, config):
    records = school_system("records", list(SERVICES))
    with Connection(config["AMQP_URI"]) as connection:
        declare_campus_routing(connection, list(SERVICES))
    for exchange in ("circulation.events", "catalog.events", "library.events.by_campus"):
        with pytest.raises(PublishNotConfirmed, match=REFUSED):
            publish(records.uri, exchange)
    with pytest.raises(PublishNotConfirmed, match=REFUSED):  # the default exchange, into its queue
        publish(records.uri, "", OutgoingMessage(records.queue, b"{}", message_id="forged"))
    with Connection(records.uri) as connection:  # no exchange of its own to publish through
        for name in (records.queue, "ext.records-relay", f"{records.user}.x"):
            with pytest.raises(Exception, match=REFUSED):
                Exchange(name, type="fanout")(connection.channel()).declare()


def test_a_school_system_binds_and_reads_its_own_queue_and_nothing_else(school_system, config):
    records = school_system("records", ["catalog", "circulation"])
    timetable = school_system("timetable", ["catalog"])
    with Connection(config["AMQP_URI"]) as connection:
        declare_campus_routing(connection, list(SERVICES))
    with Connection(records.uri) as connection:
        connection.channel().queue_bind(records.queue, "circulation.events", routing_key="#")
    publish(
        config["AMQP_URI"],
        "circulation.events",
        OutgoingMessage("CardIssued", b'{"real": true}', message_id="real"),
    )
    assert json.loads(read_own(records.uri, records.queue, 1)[0].body) == {"real": True}

    with Connection(records.uri) as connection:  # another system's queue is not for it
        with pytest.raises(Exception, match=REFUSED):
            connection.channel().queue_bind(timetable.queue, "catalog.events", routing_key="#")
    with pytest.raises(Exception, match=REFUSED):
        consume(records.uri, timetable.queue)
    with Connection(timetable.uri) as connection:  # nor an exchange it was not given
        with pytest.raises(Exception, match=REFUSED):
            connection.channel().queue_bind(timetable.queue, "circulation.events", routing_key="#")
    with Connection(records.uri) as connection:  # it declares nothing, not even its own queue
        with pytest.raises(Exception, match=REFUSED):
            connection.channel().queue_declare(queue="ext.records-new", durable=True)
    with Connection(records.uri) as connection:
        with pytest.raises(Exception, match=REFUSED):
            connection.channel().queue_delete(records.queue)
    for queue in ("circulation.from.catalog", "rpc-circulation"):
        declare(config["AMQP_URI"], Queue(queue, durable=True))
        with pytest.raises(Exception, match=REFUSED):
            consume(records.uri, queue)
    with Connection(records.uri) as connection:  # nor are the library's exchanges
        with pytest.raises(Exception, match=REFUSED):
            connection.channel().exchange_delete("circulation.events")


def test_a_school_system_user_cannot_be_made_over_an_exchange_named_like_its_queue(
    school_system, config
):
    name = "ext.shadow-records.events"
    declare(config["AMQP_URI"], Exchange(name, type="fanout", durable=False))
    try:
        with pytest.raises(SystemUserRefused, match="would let it publish"):
            create_system_user(
                config["RABBIT_MANAGEMENT_URI"],
                vhost_of(config["AMQP_URI"]),
                "shadow-records",
                "pw-for-shadow",
                ["catalog"],
            )
    finally:
        with Connection(config["AMQP_URI"]) as connection:
            connection.channel().exchange_delete(name)


def test_deleting_a_school_system_cuts_it_off_and_removes_its_queues(school_system, config):
    records = school_system("records", ["catalog"])
    vhost = vhost_of(config["AMQP_URI"])
    assert system_queues(config["RABBIT_MANAGEMENT_URI"], vhost, records.name) == [records.queue]
    deleted = delete_system_user(config["RABBIT_MANAGEMENT_URI"], vhost, records.name)
    assert deleted == [records.queue]
    assert system_queues(config["RABBIT_MANAGEMENT_URI"], vhost, records.name) == []
    with pytest.raises(Exception, match="(?i)access.refused|403|auth"):
        with Connection(records.uri, connect_timeout=5) as connection:
            connection.ensure_connection(max_retries=1)


def test_a_service_publishes_to_its_own_exchange_only(users):
    publish(
        users["catalog"], "catalog.events", OutgoingMessage("BookAdded", b"{}", message_id="own")
    )
    with pytest.raises(PublishNotConfirmed, match=REFUSED):
        publish(users["catalog"], "circulation.events")


def test_a_service_neither_answers_for_another_nor_deletes_what_it_does_not_follow(users, config):
    declare(config["AMQP_URI"], Queue("rpc-circulation", durable=True))
    with pytest.raises(Exception, match=REFUSED):  # reading it: answering in its name
        consume(users["catalog"], "rpc-circulation")
    with Connection(users["catalog"]) as connection:  # catalog does not follow activities
        with pytest.raises(Exception, match=REFUSED):
            connection.channel().exchange_delete("activities.events")


def test_the_gateway_only_calls_and_answers_rpc_and_follows_events(users, config):
    rpc = Exchange("nameko-rpc", type="topic", durable=True)
    reply_queue = f"rpc.reply-gateway-{uuid.uuid4()}"
    declare(users["gateway"], Queue(reply_queue, exchange=rpc, routing_key=reply_queue))
    publish(users["gateway"], "nameko-rpc", OutgoingMessage("catalog.health", b"{}", "call"))
    publish(users["gateway"], "nameko-rpc", OutgoingMessage(reply_queue, b"{}", "reply"))
    assert len(drain(users["gateway"], reply_queue, 1)) == 1

    for exchange in ("catalog.events", "library.events.by_campus", "library.dlx"):
        with pytest.raises(PublishNotConfirmed, match=REFUSED):
            publish(users["gateway"], exchange)
    # It follows the events for the screens' live stream, in its own gateway.live.* queue
    # only: a queue of any other name is refused.
    events = Exchange("circulation.events", type="topic", passive=True)
    declare(config["AMQP_URI"], Exchange("circulation.events", type="topic", durable=True))
    declare(users["gateway"], Queue("gateway.live.0f3a9c2b", exchange=events, exclusive=True))
    with pytest.raises(Exception, match=REFUSED):
        declare(users["gateway"], Queue("spy", exchange=events))
    declare(config["AMQP_URI"], Queue("rpc-catalog", durable=True))
    with pytest.raises(Exception, match=REFUSED):
        consume(users["gateway"], "rpc-catalog")


def test_the_sip2_server_only_calls_and_answers_rpc(users, config):
    rpc = Exchange("nameko-rpc", type="topic", durable=True)
    reply_queue = f"rpc.reply-sip2-{uuid.uuid4()}"
    declare(users["sip2"], Queue(reply_queue, exchange=rpc, routing_key=reply_queue))
    publish(users["sip2"], "nameko-rpc", OutgoingMessage(reply_queue, b"{}", "reply"))
    assert len(drain(users["sip2"], reply_queue, 1)) == 1
    declare(users["sip2"], Queue("rpc-sip2", exchange=rpc, routing_key="sip2.*", durable=True))

    for exchange in ("circulation.events", "library.events.by_campus", "library.dlx"):
        with pytest.raises(PublishNotConfirmed, match=REFUSED):
            publish(users["sip2"], exchange)
    # It follows no events: no queue bound to an events exchange, of any name.
    events = Exchange("circulation.events", type="topic", passive=True)
    declare(config["AMQP_URI"], Exchange("circulation.events", type="topic", durable=True))
    for name in ("sip2.from.circulation", "gateway.live.0f3a9c2b"):
        with pytest.raises(Exception, match=REFUSED):
            declare(users["sip2"], Queue(name, exchange=events))
    declare(config["AMQP_URI"], Queue("rpc-circulation", durable=True))
    with pytest.raises(Exception, match=REFUSED):  # answering in circulation's name
        consume(users["sip2"], "rpc-circulation")


def connection_users(config):
    """Who is logged in on the test's vhost right now, one entry per connection."""
    api, auth = management(config)
    vhost = quote(vhost_of(config["AMQP_URI"]), safe="")
    response = requests.get(
        f"{api}/api/vhosts/{vhost}/connections", params={"columns": "user"}, auth=auth, timeout=10
    )
    response.raise_for_status()
    return sorted(connection["user"] for connection in response.json())


def test_services_sh_starts_a_service_logged_in_as_its_own_user(config, tmp_path):
    """infra/services.sh as make demo runs it, on this test's vhost and databases."""
    vhost = vhost_of(config["AMQP_URI"])
    # The real `catalog` user (as infra/up.sh makes it), with its rights on this vhost too.
    apply(config["RABBIT_MANAGEMENT_URI"], vhost, {"catalog": config["RABBIT_USERS"]["catalog"]})
    uri = amqp_uri_for(config, "catalog")  # what services.sh hands the process
    assert (urlsplit(uri).username, vhost_of(uri)) == ("catalog", vhost)
    listener = bind_test_queue(config["AMQP_URI"], "catalog")
    env = {
        **os.environ,
        "AMQP_URI": config["AMQP_URI"],  # the administrator's: services.sh must not pass it on
        **{f"{service.upper()}_DSN": dsn for service, dsn in config["DATABASES"].items()},
        "LIBRARY_RUN_DIR": str(tmp_path),
        "RELAY_POLL_INTERVAL": "0.2",
        "PYTHONWARNINGS": "ignore",
    }

    def services_sh(action):
        return subprocess.run(
            ["bash", "infra/services.sh", action, "catalog"],
            cwd=REPO_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
        )

    started = services_sh("start")
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        # Its RPC consumer, relay, subscriber and dead-letter publisher: all as `catalog`.
        try:
            wait_until(lambda: set(connection_users(config)) == {"catalog"}, timeout=20)
        except AssertionError:
            pytest.fail(f"logged in on the vhost: {connection_users(config)}, not only catalog")
        # With those rights it declared what it follows and publishes its events.
        with ClusterRpcProxy(config, timeout=60) as cluster:
            details = {k: v for k, v in book_added().items() if k != "barcode"}
            (barcode,) = cluster.catalog.add_copies({**details, "copies": 1})["barcodes"]
        event = body(drain(config["AMQP_URI"], listener, 1)[0])
        assert (event["type"], event["data"]["barcode"]) == ("BookAdded", barcode)
    finally:
        stopped = services_sh("stop")
        assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    log = (tmp_path / "logs" / "catalog.log").read_text()
    assert "ACCESS_REFUSED" not in log, log[-3000:]


@pytest.mark.skipif(
    os.environ.get("LIBRARY_KEEP_GUEST") == "1",
    reason="infra/up.sh keeps guest when LIBRARY_KEEP_GUEST=1 (local development)",
)
def test_the_default_guest_user_is_gone(config):
    """infra/up.sh deletes RabbitMQ's guest/guest administrator (make test runs it first)."""
    api, auth = management(config)
    assert requests.get(f"{api}/api/users/guest", auth=auth, timeout=10).status_code == 404
    host = urlsplit(config["AMQP_URI"])
    guest = Connection(f"amqp://guest:guest@{host.hostname}:{host.port or 5672}//")
    with pytest.raises(Exception, match=REFUSED):
        guest.connect()
    guest.release()
