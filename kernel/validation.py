"""A model's check constraints validated in one query, not one query and a savepoint each.

Django's `Model.validate_constraints` (called by `full_clean`) evaluates each CheckConstraint
in the database with its own `SELECT` inside its own savepoint: three statements a constraint
(a Murray CRF has six). `OneQueryCheckConstraints.validate_constraints` evaluates every check
constraint of the model in one `SELECT`, inside one savepoint, with the same rules as Django's:
a constraint that refers to an excluded field is skipped, a NULL result passes (SQL's CHECK),
a database error passes with a warning (the constraint in the database is the backstop), and
the error is the constraint's own message and code. Other constraints (unique) go through
Django's own `validate`. tests/test_validation_constraints.py compares both, issue 24.

Since issue 24's fourth pass a condition made only of comparisons of the instance's own values
with constants (a range, a NULL test, a list of choices: every CRF's limits) is evaluated in
Python by the database's rules (SQL's three-valued logic, numbers compared exactly), with no
statement; only the others (another field, an expression, a float, a date, a text compared by
order) are asked of the database, still in one SELECT. The database enforces every constraint
at the write as before. tests/test_validation_constraints.py compares each verdict of every
such constraint with the database's at and around each of its constants and NULL.
"""

from __future__ import annotations

import logging
from contextlib import nullcontext
from decimal import Decimal
from typing import Any

from django.core.exceptions import FieldError, ValidationError
from django.db import DatabaseError, connections, router, transaction
from django.db.models import BooleanField, CheckConstraint, Q, Value
from django.db.models.constants import LOOKUP_SEP
from django.db.models.functions import Coalesce
from django.db.models.sql import Query
from django.db.models.sql.constants import SINGLE

from kernel.trial import TRIAL

logger = logging.getLogger(__name__)


def within_hard_limit(field_name: str, limit_key: str) -> Q:
    """A check constraint's condition: `field_name` empty or within TRIAL.hard_limits[limit_key]
    (the database's backstop behind kernel.limits.hard_limit_error, from the same numbers)."""
    limit = TRIAL.hard_limits[limit_key]
    return Q(**{f"{field_name}__isnull": True}) | Q(
        **{f"{field_name}__gte": limit.minimum, f"{field_name}__lte": limit.maximum}
    )


class OneQueryCheckConstraints:
    """Mixin for a model: its check constraints in one query (see the module's docstring)."""

    def validate_constraints(self, exclude=None):
        using = router.db_for_write(self.__class__, instance=self)
        errors: dict = {}
        for model_class, constraints in self.get_constraints():  # type: ignore[attr-defined]
            checks = []
            for constraint in constraints:
                if isinstance(constraint, CheckConstraint):
                    checks.append(constraint)
                    continue
                try:
                    constraint.validate(model_class, self, exclude=exclude, using=using)
                except ValidationError as error:
                    if getattr(error, "code", None) == "unique" and len(constraint.fields) == 1:
                        errors.setdefault(constraint.fields[0], []).append(error)
                    else:
                        errors = error.update_error_dict(errors)
            for constraint in _failed_checks(model_class, self, checks, exclude, using):
                error = ValidationError(
                    constraint.get_violation_error_message(), code=constraint.violation_error_code
                )
                errors = error.update_error_dict(errors)
        if errors:
            raise ValidationError(errors)


def _failed_checks(model_class, instance, checks, exclude, using) -> list[CheckConstraint]:
    if not checks:
        return []
    against = instance._get_field_expression_map(meta=model_class._meta, exclude=exclude)
    # A condition of plain comparisons of the instance's own values with constants (a range, a
    # NULL test, a list of choices: every CRF's limits) is evaluated here, by the database's
    # rules; any other (another field, an expression, a value of another kind) in the query.
    verdicts = {id(c): _evaluated_here(c.condition, against) for c in checks}
    in_database = [c for c in checks if verdicts[id(c)] is _ASK_THE_DATABASE]
    failed_there = set(map(id, _failed_in_database(in_database, against, using)))
    return [
        c
        for c in checks
        if verdicts[id(c)] is False
        or (verdicts[id(c)] is _ASK_THE_DATABASE and id(c) in failed_there)
    ]


