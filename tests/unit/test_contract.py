"""The published contract (AsyncAPI + JSON Schemas) agrees with the event catalogue."""

import yaml

from shared.events import CATALOGUE
from shared.events.examples import EXAMPLES
from shared.messaging.asyncapi import ASYNCAPI_PATH, disagreements


def test_the_contract_files_agree_with_the_catalogue():
    assert disagreements() == [], "run: python -m shared.messaging.asyncapi write"


def test_every_event_type_has_an_example_the_system_would_accept():
    assert sorted(EXAMPLES) == sorted({t.name for t in CATALOGUE.types()})
    for event_type in CATALOGUE.types():
        CATALOGUE.validate(event_type.name, EXAMPLES[event_type.name], event_type.version)


def test_every_exchange_and_routing_key_is_documented():
    document = yaml.safe_load(ASYNCAPI_PATH.read_text())
    channels = document["channels"]
    for event_type in CATALOGUE.types():
        channel = channels[f"{event_type.source}.events/{event_type.name}"]
        assert channel["bindings"]["amqp"]["exchange"]["name"] == f"{event_type.source}.events"
        assert channel["bindings"]["amqp"]["exchange"]["type"] == "topic"
    envelope = document["components"]["schemas"]["Envelope"]
    assert set(envelope["required"]) >= {"event_id", "type", "position", "data", "campus"}
