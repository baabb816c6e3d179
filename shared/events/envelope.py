"""The one envelope every event travels in, stored and on the wire.

``NewEvent`` is what a service decides to record; the store gives it a position,
a stream version and a record time, and hands back an ``Envelope``. The same
envelope is the JSON body external systems receive, so its fields are a contract:
see docs/events.md.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field, replace
from dataclasses import fields as fields_of
from datetime import UTC, datetime
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from shared.events import CATALOGUE, InvalidEvent, UnknownEventType
from shared.events import fields as f

CONTENT_TYPE = "application/json"
MAX_BODY_BYTES = 1_000_000


class InvalidEnvelope(ValueError):
    """Raised when a message is not a well-formed event envelope.

    ``errors`` maps each offending field to what is wrong with it.
    """

    def __init__(self, errors: dict[str, Any]) -> None:
        self.errors = errors
        super().__init__(f"invalid event envelope: {errors}")


def utc_now() -> str:
    """The current time as an ISO-8601 UTC timestamp."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


def new_id() -> str:
    return str(uuid.uuid4())


def derived_id(parent: str, index: int) -> str:
    """A stable id for the ``index``-th event of a command, so a retried command
    produces the same event ids and its second append is a no-op."""
    return str(uuid.uuid5(uuid.UUID(parent), str(index)))


@dataclass(frozen=True)
class NewEvent:
    """An event decided by a service and not yet stored."""

    type: str
    stream_id: str
    data: dict[str, Any]
    event_id: str = field(default_factory=new_id)
    campus: str | None = None
    occurred_at: str = field(default_factory=utc_now)
    correlation_id: str | None = None
    causation_id: str | None = None

    def validated(self) -> NewEvent:
        """This event, checked strictly against the catalogue; raises naming bad fields."""
        CATALOGUE.validate(self.type, self.data)
        return self


@dataclass(frozen=True)
class Envelope:
    """A stored event with everything a reader needs to order and trace it."""

    event_id: str
    type: str
    schema_version: int
    source: str
    position: int
    stream_id: str
    stream_version: int
    occurred_at: str
    recorded_at: str
    campus: str | None
    correlation_id: str | None
    causation_id: str | None
    data: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        # Not dataclasses.asdict: its deep copy of ``data`` was a third of the
        # relay's time; a shallow copy keeps the envelope's own dict untouched.
        return {name: getattr(self, name) for name in _FIELDS} | {"data": dict(self.data)}

    def to_json(self) -> bytes:
        return json.dumps(self.to_dict(), separators=(",", ":"), ensure_ascii=False).encode()

    def upcast(self) -> Envelope:
        """This event with its data brought to the latest version of its type."""
        version, data = CATALOGUE.upcast(self.type, self.schema_version, self.data)
        if version == self.schema_version:
            return self
        return replace(self, schema_version=version, data=data)

    @classmethod
    def from_dict(cls, raw: Any) -> Envelope:
        """Check an envelope and its payload; raise ``InvalidEnvelope`` naming the fields."""
        try:
            loaded = _ENVELOPE.load(raw)
        except ValidationError as error:
            messages = error.messages
            raise InvalidEnvelope(
                messages if isinstance(messages, dict) else {"_": messages}
            ) from None
        try:
            CATALOGUE.validate(
                loaded["type"], loaded["data"], loaded["schema_version"], strict=False
            )
        except UnknownEventType as error:
            raise InvalidEnvelope({"type": [str(error)]}) from None
        except InvalidEvent as error:
            raise InvalidEnvelope({"data": error.errors}) from None
        return cls(**{**raw, "data": dict(raw["data"])}).upcast()

    @classmethod
    def from_json(cls, body: bytes | str) -> Envelope:
        """Parse a message body; anything that is not a valid event raises ``InvalidEnvelope``."""
        if len(body) > MAX_BODY_BYTES:
            raise InvalidEnvelope({"_body": [f"larger than {MAX_BODY_BYTES} bytes"]})
        try:
            raw = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise InvalidEnvelope({"_body": [f"not JSON: {error}"]}) from None
        return cls.from_dict(raw)


class EnvelopeSchema(Schema):
    """The envelope's own fields, for validating what arrives off the wire."""

    event_id = fields.UUID(required=True)
    type = fields.String(required=True, validate=validate.Length(min=1, max=100))
    schema_version = fields.Integer(required=True, validate=validate.Range(min=1))
    source = fields.String(required=True, validate=validate.Length(min=1, max=50))
    position = fields.Integer(required=True, validate=validate.Range(min=1))
    stream_id = fields.String(required=True, validate=validate.Length(min=1, max=200))
    stream_version = fields.Integer(required=True, validate=validate.Range(min=1))
    occurred_at = fields.AwareDateTime(required=True)
    recorded_at = fields.AwareDateTime(required=True)
    campus = f.campus(required=True, allow_none=True)
    correlation_id = fields.String(required=True, allow_none=True)
    causation_id = fields.String(required=True, allow_none=True)
    data = fields.Dict(required=True)


_FIELDS = tuple(f.name for f in fields_of(Envelope) if f.name != "data")
_ENVELOPE = EnvelopeSchema(unknown=RAISE)  # built once: building a schema costs more than a load
