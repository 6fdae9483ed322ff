"""The record status grid (issue 21; REDCap's record status dashboard, OpenClinica's subject
matrix): participants × visits × CRFs, one icon per CRF for empty / draft / complete / open
query / SDV done / signed / locked, in the user's sites, read in a bounded number of queries;
and the casebook shows the same states and which visits are signed."""

import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from datamanagement import selectors, services
from datamanagement.models import LockLevel
from datamanagement.selectors import CrfState
from kernel import concurrency
from kernel.roles import Role
from participants.models import Participant

from . import outcomes_factories as of
from .factories import PASSWORD, ParticipantFactory
from .page_client import PageClient

pytestmark = pytest.mark.django_db

MURRAY = {"pao2_mmhg": Decimal("70"), "fio2": Decimal("0.6"), "cxr_quadrants": 2}


@pytest.fixture
def client():
    return PageClient()


def cells(participant) -> dict[tuple[str, str], selectors.CrfCell]:
    row = selectors.record_status(Participant.objects.filter(pk=participant.pk)).rows[0]
    return {(c.visit.code, c.crf_code): c for v in row.visits.values() for c in v.cells}


def sign_visit(investigator, participant, code):
    visit = of.visit(participant, code)
    return services.signature_sign(
        user=investigator,
        password=PASSWORD,
        participant=participant,
        level="visit",
        visit=visit,
        meaning="accurate_complete",
        opened_versions=selectors.signed_versions(
            "visit", participant=participant, visit=visit, crf_code=""
        ),
    )


def test_each_crf_shows_its_state(participant, make_user):
    monitor = make_user(Role.MONITOR)
    dm = make_user(Role.DATA_MANAGER)
    investigator = make_user(Role.INVESTIGATOR)
    of.crf(participant, "D0", "murray", **MURRAY)
    of.crf(participant, "D0", "clinical_status", complete=False, status_score=3)
    crp = of.crf(participant, "D0", "crp", entered_value=Decimal("12"), entered_unit="mg/L")
    murray_d1 = of.crf(participant, "D1", "murray", **MURRAY)
    of.crf(participant, "D1", "clinical_status", status_score=3)
    services.query_raise(
        participant=participant,
        visit=crp.visit,
        crf_code="crp",
        field_name="entered_value",
        text="Units?",
        user=monitor,
    )
    blood_gas = of.crf(participant, "D3", "blood_gas", pao2_mmhg=Decimal("80"), fio2=Decimal("0.5"))
    services.sdv_mark(
        user=monitor,
        visit=blood_gas.visit,
        crf_code="blood_gas",
        opened_version=concurrency.version_of(blood_gas),
    )
    sign_visit(investigator, participant, "D1")
    services.lock_create(
        user=dm,
        level=LockLevel.CRF,
        participant=participant,
        visit=murray_d1.visit,
        crf_code="murray",
        reason="Cleaned",
    )

    grid = cells(participant)
    assert grid[("D0", "baseline")].state == CrfState.EMPTY
    assert grid[("D0", "clinical_status")].state == CrfState.DRAFT
    assert grid[("D0", "murray")].state == CrfState.COMPLETE
    assert grid[("D0", "crp")].state == CrfState.QUERY
    assert grid[("D3", "blood_gas")].state == CrfState.SDV
    assert grid[("D1", "clinical_status")].state == CrfState.SIGNED
    # Locked wins, and the text alternative still names every state.
    assert grid[("D1", "murray")].state == CrfState.LOCKED
    assert grid[("D1", "murray")].states == {"complete", "signed", "locked"}
    assert "signed" in grid[("D1", "murray")].label
    assert "locked" in grid[("D1", "murray")].label


def test_a_void_signature_and_a_closed_query_no_longer_count(participant, make_user):
    investigator = make_user(Role.INVESTIGATOR)
    murray = of.crf(participant, "D1", "murray", **MURRAY)
    sign_visit(investigator, participant, "D1")
    assert cells(participant)[("D1", "murray")].state == CrfState.SIGNED
    of.crf(participant, "D1", "murray", **{**MURRAY, "cxr_quadrants": 3})  # voids the signature
    murray.refresh_from_db()
    assert cells(participant)[("D1", "murray")].state == CrfState.COMPLETE


