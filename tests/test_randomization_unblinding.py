"""Emergency unblinding (one participant, one investigator) and trial-level unblinding."""

from unittest import mock

import pytest

from kernel.roles import Role
from randomization import selectors, services
from randomization.exceptions import NotRandomizable, PasswordMismatch, UnblindingNotAllowed
from randomization.models import EmergencyUnblinding

from .factories import PASSWORD, ParticipantFactory, UserFactory, lock_database
from .randomization_factories import EXOSOME, PLACEBO, randomized_participant, store_list
from .safety_factories import report_sae

pytestmark = pytest.mark.django_db


@pytest.fixture
def investigator(roles, site01):
    user = UserFactory(username="inv", role=Role.INVESTIGATOR, sites=[site01])
    user.email = "pi@example.org"
    user.save()
    return user


@pytest.fixture
def randomized(roles, site01):
    store_list(phase="I", stratum="B", arms=[EXOSOME, PLACEBO] * 3)
    return randomized_participant(site=site01, support="none")


@pytest.fixture
def sae(randomized, investigator):
    """The triggering event: SPEC §10, emergency unblinding names it (issue 19)."""
    return report_sae(randomized.participant, investigator)


def form(sae=None, **overrides):
    data = {
        "adverse_event": str(sae.pk) if sae is not None else "",
        "reason": "Anaphylactic shock",
        "password": PASSWORD,
    }
    data.update(overrides)
    return data


def test_the_investigator_sees_the_arm_once_the_event_is_recorded_and_alerted(
    client, login, investigator, randomized, sae
):
    login(investigator)
    url = f"/randomization/participant/{randomized.participant.study_id}/unblind/"
    assert f"SAE {sae.number}: " in client.get(url).content.decode()  # offered by name
    with mock.patch("randomization.services.alert_enqueue") as alert:
        response = client.post(url, form(sae))
    body = response.content.decode()
    assert 'data-testid="revealed-arm"' in body
    assert ">Exosome<" in body
    assert response["Cache-Control"] == "no-store"
    event = EmergencyUnblinding.objects.get()
    assert (event.requested_by, event.adverse_event) == (investigator, sae)
    assert event.sae_reference.startswith(f"SAE {sae.number}: ")
    assert event.history.get().history_user == investigator
    alert.assert_called_once()
    assert alert.call_args.kwargs["participant"].pk == randomized.participant.pk
    # Afterwards the participant is marked unblinded, and the arm is not shown again.
    again = client.get(url).content.decode()
    assert "Already unblinded by" in again
    assert ">Exosome<" not in again
    status = client.get(f"/randomization/participant/{randomized.participant.study_id}/")
    assert "emergency unblinding by" in status.content.decode()
    assert selectors.unblinded_participant_ids() == {randomized.participant.pk}


def test_a_wrong_password_unblinds_nothing_and_keeps_what_was_typed(
    client, login, investigator, randomized, sae
):
    login(investigator)
    url = f"/randomization/participant/{randomized.participant.study_id}/unblind/"
    with mock.patch("randomization.services.alert_enqueue") as alert:
        response = client.post(url, form(sae, password="wrong", reason="Severe bleeding, keep me"))
    body = response.content.decode()
    assert "The password is not correct; nothing was unblinded." in body
    assert "Severe bleeding, keep me" in body
    assert not EmergencyUnblinding.objects.exists()
    alert.assert_not_called()


def test_reason_and_event_are_required(client, login, investigator, randomized):
    login(investigator)
    url = f"/randomization/participant/{randomized.participant.study_id}/unblind/"
    body = client.post(url, {}).content.decode()
    assert body.count("This field is required.") == 2  # reason, password
    assert "Choose the triggering event, or “no event recorded yet”." in body
    assert not EmergencyUnblinding.objects.exists()


def test_no_event_yet_needs_a_justification_and_keeps_what_was_typed(
    client, login, investigator, randomized
):
    login(investigator)
    url = f"/randomization/participant/{randomized.participant.study_id}/unblind/"
    response = client.post(url, form(adverse_event="none", reason="Collapse, keep me"))
    body = response.content.decode()
    assert "No event is recorded yet: say why the arm is needed now." in body
    assert "Collapse, keep me" in body
    assert not EmergencyUnblinding.objects.exists()


def test_no_event_yet_alerts_the_medical_monitor_at_once(
    client, login, investigator, randomized, mailoutbox, django_capture_on_commit_callbacks
):
    login(investigator)
    url = f"/randomization/participant/{randomized.participant.study_id}/unblind/"
    data = form(adverse_event="none", no_event_justification="Arrest during transfer, AE not yet")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, data)
    assert 'data-testid="revealed-arm"' in response.content.decode()
    event = EmergencyUnblinding.objects.get()
    assert event.adverse_event is None
    assert event.no_event_justification == "Arrest during transfer, AE not yet"
    monitor_mail = [m for m in mailoutbox if "medical.monitor@example.org" in m.to]
    assert len(monitor_mail) == 1  # TRIAL.medical_monitors, through the outbox
    assert "Arrest during transfer" in monitor_mail[0].body
    assert "xosome" not in monitor_mail[0].body
    assert "lacebo" not in monitor_mail[0].body


