"""The published event contract, generated from the event catalogue.

``python -m shared.messaging.asyncapi write`` writes docs/asyncapi.yaml (every exchange,
routing key, header, envelope field and payload schema, with examples) and one
JSON Schema per event type and version under docs/schemas/.
``python -m shared.messaging.asyncapi check`` exits 1 when those files and the catalogue
disagree; the tests run it, so the contract cannot drift from the code.

Payload schemas describe what the wire carries, not what a command accepts: an
amount of money is the string ``"12.50"`` (``Money`` dumps exactly two decimals),
a date is ``format: date``, and a field marked ``personal(...)`` in the catalogue
is ``x-personal: true``. The table of personal fields in docs/events.md is
written and checked here too, between its two markers. Every source in the
catalogue is described; a new service needs no edit here.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml
from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin, OpenAPIConverter
from marshmallow import Schema, fields

from shared.config import REPO_ROOT
from shared.events import CATALOGUE, EventType
from shared.events import fields as f
from shared.events.envelope import EnvelopeSchema
from shared.events.examples import EXAMPLES
from shared.messaging.names import EVENTS_EXCHANGE_TEMPLATE

DOCS = REPO_ROOT / "docs"
ASYNCAPI_PATH = DOCS / "asyncapi.yaml"
SCHEMAS_DIR = DOCS / "schemas"
EVENTS_DOC_PATH = DOCS / "events.md"
# The generated part of docs/events.md lies between these two lines.
PERSONAL_TABLE_BEGIN = (
    "<!-- personal-data table: written by python -m shared.messaging.asyncapi -->"
)
PERSONAL_TABLE_END = "<!-- end of personal-data table -->"
PERSONAL_TAG = {
    "name": "personal-data",
    "description": "Carries personal data (fields marked x-personal): readers need the right.",
}
CONTRACT_VERSION = "1.0.0"
DOCUMENT_ID = "urn:school-library:events"
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
    # The relay sets all five on every message (shared/messaging/relay.py, to_message).
    "required": ["campus", "type", "source", "position", "schema_version"],
}


class EventSchemaConverter(OpenAPIConverter):
    """apispec's converter, describing payloads as they are on the wire.

    Names a schema only refuses (``fields.Renamed``) are left out: an event never
    carries them.
    """

    def init_attribute_functions(self) -> None:
        super().init_attribute_functions()
        self.add_attribute_function(money_as_dumped)
        self.add_attribute_function(personal_mark)

    def fields2jsonschema(self, fields: Any, *, partial: Any = None) -> dict[str, Any]:
        taken = {name: field for name, field in fields.items() if not isinstance(field, f.Renamed)}
        return super().fields2jsonschema(taken, partial=partial)


def money_as_dumped(self: Any, field: fields.Field, ret: dict[str, Any], **kwargs: Any) -> dict:
    """An amount as ``Money`` dumps it: text with exactly two decimals, not a number.

    Its bounds are in the pattern (at most 8 digits of yuan), so ``minimum`` and
    ``maximum`` (which apispec would write as the strings "0.00" and "99999999.99")
    go.
    """
    if not isinstance(field, f.Money):
        return {}
    for bound in ("minimum", "maximum", "x-minimum", "x-maximum"):
        ret.pop(bound, None)
    described = field.metadata.get("description")
    description = f"{described} {field.dumped_description}" if described else None
    return {
        "type": "string",
        "pattern": field.dumped_pattern.pattern,
        "description": description or field.dumped_description,
        "examples": ["12.50"],
    }


def personal_mark(self: Any, field: fields.Field, **kwargs: Any) -> dict:
    """``x-personal: true`` on a field the catalogue marks ``personal(...)``."""
    return {"x-personal": True} if f.is_personal(field) else {}


class EventSchemaPlugin(MarshmallowPlugin):
    Converter = EventSchemaConverter


def _converter() -> Any:
    plugin = EventSchemaPlugin(schema_name_resolver=lambda schema: None)
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
            "messageId": name,
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
            **_examples(event_type),
            **({"tags": [PERSONAL_TAG]} if event_type.carries_personal_data else {}),
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
        "id": DOCUMENT_ID,
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
        "tags": [PERSONAL_TAG],
        "channels": dict(sorted(channels.items())),
        "components": {"messages": messages, "schemas": schemas},
    }


def _examples(event_type: EventType) -> dict[str, Any]:
    """The message's example, when shared/events/examples.py has one for its type."""
    if event_type.name not in EXAMPLES:
        return {}
    return {"examples": [{"name": event_type.name, "payload": _example(event_type)}]}


def _example(event_type: EventType) -> dict[str, Any]:
    return {
        "event_id": "6f1c1f9e-8d53-4a38-9b4c-1c0f3d1d2a10",
        "type": event_type.name,
        "schema_version": event_type.version,
        "source": event_type.source,
        "position": 1042,
        "stream_id": "copy-C00000042",
        "stream_version": 3,
        "occurred_at": "2026-10-12T00:15:00.000000+00:00",
        "recorded_at": "2026-10-12T00:15:00.004211+00:00",
        "campus": "north",
        "correlation_id": "2b9f0c1e-6a57-4f0b-9d34-1f5e8a7c6d21",
        "causation_id": "2b9f0c1e-6a57-4f0b-9d34-1f5e8a7c6d21",
        "actor": {"id": "wang.fang", "username": "wang.fang", "role": "librarian"},
        "data": EXAMPLES[event_type.name],
    }


def personal_data_table() -> str:
    """The Markdown table of every personal field by event type, from the catalogue's marks."""
    rows = [
        f"| `{t.name}` | {t.source} | {t.version} | "
        + ", ".join(f"`{path}`" for path in t.personal_fields)
        + " |"
        for t in CATALOGUE.types()
        if t.carries_personal_data
    ]
    silent = [s for s in CATALOGUE.sources() if s not in CATALOGUE.personal_sources()]
    lines = [
        "| event type | source | version | personal fields |",
        "|---|---|---|---|",
        *rows,
        "",
        "Sources that publish personal data: "
        + ", ".join(f"`{s}`" for s in CATALOGUE.personal_sources())
        + "; none in: "
        + (", ".join(f"`{s}`" for s in silent) or "none")
        + ".",
    ]
    return "\n".join(lines) + "\n"


def _events_doc(text: str) -> str:
    """docs/events.md with its personal-data table as the catalogue says it should be."""
    begin, end = text.find(PERSONAL_TABLE_BEGIN), text.find(PERSONAL_TABLE_END)
    if begin < 0 or end < begin:
        raise ValueError(
            f"{EVENTS_DOC_PATH.relative_to(REPO_ROOT)} lacks the personal-data table's markers"
        )
    head = text[: begin + len(PERSONAL_TABLE_BEGIN)]
    return f"{head}\n{personal_data_table()}{text[end:]}"


def rendered() -> dict[Path, str]:
    """Every contract file and its text, as the catalogue says it should be."""
    files = {ASYNCAPI_PATH: yaml.safe_dump(asyncapi(), sort_keys=False, allow_unicode=True)}
    for event_type in CATALOGUE.types():
        path = SCHEMAS_DIR / f"{schema_name(event_type)}.json"
        files[path] = json.dumps(event_json_schema(event_type), indent=2, ensure_ascii=False) + "\n"
    files[EVENTS_DOC_PATH] = _events_doc(EVENTS_DOC_PATH.read_text())
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
            if not path.exists() or path.read_text() != text:  # events.md: only when it changed
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
