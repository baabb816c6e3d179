"""The published event contract, generated from the event catalogue.

``python -m shared.messaging.asyncapi write`` writes docs/asyncapi.yaml (every exchange,
routing key, header, envelope field and payload schema, with examples) and one
JSON Schema per event type and version under docs/schemas/.
``python -m shared.messaging.asyncapi check`` exits 1 when those files and the catalogue
disagree; the tests run it, so the contract cannot drift from the code.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml
from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import Schema

from shared.config import REPO_ROOT
from shared.events import CATALOGUE, EventType
from shared.events.envelope import EnvelopeSchema
from shared.events.examples import EXAMPLES
from shared.messaging.names import EVENTS_EXCHANGE_TEMPLATE

DOCS = REPO_ROOT / "docs"
ASYNCAPI_PATH = DOCS / "asyncapi.yaml"
SCHEMAS_DIR = DOCS / "schemas"
CONTRACT_VERSION = "1.0.0"
HEADERS = {
    "type": "object",
    "description": "Repeat envelope fields so subscribers can route or filter without parsing.",
    "properties": {
        "campus": {"type": "string", "enum": ["north", "south", ""]},
        "type": {"type": "string"},
        "source": {"type": "string"},
        "position": {"type": "integer", "minimum": 1},
        "schema_version": {"type": "integer", "minimum": 1},
    },
}


def _converter() -> Any:
    plugin = MarshmallowPlugin(schema_name_resolver=lambda schema: None)
    APISpec("events", CONTRACT_VERSION, "3.0.3", plugins=[plugin])
    return plugin.converter


def json_schema(schema: type[Schema] | Schema) -> dict[str, Any]:
    """A marshmallow schema as JSON Schema (nested schemas inlined, nullable as type lists)."""
    converted = _converter().schema2jsonschema(schema)
    return _json_schema_types(converted)


def _json_schema_types(node: Any) -> Any:
    if isinstance(node, dict):
        node = {key: _json_schema_types(value) for key, value in node.items()}
        if node.pop("nullable", False) and "type" in node:
            node["type"] = [node["type"], "null"]
        return node
    if isinstance(node, list):
        return [_json_schema_types(item) for item in node]
    return node


def schema_name(event_type: EventType) -> str:
    return f"{event_type.name}.v{event_type.version}"


def event_json_schema(event_type: EventType) -> dict[str, Any]:
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "$id": f"{schema_name(event_type)}.json",
        "title": event_type.name,
        "description": event_type.description,
        "x-source": event_type.source,
        "x-schema-version": event_type.version,
        **json_schema(event_type.schema),
    }


def asyncapi() -> dict[str, Any]:
    """The AsyncAPI 2.6 document of every event of every service."""
    envelope = json_schema(EnvelopeSchema)
    channels: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    schemas: dict[str, Any] = {"Envelope": envelope}
    for event_type in CATALOGUE.types():
        name = schema_name(event_type)
        schemas[name] = json_schema(event_type.schema)
        exchange = EVENTS_EXCHANGE_TEMPLATE.format(event_type.source)
        messages[name] = {
            "name": event_type.name,
            "title": f"{event_type.name} (v{event_type.version})",
            "summary": event_type.description,
            "contentType": "application/json",
            "headers": HEADERS,
            "payload": {
                "allOf": [
                    {"$ref": "#/components/schemas/Envelope"},
                    {
                        "type": "object",
                        "properties": {
                            "type": {"const": event_type.name},
                            "source": {"const": event_type.source},
                            "schema_version": {"const": event_type.version},
                            "data": {"$ref": f"#/components/schemas/{name}"},
                        },
                    },
                ]
            },
            "examples": [{"name": event_type.name, "payload": _example(event_type)}],
            "bindings": {
                "amqp": {
                    "contentEncoding": "utf-8",
                    "messageType": event_type.name,
                    "bindingVersion": "0.2.0",
                }
            },
        }
        channels.setdefault(
            f"{exchange}/{event_type.name}",
            {
                "description": f"{event_type.source} publishes {event_type.name} to the topic "
                f"exchange {exchange} with routing key {event_type.name}.",
                "subscribe": {
                    "operationId": f"receive{event_type.name}",
                    "summary": event_type.description,
                    "message": {"oneOf": []},
                },
                "bindings": {
                    "amqp": {
                        "is": "routingKey",
                        "exchange": {
                            "name": exchange,
                            "type": "topic",
                            "durable": True,
                            "autoDelete": False,
                            "vhost": "/",
                        },
                        "bindingVersion": "0.2.0",
                    }
                },
            },
        )["subscribe"]["message"]["oneOf"].append({"$ref": f"#/components/messages/{name}"})
    return {
        "asyncapi": "2.6.0",
        "info": {
            "title": "School library events",
            "version": CONTRACT_VERSION,
            "description": (
                "Everything that happens in the library, as events. Each service publishes to "
                "its own durable topic exchange `<service>.events`; the routing key is the event "
                "type. Delivery is at least once and may reorder: deduplicate by (source, "
                "position) and fill gaps from the archives' replay feed. See docs/events.md and "
                "docs/integrating.md."
            ),
        },
        "servers": {
            "school": {
                "url": "127.0.0.1:5672",
                "protocol": "amqp",
                "description": "the school's RabbitMQ (external user: read only)",
            }
        },
        "defaultContentType": "application/json",
        "channels": dict(sorted(channels.items())),
        "components": {"messages": messages, "schemas": schemas},
    }


def _example(event_type: EventType) -> dict[str, Any]:
    return {
        "event_id": "6f1c1f9e-8d53-4a38-9b4c-1c0f3d1d2a10",
        "type": event_type.name,
        "schema_version": event_type.version,
        "source": event_type.source,
        "position": 1042,
        "stream_id": "copy-C00000042",
        "stream_version": 3,
        "occurred_at": "2026-10-12T08:15:00.000000+08:00",
        "recorded_at": "2026-10-12T00:15:00.004211+00:00",
        "campus": "north",
        "correlation_id": "2b9f0c1e-6a57-4f0b-9d34-1f5e8a7c6d21",
        "causation_id": "2b9f0c1e-6a57-4f0b-9d34-1f5e8a7c6d21",
        "data": EXAMPLES[event_type.name],
    }


def rendered() -> dict[Path, str]:
    """Every contract file and its text, as the catalogue says it should be."""
    files = {ASYNCAPI_PATH: yaml.safe_dump(asyncapi(), sort_keys=False, allow_unicode=True)}
    for event_type in CATALOGUE.types():
        path = SCHEMAS_DIR / f"{schema_name(event_type)}.json"
        files[path] = json.dumps(event_json_schema(event_type), indent=2, ensure_ascii=False) + "\n"
    return files


def disagreements() -> list[str]:
    """The contract files that are missing, stale or no longer in the catalogue."""
    expected = rendered()
    problems = [
        f"{path.relative_to(REPO_ROOT)} is {'stale' if path.exists() else 'missing'}"
        for path, text in expected.items()
        if not path.exists() or path.read_text() != text
    ]
    if SCHEMAS_DIR.exists():
        problems += [
            f"{path.relative_to(REPO_ROOT)} describes no event type in the catalogue"
            for path in sorted(SCHEMAS_DIR.glob("*.json"))
            if path not in expected
        ]
    return problems


def main(argv: list[str] | None = None) -> int:
    command = (argv if argv is not None else sys.argv[1:]) or ["check"]
    if command[0] == "write":
        SCHEMAS_DIR.mkdir(parents=True, exist_ok=True)
        for path, text in rendered().items():
            path.write_text(text)
        print(
            f"[contract] wrote {ASYNCAPI_PATH.relative_to(REPO_ROOT)} and "
            f"{len(CATALOGUE.types())} JSON Schemas"
        )
        return 0
    problems = disagreements()
    for problem in problems:
        print(f"[contract] {problem}; run: python -m shared.messaging.asyncapi write")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
