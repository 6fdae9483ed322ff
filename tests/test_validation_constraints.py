"""kernel.validation.OneQueryCheckConstraints: a CRF's check constraints in one query, with the
same outcome as Django's one-query-and-savepoint-each (issue 24, docs/performance.md)."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, models, transaction
from django.test.utils import CaptureQueriesContext

from outcomes.models import BloodGas, Infusion, Murray

pytestmark = pytest.mark.django_db


def djangos(instance, exclude=None):
    """The errors Django's own Model.validate_constraints gives, or None."""
    try:
        models.Model.validate_constraints(instance, exclude=exclude)
    except ValidationError as error:
        return error.message_dict
    return None


def ours(instance, exclude=None):
    try:
        instance.validate_constraints(exclude=exclude)
    except ValidationError as error:
        return error.message_dict
    return None


MURRAY_CASES = [
    {},  # every value passes
    {"fio2": Decimal("1.5")},
    {"pao2_mmhg": Decimal("9000")},
    {"cxr_quadrants": 7},
    {"total": 20, "score": Decimal("5")},
    {"peep_cmh2o": Decimal("10"), "respiratory_support": "nasal_cannula"},
    {"fio2": Decimal("0.01"), "pao2_mmhg": Decimal("1"), "cxr_quadrants": 9},
]


@pytest.mark.parametrize("values", MURRAY_CASES)
@pytest.mark.parametrize("exclude", [None, {"fio2", "total"}])
def test_the_same_errors_as_djangos_validation(values, exclude):
    murray = Murray(
        pao2_mmhg=Decimal("80"),
        fio2=Decimal("0.5"),
        cxr_quadrants=2,
        respiratory_support="invasive_ventilation",
        peep_cmh2o=Decimal("8"),
        compliance_ml_cmh2o=Decimal("40"),
    )
    for name, value in values.items():
        setattr(murray, name, value)
    with transaction.atomic():
        assert ours(murray, exclude) == djangos(murray, exclude)
    if values and exclude is None:
        assert ours(murray) is not None  # each case breaks a constraint


def test_one_query_in_one_savepoint_for_all_the_check_constraints():
    # Since issue 24's fourth pass only the conditions that are not plain comparisons with
    # constants are asked of the database (a blood gas's limits are checked in Python, below):
    # the infusion's end compared with its start, with the plain ones of a CRF beside it.
    start = datetime(2026, 1, 1, 8, tzinfo=UTC)
    infusion = Infusion(started_at=start, ended_at=start + timedelta(hours=1))
    with transaction.atomic(), CaptureQueriesContext(connection) as ctx:
        infusion.validate_constraints()
    selects = [q["sql"] for q in ctx.captured_queries if q["sql"].startswith("SELECT")]
    assert len(selects) == 1
    assert len(ctx.captured_queries) == 3  # SAVEPOINT, the SELECT, RELEASE
    infusion.ended_at = start - timedelta(minutes=1)
    with pytest.raises(ValidationError) as refused:
        infusion.validate_constraints()
    assert list(refused.value.message_dict) == ["__all__"]
    assert "inf_end_after_start" in str(refused.value)


# Issue 24, fourth pass: a condition of plain comparisons with constants is evaluated in
# Python (kernel.validation._evaluated_here), by the database's rules; the database is asked
# only for the others. Every check constraint of every model that validates this way, at every
# value around each of its constants and NULL: the same verdict as the database's.
def _models_with_one_query_checks():
    from django.apps import apps

    from kernel.validation import OneQueryCheckConstraints

    return [m for m in apps.get_models() if issubclass(m, OneQueryCheckConstraints)]


def _constants(node, found):
    if isinstance(node, models.Q):
        for child in node.children:
            _constants(child, found)
        return found
    key, constant = node
    name = key.split("__")[0]
    values = constant if isinstance(constant, list | tuple) else [constant]
    found.setdefault(name, set()).update(v for v in values if not isinstance(v, bool))
    return found


def _around(field, constants):
    step = Decimal(1) / 10 ** getattr(field, "decimal_places", 0)
    values = {None}
    for constant in constants:
        if isinstance(constant, str):
            values |= {constant, constant + "x"}
        elif isinstance(constant, int | Decimal):
            values |= {constant - step, constant, constant + step}
    # As full_clean leaves them on the instance: of the field's own type.
    return [field.to_python(v) for v in values]


def test_plain_conditions_are_evaluated_in_python_with_the_databases_verdict():
    import itertools

    from kernel.validation import (
        _ASK_THE_DATABASE,
        _EXCLUDED,
        _evaluated_here,
        _failed_in_database,
    )

    here = compared = 0
    for model in _models_with_one_query_checks():
        for constraint in model._meta.constraints:
            if not isinstance(constraint, models.CheckConstraint):
                continue
            fields = _constants(constraint.condition, {})
            grid = [_around(model._meta.get_field(name), fields[name]) for name in fields]
            for values in itertools.product(*grid):
                instance = model(**dict(zip(fields, values, strict=True)))
                against = instance._get_field_expression_map(meta=model._meta)
                verdict = _evaluated_here(constraint.condition, against)
                assert verdict is not _EXCLUDED
                if verdict is _ASK_THE_DATABASE:
                    continue
                with transaction.atomic():
                    refused = _failed_in_database([constraint], against, "default")
                assert (verdict is False) == bool(refused), (model, constraint, values, verdict)
                compared += 1
            here += _evaluated_here(constraint.condition, against) is not _ASK_THE_DATABASE
    assert here >= 20  # every CRF's limits, at least
    assert compared > 200


def test_a_crfs_limits_are_checked_without_a_query_and_still_refused():
    gas = BloodGas(pao2_mmhg=Decimal("80"), fio2=Decimal("0.5"))
    with CaptureQueriesContext(connection) as ctx:
        gas.validate_constraints()
    assert ctx.captured_queries == []
    gas.fio2 = Decimal("3")
    with pytest.raises(ValidationError) as refused:
        gas.validate_constraints()
    assert "abg_fio2" in str(refused.value)
    gas.fio2 = None  # NULL passes, as SQL's CHECK
    gas.validate_constraints()


def test_an_excluded_field_skips_its_condition_here_as_in_the_database():
    gas = BloodGas(pao2_mmhg=Decimal("80"), fio2=Decimal("3"))
    gas.validate_constraints(exclude={"fio2"})
    assert djangos(gas, {"fio2"}) is None
