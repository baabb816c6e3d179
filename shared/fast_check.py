"""Whether marshmallow would load a payload, answered without its per-load machinery.

Every follower checks every event it receives against the envelope's schema and the
event type's (the poison-event guarantee), and ``Schema.load`` spends most of its time
around the fields rather than in them: an error store, a closure and a call chain per
field, hooks looked up. ``passes`` runs the same bound fields of the same schema, each
with its own ``deserialize`` (type, ``required``, ``allow_none``, validators, nested
schemas), and checks for unknown keys as the schema's ``unknown`` says. It is used where
most payloads are valid: when it says no, or when a schema has anything it does not run
(hooks, ``@validates``, ``many``, ``partial``), marshmallow itself is asked, and its
answer and messages are the ones given.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from marshmallow import RAISE, Schema, ValidationError
from marshmallow.utils import missing


def passes(schema: Schema, data: Any) -> bool:
    """True when ``schema.validate(data)`` would find nothing; False when it might."""
    plan = _plan(schema)
    if plan is None or not isinstance(data, Mapping):
        return False
    fields, known, raises = plan
    if raises and not known.issuperset(data):
        return False
    try:
        for key, field in fields:
            field.deserialize(data.get(key, missing), key, data)
    except ValidationError:
        return False
    return True


Plan = tuple[tuple[tuple[str, Any], ...], frozenset[str], bool] | None
_PLAN = "_fast_check_plan"  # kept on the schema instance: it lives as long as the schema


def _plan(schema: Schema) -> Plan:
    """The (input key, bound field) pairs to run, the keys known and whether others are an
    error; None for a schema whose load does more than its fields (then marshmallow runs)."""
    try:
        return schema.__dict__[_PLAN]
    except KeyError:
        pass
    plan: Plan = None
    if not (schema.many or schema.partial or any(schema._hooks.values())):
        fields = tuple(
            (field.data_key if field.data_key is not None else name, field)
            for name, field in schema.load_fields.items()
        )
        plan = fields, frozenset(key for key, _ in fields), schema.unknown == RAISE
    schema.__dict__[_PLAN] = plan
    return plan
