"""kernel.validation.OneQueryCheckConstraints: a CRF's check constraints in one query, with the
same outcome as Django's one-query-and-savepoint-each (issue 24, docs/performance.md)."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, models, transaction
from django.test.utils import CaptureQueriesContext

from outcomes.models import BloodGas, Murray

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
    gas = BloodGas(pao2_mmhg=Decimal("80"), fio2=Decimal("0.5"))
    with transaction.atomic(), CaptureQueriesContext(connection) as ctx:
        gas.validate_constraints()
    selects = [q["sql"] for q in ctx.captured_queries if q["sql"].startswith("SELECT")]
    assert len(selects) == 1
    assert len(ctx.captured_queries) == 3  # SAVEPOINT, the SELECT, RELEASE
    gas.fio2 = Decimal("3")
    with pytest.raises(ValidationError) as refused:
        gas.validate_constraints()
    assert list(refused.value.message_dict) == ["__all__"]
    assert "abg_fio2" in str(refused.value)
