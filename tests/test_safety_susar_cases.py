"""SUSARs under blinding (issue 19): the sponsor's safety physician unblinds one case at a time.

ICH E2A III.C: "the blind should be broken by the sponsor only for that specific patient"
before expedited reporting; an event in a placebo participant is not a reaction to the product,
so it is not a SUSAR (no expedited report). ICH E2A III.A.1: a fatal or life-threatening SUSAR
is reported within 7 calendar days, "followed by as complete a report as possible within 8
additional calendar days"; the others within 15 days.
"""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from kernel import concurrency
from kernel.models import UNBLINDED_ALERT_KINDS, Alert, AlertKind, SecurityEvent
from kernel.roles import Role
from safety import reminders, selectors, services
from safety.exceptions import CaseUnblindingRefused, NotASusar, SafetyError
from safety.models import NOT_A_SUSAR_REASON, SusarCase, SusarOutcome

from .factories import PASSWORD
from .randomization_factories import EXOSOME, PLACEBO, randomized_participant, store_list
from .safety_factories import (
    case_unblind,
    report_sae,
    report_susar,
    safety_physician,
    totp_now,
)
from .test_randomization_blinding import normalize

pytestmark = pytest.mark.django_db


@pytest.fixture
def pair(roles, site01):
    """Two randomized participants: the first in the exosome arm, the second on placebo."""
    store_list(phase="I", stratum="B", arms=[EXOSOME, PLACEBO] * 3)
    return (
        randomized_participant(site=site01, support="none").participant,
        randomized_participant(site=site01, support="none").participant,
    )


@pytest.fixture
def coordinator(make_user):
    return make_user(Role.COORDINATOR)


@pytest.fixture
def physician(roles):
    return safety_physician()


def sign_in_with_code(client, user) -> None:
    client.post("/login/", {"username": user.username, "password": PASSWORD})
    code = totp_now(user, new_device=False)
    response = client.post("/account/two-factor/verify/", {"code": code})
    assert response.status_code == 302


def test_a_susar_in_the_product_arm_is_reported_on_its_7_day_clock_plus_8(
    pair, coordinator, physician
):
    ae = report_susar(pair[0], coordinator)  # grade 4, life-threatening
    case = case_unblind(ae, physician)
    assert case.outcome == SusarOutcome.REPORTABLE
    assert case.deadline == ae.aware_at + timedelta(days=7)
    assert case.completion_deadline == ae.aware_at + timedelta(days=7 + 8)
    assert case.clock_open
    assert case.completion_open
    confirmed = Alert.objects.get(kind=AlertKind.SUSAR_CONFIRMED)
    assert confirmed.recipients == ["sp@sponsor.example.org"]  # the physicians only
    assert SecurityEvent.objects.filter(kind="susar_case_unblinding", user=physician).exists()
    # The site's clock is gone, whatever the outcome: the case is the sponsor's now.
    ae.refresh_from_db()
    assert not ae.susar_clock_open
    assert ae.susar_case_assessed


def test_a_15_day_susar_has_no_completing_report(pair, coordinator, physician):
    ae = report_susar(
        pair[0],
        coordinator,
        ctcae_grade=3,
        criterion_life_threatening=False,
        criterion_hospitalization=True,
    )
    case = case_unblind(ae, physician)
    assert case.deadline == ae.aware_at + timedelta(days=15)
    assert not case.needs_completion
    assert case.completion_deadline is None


def test_a_placebo_case_is_closed_with_the_reason_audited_and_never_reported(
    pair, coordinator, physician
):
    ae = report_susar(pair[1], coordinator)
    case = case_unblind(ae, physician)
    assert case.outcome == SusarOutcome.NOT_A_SUSAR
    assert case.reason == NOT_A_SUSAR_REASON
    assert case.history.get().history_user == physician
    assert not case.clock_open
    assert case.deadline is None
    assert not Alert.objects.filter(kind__in=sorted(UNBLINDED_ALERT_KINDS)).exists()
    with pytest.raises(NotASusar, match="placebo"):
        services.susar_expedited_report_record(
            ae=ae,
            user=physician,
            submitted_at=timezone.now(),
            reference="X",
            opened_version=concurrency.version_of(case),
        )


def test_the_expedited_and_completing_reports_stop_their_clocks(pair, coordinator, physician):
    ae = report_susar(pair[0], coordinator)
    case = case_unblind(ae, physician)

    def record(reference, **kwargs):
        case.refresh_from_db()
        return services.susar_expedited_report_record(
            ae=ae,
            user=physician,
            submitted_at=timezone.now(),
            reference=reference,
            opened_version=concurrency.version_of(case),
            **kwargs,
        )

    with pytest.raises(SafetyError, match="7-day report before"):
        record("C", completion=True)
    record("IRFDA-1")
    record("IRFDA-1b", completion=True)
    case.refresh_from_db()
    assert not case.clock_open
    assert not case.completion_open
    assert case.history.count() == 3


