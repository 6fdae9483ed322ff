"""Queries of one CRF page: the form (GET) and one save (POST) run a fixed number of queries,
the same at a visit with two CRFs or seven and in a trial of one participant or many: no query
per CRF of the visit, per earlier visit or per participant (issue 13, docs/performance.md)."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from kernel.roles import Role
from outcomes import selectors
from outcomes.models import BloodGas, ClinicalStatus, CrfStatus, Murray, Visit, VisitState

from . import outcomes_factories as of
from .factories import ParticipantFactory
from .page_client import version_shown

pytestmark = pytest.mark.django_db

# Of these, 6 were the session, the user, whether they have a second factor (two-factor sign-in),
# their first site and their permissions (middleware); 2 since the fourth pass (below): the
# session and the user with the rest.
# (The values of the previous visits are read by the service when it saves, not for the form.)
# 19 -> 16 (issue 24): the session is no longer saved again on every request (3 statements: a
# savepoint, the UPDATE, its release), only when its idle expiry was last pushed a minute ago or
# more (accounts.middleware.SessionPolicyMiddleware._touch; tests/test_login.py proves the idle
# timeout). Such a request, once a minute per session, still runs those 3 more; the `coordinator`
# fixture below pushes the expiry once and keeps the minute from running out during the test.
# 16 -> 12 (issue 24, second pass): the user's own permissions, their groups' permissions and
# their groups' names (roles_of) in one query, not three (kernel.backends._load); the CRF's lock
# read once for the page, not by the status box and the read-only switch each; the SDV box shows
# the CRF the view read, not a second read of it (datamanagement_tags).
# 12 -> 9 (issue 24, fourth pass): whether the user has a second factor, their first site's
# time zone and calendar and their permissions and role names are read with the user, in the
# session user's one statement (kernel.backends.sign_in_annotation), not in three of their own.
# 9 -> 8 (issue 24, crf7): the visit in the user's sites and the CRF with its version in one
# message (outcomes.selectors.visit_and_crf_in_scope_or_404, kernel.prepared.read_together):
# the same two reads, in the same order, one round trip. Left: the session, the user, that
# message, the visit's CRF statuses (the tabs), and the data management boxes' four reads (the
# covering locks, signatures, SDV marks, queries).
CRF_FORM_QUERIES = 8
# Django 5.2 (decision 0004) checked each of the blood gas's two check constraints with a query in
# a savepoint (3 statements) in the service's full_clean(): 6 of these 32 (3 now, below).
# Since issue 23 the form validates no model (the edit checks and the model's validation are
# the service's, once).
# One since issue 26: the CRF's version (its newest audit row) read under the row lock, to refuse
# a save on a version someone else has changed since the form was opened. (The form's GET reads
# the version in the CRF's own query: no more there.)
# 32 -> 29 (issue 24): the session saved at most once a minute, as for the form above.
# 29 -> 26 (issue 24): the two check constraints are still evaluated by the database in
# full_clean, in one SELECT inside one savepoint (3 statements) instead of a SELECT and a
# savepoint each (6): kernel.validation.OneQueryCheckConstraints, on every CRF model.
# 26 -> 22 (issue 24, second pass): the permissions and role names in one query (2 fewer, as
# for the form); the SDV marks of the changed fields found from the values crf_save read under
# its row lock, not from the audit trail's two last versions read back (the newest is read
# only when a mark is cleared, for its reason); the next CRF to open found from the visit's
# CRF statuses the save read in its transaction, not read again after it.
# 22 -> 19 (issue 24, fourth pass): the sign-in state as for the form (3 fewer).
# 19 -> 16 (issue 24, fourth pass): the blood gas's check constraints, plain ranges of its own
# values, evaluated in Python by the database's rules (kernel.validation._evaluated_here;
# tests/test_validation_constraints.py compares every verdict with the database's), not in a
# SELECT in a savepoint (3 fewer). The database still enforces them at the UPDATE.
# 16 -> 14 (issue 24, crf6): the reads after the write (the changed fields' SDV marks, the
# covering signatures, both FOR UPDATE, and the visit's CRF statuses) sent in one message
# (kernel.prepared.read_together): the same three statements, in the same order, one round trip.
# 14 -> 11 (issue 24, crf6): the reads under the visit's lock (the covering locks, the CRF row
# FOR UPDATE, its version, the previous visits' values) sent in one message, as above.
# 11 -> 10: and with the visit's locking read itself, first in that message.
# 10 -> 9 (issue 24, crf7): the view's two reads before the service (the visit in the user's
# sites, the CRF with its version) in one message, as for the form above.
# 9 -> 8 (issue 24, crf7): the reads after the write sent in one message with the CRF's audit
# row, before its INSERT (kernel.prepared.read_before_next): the same statements. Left, in
# order: the session, the user, the view's message, SAVEPOINT (BEGIN in the server), the
# visit's lock and the reads under it (one message), the UPDATE, the reads after it with the
# audit row's INSERT (one message), RELEASE (COMMIT in the server).
BLOOD_GAS_SAVE_QUERIES = 8


def url(p, visit, crf):
    return f"/outcomes/participants/{p.study_id}/visits/{visit}/{crf}/"


def participant_with_data(site):
    """A randomized participant with the CRFs of D0 to D2 complete (the infusion aside)."""
    p = ParticipantFactory(site=site)
    of.schedule(p)
    for visit in ("D0", "D1", "D2"):
        for code in of.visit(p, visit).crf_codes:
            if code in COMPLETE_VALUES:
                of.crf(p, visit, code, **COMPLETE_VALUES[code])
    return p


COMPLETE_VALUES = {
    "baseline": {
        "sex": "female",
        "age_years": 54,
        "weight_kg": Decimal("70"),
        "height_cm": 165,
        "respiratory_support": "invasive_ventilation",
    },
    "ae_assessment": {"new_ae": False},
    "murray": {"pao2_mmhg": Decimal("80"), "fio2": Decimal("0.5"), "cxr_quadrants": 2},
    "blood_gas": {"pao2_mmhg": Decimal("80"), "fio2": Decimal("0.5")},
    "crp": {"crp_mg_l": Decimal("40")},
    "clinical_status": {"status_score": 3},
}


@pytest.fixture
def coordinator(make_user, login, client, monkeypatch):
    user = make_user(Role.COORDINATOR)
    login(user)
    # The session's idle expiry pushed by a first request, and not again during the test however
    # slow the machine: the counts below are those of the requests within the minute.
    monkeypatch.setattr("accounts.middleware.IDLE_TOUCH_EVERY_SECONDS", 3600)
    client.get("/")
    return user


def blood_gas_correction(p, visit):
    """The benchmark's request: a saved blood gas corrected, with a reason."""
    of.crf(p, visit, "blood_gas", pao2_mmhg=Decimal("80"), fio2=Decimal("0.4"))
    return {
        "assessed_on": of.visit(p, visit).target_date.isoformat(),
        "pao2_mmhg": "85",
        "fio2": "0.40",
        "fio2_unit": "fraction",
        # Issue 18: a Day-0 assessment is timed to be complete (of.crf times it 00:05).
        "assessed_time": "00:05",
        "action": "complete",
        "reason_for_change": "Transcription error",
    }