def _crfs_for(participant):
    of.crf(participant, "D0", "murray", **MURRAY)
    of.crf(participant, "D1", "clinical_status", status_score=3)


def test_the_grid_reads_in_a_number_of_queries_that_does_not_grow_with_participants(site01, roles):
    first = ParticipantFactory(site=site01)
    of.schedule(first)
    _crfs_for(first)
    with CaptureQueriesContext(connection) as one:
        grid = selectors.record_status(Participant.objects.all())
        [c.label for row in grid.rows for v in row.visits.values() for c in v.cells]
    for _ in range(3):
        p = ParticipantFactory(site=site01)
        of.schedule(p)
        _crfs_for(p)
    with CaptureQueriesContext(connection) as four:
        grid = selectors.record_status(Participant.objects.all())
        [c.label for row in grid.rows for v in row.visits.values() for c in v.cells]
    assert len(grid.rows) == 4
    assert len(four.captured_queries) == len(one.captured_queries)


def test_the_page_shows_the_users_sites_only_with_a_legend_and_words_for_each_icon(
    client, participant, site02, make_user
):
    other = ParticipantFactory(site=site02)
    of.schedule(other)
    of.crf(participant, "D0", "murray", **MURRAY)
    client.force_login(make_user(Role.COORDINATOR))
    body = client.get("/data/status/").content.decode()
    assert participant.study_id in body
    assert other.study_id not in body
    assert 'data-testid="status-legend"' in body
    assert 'class="visually-hidden">D0 · ' in body
    # Each icon opens the CRF.
    assert f"/outcomes/participants/{participant.study_id}/visits/D0/murray/" in body


def test_the_state_filter_keeps_the_participants_with_a_crf_in_that_state(
    client, participant, site01, make_user
):
    idle = ParticipantFactory(site=site01)
    of.schedule(idle)
    of.crf(participant, "D0", "murray", complete=False, **MURRAY)
    client.force_login(make_user(Role.MONITOR))
    body = client.get("/data/status/?state=draft").content.decode()
    assert participant.study_id in body
    assert idle.study_id not in body
    # An unknown state or site is ignored, never an error.
    assert client.get("/data/status/?state=bogus&site=zz").status_code == 200


@pytest.mark.parametrize("role", [Role.PHARMACIST, Role.STATISTICIAN, Role.SPONSOR])
def test_roles_without_crf_pages_do_not_get_the_grid(client, make_user, role):
    client.force_login(make_user(role))
    assert client.get("/data/status/").status_code == 403


def test_the_casebook_shows_which_visits_are_signed_and_offers_to_sign_only_entered_ones(
    client, participant, make_user
):
    investigator = make_user(Role.INVESTIGATOR)
    of.crf(participant, "D0", "murray", **MURRAY)
    of.crf(participant, "D1", "murray", **MURRAY)
    sign_visit(investigator, participant, "D0")
    client.force_login(investigator)
    body = client.get(f"/data/participants/{participant.study_id}/").content.decode()
    d0 = body[body.index('data-testid="casebook-visit-D0"') : body.index('casebook-visit-D1"')]
    d1 = body[body.index('data-testid="casebook-visit-D1"') : body.index('casebook-visit-D2"')]
    d2 = body[body.index('data-testid="casebook-visit-D2"') : body.index('casebook-visit-D3"')]
    assert "Visit signed by" in d0
    assert "Sign this visit" not in d0
    assert "Sign this visit" in d1
    assert "Sign this visit" not in d2
    assert "no CRF entered" in d2
    assert 'data-state="signed"' in d0


def test_a_jalali_user_reads_the_visit_tables_target_dates_in_jalali(
    client, participant, make_user
):
    """Issue 21: the visit table's target dates follow the user's calendar, and the study ID in
    the heading is isolated so that a right-to-left page does not reverse it."""
    from kernel import calendars
    from kernel.models import Calendar

    coordinator = make_user(Role.COORDINATOR)
    coordinator.calendar = Calendar.JALALI
    coordinator.save()
    client.force_login(coordinator)
    body = client.get(f"/outcomes/participants/{participant.study_id}/visits/").content.decode()
    day0 = of.visit(participant, "D0").target_date
    year, month, day = calendars.to_jalali(day0)
    assert f"{year:04d}/{month:02d}/{day:02d}" in body
    assert day0.isoformat() not in body
    assert f'<bdi dir="ltr">{participant.study_id}</bdi>' in body


