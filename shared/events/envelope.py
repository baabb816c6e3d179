"""The one envelope every event travels in, stored and on the wire.

``NewEvent`` is what a service decides to record; the store gives it a position,
a stream version and a record time, and hands back an ``Envelope``. The same
envelope is the JSON body external systems receive, so its fields are a contract:
see docs/events.md.

Every event carries its ``actor``, who did it: the account or API key the gateway
served (``{"id", "username", "role"}``), or null when nobody is known (events from
before envelopes carried one, the system's own, a CLI calling a service directly).
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
from shared.fast_check import passes

CONTENT_TYPE = "application/json"
MAX_BODY_BYTES = 1_000_000
# Longest actor fields: an account id or API key id, a username or ``key:<name>``, a role.
MAX_ACTOR_ID = 100
MAX_ACTOR_USERNAME = 150
MAX_ACTOR_ROLE = 50

Actor = dict[str, str]  # {"id": ..., "username": ..., "role": ...}


class InvalidEnvelope(ValueError):
    """Raised when a message is not a well-formed event envelope.

    ``errors`` maps each offending field to what is wrong with it.
    """

    def __init__(self, errors: dict[str, Any]) -> None:
        self.errors = errors
        super().__init__(f"invalid event envelope: {errors}")


class InvalidActor(ValueError):
    """Raised when an actor is not ``{"id", "username", "role"}`` of bounded, non-blank strings.

    ``errors`` maps each offending key to what is wrong with it.
    """

    def __init__(self, errors: dict[str, Any]) -> None:
        self.errors = errors
        super().__init__(f"invalid actor: {errors}")


def checked_actor(value: Any) -> Actor | None:
    """``value`` as an event's actor (a fresh dict), or None for none; ``InvalidActor`` else."""
    if value is None:
        return None
    try:
        return _ACTOR.load(value)
    except ValidationError as error:
        messages = error.messages
        raise InvalidActor(messages if isinstance(messages, dict) else {"_": messages}) from None


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
    actor: Actor | None = None

    def validated(self) -> NewEvent:
        """This event, checked strictly against the catalogue and its actor's shape;
        raises naming bad fields (``InvalidEvent``, ``InvalidActor``)."""
        CATALOGUE.validate(self.type, self.data)
        checked_actor(self.actor)
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
    actor: Actor | None = None  # who did it; None for older events and the system's

    def to_dict(self) -> dict[str, Any]:
        """The envelope as JSON-ready values; ``actor`` is always there (null when unknown)."""
        # Not dataclasses.asdict: its deep copy of ``data`` was a third of the
        # relay's time; a shallow copy keeps the envelope's own dicts untouched.
        actor = dict(self.actor) if self.actor is not None else None
        return {name: getattr(self, name) for name in _FIELDS} | {
            "actor": actor,
            "data": dict(self.data),
        }

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
        """Check an envelope and its payload; raise ``InvalidEnvelope`` naming the fields.

        An envelope without ``actor`` (published before envelopes carried one) is
        taken with none.
        """
        if passes(_ENVELOPE, raw):  # the usual case, checked by the same fields
            actor = raw.get("actor")
            actor = dict(actor) if actor is not None else None
        else:
            try:
                actor = _ENVELOPE.load(raw)["actor"]
            except ValidationError as error:
                messages = error.messages
                raise InvalidEnvelope(
                    messages if isinstance(messages, dict) else {"_": messages}
                ) from None
        try:
            CATALOGUE.validate(raw["type"], raw["data"], raw["schema_version"], strict=False)
        except UnknownEventType as error:
            raise InvalidEnvelope({"type": [str(error)]}) from None
        except InvalidEvent as error:
            raise InvalidEnvelope({"data": error.errors}) from None
        return cls(**{**raw, "data": dict(raw["data"]), "actor": actor}).upcast()

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


class ActorSchema(Schema):
    """Who did it: the account or API key the gateway served (see the module docstring)."""

    class Meta:
        unknown = RAISE

    id = f.text(MAX_ACTOR_ID, metadata={"description": "The account id or API key id."})
    username = f.text(
        MAX_ACTOR_USERNAME,
        metadata={"description": "The account's username, or key:<name> for an API key."},
    )
    role = f.text(
        MAX_ACTOR_ROLE,
        metadata={"description": "librarian, assistant, teacher, student, operator, system..."},
    )


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
    actor = fields.Nested(
        ActorSchema,
        load_default=None,
        allow_none=True,
        metadata={"description": "Who did it; null or left out when nobody is known."},
    )
    data = fields.Dict(required=True)


_FIELDS = tuple(f.name for f in fields_of(Envelope) if f.name not in ("data", "actor"))
_ENVELOPE = EnvelopeSchema(unknown=RAISE)  # built once: building a schema costs more than a load
_ACTOR = ActorSchema()
