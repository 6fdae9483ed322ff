"""Reporting AEs and SAEs through the pages and services (SPEC §5)."""

import re
import zoneinfo
from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from kernel import concurrency
from kernel.models import Alert
from kernel.roles import Role
from safety import services
from safety.exceptions import FollowUpClosed, SafetyError, SignatureRefused
from safety.models import AdverseEvent, SAEReport

from .factories import PASSWORD, ParticipantFactory
from .page_client import PageClient
from .safety_factories import ae_data, report_ae, report_sae, report_susar, sae_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def client():
    """Posts carry the version their page showed, as a browser's do (tests/page_client.py)."""
    return PageClient()


@pytest.fixture
def participant(site01):
    return ParticipantFactory(site=site01)


@pytest.fixture
def coordinator(make_user):
    return make_user(Role.COORDINATOR)


@pytest.fixture
def investigator(make_user):
    return make_user(Role.INVESTIGATOR)


def _form(data: dict) -> dict:
    """What the browser posts for `data` (unchecked boxes are absent)."""
    post = {}
    for name, value in data.items():
        if value is None or value is False:
            continue
        if value is True:
            post[name] = "on"
        elif hasattr(value, "isoformat"):
            post[name] = value.strftime("%Y-%m-%dT%H:%M") if hasattr(value, "hour") else str(value)
        else:
            post[name] = str(value)
    return post


def test_a_coordinator_reports_a_non_serious_ae(client, login, coordinator, participant):
    login(coordinator)
    response = client.post(f"/safety/participants/{participant.study_id}/ae/new/", _form(ae_data()))
    assert response.status_code == 302
    ae = AdverseEvent.objects.get()
    assert response["Location"] == f"/safety/ae/{ae.pk}/"
    assert (ae.number, ae.preferred_term, ae.needs_coding) == (1, "Pyrexia", False)
    assert ae.expected is True  # Pyrexia grade 1 is in the reference safety information
    assert ae.history.count() == 1
    assert not SAEReport.objects.exists()
    assert not Alert.objects.exists()


def test_free_text_is_accepted_and_flagged_for_coding(coordinator, participant):
    ae = report_ae(participant, coordinator, preferred_term="Itchy forearms")
    assert ae.needs_coding is True
    assert ae.system_organ_class == ""
    assert ae.expected is False


def test_aes_are_numbered_per_participant(coordinator, participant, site01):
    other = ParticipantFactory(site=site01)
    assert [report_ae(participant, coordinator).number for _ in range(3)] == [1, 2, 3]
    assert report_ae(other, coordinator).number == 1


def test_saving_an_sae_files_the_initial_report_and_writes_its_alert(coordinator, participant):
    ae = report_sae(participant, coordinator)
    report = ae.reports.get()
    assert (report.number, report.kind) == (0, "initial")
    assert report.snapshot["ctcae_grade"] == 4
    alert = Alert.objects.get()
    assert alert.adverse_event == ae
    assert alert.kind == "sae_initial"
    assert set(alert.recipients) >= {"safety@sponsor.example.org", "medical.monitor@example.org"}


def test_the_site_investigator_is_alerted_too(coordinator, participant, make_user):
    investigator = make_user(Role.INVESTIGATOR)
    investigator.email = "pi@example.org"
    investigator.save()
    report_sae(participant, coordinator)
    assert "pi@example.org" in Alert.objects.get().recipients


def test_a_susar_has_a_7_day_clock_when_life_threatening(coordinator, participant):
    ae = report_susar(participant, coordinator)
    assert ae.is_susar
    assert ae.susar_clock_days == 7
    assert ae.susar_deadline == ae.aware_at + timedelta(days=7)
    assert "SUSAR" in Alert.objects.get().subject