@pytest.mark.parametrize(
    ("password", "code", "message"),
    [
        ("wrong", None, "password is not correct"),
        (PASSWORD, "000000", "This code is not right"),
        (PASSWORD, "", "This code is not right"),
    ],
)
def test_the_physician_re_authenticates_to_see_the_arm(
    pair, coordinator, physician, password, code, message
):
    ae = report_susar(pair[0], coordinator)
    with pytest.raises(CaseUnblindingRefused, match=message):
        case_unblind(ae, physician, password=password, code=code)
    assert not SusarCase.objects.exists()


@pytest.mark.parametrize("role", [Role.INVESTIGATOR, Role.SPONSOR, Role.STATISTICIAN])
def test_no_other_role_unblinds_a_case(pair, coordinator, make_user, role):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    ae = report_susar(pair[0], coordinator)
    user = make_user(role)
    TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)
    with pytest.raises(CaseUnblindingRefused, match="safety physician"):
        case_unblind(ae, user)
    assert not SusarCase.objects.exists()


def test_an_sae_that_is_not_a_suspected_susar_has_no_case(pair, coordinator, physician):
    ae = report_sae(pair[0], coordinator)  # unrelated
    with pytest.raises(NotASusar):
        case_unblind(ae, physician)


def test_the_case_page_unblinds_with_password_and_code_and_keeps_nothing_cached(
    client, pair, coordinator, physician
):
    ae = report_susar(pair[1], coordinator)
    sign_in_with_code(client, physician)
    url = f"/safety/susar/{ae.pk}/"
    page = client.get(url)
    assert page["Cache-Control"] == "no-store"
    assert 'name="otp_code"' in page.content.decode()
    assert "data-arm=" not in page.content.decode()
    wrong = client.post(url, {"password": "nope", "otp_code": "123456"})
    assert "The password is not correct; nothing was unblinded." in wrong.content.decode()
    with time_machine.travel(timezone.now() + timedelta(seconds=31), tick=False):
        code = totp_now(physician, new_device=False)  # the next code of the same phone
        done = client.post(url, {"password": PASSWORD, "otp_code": code}, follow=True)
    body = done.content.decode()
    assert 'data-arm="placebo"' in body
    assert "Placebo: not a SUSAR, closed without an expedited report" in body
    assert "Record expedited report" not in body
    assert client.get(f"/safety/susar/{ae.pk}/cioms.pdf").status_code == 404


def test_the_expedited_cioms_names_the_product_only_for_the_reported_case(
    client, pair, coordinator, physician
):
    from pypdf import PdfReader

    ae = report_susar(pair[0], coordinator)
    sign_in_with_code(client, physician)
    case_unblind(ae, physician)
    response = client.get(f"/safety/susar/{ae.pk}/cioms.pdf")
    assert response.status_code == 200
    import io

    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(response.content)).pages)
    assert "Exosome" in text
    # The site's CIOMS of the same report stays blinded.
    client.force_login(coordinator)
    blinded = client.get(f"/safety/ae/{ae.pk}/reports/0/cioms.pdf")
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(blinded.content)).pages)
    assert "Blinded investigational product" in text
    assert "Exosome" not in text.replace("Exosome therapy", "")


def test_the_site_sees_the_same_after_either_outcome(client, pair, coordinator, physician):
    """The AE page of a reported and of a closed case read the same but for the study ID."""
    with time_machine.travel(timezone.now(), tick=False):
        reported = report_susar(pair[0], coordinator)
        closed = report_susar(pair[1], coordinator)
        case_unblind(reported, physician)
        case_unblind(closed, physician)
        client.force_login(coordinator)
        bodies = []
        for ae in (reported, closed):
            body = client.get(f"/safety/ae/{ae.pk}/").content.decode()
            body = body.replace(ae.participant.study_id, "<sid>").replace(f"/{ae.pk}/", "/<pk>/")
            bodies.append(normalize(body))
    assert "Assessed by the sponsor" in bodies[0]
    assert bodies[0] == bodies[1]


def test_after_unblinding_clock_reminders_go_to_the_physician_only(pair, coordinator, physician):
    import time_machine

    start = timezone.now()
    reported = report_susar(pair[0], coordinator, aware_at=start - timedelta(hours=1))
    closed = report_susar(pair[1], coordinator, aware_at=start - timedelta(hours=1))
    case_unblind(reported, physician)
    case_unblind(closed, physician)
    with time_machine.travel(start + timedelta(days=5, hours=12), tick=False):
        reminders.reminders_send()
    blinded_kinds = Alert.objects.filter(kind=AlertKind.SUSAR_CLOCK)
    assert not blinded_kinds.exists()  # no site reminder for either case
    (unblinded,) = Alert.objects.filter(kind=AlertKind.SUSAR_CLOCK_UNBLINDED)
    assert unblinded.adverse_event_id == reported.pk
    assert unblinded.recipients == ["sp@sponsor.example.org"]


def test_blinded_readers_of_the_outbox_never_see_the_unblinded_alerts(
    pair, coordinator, physician, make_user
):
    ae = report_susar(pair[0], coordinator)
    case_unblind(ae, physician)
    data_manager = make_user(Role.DATA_MANAGER)
    kinds = set(selectors.alerts_for(data_manager).values_list("kind", flat=True))
    assert kinds
    assert not kinds & set(UNBLINDED_ALERT_KINDS)