def test_the_vital_signs_at_screening_have_their_own_cell_with_the_same_states(
    client, participant, make_user
):
    """The casebook's record of no visit (issue 19) is a cell of the grid too: not entered,
    complete, queried, verified, signed, locked, as a CRF's; the page links it to its review."""
    from participants.models import ScreeningVitalSigns

    monitor = make_user(Role.MONITOR)
    dm = make_user(Role.DATA_MANAGER)

    def cell():
        row = selectors.record_status(Participant.objects.filter(pk=participant.pk)).rows[0]
        (only,) = row.records
        return only

    assert cell().state == CrfState.EMPTY
    vitals = ScreeningVitalSigns.objects.create(
        screening=participant.screening,
        measured_on=participant.screening.screened_on,
        heart_rate_bpm=96,
        recorded_by=make_user(Role.COORDINATOR),
    )
    assert cell().state == CrfState.COMPLETE
    query = services.query_raise(
        participant=participant,
        crf_code="screening_vitals",
        field_name="heart_rate_bpm",
        text="Source says 69?",
        user=monitor,
    )
    assert cell().state == CrfState.QUERY
    services.query_close(
        query=query, user=dm, text="Checked", opened_version=concurrency.version_of(query)
    )
    assert cell().state == CrfState.COMPLETE
    services.sdv_mark(
        user=monitor,
        visit=None,
        participant=participant,
        crf_code="screening_vitals",
        opened_version=concurrency.version_of(vitals),
    )
    assert cell().state == CrfState.SDV
    services.lock_create(
        user=dm,
        level=LockLevel.CRF,
        participant=participant,
        crf_code="screening_vitals",
        reason="Cleaned",
    )
    assert cell().state == CrfState.LOCKED
    assert (
        cell().label
        == "Screening · Vital signs at screening: locked, source data verified, complete"
    )

    client.force_login(dm)
    page = client.get("/data/status/")
    body = page.content.decode()
    link = re.search(r'<a [^>]*data-testid="status-record-screening_vitals"[^>]*>', body)
    assert link is not None
    assert f'href="/data/participants/{participant.study_id}/records/screening_vitals/"' in (
        link.group(0)
    )
    assert f'data-state="{CrfState.LOCKED}"' in link.group(0)


def _lock_from_review_page(client, page: str, reason: str):
    """The data manager's lock of one record, as the review page's form posts it: its fields as
    rendered (hidden ones with their values), the reason typed."""
    from .fuzz_http import form_fields

    fields = form_fields(client.get(page).content.decode(), "/data/locks/")
    assert "reason" in fields, "the review page offers no lock with a reason"
    data = {name: f.initial[0] for name, f in fields.items() if f.initial}
    data["reason"] = reason
    return client.post("/data/locks/", data)


@pytest.mark.parametrize("record", ["blood_gas", "screening_vitals"])
def test_the_lock_offered_on_a_records_review_page_locks_it_with_the_reason_typed(
    client, participant, make_user, record
):
    """Both review pages (a CRF of a visit, the vital signs at screening) share one lock form;
    until issue 24's review the CRF page's posted no reason, which the lock requires, so its
    button only led to an error on the locks page."""
    from participants.models import ScreeningVitalSigns

    if record == "blood_gas":
        of.crf(participant, "D0", "blood_gas", pao2_mmhg=Decimal("63"), fio2=Decimal("0.28"))
        page = f"/data/participants/{participant.study_id}/visits/D0/blood_gas/"
    else:
        ScreeningVitalSigns.objects.create(
            screening=participant.screening,
            measured_on=participant.screening.screened_on,
            heart_rate_bpm=96,
            recorded_by=make_user(Role.COORDINATOR),
        )
        page = f"/data/participants/{participant.study_id}/records/screening_vitals/"
    client.force_login(make_user(Role.DATA_MANAGER))
    response = _lock_from_review_page(client, page, "Cleaned and verified")
    assert response.status_code == 302
    assert response.headers["Location"] == page
    from datamanagement.models import Lock

    lock = Lock.objects.get(crf_code=record, participant=participant)
    assert lock.reason == "Cleaned and verified"
    assert (lock.visit.code if lock.visit else None) == ("D0" if record == "blood_gas" else None)
    assert 'data-testid="lock-record"' not in client.get(page).content.decode()