def test_a_susar_has_a_15_day_clock_otherwise(coordinator, participant):
    ae = report_susar(
        participant,
        coordinator,
        criterion_life_threatening=False,
        criterion_hospitalization=True,
        ctcae_grade=3,
    )
    assert ae.susar_clock_days == 15
    assert ae.susar_deadline == ae.aware_at + timedelta(days=15)


def test_grade_5_without_death_is_refused_with_clear_messages_and_nothing_lost(
    client, login, coordinator, participant
):
    login(coordinator)
    data = sae_data(ctcae_grade=5, verbatim_term="Cardiac arrest on day 3 (typed with care)")
    response = client.post(f"/safety/participants/{participant.study_id}/ae/new/", _form(data))
    assert response.status_code == 200
    body = response.content.decode()
    assert "CTCAE grade 5 means death" in body
    assert "CTCAE grade 5 needs the date of death" in body
    assert "Cardiac arrest on day 3 (typed with care)" in body  # what was typed is kept
    assert "Nothing was saved yet" in body
    assert not AdverseEvent.objects.exists()
    assert not Alert.objects.exists()


def test_a_fatal_sae_with_grade_5_and_a_death_record_is_accepted(coordinator, participant):
    today = timezone.localdate()
    ae = report_sae(
        participant,
        coordinator,
        ctcae_grade=5,
        outcome="fatal",
        ongoing=False,
        end_date=today,
        death_date=today,
        death_cause="Refractory hypoxaemia",
        criterion_death=True,
    )
    assert ae.fatal_or_life_threatening
    assert ae.reports.get().outcome_final is True


def test_the_database_refuses_grade_5_without_a_fatal_outcome(coordinator, participant):
    ae = report_ae(participant, coordinator)
    with pytest.raises(IntegrityError), transaction.atomic():
        AdverseEvent.objects.filter(pk=ae.pk).update(ctcae_grade=5)


def test_a_correction_needs_a_reason(client, login, coordinator, participant):
    ae = report_ae(participant, coordinator)
    login(coordinator)
    post = _form(ae_data(ctcae_grade=2))
    response = client.post(f"/safety/ae/{ae.pk}/edit/", post)
    assert response.status_code == 200
    assert "Give a reason for this change" in response.content.decode()
    post["reason_for_change"] = "Grade checked against the nursing notes"
    response = client.post(f"/safety/ae/{ae.pk}/edit/", post)
    assert response.status_code == 302
    ae.refresh_from_db()
    assert ae.ctcae_grade == 2
    assert ae.history.first().history_change_reason == "Grade checked against the nursing notes"


def test_a_non_serious_ae_made_serious_is_reported_then(coordinator, participant):
    ae = report_ae(participant, coordinator, ongoing=True, end_date=None, outcome="recovering")
    services.ae_update(
        ae=ae,
        user=coordinator,
        reason="Admitted to the ICU",
        values={
            "serious": True,
            "criterion_hospitalization": True,
            "aware_at": timezone.now(),
            "ctcae_grade": 3,
        },
        opened_version=concurrency.version_of(ae),
    )
    assert ae.reports.count() == 1
    assert Alert.objects.get().kind == "sae_initial"


def test_follow_up_reports_are_numbered_until_the_final_one(coordinator, participant):
    ae = report_sae(participant, coordinator)
    first = services.sae_follow_up_submit(
        ae=ae,
        user=coordinator,
        narrative="Still ventilated",
        values={},
        final=False,
        opened_version=concurrency.version_of(ae),
    )
    assert (first.number, first.kind) == (1, "follow_up")
    with pytest.raises(FollowUpClosed):
        services.sae_follow_up_submit(
            ae=ae,
            user=coordinator,
            narrative="Better",
            values={},
            final=True,
            opened_version=concurrency.version_of(ae),
        )
    today = timezone.localdate()
    final = services.sae_follow_up_submit(
        ae=ae,
        user=coordinator,
        narrative="Extubated, discharged from ICU",
        values={"outcome": "recovered", "ongoing": False, "end_date": today},
        final=True,
        opened_version=concurrency.version_of(ae),
    )
    assert final.number == 2
    assert final.snapshot["outcome"] == "recovered"
    assert ae.reports.get(number=1).snapshot["outcome"] == "not_recovered"  # frozen
    with pytest.raises(FollowUpClosed):
        services.sae_follow_up_submit(
            ae=ae,
            user=coordinator,
            narrative="More",
            values={},
            final=False,
            opened_version=concurrency.version_of(ae),
        )
    assert list(Alert.objects.order_by("pk").values_list("kind", flat=True)) == [
        "sae_initial",
        "sae_follow_up",
        "sae_follow_up",
    ]


