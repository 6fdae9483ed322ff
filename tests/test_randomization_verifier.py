"""The verifier: the checksum recorded at creation against the stored list (SPEC §3)."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from randomization import blocks, selectors, services
from randomization.exceptions import ListTampered
from randomization.models import Slot

from .randomization_factories import statistician

pytestmark = pytest.mark.django_db


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(seed=st.integers(min_value=0, max_value=2**62), phase=st.sampled_from(["I", "II"]))
def test_the_database_checksum_is_the_checksum_of_the_csv(roles, seed, phase):
    rlist = services.list_generate(phase=phase, stratum="A", seed=seed, user=statistician())
    rows = selectors.list_rows(rlist)
    assert selectors.list_checksum(rlist) == blocks.checksum(rows) == rlist.checksum


@pytest.mark.parametrize("field", ["sequence", "block", "block_size", "arm", "envelope_code"])
def test_any_edit_to_a_stored_slot_stops_randomization(roles, field):
    rlist = services.list_generate(phase="I", stratum="A", seed=3, user=statistician())
    slot = rlist.slots.order_by("sequence").first()
    changed = {
        "sequence": 99,
        "block": 9,
        "block_size": 8,
        "arm": "placebo" if slot.arm == "exosome" else "exosome",
        "envelope_code": "QQQQQQ",
    }[field]
    Slot.objects.filter(pk=slot.pk).update(**{field: changed})
    with pytest.raises(ListTampered):
        services.list_verify(rlist)


def test_a_deleted_or_added_slot_stops_randomization(roles):
    rlist = services.list_generate(phase="I", stratum="B", seed=4, user=statistician())
    services.list_verify(rlist)
    last = rlist.slots.order_by("sequence").last()
    last.delete()
    with pytest.raises(ListTampered):
        services.list_verify(rlist)
