"""The database lock checks readiness, needs a reason and the data manager's e-signature, and
a locked CRF is shown read-only (issue 20, finding 4; 21 CFR 11.10(f) operational checks,
11.50/11.200 signature components, 11.10(e) the reason in the audit trail)."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from datamanagement import selectors, services
from datamanagement.exceptions import NotLocked
from datamanagement.models import Lock, LockLevel, SdvMark
from kernel import concurrency
from kernel.roles import Role
from outcomes.models import CRF_MODELS, Visit
from participants.models import Participant, ParticipantStatus, ScreeningVitalSigns

from . import outcomes_factories as of
from .factories import PASSWORD, ParticipantFactory
from .participants_factories import ScreeningFactory, ScreeningVitalSignsFactory

MURRAY = {"pao2_mmhg": Decimal("70"), "fio2": Decimal("0.6"), "cxr_quadrants": 2}

pytestmark = pytest.mark.django_db


@pytest.fixture
def open_query(murray):
    return services.query_raise(
        participant=murray.visit.participant,
        visit=murray.visit,
        crf_code="murray",
        field_name="fio2",
        text="Please confirm FiO2 against the ventilator chart.",
        origin="edit_check",
        auto_key="readiness-test",
    )


@pytest.fixture
def data_manager(make_user):
    return make_user(Role.DATA_MANAGER)


def _readiness():
    return {item.key: item.count for item in selectors.database_lock_readiness()}


def test_the_checklist_counts_open_queries_and_unverified_crfs(open_query):
    counts = _readiness()
    assert counts["queries"] == 1
    assert counts["sdv"] >= 1  # the Murray CRF is entered, not source-verified
    assert set(counts) == {"queries", "voided_signatures", "sdv", "missing_crfs", "sae_follow_ups"}


def test_an_open_item_not_waived_refuses_the_lock(data_manager, open_query):
    with pytest.raises(NotLocked, match="Open or answered queries"):
        services.database_lock(
            user=data_manager, password=PASSWORD, reason="LPLV", waivers={"sdv": "Risk-based"}
        )
    assert not selectors.database_is_locked()


def test_a_wrong_password_or_no_reason_refuses_the_lock(data_manager, open_query):
    waivers = {k: "Accepted by the sponsor" for k in _readiness()}
    with pytest.raises(NotLocked, match="password"):
        services.database_lock(user=data_manager, password="wrong", reason="LPLV", waivers=waivers)
    with pytest.raises(NotLocked, match="reason"):
        services.database_lock(user=data_manager, password=PASSWORD, reason=" ", waivers=waivers)
    assert not selectors.database_is_locked()


def test_every_open_item_waived_and_signed_locks_and_keeps_the_record(data_manager, open_query):
    waivers = {k: "Accepted by the sponsor" for k, n in _readiness().items() if n}
    lock = services.database_lock(
        user=data_manager, password=PASSWORD, reason="Last visit entered", waivers=waivers
    )
    assert selectors.database_is_locked()
    assert lock.reason == "Last visit entered"
    assert lock.readiness["items"]["queries"] == 1
    assert lock.readiness["waivers"]["queries"] == "Accepted by the sponsor"
    assert lock.readiness["signature"]["signer"]


def test_the_one_click_database_lock_is_gone(client, login, data_manager, murray):
    login(data_manager)
    client.post("/data/locks/", {"do": "lock", "level": "database", "reason": ""})
    client.post("/randomization/trial-unblinding/", {"lock": "1"})
    with pytest.raises(NotLocked):
        services.lock_create(user=data_manager, level=LockLevel.DATABASE, reason="x")
    assert not selectors.database_is_locked()


def test_the_page_shows_the_checklist_and_locks_with_waivers_and_signature(
    client, login, data_manager, open_query
):
    login(data_manager)
    page = client.get("/data/locks/").content.decode()
    assert 'data-testid="lock-readiness"' in page
    assert "Open or answered queries" in page
    form = {"do": "database", "reason": "Last visit entered", "password": PASSWORD}
    response = client.post("/data/locks/", form)
    assert response.status_code == 200
    assert "Not ready to lock" in response.content.decode()
    assert "Last visit entered" in response.content.decode()  # what was typed is kept
    waivers = {f"waive_{k}": "Accepted by the sponsor" for k, n in _readiness().items() if n}
    response = client.post("/data/locks/", {**form, **waivers})
    assert response.status_code == 302
    assert selectors.database_is_locked()


def test_a_reason_is_required_for_every_lock(data_manager, participant):
    with pytest.raises(NotLocked, match="reason"):
        services.lock_create(
            user=data_manager, level=LockLevel.PARTICIPANT, participant=participant, reason=""
        )
    assert not Lock.objects.exists()


def test_a_locked_crf_is_shown_read_only(client, login, make_user, data_manager, murray):
    services.lock_create(
        user=data_manager,
        level=LockLevel.CRF,
        participant=murray.visit.participant,
        visit=murray.visit,
        crf_code="murray",
        reason="CRF signed",
    )
    login(make_user(Role.COORDINATOR))
    study_id = murray.visit.participant.study_id
    page = client.get(f"/outcomes/participants/{study_id}/visits/D0/murray/").content.decode()
    assert 'data-testid="crf-read-only"' in page
    fields = page.split('data-testid="crf-locked-fields"')[1].split("</fieldset>")[0]
    assert "<input" in fields  # the values are shown, in a disabled fieldset
    assert 'name="reason_for_change"' not in page


# -- the count of CRFs not source-verified, in SQL (issue 24) --------------------------------


def _sdv_incomplete_crf_by_crf() -> int:
    """The checklist's SDV count as it was read before issue 24, kept as the reference: every
    visit, every CRF of its schedule, `sdv_of_crf(...).is_verified` for each saved one that the
    plan asks to verify; then each record of no visit of an enrolled participant."""
    count = 0
    for visit in Visit.objects.order_by("pk"):
        for code in visit.crf_codes:
            crf = CRF_MODELS[code].objects.filter(visit=visit).first()
            if crf is not None and selectors.sdv_required_fields(code):
                count += not selectors.sdv_of_crf(visit, code, crf).is_verified
    for code, kind in selectors.VISITLESS_RECORDS.items():
        if not selectors.sdv_required_fields(code):
            continue
        for record in kind.model._default_manager.filter(
            **{f"{kind.participant_path}__isnull": False}
        ):
            participant = selectors.participant_of_record(record)
            count += not selectors.sdv_of_crf(
                None, code, record, participant=participant
            ).is_verified
    return count


def _varied_participant(index: int, monitor) -> None:
    """A participant whose CRFs are verified in full, in part, cleared by a change, not asked
    to be verified, in draft, or marked on a field the plan does not ask for; with vital signs
    at screening verified, not verified or not recorded, in turn by `index`."""
    participant = ParticipantFactory(site=monitor.sites.first())
    of.schedule(participant)

    murray_d0 = of.crf(participant, "D0", "murray", **MURRAY)
    murray_d1 = of.crf(participant, "D1", "murray", **MURRAY)
    of.crf(participant, "D0", "crp", entered_value=Decimal("12"), entered_unit="mg/L")
    if index % 2 == 0:
        _mark(monitor, murray_d0, "murray")  # in full
    _mark(monitor, murray_d1, "murray", selectors.sdv_required_fields("murray")[:2])  # in part
    status = of.crf(participant, "D1", "clinical_status", status_score=3)
    _mark(monitor, status, "clinical_status")
    if index % 3 == 0:  # a change clears the marks of the fields changed
        of.crf(participant, "D1", "clinical_status", status_score=4)
    if index % 3 == 1:
        of.crf(participant, "D3", "clinical_status", complete=False, status_score=3)  # a draft
    murray_d3 = of.crf(participant, "D3", "murray", **MURRAY)
    required = selectors.sdv_required_fields("murray")
    _mark(monitor, murray_d3, "murray", required[:-1])
    # Every required field but one marked, and a field the plan does not ask for: not verified.
    SdvMark.objects.create(
        visit=murray_d3.visit, crf_code="murray", field_name="not_required", verified_by=monitor
    )
    if index % 4 == 3:
        _mark(monitor, murray_d3, "murray")  # now in full
    if index % 3 != 2:
        ScreeningVitalSignsFactory(screening=participant.screening)
        fields = selectors.sdv_required_fields(selectors.SCREENING_VITALS)
        verified = fields if index % 3 == 0 else fields[1:]
        for name in verified:
            SdvMark.objects.create(
                participant=participant,
                crf_code=selectors.SCREENING_VITALS,
                field_name=name,
                verified_by=monitor,
            )
        if index % 2 == 1:  # a mark cleared by a change, not verified since
            SdvMark.objects.filter(
                participant=participant, crf_code=selectors.SCREENING_VITALS, field_name=fields[0]
            ).update(cleared_at=timezone.now())
    if index == 4:
        Participant.objects.filter(pk=participant.pk).update(status=ParticipantStatus.WITHDRAWN)


def _mark(monitor, crf, code, fields=None):
    services.sdv_mark(
        user=monitor,
        visit=crf.visit,
        crf_code=code,
        opened_version=concurrency.version_of(crf),
        fields=fields,
    )


def _varied_trial(count: int, monitor) -> None:
    for index in range(count):
        _varied_participant(index, monitor)
    # Screened, vital signs recorded and verified in part, never enrolled: not in the count.
    ScreeningVitalSignsFactory(screening=ScreeningFactory(site=monitor.sites.first()))


def test_the_sdv_count_is_the_count_crf_by_crf(make_user):
    """The SQL count (issue 24) equals `sdv_of_crf(...).is_verified` CRF by CRF, over a trial
    with CRFs verified in full, in part, cleared by a change, not asked for, in draft, records of
    no visit verified or not, a screening not enrolled and a participant withdrawn."""
    monitor = make_user(Role.MONITOR)
    _varied_trial(6, monitor)
    expected = _sdv_incomplete_crf_by_crf()
    assert _readiness()["sdv"] == selectors.sdv_incomplete_count() == expected
    saved = (
        sum(
            1
            for visit in Visit.objects.all()
            for code in visit.crf_codes
            if selectors.sdv_required_fields(code)
            and CRF_MODELS[code].objects.filter(visit=visit).exists()
        )
        + ScreeningVitalSigns.objects.filter(screening__participant__isnull=False).count()
    )
    assert 0 < expected < saved  # some verified, some not
    # Each change moves both the same way: everything verified, then one mark cleared.
    for visit in Visit.objects.all():
        for code in visit.crf_codes:
            crf = CRF_MODELS[code].objects.filter(visit=visit).first()
            if crf is not None and selectors.sdv_required_fields(code):
                _mark(monitor, crf, code)
    for vitals in ScreeningVitalSigns.objects.filter(screening__participant__isnull=False):
        participant = selectors.participant_of_record(vitals)
        for name in selectors.sdv_required_fields(selectors.SCREENING_VITALS):
            if not SdvMark.objects.filter(
                participant=participant, field_name=name, cleared_at__isnull=True
            ).exists():
                SdvMark.objects.create(
                    participant=participant,
                    crf_code=selectors.SCREENING_VITALS,
                    field_name=name,
                    verified_by=monitor,
                )
    assert selectors.sdv_incomplete_count() == _sdv_incomplete_crf_by_crf() == 0
    one = SdvMark.objects.filter(crf_code="clinical_status", cleared_at__isnull=True).first()
    SdvMark.objects.filter(pk=one.pk).update(cleared_at=timezone.now())
    assert selectors.sdv_incomplete_count() == _sdv_incomplete_crf_by_crf() == 1


def test_the_sdv_count_reads_statements_that_do_not_grow_with_participants(make_user):
    monitor = make_user(Role.MONITOR)
    _varied_trial(2, monitor)
    with CaptureQueriesContext(connection) as two:
        selectors.database_lock_readiness()
    _varied_trial(4, monitor)
    with CaptureQueriesContext(connection) as six:
        selectors.database_lock_readiness()
    assert len(six.captured_queries) == len(two.captured_queries)
    assert len(six.captured_queries) <= 25