def test_the_investigator_signs_causality_with_the_password(investigator, participant):
    ae = report_sae(participant, investigator)
    with pytest.raises(SignatureRefused):
        services.ae_causality_sign(
            ae=ae,
            user=investigator,
            password="wrong",
            relationship="unrelated",
            opened_version=concurrency.version_of(ae),
        )
    with pytest.raises(SafetyError):
        services.ae_causality_sign(
            ae=ae,
            user=investigator,
            password=PASSWORD,
            relationship="possible",
            opened_version=concurrency.version_of(ae),
        )
    signed = services.ae_causality_sign(
        ae=ae,
        user=investigator,
        password=PASSWORD,
        relationship="unrelated",
        opened_version=concurrency.version_of(ae),
    )
    assert signed.causality_signed_by == investigator
    assert "investigator" in signed.causality_signature_meaning


def test_a_coordinator_cannot_sign(coordinator, participant):
    ae = report_sae(participant, coordinator)
    with pytest.raises(SignatureRefused):
        services.ae_causality_sign(
            ae=ae,
            user=coordinator,
            password=PASSWORD,
            relationship="unrelated",
            opened_version=concurrency.version_of(ae),
        )


def test_reassessing_an_unexpected_sae_as_related_makes_it_a_susar_and_alerts(
    investigator, participant
):
    ae = report_sae(participant, investigator)  # unrelated, ARDS worsening: not in the RSI
    assert not ae.is_susar
    services.ae_causality_sign(
        ae=ae,
        user=investigator,
        password=PASSWORD,
        relationship="possible",
        reason="Temporal relation to the infusion",
        opened_version=concurrency.version_of(ae),
    )
    ae.refresh_from_db()
    assert ae.is_susar
    assert Alert.objects.filter(kind="susar").count() == 1


def test_a_later_change_voids_the_signature(investigator, participant):
    ae = report_sae(participant, investigator)
    services.ae_causality_sign(
        ae=ae,
        user=investigator,
        password=PASSWORD,
        relationship="unrelated",
        opened_version=concurrency.version_of(ae),
    )
    services.ae_update(
        ae=ae,
        user=investigator,
        reason="Grade corrected",
        values={"ctcae_grade": 3},
        opened_version=concurrency.version_of(ae),
    )
    ae.refresh_from_db()
    assert ae.causality_signed_at is None


def test_the_investigator_no_longer_records_the_expedited_report(investigator, participant):
    # Issue 19 (ICH E2A III.C): whether a suspected SUSAR is reported follows its arm, so the
    # sponsor's safety physician records it after unblinding the case
    # (tests/test_safety_susar_cases.py); a blinded investigator cannot, and the clock stays.
    ae = report_susar(participant, investigator)
    assert ae.susar_clock_open
    with pytest.raises(SafetyError, match="safety physician"):
        services.susar_expedited_report_record(
            ae=ae,
            user=investigator,
            submitted_at=timezone.now(),
            reference="IRFDA-2021-0042",
            opened_version=concurrency.version_of(ae),
        )
    ae.refresh_from_db()
    assert ae.susar_clock_open


