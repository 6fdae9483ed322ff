"""Study IDs under concurrency: real threads, real transactions, PostgreSQL row locks.

Two coordinators enrolling at the same moment never get the same study ID (issue 4); one
patient enrolled twice at the same moment is enrolled once.
"""

import threading

import pytest
from django.db import connection

from kernel.roles import Role
from participants import services
from participants.exceptions import AlreadyEnrolled
from participants.models import Participant, Screening

from .participants_factories import ConsentFactory, EligibilityFactory, ScreeningFactory

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 8


def consented_screenings(site, user, n):
    screenings = []
    for _ in range(n):
        screening = ScreeningFactory(site=site, screened_by=user)
        EligibilityFactory(screening=screening, confirmed=True)
        ConsentFactory(screening=screening)
        screenings.append(screening)
    return screenings


def run_at_once(targets):
    """Start every target at the same instant, each in its own thread and DB connection."""
    barrier = threading.Barrier(len(targets))
    results, errors = [], []

    def worker(target):
        try:
            barrier.wait()
            results.append(target())
        except Exception as error:  # noqa: BLE001 — collected and asserted on below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(t,)) for t in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results, errors


def test_simultaneous_enrollments_at_one_site_get_distinct_sequential_study_ids(make_user, site01):
    user = make_user(Role.COORDINATOR)
    screenings = consented_screenings(site01, user, THREADS)
    results, errors = run_at_once(
        [
            (lambda s=s: services.participant_enroll(screening=s, user=user).study_id)
            for s in screenings
        ]
    )
    assert errors == []
    assert sorted(results) == [f"01-{n:04d}" for n in range(1, THREADS + 1)]
    assert Participant.objects.count() == THREADS


def test_one_patient_enrolled_twice_at_once_is_enrolled_once(make_user, site01):
    user = make_user(Role.COORDINATOR)
    (screening,) = consented_screenings(site01, user, 1)
    results, errors = run_at_once(
        [lambda: services.participant_enroll(screening=screening, user=user).study_id] * 4
    )
    assert results == ["01-0001"]
    assert len(errors) == 3
    assert all(isinstance(e, AlreadyEnrolled) for e in errors)
    assert Participant.objects.count() == 1


def test_simultaneous_screenings_get_distinct_screening_numbers(make_user, site01):
    from datetime import date

    user = make_user(Role.COORDINATOR)

    def screen(n):
        return services.screening_create(
            site=site01,
            user=user,
            screened_on=date(2026, 1, 5),
            identity={
                "full_name": f"Concurrent Patient {n}",
                "date_of_birth": date(1980, 1, 1),
                "sex": "male",
            },
        ).screening_number

    results, errors = run_at_once([(lambda n=n: screen(n)) for n in range(THREADS)])
    assert errors == []
    assert sorted(results) == [f"S01-{n:04d}" for n in range(1, THREADS + 1)]
    assert Screening.objects.count() == THREADS
