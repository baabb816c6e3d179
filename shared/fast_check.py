"""Whether marshmallow would load a payload, answered without its per-load machinery.

Every follower checks every event it receives against the envelope's schema and the
event type's (the poison-event guarantee), and ``Schema.load`` spends most of its time
around the fields rather than in them: an error store, a closure and a call chain per
field, an ``And`` of the validators built per value, hooks looked up. ``passes`` builds,
once per schema instance, one check per bound field that answers as the field's own
``deserialize`` would:

- a value left out, or None, is taken as ``deserialize`` takes it (``required``,
  ``load_default``, ``allow_none``);
- an exact ``str`` for a ``String``, an exact ``int`` (never a bool) for an ``Integer`` or
  a ``WholeNumber``, an exact ``dict`` for a plain ``Dict``: their ``_deserialize`` hands
  back that value unchanged, so only the validators are run, on the value itself; a
  ``Length``, ``Range``, ``OneOf`` or ``Regexp``/``Pattern`` as the test it makes;
- a ``Nested`` object is checked with the nested schema's own checks (its ``unknown``,
  ``only``/``exclude``), a ``List``'s items with its inner field's check;
- any other field runs its own ``_deserialize``, then its validators on the result.

A shortcut is taken only where it proves the value accepted. Anything else (a refusal,
another type or a subclass of it, a field class overriding ``deserialize``, ``pre_load``
or ``post_load`` on a field, a ``many`` or hooked nested schema, validators on a ``List``,
``Nested`` or ``Dict``) goes to the field's full ``deserialize``, which is what
``Schema.validate`` runs, so the answer is marshmallow's. A schema whose load does more
than its fields (hooks, ``@validates``, ``many``, ``partial``, dotted attributes) is not
answered here: ``passes`` says False and its callers ask marshmallow, whose answer and
messages are the ones given. The checks are built from a schema and its fields as they
are when it is first checked: neither is expected to change afterwards.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate
from marshmallow.utils import missing

# A field's check: (its value or ``missing``, the object it is in) -> None when accepted;
# raises ValidationError (marshmallow's own) when refused.
Check = Callable[[Any, Any], None]
# A test true only of values a validator accepts.
Proof = Callable[[Any], bool]
# The (input key, check) pairs, the keys known and whether other keys are an error.
Plan = tuple[tuple[tuple[str, Check], ...], frozenset[str], bool]

_PLAN = "_fast_check_plan"  # kept on the schema instance: it lives as long as the schema


def passes(schema: Schema, data: Any) -> bool:
    """True when ``schema.validate(data)`` would find nothing; False when it might."""
    entry = schema.__dict__.get(_PLAN)
    if entry is None or entry[0] is not schema:  # not built yet, or copied from another schema
        entry = schema.__dict__[_PLAN] = (schema, _plan(schema, schema.unknown, schema.partial))
    plan = entry[1]
    if plan is None:
        return False
    try:
        return _run(plan, data)
    except ValidationError:
        return False


def _run(plan: Plan, data: Any) -> bool:
    """True when every check takes ``data``; False when the object itself is refused (not a
    mapping, a key the schema refuses); a refused field raises."""
    checks, known, raises = plan
    if not (type(data) is dict or isinstance(data, Mapping)):
        return False
    if raises and not known.issuperset(data):
        return False
    get = data.get
    for key, check in checks:
        check(get(key, missing), data)
    return True


def _plan(schema: Schema, unknown: Any, partial: Any) -> Plan | None:
    """The checks for ``schema`` loaded with ``unknown`` and ``partial`` (as marshmallow
    resolves them); None for a schema whose load does more than its fields."""
    if schema.many or any(schema._hooks.values()) or not (partial is None or partial is False):
        return None
    if any("." in (field.attribute or name) for name, field in schema.load_fields.items()):
        return None  # dotted attributes can collide when the result is built
    # A load with a ``partial`` hands it to every field's deserialize.
    kwargs = {} if partial is None else {"partial": partial}
    checks = []
    for name, field in schema.load_fields.items():
        key = field.data_key if field.data_key is not None else name
        checks.append((key, _check(field, key, kwargs)))
    return tuple(checks), frozenset(key for key, _ in checks), unknown == RAISE


# What Field.deserialize runs around ``_deserialize``, and what that calls, by name:
# overridden on a class or an instance, the field is only ever run in full.
_WRAPPER = ("deserialize", "_validate", "_validate_all", "_validate_missing")
_OVERRIDABLE = (*_WRAPPER, "_deserialize", "_validated", "_format_num", "num_type")


def _plain(field: fields.Field) -> bool:
    """True when ``field.deserialize`` is marshmallow's own: missing/None handling, then
    ``_deserialize``, then every validator on the result, and nothing else."""
    cls = type(field)
    return (
        all(getattr(cls, name) is getattr(fields.Field, name) for name in _WRAPPER)
        and not getattr(field, "pre_load", None)
        and not getattr(field, "post_load", None)
        and not any(name in vars(field) for name in _OVERRIDABLE)
    )


def _check(field: fields.Field, key: str | None, kwargs: dict[str, Any]) -> Check:
    """The check of one bound field, read from ``key`` of its object (None: a list's item)."""
    deserialize = functools.partial(field.deserialize, **kwargs) if kwargs else field.deserialize

    def full(value: Any, data: Any) -> None:  # marshmallow's own answer
        deserialize(value, key, data)

    if not _plain(field):
        return full

    required, allow_none, default = field.required, field.allow_none, field.load_default
    call_default = callable(default)

    def absent(value: Any, data: Any) -> None:
        """A value left out or None, taken as Field.deserialize takes it; others in full."""
        if value is missing and not required:
            if call_default:
                default()  # marshmallow calls it, validating or not
        elif not (value is None and allow_none):
            deserialize(value, key, data)

    cls = type(field)
    whole_number, _ = _project_classes()
    if cls._deserialize is fields.String._deserialize:  # str(value) of an exact str is itself
        return _same_value(str, field.validators, absent)
    if cls in (fields.Integer, whole_number) and field.num_type is int:  # int(an int) is itself
        return _same_value(int, field.validators, absent)
    if (
        cls._deserialize is fields.Mapping._deserialize
        and field.mapping_type is dict
        and field.key_field is None
        and field.value_field is None
        and not field.validators  # they would get a copy
    ):
        return _same_value(dict, [], absent)
    if cls is fields.Nested and not field.validators:  # they would get the loaded object
        return _nested(field, kwargs, absent, full)
    if cls._deserialize is fields.List._deserialize and not field.validators:
        return _items(_check(field.inner, None, kwargs), absent, full)
    return _deserialized(field, key, kwargs, absent)


def _same_value(kind: type, validators: list[Any], absent: Check) -> Check:
    """A field whose ``_deserialize`` hands back a value of exactly ``kind`` unchanged: such
    a value is accepted when its validators take it. A validator whose test is known is
    asked as that test; when a test says no, the field's full ``deserialize`` answers."""
    proofs: list[Proof] = []
    others: list[Any] = []
    for validator in validators:
        proof = _proof(validator, kind)
        if proof is None:
            others.append(validator)
        else:
            proofs.append(proof)
    proved = _all_of(proofs)
    rest = _run_each(others)

    if proved is None and rest is None:

        def check(value: Any, data: Any) -> None:
            if type(value) is not kind:
                absent(value, data)

    elif rest is None:

        def check(value: Any, data: Any) -> None:
            if type(value) is not kind or not proved(value):
                absent(value, data)  # a refusal is marshmallow's to make

    elif proved is None:

        def check(value: Any, data: Any) -> None:
            if type(value) is kind:
                rest(value)
            else:
                absent(value, data)

    else:

        def check(value: Any, data: Any) -> None:
            if type(value) is kind and proved(value):
                rest(value)
            else:
                absent(value, data)

    return check


def _deserialized(
    field: fields.Field, key: str | None, kwargs: dict[str, Any], absent: Check
) -> Check:
    """Any other plain field: its own ``_deserialize``, then its validators on the result."""
    to_value = functools.partial(field._deserialize, **kwargs) if kwargs else field._deserialize
    rest = _run_each(field.validators)

    def check(value: Any, data: Any) -> None:
        if value is missing or value is None:
            absent(value, data)
        else:
            output = to_value(value, key, data)
            if rest is not None:
                rest(output)

    return check


def _items(inner: Check, absent: Check, full: Check) -> Check:
    """A ``List``: a list's items each checked as its inner field (without key or object,
    as ``List._deserialize`` runs it); a list's own validators would see the loaded list."""

    def check(value: Any, data: Any) -> None:
        if type(value) is list:
            for item in value:
                inner(item, None)
        elif value is missing or value is None:
            absent(value, data)
        else:
            full(value, data)

    return check


def _nested(field: fields.Nested, kwargs: dict[str, Any], absent: Check, full: Check) -> Check:
    """A nested object, checked with the nested schema's own checks, built when a value
    first comes (as marshmallow builds ``field.schema``)."""
    built: list[Plan | None] = []

    def check(value: Any, data: Any) -> None:
        if value is missing or value is None:
            absent(value, data)
            return
        if not built:
            schema = field.schema
            unknown = field.unknown if field.unknown is not None else schema.unknown
            partial = kwargs.get("partial")
            partial = schema.partial if partial is None else partial
            built.append(None if field.many else _plan(schema, unknown, partial))
        plan = built[0]
        if plan is None or not _run(plan, value):
            full(value, data)

    return check


def _run_each(validators: list[Any]) -> Callable[[Any], Any] | None:
    """Call every validator on a value; the first refusal raises (``And`` runs them all to
    gather the messages: the answer is the same). None when there are none."""
    tests = tuple(validators)
    if not tests:
        return None
    if len(tests) == 1:
        return tests[0]

    def run(value: Any) -> None:
        for test in tests:
            test(value)

    return run


def _all_of(proofs: list[Proof]) -> Proof | None:
    if not proofs:
        return None
    if len(proofs) == 1:
        return proofs[0]
    if len(proofs) == 2:
        first, second = proofs
        return lambda value: first(value) and second(value)
    return lambda value: all(proof(value) for proof in proofs)


def _proof(validator: Any, kind: type) -> Proof | None:
    """A test true only of values of exactly ``kind`` that ``validator`` accepts, made from
    what its ``__call__`` checks; None when not known."""
    cls = type(validator)
    _, pattern = _project_classes()
    if cls is validate.Length and kind is str:
        equal, low, high = validator.equal, validator.min, validator.max
        if equal is not None:
            return lambda value: len(value) == equal
        low = 0 if low is None else low
        if high is None:
            return lambda value: len(value) >= low
        return lambda value: low <= len(value) <= high
    if cls in (validate.Regexp, pattern) and kind is str:
        if not isinstance(validator.regex.pattern, str):
            return None
        match = validator.regex.fullmatch if cls is pattern else validator.regex.match
        return lambda value: match(value) is not None
    if cls is validate.OneOf and kind in (str, int):
        choices = validator.choices
        if type(choices) not in (tuple, list, set, frozenset):
            return None
        if not all(type(choice) in (str, int) for choice in choices):
            return None
        options = frozenset(choices)  # str and int are found alike in a tuple or a set
        return lambda value: value in options
    if cls is validate.Range and kind is int:
        low, high = validator.min, validator.max
        if not all(bound is None or type(bound) in (int, float) for bound in (low, high)):
            return None
        above = _above(low, validator.min_inclusive)
        below = _below(high, validator.max_inclusive)
        if above is None or below is None:
            return above or below or (lambda value: True)
        return lambda value: above(value) and below(value)
    return None


def _above(low: float | None, inclusive: bool) -> Proof | None:
    if low is None:
        return None
    if inclusive:
        return lambda value: value >= low
    return lambda value: value > low


def _below(high: float | None, inclusive: bool) -> Proof | None:
    if high is None:
        return None
    if inclusive:
        return lambda value: value <= high
    return lambda value: value < high


@functools.cache
def _project_classes() -> tuple[type, type]:
    """This project's ``WholeNumber`` (its ``_deserialize`` hands back an exact int
    unchanged) and ``Pattern`` (a ``Regexp`` matching the whole value); imported late, as
    the events package imports this module."""
    from shared.events.fields import Pattern, WholeNumber

    return WholeNumber, Pattern