def test_a_coordinator_of_another_site_cannot_open_the_ae(
    client, login, make_user, coordinator, participant, site02
):
    ae = report_ae(participant, coordinator)
    login(make_user(Role.COORDINATOR, sites=[site02], username="coordinator2"))
    # 404, as for a record that does not exist (issue 20)
    assert client.get(f"/safety/ae/{ae.pk}/").status_code == 404
    assert client.get(f"/safety/participants/{participant.study_id}/ae/new/").status_code == 404


def test_the_safety_page_lists_open_clocks_colour_coded(client, login, coordinator, participant):
    report_susar(
        participant,
        coordinator,
        onset_date=timezone.localdate() - timedelta(days=6),
        aware_at=timezone.now() - timedelta(days=5, hours=2),
    )
    login(coordinator)
    body = client.get("/safety/").content.decode()
    assert "SUSAR expedited report (7-day clock)" in body
    assert "table-warning" in body  # under two days left: amber
    assert "SAE follow-up report" in body


def test_the_ae_assessment_crf_link_records_its_visit(client, login, coordinator, participant):
    login(coordinator)
    url = f"/safety/participants/{participant.study_id}/ae/new/?visit=D2"
    assert "from the D2 AE assessment" in client.get(url).content.decode()
    assert client.post(url, _form(ae_data())).status_code == 302
    assert AdverseEvent.objects.get().visit == "D2"


def test_a_visit_without_ae_assessment_is_refused(coordinator, participant):
    with pytest.raises(SafetyError):
        services.ae_report(participant=participant, user=coordinator, data=ae_data(), visit="D1")


def test_a_follow_up_cannot_make_an_sae_non_serious(coordinator, participant):
    ae = report_sae(participant, coordinator)
    with pytest.raises(SafetyError):
        services.sae_follow_up_submit(
            ae=ae,
            user=coordinator,
            narrative="Not serious after all",
            values={"serious": False},
            final=False,
            opened_version=concurrency.version_of(ae),
        )
    assert ae.reports.count() == 1


def test_re_saving_the_form_changes_only_what_the_user_changed(
    client, login, coordinator, participant
):
    ae = report_sae(participant, coordinator)
    login(coordinator)
    page = client.get(f"/safety/ae/{ae.pk}/edit/")
    form = page.context["form"]
    post = {}
    # Values as the page showed them: in the site's time zone, like the browser would send back.
    with timezone.override(zoneinfo.ZoneInfo(participant.site.time_zone)):
        for name, field in form.fields.items():
            value = form[name].value()
            if value in (None, False, ""):
                continue
            post[name] = "on" if value is True else field.widget.format_value(value)
    post["ctcae_grade"] = "3"
    post["reason_for_change"] = "Grade re-assessed"
    assert client.post(f"/safety/ae/{ae.pk}/edit/", post).status_code == 302
    newest, previous = ae.history.all()[:2]
    assert newest.diff_against(previous).changed_fields == ["ctcae_grade"]


def test_the_report_picker_goes_to_the_participants_form_and_ignores_junk(
    client, login, coordinator, participant
):
    login(coordinator)
    response = client.get(f"/safety/?report_for={participant.study_id}")
    assert response["Location"] == f"/safety/participants/{participant.study_id}/ae/new/"
    assert client.get("/safety/?report_for=../admin/").status_code == 200


def test_a_changed_relationship_without_a_reason_is_refused_on_the_reason_field(
    client, login, investigator, participant
):
    """The rule is the service's (ReasonRequired); the page shows it where the reason goes and
    keeps the relationship chosen."""
    ae = report_sae(participant, investigator)  # reported as "unrelated"
    login(investigator)
    client.get(f"/safety/ae/{ae.pk}/sign/")
    response = client.post(
        f"/safety/ae/{ae.pk}/sign/",
        {"relationship": "possible", "reason": "  ", "password": PASSWORD},
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "You changed the relationship: give a reason for the change before signing." in body
    assert re.search(r'value="possible"[^>]*checked', body)
    ae.refresh_from_db()
    assert ae.causality_signed_at is None
