"""Electronic signatures (21 CFR 11.50, 11.70, 11.200; issue 10): password re-entry and the
meaning, shown with name, date/time and meaning wherever the record is shown, bound to the
exact record versions so that a later change voids them visibly."""

from decimal import Decimal

import pytest

from datamanagement import selectors, services
from datamanagement.exceptions import SignatureAttemptsExhausted, SignatureRefused
from datamanagement.models import Notification, Signature, SignatureFailure
from kernel import concurrency
from kernel.models import Alert
from kernel.roles import Role
from kernel.trial import TRIAL
from outcomes import services as outcome_services
from outcomes.models import Murray

from . import outcomes_factories as of
from .factories import PASSWORD
from .page_client import PageClient

pytestmark = pytest.mark.django_db


@pytest.fixture
def client():
    """Posts carry the version their page showed, as a browser's do (tests/page_client.py)."""
    return PageClient()


MEANING = "accurate_complete"


@pytest.fixture
def investigator(make_user):
    return make_user(Role.INVESTIGATOR)


def sign(investigator, participant, level="casebook", **kwargs):
    """Sign, as an investigator shown the records as they are now."""
    return services.signature_sign(
        user=investigator,
        password=PASSWORD,
        participant=participant,
        level=level,
        meaning=MEANING,
        opened_versions=selectors.signed_versions(
            level,
            participant=participant,
            visit=kwargs.get("visit"),
            crf_code=kwargs.get("crf_code", ""),
        ),
        **kwargs,
    )


def correct(murray, **values):
    return outcome_services.crf_save(
        visit=murray.visit,
        crf_code="murray",
        values=values,
        complete=True,
        user=of._entry_user(murray.visit.participant),
        opened_version=concurrency.version_of(murray),
        reason="Transcription error",
    )


def test_a_signature_records_the_signer_time_meaning_and_versions(
    investigator, participant, murray
):
    signature = sign(investigator, participant, "crf", visit=murray.visit, crf_code="murray")
    assert signature.signer_name == "Test Investigator"
    assert signature.meaning_text == "I confirm the data are accurate and complete"
    assert signature.signed_at is not None
    assert signature.manifest == [
        ["outcomes.murray", murray.pk, murray.history.latest().history_id]
    ]
    assert len(signature.content_hash) == 64
    assert selectors.signature_is_intact(signature)


def test_a_wrong_password_signs_nothing(investigator, participant, murray):
    with pytest.raises(SignatureRefused, match="password"):
        services.signature_sign(
            user=investigator,
            password="wrong-password",
            participant=participant,
            level="casebook",
            meaning=MEANING,
            opened_versions=selectors.signed_versions(
                "casebook", participant=participant, visit=None, crf_code=""
            ),
        )
    assert not Signature.objects.exists()
    assert SignatureFailure.objects.filter(user=investigator).count() == 1


def test_repeated_wrong_passwords_sign_the_user_out(
    client, login, investigator, participant, murray
):
    login(investigator)
    path = f"/data/participants/{participant.study_id}/sign/?level=casebook"
    for _ in range(2):
        response = client.post(path, {"level": "casebook", "meaning": MEANING, "password": "no"})
        assert response.status_code == 200
        assert "not correct" in response.content.decode()
    response = client.post(path, {"level": "casebook", "meaning": MEANING, "password": "no"})
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")
    assert client.get("/").status_code == 302  # signed out


def test_attempts_count_again_after_a_good_signature(investigator, participant, murray):
    for _ in range(2):
        with pytest.raises(SignatureRefused):
            sign_wrong(investigator, participant)
    sign(investigator, participant)
    with pytest.raises(SignatureRefused) as error:
        sign_wrong(investigator, participant)
    assert not isinstance(error.value, SignatureAttemptsExhausted)


def test_the_limit_of_wrong_passwords_is_reported_at_once_to_security(
    make_user, investigator, participant, murray, mailoutbox, django_capture_on_commit_callbacks
):
    """21 CFR 11.300(d): attempts at unauthorized use are detected and reported "in an immediate
    and urgent manner" to the system security unit (here the configured security contacts and
    the data managers), through the outbox that never loses an e-mail."""
    manager = make_user(Role.DATA_MANAGER, username="dm-security")
    manager.email = "dm@example.org"
    manager.save()
    allowed = TRIAL.signature_attempts_allowed
    assert allowed == 3
    for _ in range(allowed - 1):
        with django_capture_on_commit_callbacks(execute=True), pytest.raises(SignatureRefused):
            sign_wrong(investigator, participant)
    assert mailoutbox == []  # two slips are not an incident
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(SignatureAttemptsExhausted),
    ):
        sign_wrong(investigator, participant)
    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert sorted(message.to) == ["dm@example.org", "security@sponsor.example.org"]
    assert "3 failed e-signature attempts by investigator" in message.subject
    assert "3 wrong passwords in a row" in message.body
    assert "Test Investigator (user name investigator)" in message.body
    assert f"casebook {participant.study_id}" in message.body
    assert "11.300(d)" in message.body
    assert participant.identity.full_name not in message.body
    alert = Alert.objects.get(kind="signature_attempts")
    assert alert.sent_at is not None
    assert SignatureFailure.objects.filter(user=investigator).count() == allowed


