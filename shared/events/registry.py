"""The registry of event types and their payload schemas.

Each event type is registered once, by name and schema version, with the service
that publishes it and a marshmallow schema for its ``data``. Publishers validate
strictly (unknown fields refused); consumers validate leniently so that fields
added later within a version do not break an older reader. A breaking change is a
new version with an upcaster from the one before, so old stored events still load.

Fields that carry personal data are marked where they are declared
(``shared.events.fields.personal``); the catalogue answers from those marks which
event types (``carries_personal_data``) and which sources (``personal_sources``)
publish any, so a reader's right to them is decided from the same place.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from marshmallow import INCLUDE, RAISE, Schema, ValidationError, fields

from shared.events.fields import is_personal
from shared.fast_check import passes

Payload = Mapping[str, Any]
Upcaster = Callable[[dict[str, Any]], dict[str, Any]]


class UnknownEventType(LookupError):
    """Raised when an event type (or version of it) is not in the catalogue."""

    def __init__(self, name: str, version: int | None = None) -> None:
        self.name = name
        self.version = version
        which = name if version is None else f"{name} v{version}"
        super().__init__(f"unknown event type: {which!r}")


class InvalidEvent(ValueError):
    """Raised when an event's payload does not match its schema.

    ``errors`` maps each offending field to marshmallow's messages for it.
    """

    def __init__(self, name: str, errors: Mapping[str, Any]) -> None:
        self.name = name
        self.errors = dict(errors)
        fields = ", ".join(sorted(str(key) for key in self.errors))
        super().__init__(f"invalid {name} event: bad field(s) {fields}: {self.errors}")


@dataclass(frozen=True)
class EventType:
    """One version of one event type."""

    name: str
    version: int
    source: str
    schema: type[Schema]
    description: str

    def errors(self, data: Any, *, strict: bool = True) -> dict[str, Any]:
        """Return the schema errors of ``data`` (empty when it is valid)."""
        if not isinstance(data, Mapping):
            return {"data": ["Payload must be an object."]}
        validator = _validator(self.schema, strict)
        if passes(validator, data):
            return {}
        return validator.validate(data)

    @functools.cached_property
    def personal_fields(self) -> tuple[str, ...]:
        """The payload's personal fields as paths: ``patron_id``, ``ranking[].patron_id``."""
        return tuple(_personal_paths(self.schema().fields, ""))

    @property
    def carries_personal_data(self) -> bool:
        return bool(self.personal_fields)


def _personal_paths(declared: Mapping[str, fields.Field], prefix: str) -> Iterator[str]:
    """The marked fields of a schema, nested schemas and lists of them included, in order."""
    for name, field in declared.items():
        path = prefix + (field.data_key or name)
        if is_personal(field):
            yield path
            continue
        while isinstance(field, fields.List):
            field, path = field.inner, path + "[]"
            if is_personal(field):
                yield path
        if isinstance(field, fields.Nested):
            yield from _personal_paths(field.schema.fields, path + ".")


@functools.cache
def _validator(schema: type[Schema], strict: bool) -> Schema:
    """One schema instance per type and strictness: building one per event is the slow part."""
    return schema(unknown=RAISE if strict else INCLUDE)


class EventCatalogue:
    """All event types by name and version, with upcasters between versions."""

    def __init__(self) -> None:
        self._types: dict[tuple[str, int], EventType] = {}
        self._latest: dict[str, int] = {}
        self._upcasters: dict[tuple[str, int], Upcaster] = {}

    def register(
        self, source: str, name: str, schema: type[Schema], *, version: int = 1
    ) -> EventType:
        """Add an event type; a name/version pair can be registered only once."""
        key = (name, version)
        if key in self._types:
            raise ValueError(f"event type {name} v{version} is already registered")
        description = (schema.__doc__ or "").strip()
        event_type = EventType(name, version, source, schema, description)
        self._types[key] = event_type
        self._latest[name] = max(version, self._latest.get(name, 0))
        return event_type

    def upcaster(self, name: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
        """Decorate a function turning ``name`` v``from_version`` data into the next version."""

        def register(function: Upcaster) -> Upcaster:
            self._upcasters[(name, from_version)] = function
            return function

        return register

    def get(self, name: str, version: int | None = None) -> EventType:
        """The event type ``name`` at ``version`` (default: its latest version)."""
        if version is None:
            version = self.latest_version(name)
        try:
            return self._types[(name, version)]
        except KeyError:
            raise UnknownEventType(name, version) from None

    def latest_version(self, name: str) -> int:
        try:
            return self._latest[name]
        except KeyError:
            raise UnknownEventType(name) from None

    def validate(
        self, name: str, data: Any, version: int | None = None, *, strict: bool = True
    ) -> EventType:
        """Check ``data`` against its schema; raise naming every bad field."""
        event_type = self.get(name, version)
        errors = event_type.errors(data, strict=strict)
        if errors:
            raise InvalidEvent(name, errors)
        return event_type

    def upcast(self, name: str, version: int, data: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """Bring stored ``data`` of ``version`` up to the latest version of ``name``."""
        latest = self.latest_version(name)
        while version < latest:
            try:
                step = self._upcasters[(name, version)]
            except KeyError:
                raise UnknownEventType(name, version) from None
            data = step(dict(data))
            version += 1
        return version, data

    def types(self, source: str | None = None) -> list[EventType]:
        """Every registered type, optionally only one source's, sorted by name and version."""
        chosen = [t for t in self._types.values() if source is None or t.source == source]
        return sorted(chosen, key=lambda t: (t.source, t.name, t.version))

    def sources(self) -> list[str]:
        return sorted({t.source for t in self._types.values()})

    def carries_personal_data(self, name: str, version: int | None = None) -> bool:
        """True when events of type ``name`` carry personal data (a reader needs the right).

        Without ``version``: when any registered version does, so a reader is never
        shown an older or newer version's personal fields by mistake. Raises
        ``UnknownEventType`` for a type not in the catalogue.
        """
        if version is not None:
            return self.get(name, version).carries_personal_data
        if name not in self:
            raise UnknownEventType(name)
        return any(t.carries_personal_data for t in self._types.values() if t.name == name)

    def personal_sources(self) -> list[str]:
        """The sources that publish at least one event type carrying personal data, sorted."""
        return sorted({t.source for t in self._types.values() if t.carries_personal_data})

    def __contains__(self, name: object) -> bool:
        return name in self._latest


CATALOGUE = EventCatalogue()


def validation_errors(error: ValidationError) -> dict[str, Any]:
    """marshmallow's messages as a plain dict keyed by field."""
    messages = error.messages
    return messages if isinstance(messages, dict) else {"_schema": messages}