# What _evaluated_here answers besides True, False and None (SQL's unknown, which passes).
_ASK_THE_DATABASE = object()
_EXCLUDED = object()  # the condition names an excluded field: skipped, as Django does
_COMPARISONS = {
    "gt": lambda a, b: a > b,
    "gte": lambda a, b: a >= b,
    "lt": lambda a, b: a < b,
    "lte": lambda a, b: a <= b,
}


class _NotHere(Exception):
    """A condition this module does not evaluate itself: the database does."""


def _number(value) -> bool:
    return isinstance(value, (int, Decimal)) and not isinstance(value, bool)


def _evaluated_here(condition, against: dict) -> Any:
    """The condition's truth (True, False, None for SQL's NULL) for the instance's values, or
    _EXCLUDED, or _ASK_THE_DATABASE. Only comparisons of numbers (int, Decimal: compared
    exactly, as PostgreSQL compares numeric and integer), equality and lists of texts or
    numbers, NULL tests and ranges, joined by AND, OR and NOT with SQL's three-valued logic;
    anything else goes to the database (floats, dates, texts compared by order, expressions)."""
    try:
        return _truth(condition, against)
    except _NotHere:
        return _ASK_THE_DATABASE
    except KeyError:
        return _EXCLUDED


def _truth(node, against: dict) -> bool | None:
    if isinstance(node, Q):
        if node.connector not in (Q.AND, Q.OR):
            raise _NotHere
        results = [_truth(child, against) for child in node.children]
        if node.connector == Q.AND:
            result = False if False in results else (None if None in results else True)
        else:
            result = True if True in results else (None if None in results else False)
        if node.negated and result is not None:
            result = not result
        return result
    if not isinstance(node, tuple) or len(node) != 2:
        raise _NotHere
    key, constant = node
    name, _, lookup = key.partition(LOOKUP_SEP)
    lookup = lookup or "exact"
    if LOOKUP_SEP in lookup or hasattr(constant, "resolve_expression"):
        raise _NotHere  # a related field's value, or another field or an expression
    if name not in against:
        # Django's query names the fields it is given (and "pk"): any other name is either an
        # excluded field or not a field, and either way the condition is skipped there.
        raise KeyError(name)
    held = against[name]
    if not isinstance(held, Value):
        raise _NotHere  # a generated field's expression
    value = held.value
    if lookup == "isnull":
        if not isinstance(constant, bool):
            raise _NotHere
        return (value is None) == constant
    if lookup == "exact" and constant is None:
        return value is None  # Django: Q(field=None) is IS NULL
    if lookup in ("exact", "in"):
        choices = [constant] if lookup == "exact" else list(constant)
        if not choices or not all(_number(c) or isinstance(c, str) for c in choices):
            raise _NotHere
        if value is None:
            return None
        if not (_number(value) and all(map(_number, choices))) and not (
            isinstance(value, str) and all(isinstance(c, str) for c in choices)
        ):
            raise _NotHere
        return value in choices
    if lookup == "range":
        low, high = constant
        return _truth(Q(**{f"{name}__gte": low, f"{name}__lte": high}), against)
    if lookup not in _COMPARISONS or not _number(constant):
        raise _NotHere
    if value is None:
        return None
    if not _number(value):
        raise _NotHere
    return _COMPARISONS[lookup](value, constant)


def _failed_in_database(checks, against: dict, using) -> list[CheckConstraint]:
    """The checks evaluated by the database, all of them in one SELECT inside one savepoint."""
    if not checks:
        return []
    query = Query(None)
    for name, value in against.items():
        if not hasattr(value, "resolve_expression"):
            value = Value(value)
        query.add_annotation(value, name, select=False)
    evaluated = []
    for index, constraint in enumerate(checks):
        try:  # a FieldError: the condition refers to an excluded field (skipped, as Django does)
            query.add_annotation(
                Coalesce(Q(constraint.condition), True, output_field=BooleanField()),
                f"_check_{index}",
            )
        except FieldError:
            continue
        evaluated.append(constraint)
    if not evaluated:
        return []
    connection = connections[using]
    savepoint = transaction.atomic(using=using) if connection.in_atomic_block else nullcontext()
    try:
        with savepoint:
            row = query.get_compiler(using=using).execute_sql(SINGLE)
    except DatabaseError as error:
        logger.warning("Got a database error checking %r: %s", evaluated, error)
        return []
    return [c for c, passed in zip(evaluated, row, strict=True) if not passed]
