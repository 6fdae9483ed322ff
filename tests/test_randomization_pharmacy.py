"""The unblinded pharmacist: arm, weight, dose, preparation, hand-over, label, PDF (SPEC §3)."""

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from kernel import concurrency
from kernel.roles import Role
from randomization import dosing, services
from randomization.exceptions import PreparationError
from randomization.models import Preparation

from . import outcomes_factories as of
from .factories import UserFactory
from .randomization_factories import EXOSOME, PLACEBO, randomized_participant, store_list

# -- the dose (registry: 100 million exosomes per kg in 2 ml normal saline) --------------------


def test_the_dose_is_weight_times_one_hundred_million_made_up_to_two_ml():
    dose = dosing.syringe(
        active=True,
        weight_kg=Decimal("70"),
        dose_per_kg=100_000_000,
        concentration_million_per_ml=Decimal("5000"),
        total_volume_ml=Decimal("2"),
    )
    assert dose.exosomes_million == Decimal("7000.0")  # 70 kg × 100 × 10⁶ = 7 × 10⁹
    assert dose.product_volume_ml == Decimal("1.40")
    assert dose.saline_volume_ml == Decimal("0.60")


def test_placebo_is_two_ml_of_saline():
    dose = dosing.syringe(
        active=False,
        weight_kg=Decimal("70"),
        dose_per_kg=100_000_000,
        concentration_million_per_ml=None,
        total_volume_ml=Decimal("2"),
    )
    assert (dose.product_volume_ml, dose.saline_volume_ml) == (Decimal("0.00"), Decimal("2.00"))


def test_a_lot_too_dilute_for_two_ml_is_refused_with_the_volume_it_would_need():
    with pytest.raises(dosing.LotTooDilute, match="needs 3.50 ml of this lot"):
        dosing.syringe(
            active=True,
            weight_kg=Decimal("70"),
            dose_per_kg=100_000_000,
            concentration_million_per_ml=Decimal("2000"),
            total_volume_ml=Decimal("2"),
        )


# -- pages and services ----------------------------------------------------------------------


@pytest.fixture
def pharmacist(roles, site01):
    return UserFactory(username="pharma", role=Role.PHARMACIST, sites=[site01])


@pytest.fixture
def two_arms(db, roles, site01):
    store_list(phase="I", stratum="B", arms=[EXOSOME, PLACEBO] * 3)
    active = randomized_participant(site=site01, support="none")
    placebo = randomized_participant(site=site01, support="none")
    assert (active.slot.arm, placebo.slot.arm) == (EXOSOME, PLACEBO)
    return active, placebo


def baseline_weight(randomization, weight_kg) -> None:
    """The weight on the Baseline CRF (Day 0), as the site enters it: the dose's source."""
    of.crf(randomization.participant, "D0", "baseline", complete=False, weight_kg=weight_kg)


def prepare(randomization, user, **overrides):
    # Issue 18: the weight is the Baseline CRF's, not typed by the pharmacist (this helper
    # typed it before; it now enters it on the Baseline CRF once).
    weight = overrides.pop("weight_kg", Decimal("80.0"))
    if services.dosing_weight(randomization.participant) is None:
        baseline_weight(randomization, weight)
    data = {
        "lot_number": "EXO-2021-03",
        "concentration_million_per_ml": Decimal("10000"),
        "lot_expiry": timezone.localdate() + timedelta(days=30),
        "checked_by": "Second Pharmacist",
    }
    data.update(overrides)
    return services.preparation_record(randomization=randomization, user=user, **data)


def test_the_pharmacist_sees_the_arm_and_the_computed_dose(client, login, pharmacist, two_arms):
    active, placebo = two_arms
    baseline_weight(active, Decimal("80"))
    login(pharmacist)
    listing = client.get("/randomization/pharmacy/").content.decode()
    assert 'data-arm="exosome">Exosome<' in listing
    assert 'data-arm="placebo">Placebo<' in listing
    url = f"/randomization/pharmacy/{active.participant.study_id}/"
    response = client.post(
        url,
        {
            "prepare": "1",
            "calculate": "1",
            "lot_number": "EXO-1",
            "concentration_million_per_ml": "10000",
            "lot_expiry": "2030-01-01",
            "checked_by": "B",
        },
    )
    body = response.content.decode()
    assert "8000.0 million exosomes: 0.80 ml of the lot + 1.20 ml normal saline = 2 ml" in body
    assert "<strong>80.0 kg</strong>" in body  # the Baseline CRF's weight, shown
    assert 'name="weight_kg"' not in body  # not typed again
    assert not Preparation.objects.exists()  # calculating records nothing


def test_preparation_and_hand_over_are_recorded(pharmacist, two_arms):
    active, _ = two_arms
    preparation = prepare(active, pharmacist)
    assert (preparation.product_volume_ml, preparation.saline_volume_ml) == (
        Decimal("0.80"),
        Decimal("1.20"),
    )
    assert preparation.prepared_by == pharmacist
    services.handover_record(
        preparation=preparation,
        user=pharmacist,
        handed_over_to="Nurse Ava",
        opened_version=concurrency.version_of(preparation),
    )
    preparation.refresh_from_db()
    assert preparation.handed_over_to == "Nurse Ava"
    assert preparation.handed_over_at is not None
    with pytest.raises(PreparationError, match="already handed over"):
        services.handover_record(
            preparation=preparation,
            user=pharmacist,
            handed_over_to="X",
            opened_version=concurrency.version_of(preparation),
        )


def test_placebo_needs_no_lot_and_stores_none(pharmacist, two_arms):
    _, placebo = two_arms
    preparation = prepare(placebo, pharmacist, lot_number="", concentration_million_per_ml=None)
    assert preparation.lot_number == ""
    assert preparation.saline_volume_ml == Decimal("2.00")


