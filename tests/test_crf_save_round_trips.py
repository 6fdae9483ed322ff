"""A CRF page's and a CRF save's round trips (issue 24, crf7): the view's visit and CRF reads in
one message give what each gives alone (a CRF of another visit never taken); a correction's
audit row, written by simple-history in one message with the reads after the write, is the row
the library writes alone, column for column."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.http import Http404
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from kernel import audit
from kernel.access import site_scope
from kernel.models import User
from kernel.roles import Role
from outcomes import selectors, services
from outcomes.models import BloodGas, Visit

from . import outcomes_factories as of
from .factories import ParticipantFactory, SiteFactory

pytestmark = pytest.mark.django_db


def _alone(user, study_id, code, crf_code):
    """The view's two reads as it made them before crf7: one round trip each."""
    try:
        visit = selectors.visit_in_scope_or_404(user, study_id=study_id, code=code)
    except Http404:
        return None
    return visit, selectors.crf_with_version(visit, crf_code)


def _together(user, study_id, code, crf_code):
    try:
        return selectors.visit_and_crf_in_scope_or_404(
            user, study_id=study_id, code=code, crf_code=crf_code
        )
    except Http404:
        return None


def _key(found):
    if found is None:
        return None
    visit, crf = found
    return (
        visit.pk,
        visit.participant.site.code,
        crf and (crf.pk, crf.visit_id, crf.pao2_mmhg, crf.__dict__["edit_version_shown"]),
    )


def test_the_visit_and_its_crf_read_together_are_what_each_read_gives_alone(
    make_user, roles, site01
):
    site02 = SiteFactory(code="02")
    here, there = ParticipantFactory(site=site01), ParticipantFactory(site=site02)
    for participant in (here, there):
        of.schedule(participant)
        of.crf(participant, "D3", "blood_gas", pao2_mmhg=Decimal("80"), fio2=Decimal("0.4"))
        of.crf(participant, "D3", "blood_gas", pao2_mmhg=Decimal("81"), fio2=Decimal("0.4"))
    users = [
        make_user(Role.COORDINATOR),  # own sites: 01
        make_user(Role.COORDINATOR, sites=[site02], username="c2"),
        make_user(Role.DATA_MANAGER),  # every site
        User.objects.create_user("nobody", password="x"),  # noqa: S106 — no role: nothing
    ]
    seen = set()
    for user in users:
        user = User.objects.get(pk=user.pk)
        site_scope(user)  # the user's roles, read once (as the middleware reads them)
        for participant in (here, there):
            # D3 has a blood gas, D1 has none (not started), D99 does not exist.
            for code in ("D3", "D1", "D99"):
                with CaptureQueriesContext(connection) as together:
                    found = _together(user, participant.study_id, code, "blood_gas")
                expected = _alone(user, participant.study_id, code, "blood_gas")
                assert _key(found) == _key(expected), (user.username, code)
                assert len(together) <= 1
                if found is not None and found[1] is not None:
                    seen.add((user.username, participant.site.code))
    assert seen == {
        ("site_coordinator", "01"),
        ("c2", "02"),
        ("data_manager", "01"),
        ("data_manager", "02"),
    }


def test_a_code_that_is_no_crf_reads_the_visit_alone(make_user, roles, site01):
    p = ParticipantFactory(site=site01)
    of.schedule(p)
    user = User.objects.get(pk=make_user(Role.COORDINATOR).pk)
    site_scope(user)  # the user's roles, read once (as the middleware reads them)
    with CaptureQueriesContext(connection) as captured:
        visit, crf = selectors.visit_and_crf_in_scope_or_404(
            user, study_id=p.study_id, code="D3", crf_code="no_such_crf"
        )
    assert (visit.code, crf) == ("D3", None)
    assert len(captured) == 1
    assert ";\n" not in captured.captured_queries[0]["sql"]


def test_a_crf_of_another_visit_is_never_taken(make_user, roles, site01, monkeypatch):
    """Should the CRF statement ever find a CRF of another visit than the visit statement's,
    the CRF is read again by the visit's id."""
    p = ParticipantFactory(site=site01)
    of.schedule(p)
    of.crf(p, "D0", "blood_gas", pao2_mmhg=Decimal("80"), fio2=Decimal("0.4"))
    other = of.crf(p, "D3", "blood_gas", pao2_mmhg=Decimal("70"), fio2=Decimal("0.4"))
    user = User.objects.get(pk=make_user(Role.COORDINATOR).pk)
    real = selectors.read_together

    def with_another_visits_crf(reads):
        found, _crfs = real(reads)
        return found, [BloodGas.objects.get(pk=other.pk)]

    monkeypatch.setattr(selectors, "read_together", with_another_visits_crf)
    visit, crf = selectors.visit_and_crf_in_scope_or_404(
        user, study_id=p.study_id, code="D0", crf_code="blood_gas"
    )
    assert visit.code == "D0"
    assert crf.visit_id == visit.pk
    assert crf.pao2_mmhg == 80


def _columns(row) -> dict:
    return {f.attname: getattr(row, f.attname) for f in row._meta.concrete_fields}


def test_a_corrections_audit_row_is_the_one_the_library_writes_alone(site01, roles, monkeypatch):
    """The audit row crf_save writes (simple-history's INSERT, sent with the reads after the
    write) against the row the library writes for the same CRF, user and reason by a plain
    save: every column equal but the history id (the clock held still for both)."""
    p = ParticipantFactory(site=site01)
    of.schedule(p)
    of.crf(p, "D3", "blood_gas", pao2_mmhg=Decimal("80"), fio2=Decimal("0.4"))
    visit = Visit.objects.get(participant=p, code="D3")
    user = of._entry_user(p)
    crf = BloodGas.objects.get(visit=visit)
    now = timezone.now()
    monkeypatch.setattr(timezone, "now", lambda: now)
    services.crf_save(
        visit=visit,
        crf_code="blood_gas",
        values={
            "assessed_on": visit.target_date,
            "pao2_mmhg": Decimal("85"),
            "fio2": Decimal("0.4"),
        },
        complete=True,
        user=user,
        opened_version=crf.history.order_by("-history_id").first().history_id,
        reason="Transcription error",
    )
    through_the_save = crf.history.order_by("-history_id").first()
    saved = BloodGas.objects.get(pk=crf.pk)
    assert saved.pao2_mmhg == 85
    # The library alone, on the CRF as saved: its own post_save, its own INSERT.
    audit.save_with_reason(saved, user=user, reason="Transcription error")
    alone = crf.history.order_by("-history_id").first()
    assert alone.history_id == through_the_save.history_id + 1
    expected = _columns(alone) | {"history_id": through_the_save.history_id}
    assert _columns(through_the_save) == expected
    assert through_the_save.history_type == "~"
    assert through_the_save.history_user_id == user.pk
    assert through_the_save.pao2_mmhg == 85
