"""Source-data verification (issue 10): the requirement per CRF comes from the configuration;
the monitor marks fields or whole CRFs, singly or in bulk; a later change clears the mark and
tells the monitor."""

from decimal import Decimal

import pytest

from datamanagement import selectors, services
from datamanagement.exceptions import SdvNotRequired
from datamanagement.models import Notification, SdvMark
from kernel import concurrency
from kernel.roles import Role
from kernel.trial import TRIAL
from outcomes import services as outcome_services

from . import outcomes_factories as of
from .page_client import PageClient

pytestmark = pytest.mark.django_db


@pytest.fixture
def client():
    """Posts carry the version their page showed, as a browser's do (tests/page_client.py)."""
    return PageClient()


@pytest.fixture
def murray(participant):
    return of.crf(
        participant,
        "D0",
        "murray",
        pao2_mmhg=Decimal("70"),
        fio2=Decimal("0.6"),
        peep_cmh2o=Decimal("10"),
        cxr_quadrants=2,
    )


@pytest.fixture
def monitor(make_user):
    return make_user(Role.MONITOR)


def test_the_requirement_comes_from_the_configuration():
    assert selectors.sdv_required_fields("crp") == []
    assert selectors.sdv_required_fields("murray") == list(TRIAL.sdv_requirements["murray"])
    assert "pf_ratio" not in selectors.sdv_required_fields("blood_gas")  # computed, not entered
    # "all": every field entered, the Day-0 time of assessment among them (issue 18).
    assert selectors.sdv_required_fields("clinical_status") == [
        "assessed_on",
        "assessed_time",
        "status_score",
    ]


def test_the_monitor_verifies_a_whole_crf(murray, monitor):
    assert (
        services.sdv_mark(
            user=monitor,
            visit=murray.visit,
            crf_code="murray",
            opened_version=concurrency.version_of(murray),
        )
        == 5
    )
    status = selectors.sdv_of_crf(murray.visit, "murray")
    assert status.is_verified
    assert {f.name: f.mark.value for f in status.fields}["fio2"] == "0.600"


def test_the_monitor_verifies_single_fields_and_again_changes_nothing(murray, monitor):
    services.sdv_mark(
        user=monitor,
        visit=murray.visit,
        crf_code="murray",
        fields=["fio2"],
        opened_version=concurrency.version_of(murray),
    )
    assert (
        services.sdv_mark(
            user=monitor,
            visit=murray.visit,
            crf_code="murray",
            fields=["fio2"],
            opened_version=concurrency.version_of(murray),
        )
        == 0
    )
    assert selectors.sdv_of_crf(murray.visit, "murray").verified_count == 1


def test_a_field_the_configuration_does_not_ask_for_is_refused(murray, monitor):
    with pytest.raises(SdvNotRequired):
        services.sdv_mark(
            user=monitor,
            visit=murray.visit,
            crf_code="murray",
            fields=["score"],
            opened_version=concurrency.version_of(murray),
        )


@pytest.mark.parametrize("role", [r for r in Role if r != Role.MONITOR])
def test_only_monitors_verify(make_user, murray, role):
    with pytest.raises(SdvNotRequired):
        services.sdv_mark(
            user=make_user(role),
            visit=murray.visit,
            crf_code="murray",
            opened_version=concurrency.version_of(murray),
        )


def test_a_change_after_verification_clears_the_mark_and_tells_the_monitor(murray, monitor):
    services.sdv_mark(
        user=monitor,
        visit=murray.visit,
        crf_code="murray",
        opened_version=concurrency.version_of(murray),
    )
    outcome_services.crf_save(
        visit=murray.visit,
        crf_code="murray",
        values={"fio2": Decimal("0.5")},
        complete=True,
        user=of._entry_user(murray.visit.participant),
        opened_version=concurrency.version_of(murray),
        reason="Transcription error",
    )
    status = {f.name: f for f in selectors.sdv_of_crf(murray.visit, "murray").fields}
    assert status["fio2"].mark is None
    assert status["fio2"].cleared.value == "0.600"
    assert status["pao2_mmhg"].mark is not None  # unchanged fields keep their mark
    mark = SdvMark.objects.get(field_name="fio2")
    assert "Transcription error" in mark.cleared_because
    note = Notification.objects.get(recipient=monitor)
    assert "FiO₂" in note.text
    assert "verify it again" in note.text


def test_the_marks_cleared_are_those_of_the_fields_the_audit_trail_shows_changed(murray, monitor):
    """crf_save hands the values it read under its lock to crf_changed (no read-back of the
    audit trail): the fields whose marks are cleared are exactly those the audit trail's diff of
    the two versions names; a value typed differently but equal (70 for the stored 70.0) clears
    nothing."""
    services.sdv_mark(
        user=monitor,
        visit=murray.visit,
        crf_code="murray",
        opened_version=concurrency.version_of(murray),
    )
    marked = set(SdvMark.objects.values_list("field_name", flat=True))
    outcome_services.crf_save(
        visit=murray.visit,
        crf_code="murray",
        values={
            "pao2_mmhg": Decimal("70"),  # stored as 70.0: the same value
            "fio2": Decimal("0.5"),
            "cxr_quadrants": 3,
        },
        complete=True,
        user=of._entry_user(murray.visit.participant),
        opened_version=concurrency.version_of(murray),
        reason="Transcription error",
    )
    latest, previous = murray.history.order_by("-history_date", "-history_id")[:2]
    diff = {c.field for c in latest.diff_against(previous).changes}
    cleared = set(
        SdvMark.objects.filter(cleared_at__isnull=False).values_list("field_name", flat=True)
    )
    assert cleared == diff & marked
    assert {"fio2", "cxr_quadrants"} <= diff
    assert "pao2_mmhg" not in cleared
    assert all(
        "Transcription error" in m.cleared_because
        for m in SdvMark.objects.filter(cleared_at__isnull=False)
    )


def test_bulk_verification_on_the_page(client, login, participant, murray, monitor):
    crs = of.crf(participant, "D0", "clinical_status", status_score=4)
    login(monitor)
    path = f"/data/participants/{participant.study_id}/sdv/"
    page = client.get(path).content.decode()
    assert 'data-testid="sdv-D0-murray"' in page
    response = client.post(path, {"crf:D0:clinical_status": "1", "field:D0:murray:fio2": "1"})
    assert response.status_code == 302
    assert selectors.sdv_of_crf(crs.visit, "clinical_status").is_verified
    murray_status = selectors.sdv_of_crf(murray.visit, "murray")
    assert [f.name for f in murray_status.fields if f.mark] == ["fio2"]


def test_the_sdv_progress_is_shown_with_the_crf(client, login, make_user, murray, monitor):
    services.sdv_mark(
        user=monitor,
        visit=murray.visit,
        crf_code="murray",
        fields=["fio2"],
        opened_version=concurrency.version_of(murray),
    )
    login(make_user(Role.DATA_MANAGER))
    body = client.get(
        f"/data/participants/{murray.visit.participant.study_id}/visits/D0/murray/"
    ).content.decode()
    assert 'data-testid="sdv-progress"' in body
    assert "1 / 5" in body
