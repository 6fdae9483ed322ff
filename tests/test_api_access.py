"""The API asks what the pages ask (issue 22): each role's resources, site scope (another site's
record is a 404, absent from lists), identifying data (dates only for the roles that see it),
pagination, and the export started, polled and downloaded through the pages' checks."""

import io
import zipfile
from decimal import Decimal

import pytest

from kernel.models import SecurityEvent, SecurityEventKind
from kernel.roles import Role

from . import outcomes_factories as of
from .api_client import api_get, api_post, token_for
from .factories import ParticipantFactory
from .safety_factories import report_ae

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_sites(site01, site02, make_user):
    here = ParticipantFactory(site=site01, study_id="01-0001")
    there = ParticipantFactory(site=site02, study_id="02-0001")
    for participant in (here, there):
        of.schedule(participant)
        of.crf(participant, "D0", "crp", crp_mg_l=Decimal("12.5"), entered_value=Decimal("12.5"))
    return here, there


def get(client, user, path, **extra):
    return api_get(client, path, token_for(user), **extra)


def test_site_staff_see_their_own_site_only(client, make_user, site02, two_sites):
    coordinator = make_user(Role.COORDINATOR, sites=[site02])
    token = token_for(coordinator)
    listed = api_get(client, "/api/v1/participants/", token).json()
    assert [p["study_id"] for p in listed["results"]] == ["02-0001"]
    assert [s["code"] for s in api_get(client, "/api/v1/sites/", token).json()["results"]] == ["02"]
    for path in (
        "/api/v1/participants/01-0001/",
        "/api/v1/participants/01-0001/visits/",
        "/api/v1/participants/01-0001/visits/D0/crfs/crp/",
    ):
        assert api_get(client, path, token).status_code == 404, path
    assert api_get(client, "/api/v1/participants/02-0001/visits/", token).status_code == 200
    assert api_get(client, "/api/v1/participants/?site=01", token).json()["count"] == 0


def test_a_trial_wide_role_sees_every_site_with_study_days_not_dates(client, make_user, two_sites):
    manager = make_user(Role.DATA_MANAGER)
    token = token_for(manager)
    listed = api_get(client, "/api/v1/participants/", token).json()
    assert [p["study_id"] for p in listed["results"]] == ["01-0001", "02-0001"]
    first = listed["results"][0]
    assert first["dates"] is None
    assert isinstance(first["enrolled_day"], int)
    visits = api_get(client, "/api/v1/participants/01-0001/visits/", token).json()["results"]
    d0 = next(v for v in visits if v["code"] == "D0")
    assert d0["target_date"] is None
    assert any(c["code"] == "crp" and c["status"] == "complete" for c in d0["crfs"])
    crf = api_get(client, "/api/v1/participants/01-0001/visits/D0/crfs/crp/", token).json()
    assert crf["assessed_day"] == 0
    assert crf["data"]["crp_mg_l"] == "12.5"
    assert crf["data"]["assessed_on"] == 0  # a study day, not a date


def test_site_staff_who_see_identifying_data_get_calendar_dates(client, make_user, two_sites):
    here, _ = two_sites
    body = get(client, make_user(Role.COORDINATOR), "/api/v1/participants/01-0001/").json()
    day0 = of.selectors.day0_of(here)
    assert body["dates"]["day0"] == day0.isoformat()
    crf = get(
        client, make_user(Role.INVESTIGATOR), "/api/v1/participants/01-0001/visits/D0/crfs/crp/"
    ).json()
    assert crf["data"]["assessed_on"] == day0.isoformat()


@pytest.mark.parametrize(
    ("role", "path", "status"),
    [
        (Role.SPONSOR, "/api/v1/participants/", 403),
        (Role.SPONSOR, "/api/v1/adverse-events/", 200),
        (Role.SPONSOR, "/api/v1/queries/", 403),
        (Role.STATISTICIAN, "/api/v1/participants/", 403),
        (Role.PHARMACIST, "/api/v1/participants/", 200),
        (Role.PHARMACIST, "/api/v1/participants/01-0001/visits/", 403),
        (Role.SAFETY_PHYSICIAN, "/api/v1/adverse-events/", 403),
        (Role.MONITOR, "/api/v1/exports/", 403),
        (Role.MONITOR, "/api/v1/queries/", 200),
    ],
)
def test_each_role_reaches_what_its_pages_allow(client, make_user, two_sites, role, path, status):
    assert get(client, make_user(role), path).status_code == status


def test_no_crf_a_visit_does_not_have_or_that_was_not_begun(client, make_user, two_sites):
    token = token_for(make_user(Role.MONITOR))
    for path in (
        "/api/v1/participants/01-0001/visits/D0/crfs/nonsense/",
        "/api/v1/participants/01-0001/visits/D99/crfs/crp/",
        "/api/v1/participants/01-0001/visits/D0/crfs/murray/",
    ):
        assert api_get(client, path, token).status_code == 404, path


