"""Querysets compiled once (kernel.prepared, issue 24): the same rows, model instances, related
objects and annotations as the queryset they come from, whatever the arguments; a builder whose
SQL would not be the same for every argument is refused, not run with wrong parameters."""

from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.db.models import IntegerField, Value
from django.db.models.expressions import RawSQL
from django.test.utils import CaptureQueriesContext

from datamanagement import selectors, services
from datamanagement.models import Lock, LockLevel
from kernel import concurrency
from kernel.prepared import PreparedRows
from kernel.roles import Role
from outcomes.models import Murray, Visit

from . import outcomes_factories as of
from .factories import ParticipantFactory

pytestmark = pytest.mark.django_db


def _visits(_key, participant_id, code):
    return Visit.objects.filter(participant_id=participant_id, code=code).values_list(
        "pk", "day", "target_date"
    )


def _visits_with_participant(key, participant_id):
    queryset = Visit.objects.filter(participant_id=participant_id).select_related(
        "participant__site"
    )
    if key == "annotated":
        queryset = queryset.annotate(label=Value("x"))
    return queryset.order_by("day")


def test_the_rows_are_the_querysets_for_every_argument(site01, roles):
    prepared = PreparedRows(Visit, _visits, ("int", "text"))
    first, second = ParticipantFactory(site=site01), ParticipantFactory(site=site01)
    for p in (first, second):
        of.schedule(p)
    for p in (first, second):
        for code in ("D0", "D3", "D28", "nope"):
            assert prepared.rows(None, p.pk, code) == list(_visits(None, p.pk, code))


def _days_as_text(key, participant_id):
    # The database gives text; the annotation's converter (IntegerField) makes it an int.
    day = RawSQL('"outcomes_visit"."day"::text', (), output_field=IntegerField())
    visits = Visit.objects.filter(participant_id=participant_id).annotate(day_read=day)
    visits = visits.order_by("day")
    return visits if key == "objects" else visits.values_list("code", "day_read")


def test_the_converters_found_once_convert_every_runs_rows(site01, roles):
    """The columns' converters are found with the SQL, once (issue 24), and still applied to
    the rows of every later run, as the queryset's."""
    prepared = PreparedRows(Visit, _days_as_text, ("int",))
    first, second = ParticipantFactory(site=site01), ParticipantFactory(site=site01)
    for p in (first, second):
        of.schedule(p)
    for p in (first, second, first):
        rows = prepared.rows(None, p.pk)
        assert rows == list(_days_as_text(None, p.pk))
        assert rows
        assert all(type(day) is int for _code, day in rows)
        found = prepared.objects("objects", p.pk)
        assert [(v.code, v.day_read) for v in found] == rows


def test_the_objects_are_the_querysets_with_their_related_objects_and_annotations(site01, roles):
    prepared = PreparedRows(Visit, _visits_with_participant, ("int",))
    p = ParticipantFactory(site=site01)
    of.schedule(p)
    for key in ("plain", "annotated"):
        found = prepared.objects(key, p.pk)
        expected = list(_visits_with_participant(key, p.pk))
        assert [v.pk for v in found] == [v.pk for v in expected]
        assert [v.target_date for v in found] == [v.target_date for v in expected]
        assert all(not v._state.adding and v._state.db == "default" for v in found)
        with CaptureQueriesContext(connection) as more:
            assert {v.participant.site.code for v in found} == {site01.code}
            if key == "annotated":
                assert {v.label for v in found} == {"x"}
        assert len(more) == 0  # select_related filled them, as the queryset does


def test_a_builder_whose_sql_depends_on_its_argument_is_refused(site01, roles):
    def by_threshold(_key, day):
        # A different statement for some values: cannot be compiled once.
        return Visit.objects.filter(day__gt=0 if day > 30_500 else 1).values_list("pk")

    with pytest.raises(ValueError, match="varies|shape"):
        PreparedRows(Visit, by_threshold, ("int",)).rows(None, 3)


def test_a_locking_builder_must_say_so(site01, roles):
    def locked(_key, visit_id):
        return Visit.objects.select_for_update().filter(pk=visit_id)

    with transaction.atomic(), pytest.raises(ValueError, match="for_write"):
        PreparedRows(Visit, locked, ("int",)).objects(None, 1)


def test_the_covering_lock_is_the_widest_and_found_for_each_shape(site01, roles, make_user):
    data_manager = make_user(Role.DATA_MANAGER)
    p = ParticipantFactory(site=site01)
    of.schedule(p)
    murray = of.crf(
        p, "D1", "murray", pao2_mmhg=Decimal("80"), fio2=Decimal("0.5"), cxr_quadrants=2
    )
    visit = murray.visit
    assert selectors.lock_for_crf(visit, "murray") is None
    assert selectors.lock_for_participant(p) is None
    crf_lock = services.lock_create(
        user=data_manager,
        level=LockLevel.CRF,
        participant=p,
        visit=visit,
        crf_code="murray",
        reason="CRF reviewed",
    )
    assert selectors.lock_for_crf(visit, "murray") == crf_lock
    assert selectors.lock_for_crf(visit, "blood_gas") is None
    assert selectors.lock_for_participant(p) is None
    participant_lock = services.lock_create(
        user=data_manager, level=LockLevel.PARTICIPANT, participant=p, reason="Casebook reviewed"
    )
    found = selectors.lock_for_crf(visit, "murray")
    assert found == participant_lock
    # With who locked it, read in the same statement.
    with CaptureQueriesContext(connection) as more:
        assert found.locked_by == data_manager
    assert len(more) == 0
    assert selectors.lock_for_participant(p) == participant_lock
    assert Lock.objects.filter(unlocked_at__isnull=True).count() == 2


def test_the_version_read_is_the_newest_audit_row(site01, roles):
    p = ParticipantFactory(site=site01)
    of.schedule(p)
    murray = of.crf(
        p, "D1", "murray", pao2_mmhg=Decimal("80"), fio2=Decimal("0.5"), cxr_quadrants=2
    )
    newest = murray.history.order_by("-history_id").first().history_id
    assert concurrency.version_of(murray) == newest
    of.crf(p, "D1", "murray", pao2_mmhg=Decimal("80"), fio2=Decimal("0.6"), cxr_quadrants=2)
    assert concurrency.version_of(murray) > newest
    assert concurrency.version_of(murray) == (
        murray.history.order_by("-history_id").first().history_id
    )
    assert concurrency.version_of(Murray(visit=murray.visit)) is None