def test_an_active_dose_without_lot_or_with_an_expired_lot_is_refused(pharmacist, two_arms):
    active, _ = two_arms
    with pytest.raises(PreparationError, match="lot number, its concentration"):
        prepare(active, pharmacist, lot_number="")
    with pytest.raises(PreparationError, match="expired"):
        prepare(active, pharmacist, lot_expiry=timezone.localdate() - timedelta(days=1))


def test_a_dose_is_prepared_once(pharmacist, two_arms):
    active, _ = two_arms
    prepare(active, pharmacist)
    with pytest.raises(PreparationError, match="already prepared"):
        prepare(active, pharmacist)


def test_a_form_error_keeps_what_was_typed(client, login, pharmacist, two_arms):
    # Issue 18: the weight is no longer typed here; a concentration below 1 is the form error.
    active, _ = two_arms
    baseline_weight(active, Decimal("80"))
    login(pharmacist)
    response = client.post(
        f"/randomization/pharmacy/{active.participant.study_id}/",
        {
            "prepare": "1",
            "record": "1",
            "concentration_million_per_ml": "0",
            "lot_number": "EXO-KEEP-ME",
            "checked_by": "B",
        },
    )
    body = response.content.decode()
    assert "Ensure this value is greater than or equal to 1" in body
    assert 'value="EXO-KEEP-ME"' in body
    assert not Preparation.objects.exists()


def test_the_syringe_label_is_the_same_for_both_arms(client, login, pharmacist, two_arms):
    active, placebo = two_arms
    # Both doses prepared at the same instant: the label prints the minute of preparation, and
    # two preparations either side of a minute's turn would differ by it, not by the arm.
    with time_machine.travel(timezone.now(), tick=False):
        prepare(active, pharmacist)
        prepare(placebo, pharmacist, lot_number="", concentration_million_per_ml=None)
    login(pharmacist)

    def label(randomization):
        body = client.get(
            f"/randomization/pharmacy/{randomization.participant.study_id}/label/"
        ).content.decode()
        text = body.split('data-testid="label">')[1].split("</pre>")[0]
        for value in (
            randomization.participant.study_id,
            randomization.slot.number,
            randomization.slot.envelope_code,
        ):
            text = text.replace(value, "<id>")
        return text

    a, b = label(active), label(placebo)
    assert a == b
    for word in ("xosome", "lacebo", "EXO-2021", "0.80"):
        assert word not in a


def test_the_pdf_list_carries_the_arms_for_the_pharmacist_only(client, login, pharmacist, two_arms):
    login(pharmacist)
    response = client.get("/randomization/pharmacy/list.pdf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")


def test_a_pharmacist_of_another_site_sees_nothing_of_site_01(
    client, login, roles, site02, two_arms
):
    active, _ = two_arms
    other = UserFactory(username="pharma2", role=Role.PHARMACIST, sites=[site02])
    login(other)
    assert "01-" not in client.get("/randomization/pharmacy/").content.decode().split("<main")[1]
    response = client.get(f"/randomization/pharmacy/{active.participant.study_id}/")
    assert response.status_code == 404  # as for a participant that does not exist (issue 20)
    with pytest.raises(PreparationError, match="not assigned"):
        prepare(active, other)


def test_a_too_dilute_lot_is_a_clear_message_on_the_page(client, login, pharmacist, two_arms):
    active, _ = two_arms
    baseline_weight(active, Decimal("100"))
    login(pharmacist)
    body = client.post(
        f"/randomization/pharmacy/{active.participant.study_id}/",
        {
            "prepare": "1",
            "calculate": "1",
            "lot_number": "EXO-1",
            "concentration_million_per_ml": "1000",
            "lot_expiry": "2030-01-01",
            "checked_by": "B",
        },
    ).content.decode()
    assert "the dose needs 10.00 ml of it, more than the 2 ml syringe" in body


# -- issue 18: the weight from its source, the hand-over before the infusion -------------------


def test_the_dose_is_prepared_from_the_baseline_weight_and_not_without_it(pharmacist, two_arms):
    """The weight is entered once, on the Baseline CRF; the pharmacist's preparation takes it
    from there (registry: 100 million exosomes per kg): 72.5 kg -> 7250 million exosomes,
    0.725 ml of a 10,000 million/ml lot."""
    active, _ = two_arms
    with pytest.raises(PreparationError, match="Baseline CRF .Day 0. has no weight yet"):
        services.preparation_record(
            randomization=active,
            user=pharmacist,
            lot_number="EXO-1",
            concentration_million_per_ml=Decimal("10000"),
            lot_expiry=timezone.localdate() + timedelta(days=30),
            checked_by="B",
        )
    baseline_weight(active, Decimal("72.5"))
    preparation = prepare(active, pharmacist)
    assert preparation.weight_kg == Decimal("72.5")
    assert preparation.product_volume_ml == Decimal("0.73")  # 0.725 ml, to 0.01 ml


def test_a_weight_corrected_after_the_preparation_raises_a_query_to_the_pharmacist(
    pharmacist, two_arms
):
    from datamanagement.models import Notification, Query

    active, _ = two_arms
    prepare(active, pharmacist, weight_kg=Decimal("80.0"))
    baseline_weight(active, Decimal("80.0"))  # saved again, same weight: nothing to review
    assert not Query.objects.filter(field_name="weight_kg").exists()
    baseline_weight(active, Decimal("68.0"))
    query = Query.objects.get(field_name="weight_kg")
    assert query.crf_code == "baseline"
    assert "Weight corrected to 68.0 kg after the dose was prepared from 80.0 kg" in query.text
    assert "xosome" not in query.text  # arm-free
    assert Notification.objects.filter(recipient=pharmacist, text=query.text).exists()