def queries_of(client, p, visit) -> tuple[int, int]:
    """(queries of the blood-gas form, queries of one correction of it) at `visit`."""
    data = blood_gas_correction(p, visit)
    with CaptureQueriesContext(connection) as form:
        page = client.get(url(p, visit, "blood_gas"))
        assert page.status_code == 200
    # The version the form was opened on, posted back as the browser does (issue 26).
    data["edit_version"] = page.context["form"].edit_version_token
    with CaptureQueriesContext(connection) as save:
        response = client.post(url(p, visit, "blood_gas"), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert BloodGas.objects.get(visit__participant=p, visit__code=visit).pao2_mmhg == 85
    return len(form), len(save)


def test_the_crf_form_and_a_save_run_the_same_queries_at_a_small_and_a_large_visit(
    client, site01, roles, coordinator
):
    p = ParticipantFactory(site=site01)
    of.schedule(p)
    # D3 lists 4 CRFs and no earlier visit holds data; D0 lists 7 CRFs.
    at_d3 = queries_of(client, p, "D3")
    at_d0 = queries_of(client, p, "D0")
    assert at_d3 == at_d0 == (CRF_FORM_QUERIES, BLOOD_GAS_SAVE_QUERIES)


def test_the_crf_form_and_a_save_run_the_same_queries_with_many_participants_and_visits(
    client, site01, roles, coordinator
):
    first = participant_with_data(site01)
    alone = queries_of(client, first, "D3")
    for _ in range(4):
        participant_with_data(site01)
    crowded = queries_of(client, participant_with_data(site01), "D3")
    assert alone == crowded == (CRF_FORM_QUERIES, BLOOD_GAS_SAVE_QUERIES)


def test_completing_the_last_crf_of_a_visit_marks_it_done_in_one_more_write(
    client, site01, roles, coordinator
):
    p = ParticipantFactory(site=site01)
    of.schedule(p)
    visit = of.visit(p, "D1")  # vital signs (issue 19), Murray and clinical status
    of.crf(p, "D1", "vital_signs", **of.VITAL_SIGNS)
    of.crf(p, "D1", "clinical_status", status_score=3)
    opened = version_shown(client, url(p, "D1", "murray"))  # the form, opened (issue 26)
    with CaptureQueriesContext(connection) as save:
        response = client.post(
            url(p, "D1", "murray"),
            {
                **opened,
                "assessed_on": visit.target_date.isoformat(),
                "respiratory_support": "face_mask",  # issue 18: needed to complete
                "pao2_mmhg": "80",
                "fio2": "0.5",
                "fio2_unit": "fraction",
                "cxr_quadrants": "2",
                "action": "complete",
            },
        )
    assert response.status_code == 302, response.content.decode()[:2000]
    visit.refresh_from_db()
    assert visit.state == VisitState.DONE
    assert Murray.objects.get(visit=visit).status == CrfStatus.COMPLETE
    assert ClinicalStatus.objects.get(visit=visit).is_complete
    # The visit's state: its lock check and its UPDATE and audit row, beyond a plain save.
    statements = [q["sql"] for q in save.captured_queries]
    assert sum(s.startswith('UPDATE "outcomes_visit"') for s in statements) == 1
    assert sum(s.startswith('INSERT INTO "outcomes_historicalvisit"') for s in statements) == 1


def test_the_visit_state_follows_every_crf_of_the_visit(site01, roles):
    """The one-query refresh still reopens a done visit when one of its CRFs goes back to draft."""
    p = ParticipantFactory(site=site01)
    of.schedule(p)
    of.crf(p, "D1", "vital_signs", **of.VITAL_SIGNS)  # listed at D1 since issue 19
    of.crf(p, "D1", "clinical_status", status_score=3)
    of.crf(p, "D1", "murray", **COMPLETE_VALUES["murray"])
    assert Visit.objects.get(participant=p, code="D1").state == VisitState.DONE
    of.crf(p, "D1", "clinical_status", complete=False, status_score=3)
    assert Visit.objects.get(participant=p, code="D1").state == VisitState.SCHEDULED
    assert selectors.crf_progress(of.visit(p, "D1")) == {
        "vital_signs": selectors.CrfProgress(CrfStatus.COMPLETE),
        "murray": selectors.CrfProgress(CrfStatus.COMPLETE),
        "clinical_status": selectors.CrfProgress(CrfStatus.DRAFT),
    }


def test_a_corrections_reads_under_the_visits_lock_and_after_its_write_go_in_one_message_each(
    client, site01, roles, coordinator
):
    """Issue 24 (crf6): the same statements as one by one, in the same order, in two round
    trips: the visit's lock, then the covering locks, the CRF row FOR UPDATE, its version and
    the previous visits' values; after the UPDATE and its audit row, the changed fields' SDV
    marks and the covering signatures FOR UPDATE, then the visit's CRF statuses."""
    p = ParticipantFactory(site=site01)
    of.schedule(p)
    data = blood_gas_correction(p, "D3")
    page = client.get(url(p, "D3", "blood_gas"))
    data["edit_version"] = page.context["form"].edit_version_token
    with CaptureQueriesContext(connection) as save:
        response = client.post(url(p, "D3", "blood_gas"), data)
    assert response.status_code == 302
    statements = [q["sql"] for q in save.captured_queries]
    locking = next(
        i for i, s in enumerate(statements) if '"outcomes_visit"' in s and "FOR UPDATE" in s
    )
    update = next(i for i, s in enumerate(statements) if s.startswith('UPDATE "outcomes_bloodgas"'))
    lock, *before = statements[locking].split(";\n")
    assert 'FROM "outcomes_visit"' in lock
    assert lock.endswith('FOR UPDATE OF "outcomes_visit", "participants_participant"')
    assert len(before) == 4
    assert 'FROM "datamanagement_lock"' in before[0]
    assert 'FROM "outcomes_bloodgas"' in before[1]
    assert before[1].endswith("FOR UPDATE")
    assert 'FROM "outcomes_historicalbloodgas"' in before[2]
    assert "UNION ALL" in before[3]
    # Nothing else between the reads under the lock and the write.
    assert update == locking + 1
    # crf7: the reads after the write, then the audit row's INSERT, in the message after the
    # UPDATE; the audit row returns its history id, last, as when it ran alone.
    after = statements[update + 1].split(";\n")
    assert len(after) == 4
    assert 'FROM "datamanagement_sdvmark"' in after[0]
    assert after[0].endswith("FOR UPDATE")
    assert 'FROM "datamanagement_signature"' in after[1]
    assert after[1].endswith("FOR UPDATE")
    assert "UNION ALL" in after[2]
    assert 'FROM "outcomes_bloodgas"' in after[2]
    assert after[3].startswith('INSERT INTO "outcomes_historicalbloodgas"')
    assert after[3].endswith('RETURNING "outcomes_historicalbloodgas"."history_id"')
    assert statements[update + 2].startswith("RELEASE SAVEPOINT")


def test_the_crf_forms_visit_and_crf_reads_go_in_one_message(client, site01, roles, coordinator):
    """Issue 24 (crf7): the visit in the user's sites, then the CRF with its version, one
    message before the service's transaction, for the form and the save alike."""
    p = ParticipantFactory(site=site01)
    of.schedule(p)
    data = blood_gas_correction(p, "D3")
    with CaptureQueriesContext(connection) as form:
        page = client.get(url(p, "D3", "blood_gas"))
    data["edit_version"] = page.context["form"].edit_version_token
    with CaptureQueriesContext(connection) as save:
        response = client.post(url(p, "D3", "blood_gas"), data)
    assert response.status_code == 302
    for captured in (form, save):
        statements = [q["sql"] for q in captured.captured_queries]
        # After the session and the user.
        visit, crf = statements[2].split(";\n")
        assert visit.startswith("SELECT")
        assert 'FROM "outcomes_visit"' in visit
        assert '"participants_participant"."study_id" = ' in visit
        assert 'FROM "outcomes_bloodgas"' in crf
        assert '"visit_id" IN (SELECT' in crf
        assert 'FROM "outcomes_historicalbloodgas"' in crf