def test_adverse_events_follow_the_site_scope(client, make_user, site02, two_sites):
    here, there = two_sites
    report_ae(here, make_user(Role.COORDINATOR))
    report_ae(there, make_user(Role.COORDINATOR, sites=[site02], username="c2"))
    own = get(client, make_user(Role.MONITOR, sites=[site02]), "/api/v1/adverse-events/").json()
    assert [ae["participant"] for ae in own["results"]] == ["02-0001"]
    assert isinstance(own["results"][0]["onset_day"], int)
    everyone = get(client, make_user(Role.SPONSOR), "/api/v1/adverse-events/").json()
    assert everyone["count"] == 2


def test_pages_are_limited_in_size(client, make_user, site01, settings):
    settings.API_PAGE_SIZE = 2
    settings.API_PAGE_SIZE_MAX = 3
    for n in range(1, 6):
        ParticipantFactory(site=site01, study_id=f"01-00{n:02d}")
    token = token_for(make_user(Role.MONITOR))
    first = api_get(client, "/api/v1/participants/", token).json()
    assert (first["count"], len(first["results"])) == (5, 2)
    assert first["next"].endswith("/api/v1/participants/?page=2")
    assert len(api_get(client, "/api/v1/participants/?page_size=50", token).json()["results"]) == 3


def test_the_sponsor_starts_polls_and_downloads_an_export(
    client, make_user, two_sites, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    token = token_for(make_user(Role.SPONSOR))
    started = api_post(client, "/api/v1/exports/", token, {"new_release": False})
    assert started.status_code == 202, started.content
    run = started.json()
    polled = api_get(client, f"/api/v1/exports/{run['id']}/", token).json()
    assert polled["status"] == "done"  # no broker in the tests: built in the request
    assert polled["download"].endswith(f"/api/v1/exports/{run['id']}/download/")
    response = api_get(client, f"/api/v1/exports/{run['id']}/download/", token)
    assert response.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert any(name.endswith("participants.csv") for name in archive.namelist())
    body = archive.read(next(n for n in archive.namelist() if n.endswith("participants.csv")))
    assert b"01-0001" not in body  # export IDs, never study IDs
    assert SecurityEvent.objects.filter(kind=SecurityEventKind.EXPORT_STARTED).exists()
    assert SecurityEvent.objects.filter(kind=SecurityEventKind.EXPORT_DOWNLOADED).exists()
    assert api_get(client, "/api/v1/exports/999999/", token).status_code == 404


def test_a_session_post_without_its_csrf_token_is_refused(make_user, two_sites):
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    browser.force_login(make_user(Role.SPONSOR))
    response = browser.post("/api/v1/exports/", {}, content_type="application/json")
    assert response.status_code == 403
    assert not SecurityEvent.objects.filter(kind=SecurityEventKind.EXPORT_STARTED).exists()


def test_the_vital_signs_at_screening_as_a_crf(client, make_user, site02, two_sites):
    """Issue 19: the record of no visit, with the CRFs' permission, scope and date rules."""
    from .participants_factories import ScreeningVitalSignsFactory

    here, there = two_sites
    for participant in (here, there):
        ScreeningVitalSignsFactory(screening=participant.screening)
    path = "/api/v1/participants/01-0001/records/screening_vitals/"
    body = get(client, make_user(Role.DATA_MANAGER), path).json()
    assert body["record"] == "screening_vitals"
    assert body["data"]["heart_rate_bpm"] == 96
    assert body["data"]["fio2"] == "0.400"
    day0 = of.selectors.day0_of(here)
    measured = here.screening.screened_on
    assert body["data"]["measured_on"] == (measured - day0).days  # a study day, not a date
    assert body["measured_day"] == (measured - day0).days
    assert "recorded_by" not in body["data"]
    assert "warning_reason" not in body["data"]
    dated = get(client, make_user(Role.INVESTIGATOR), path).json()
    assert dated["data"]["measured_on"] == measured.isoformat()
    # Another site's is a 404; the pharmacist and the sponsor are refused; no other record.
    elsewhere = make_user(Role.COORDINATOR, sites=[site02])
    assert get(client, elsewhere, path).status_code == 404
    assert get(client, make_user(Role.PHARMACIST), path).status_code == 403
    assert get(client, make_user(Role.SPONSOR), path).status_code == 403
    nonsense = "/api/v1/participants/01-0001/records/murray/"
    assert get(client, make_user(Role.MONITOR), nonsense).status_code == 404