def test_another_participants_event_cannot_trigger_the_unblinding(investigator, randomized, site01):
    other = report_sae(ParticipantFactory(site=site01), investigator)
    with pytest.raises(UnblindingNotAllowed, match="not one of this participant"):
        services.emergency_unblind(
            participant=randomized.participant,
            user=investigator,
            password=PASSWORD,
            reason="Shock",
            adverse_event=other,
        )
    assert not EmergencyUnblinding.objects.exists()


def test_the_alert_e_mail_goes_to_the_pi_the_pharmacist_and_the_sponsor_without_the_arm(
    investigator, randomized, site01, sae, mailoutbox, django_capture_on_commit_callbacks
):
    pharmacist = UserFactory(username="ph", role=Role.PHARMACIST, sites=[site01])
    pharmacist.email = "pharmacy@example.org"
    pharmacist.save()
    with django_capture_on_commit_callbacks(execute=True):
        services.emergency_unblind(
            participant=randomized.participant,
            user=investigator,
            password=PASSWORD,
            reason="Shock",
            adverse_event=sae,
        )
    (mail,) = [m for m in mailoutbox if m.subject.startswith("Emergency")]
    assert mail.subject == f"Emergency unblinding: participant {randomized.participant.study_id}"
    assert sorted(mail.to) == [
        "pharmacy@example.org",
        "pi@example.org",
        "safety@sponsor.example.org",
    ]
    assert "xosome" not in mail.body
    assert "lacebo" not in mail.body
    assert f"SAE {sae.number}: " in mail.body


def test_a_coordinator_cannot_ask_for_emergency_unblinding(
    client, login, make_user, randomized, sae
):
    login(make_user(Role.COORDINATOR))
    url = f"/randomization/participant/{randomized.participant.study_id}/unblind/"
    assert client.post(url, form(sae)).status_code == 403
    assert not EmergencyUnblinding.objects.exists()


def test_an_unrandomized_participant_has_nothing_to_unblind(investigator, site01):
    with pytest.raises(NotRandomizable, match="nothing to unblind"):
        services.emergency_unblind(
            participant=ParticipantFactory(site=site01),
            user=investigator,
            password=PASSWORD,
            reason="x",
            no_event_justification="y",
        )


# -- trial level -----------------------------------------------------------------------------


@pytest.fixture
def pair(roles):
    return (
        UserFactory(username="dm", role=Role.DATA_MANAGER),
        UserFactory(username="st", role=Role.STATISTICIAN),
    )


def test_trial_unblinding_needs_the_database_locked_first(pair):
    data_manager, _ = pair
    with pytest.raises(UnblindingNotAllowed, match="locked first"):
        services.trial_unblinding_confirm(user=data_manager, password=PASSWORD)


def test_trial_unblinding_needs_both_confirmations(pair):
    data_manager, statistician = pair
    lock_database(data_manager)
    services.trial_unblinding_confirm(user=data_manager, password=PASSWORD)
    assert not selectors.trial_unblinded()
    with pytest.raises(UnblindingNotAllowed, match="already confirmed"):
        services.trial_unblinding_confirm(user=data_manager, password=PASSWORD)
    with pytest.raises(PasswordMismatch):
        services.trial_unblinding_confirm(user=statistician, password="nope")
    services.trial_unblinding_confirm(user=statistician, password=PASSWORD)
    assert selectors.trial_unblinded()


def test_the_trial_unblinding_page_locks_and_confirms(client, login, pair):
    data_manager, statistician = pair
    login(data_manager)
    # The page no longer locks in one click (issue 20): it links to the signed lock with its
    # readiness checklist.
    client.post("/randomization/trial-unblinding/", {"lock": "1"})
    assert not selectors.database_locked()
    assert 'href="/data/locks/"' in client.get("/randomization/trial-unblinding/").content.decode()
    lock_database(data_manager)
    assert selectors.database_locked()
    client.post("/randomization/trial-unblinding/", {"confirm": "1", "password": PASSWORD})
    client.logout()
    login(statistician)
    body = client.post(
        "/randomization/trial-unblinding/", {"confirm": "1", "password": PASSWORD}, follow=True
    ).content.decode()
    assert 'data-testid="trial-unblinded">unblinded' in body


def test_guessing_the_password_locks_the_unblinding_even_for_the_right_one_afterwards(
    client, login, investigator, randomized, settings
):
    login(investigator)
    url = f"/randomization/participant/{randomized.participant.study_id}/unblind/"
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(url, form(password="guess"))
    with mock.patch("randomization.services.alert_enqueue"):
        response = client.post(url, form())
    assert ">Exosome<" not in response.content.decode()
    assert not EmergencyUnblinding.objects.exists()


def test_after_trial_unblinding_the_database_stays_locked(client, login, pair):
    """Issue 20, finding 3: after unblinding, the data manager unlocked with a one-line reason
    and a coordinator changed a value knowing the arms. One person can no longer unlock."""
    from datamanagement import services as dm_services
    from datamanagement.exceptions import NotLocked

    data_manager, statistician = pair
    lock = lock_database(data_manager)
    services.trial_unblinding_confirm(user=data_manager, password=PASSWORD)
    services.trial_unblinding_confirm(user=statistician, password=PASSWORD)
    with pytest.raises(NotLocked, match="stays locked"):
        dm_services.lock_release(user=data_manager, lock=lock, reason="Correct a CRP value")
    login(data_manager)
    response = client.post(
        "/data/locks/", {"do": "unlock", "lock": lock.pk, "reason": "Correct a CRP value"}
    )
    assert "stays locked" in response.content.decode()
    assert selectors.database_locked()