def status_boxes(page: str) -> list[str]:
    """Each record-status box of the page, from its <div> to the </div> that closes it."""
    boxes = []
    for start in (m.start() for m in re.finditer(r'<div class="dm-status', page)):
        depth = 0
        for tag in re.finditer(r"<div\b|</div>", page[start:]):
            depth += 1 if tag.group() == "<div" else -1
            if depth == 0:
                boxes.append(page[start : start + tag.end()])
                break
    return boxes


def test_the_visit_page_shows_each_crfs_status_box_as_its_own_page_in_bounded_queries(
    client, participant, make_user
):
    """The visit page reads the visit's locks, signatures and SDV marks once (issue 24: four
    statements a CRF before); each CRF's box is the one its review page shows."""
    monitor = make_user(Role.MONITOR)
    dm = make_user(Role.DATA_MANAGER)
    investigator = make_user(Role.INVESTIGATOR)
    murray = of.crf(participant, "D0", "murray", **MURRAY)
    client.force_login(dm)
    path = f"/outcomes/participants/{participant.study_id}/visits/D0/"
    client.get(path)  # the session's first request records it (accounts.services)
    with CaptureQueriesContext(connection) as one_crf:
        assert client.get(path).status_code == 200

    blood_gas = of.crf(participant, "D0", "blood_gas", pao2_mmhg=Decimal("80"), fio2=Decimal("0.5"))
    of.crf(participant, "D0", "crp", entered_value=Decimal("12"), entered_unit="mg/L")
    of.crf(participant, "D0", "clinical_status", status_score=3)
    for crf in (murray, blood_gas):
        services.sdv_mark(
            user=monitor,
            visit=crf.visit,
            crf_code="murray" if crf is murray else "blood_gas",
            opened_version=concurrency.version_of(crf),
            fields=selectors.sdv_required_fields("murray")[:1] if crf is murray else None,
        )
    services.lock_create(
        user=dm,
        level=LockLevel.CRF,
        participant=participant,
        visit=murray.visit,
        crf_code="crp",
        reason="Cleaned",
    )
    with CaptureQueriesContext(connection) as four_crfs:
        client.get(path)
    # The same statements with four CRFs, their SDV marks and a lock as with one CRF (the
    # signatures' content check reads what each covers, once per page: not counted here).
    assert len(four_crfs.captured_queries) == len(one_crf.captured_queries)
    services.signature_sign(
        user=investigator,
        password=PASSWORD,
        participant=participant,
        level="crf",
        visit=murray.visit,
        crf_code="murray",
        meaning="accurate_complete",
        opened_versions=selectors.signed_versions(
            "crf", participant=participant, visit=murray.visit, crf_code="murray"
        ),
    )
    sign_visit(investigator, participant, "D0")
    page = client.get(path).content.decode()

    boxes = status_boxes(page)
    assert len(boxes) == 4
    codes = [
        c for c in murray.visit.crf_codes if c in ("murray", "blood_gas", "crp", "clinical_status")
    ]
    for code, box in zip(codes, boxes, strict=True):
        review = f"/data/participants/{participant.study_id}/visits/D0/{code}/"
        (own,) = status_boxes(client.get(review).content.decode())
        assert box == own, code
    shown = dict(zip(codes, boxes, strict=True))
    assert 'data-testid="lock-banner"' in shown["crp"]
    assert not any('data-testid="lock-banner"' in shown[c] for c in codes if c != "crp")
    assert shown["murray"].count('data-testid="signature"') == 2  # its own and the visit's
    assert shown["blood_gas"].count('data-testid="signature"') == 1  # the visit's
    assert "verified" in shown["blood_gas"]
    assert "1 / " in shown["murray"]
    # Each CRF's lock, signatures and SDV marks taken from the visit's rows are exactly those
    # of the CRF's own statements (a lock and a signature of another visit's CRF left out).
    murray_d1 = of.crf(participant, "D1", "murray", **MURRAY)
    services.lock_create(
        user=dm,
        level=LockLevel.CRF,
        participant=participant,
        visit=murray_d1.visit,
        crf_code="murray",
        reason="Cleaned",
    )
    sign_visit(investigator, participant, "D1")
    for visit in (murray.visit, murray_d1.visit):
        records = selectors.VisitRecords(visit)
        for code in visit.crf_codes:
            assert selectors.lock_for_crf(visit, code, of_visit=records) == selectors.lock_for_crf(
                visit, code
            )
            by_visit = selectors.signatures_shown_with(
                participant, visit=visit, crf_code=code, of_visit=records
            )
            own = selectors.signatures_shown_with(participant, visit=visit, crf_code=code)
            assert [(s.signature, s.valid) for s in by_visit] == [
                (s.signature, s.valid) for s in own
            ]
            if selectors.sdv_required_fields(code):
                marks = [
                    (f.name, f.mark, f.cleared)
                    for f in selectors.sdv_of_crf(visit, code, of_visit=records).fields
                ]
                assert marks == [
                    (f.name, f.mark, f.cleared) for f in selectors.sdv_of_crf(visit, code).fields
                ]