def test_a_correct_password_is_never_reported(
    investigator, participant, murray, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(SignatureRefused):
        sign_wrong(investigator, participant)
    with django_capture_on_commit_callbacks(execute=True):
        sign(investigator, participant)
    for _ in range(TRIAL.signature_attempts_allowed - 1):
        with django_capture_on_commit_callbacks(execute=True), pytest.raises(SignatureRefused):
            sign_wrong(investigator, participant)
    assert not Alert.objects.filter(kind="signature_attempts").exists()
    assert mailoutbox == []


def sign_wrong(investigator, participant):
    return services.signature_sign(
        user=investigator,
        password="x",
        participant=participant,
        level="casebook",
        meaning=MEANING,
        opened_versions={},
    )


@pytest.mark.parametrize("role", [r for r in Role if r != Role.INVESTIGATOR])
def test_only_investigators_sign(make_user, participant, murray, role):
    with pytest.raises(SignatureRefused):
        sign(make_user(role), participant)


def test_an_unknown_meaning_or_nothing_entered_is_refused(investigator, participant):
    with pytest.raises(SignatureRefused, match="nothing|no entered"):
        sign(investigator, participant)
    with pytest.raises(SignatureRefused, match="meaning"):
        services.signature_sign(
            user=investigator,
            password=PASSWORD,
            participant=participant,
            level="casebook",
            meaning="whatever",
            opened_versions={},
        )


@pytest.mark.parametrize("level", ["crf", "visit", "casebook"])
def test_a_later_change_voids_the_signature_and_tells_the_signer(
    investigator, participant, murray, level
):
    kwargs = {} if level == "casebook" else {"visit": murray.visit}
    if level == "crf":
        kwargs["crf_code"] = "murray"
    signature = sign(investigator, participant, level, **kwargs)
    correct(murray, fio2=Decimal("0.5"))
    signature.refresh_from_db()
    assert signature.is_void
    assert "changed after signing" in signature.void_reason
    assert not selectors.signature_is_intact(signature)
    assert Notification.objects.filter(recipient=investigator, text__contains="voided").exists()


def test_a_change_to_another_visit_leaves_a_crf_signature_valid(investigator, participant, murray):
    signature = sign(investigator, participant, "crf", visit=murray.visit, crf_code="murray")
    of.crf(participant, "D1", "clinical_status", status_score=4)
    signature.refresh_from_db()
    assert not signature.is_void
    assert selectors.signature_is_intact(signature)


def test_a_change_that_bypasses_the_services_still_shows_the_signature_void(
    investigator, participant, murray
):
    sign(investigator, participant, "crf", visit=murray.visit, crf_code="murray")
    Murray.objects.filter(pk=murray.pk).update(fio2=Decimal("0.5"))  # no service, no history
    shown = selectors.signatures_shown_with(participant, visit=murray.visit, crf_code="murray")
    assert [s.valid for s in shown] == [False]


def test_an_icu_stay_added_after_signing_voids_the_casebook_signature(
    investigator, participant, murray
):
    signature = sign(investigator, participant)
    of.icu_stay(participant, admitted_on=murray.visit.target_date)
    signature.refresh_from_db()
    assert signature.is_void


def test_the_signature_is_shown_with_the_record(
    client, login, make_user, investigator, participant, murray
):
    sign(investigator, participant, "crf", visit=murray.visit, crf_code="murray")
    login(make_user(Role.COORDINATOR))
    for path in (
        f"/outcomes/participants/{participant.study_id}/visits/D0/murray/",
        f"/outcomes/participants/{participant.study_id}/visits/D0/",
        f"/data/participants/{participant.study_id}/visits/D0/murray/",
    ):
        body = client.get(path).content.decode()
        assert 'data-testid="signature" data-valid="true"' in body, path
        assert "Test Investigator" in body
        assert "I confirm the data are accurate and complete" in body
    correct(murray, fio2=Decimal("0.5"))
    body = client.get(f"/outcomes/participants/{participant.study_id}/visits/D0/murray/")
    body = body.content.decode()
    assert 'data-valid="false"' in body
    assert "Signature void" in body
    assert "A new signature is needed" in body


def test_the_investigator_signs_the_casebook_on_the_page(
    client, login, investigator, participant, murray
):
    login(investigator)
    path = f"/data/participants/{participant.study_id}/sign/?level=casebook"
    page = client.get(path).content.decode()
    assert "I confirm the data are accurate and complete" in page
    response = client.post(path, {"level": "casebook", "meaning": MEANING, "password": PASSWORD})
    assert response.status_code == 302
    signature = Signature.objects.get()
    assert (signature.level, signature.signed_by) == ("casebook", investigator)
    casebook = client.get(f"/data/participants/{participant.study_id}/").content.decode()
    assert 'data-valid="true"' in casebook
