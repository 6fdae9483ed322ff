"""A model's check constraints validated in one query, not one query and a savepoint each.

Django's `Model.validate_constraints` (called by `full_clean`) evaluates each CheckConstraint
in the database with its own `SELECT` inside its own savepoint: three statements a constraint
(a Murray CRF has six). `OneQueryCheckConstraints.validate_constraints` evaluates every check
constraint of the model in one `SELECT`, inside one savepoint, with the same rules as Django's:
a constraint that refers to an excluded field is skipped, a NULL result passes (SQL's CHECK),
a database error passes with a warning (the constraint in the database is the backstop), and
the error is the constraint's own message and code. Other constraints (unique) go through
Django's own `validate`. tests/test_validation_constraints.py compares both, issue 24.
"""

from __future__ import annotations

import logging
from contextlib import nullcontext

from django.core.exceptions import FieldError, ValidationError
from django.db import DatabaseError, connections, router, transaction
from django.db.models import BooleanField, CheckConstraint, Q, Value
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