def test_the_casebooks_sdv_rows_read_in_statements_that_do_not_grow_with_crfs(
    participant, make_user
):
    """sdv_of_participant reads each CRF table and the SDV marks once for all the visits
    (issue 24: two statements for each CRF of each visit), and each row is the CRF's own."""
    monitor = make_user(Role.MONITOR)
    murray = of.crf(participant, "D0", "murray", **MURRAY)
    with CaptureQueriesContext(connection) as one_crf:
        assert len(selectors.sdv_of_participant(participant)) == 1
    for code in ("D1", "D3"):
        crf = of.crf(participant, code, "murray", **MURRAY)
        services.sdv_mark(
            user=monitor,
            visit=crf.visit,
            crf_code="murray",
            opened_version=concurrency.version_of(crf),
            fields=selectors.sdv_required_fields("murray")[:1],
        )
    blood_gas = of.crf(participant, "D3", "blood_gas", pao2_mmhg=Decimal("80"), fio2=Decimal("0.5"))
    services.sdv_mark(
        user=monitor,
        visit=blood_gas.visit,
        crf_code="blood_gas",
        opened_version=concurrency.version_of(blood_gas),
    )
    with CaptureQueriesContext(connection) as four_crfs:
        rows = selectors.sdv_of_participant(participant)
    assert len(four_crfs.captured_queries) == len(one_crf.captured_queries)
    d3 = [c for c in blood_gas.visit.crf_codes if c in ("murray", "blood_gas")]
    assert [(r.visit.code, r.crf_code) for r in rows] == [
        ("D0", "murray"),
        ("D1", "murray"),
        *[("D3", code) for code in d3],
    ]
    for row in rows:
        own = selectors.sdv_of_crf(row.visit, row.crf_code)
        assert row.crf == own.crf
        assert [(f.name, f.mark, f.cleared) for f in row.fields] == [
            (f.name, f.mark, f.cleared) for f in own.fields
        ]
    assert rows[0].crf == murray
    assert rows[0].verified_count == 0
    assert rows[1].verified_count == 1


def test_the_crf_review_page_reads_the_crfs_sdv_marks_once(client, participant, make_user):
    """The review page's SDV column and its status box share the visit's marks (issue 24:
    read twice before); what both show is the CRF's own marks."""
    monitor = make_user(Role.MONITOR)
    murray = of.crf(participant, "D0", "murray", **MURRAY)
    services.sdv_mark(
        user=monitor,
        visit=murray.visit,
        crf_code="murray",
        opened_version=concurrency.version_of(murray),
        fields=selectors.sdv_required_fields("murray")[:1],
    )
    client.force_login(make_user(Role.DATA_MANAGER))
    path = f"/data/participants/{participant.study_id}/visits/D0/murray/"
    client.get(path)  # the session's first request records it (accounts.services)
    with CaptureQueriesContext(connection) as page:
        content = client.get(path).content.decode()
    marks_read = [q for q in page.captured_queries if 'FROM "datamanagement_sdvmark"' in q["sql"]]
    assert len(marks_read) == 1
    assert "1 / " in content  # the status box's progress: one field of the plan's verified
