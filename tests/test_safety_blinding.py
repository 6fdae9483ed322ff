"""Every e-mail and PDF the safety app produces for the demo trial carries no identifying data
and no arm (SPEC §1, §5). The pages are covered by the blinded crawl (tests/pages_safety.py)."""

from datetime import timedelta
from io import BytesIO

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone
from pypdf import PdfReader

from kernel.models import Alert
from kernel.trial import TRIAL
from participants.models import IdentifyingData, Participant
from safety import pdf, reminders
from safety.models import AdverseEvent, SAEReport

from .blinding import leak_markers
from .factories import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_mail(settings, django_capture_on_commit_callbacks, monkeypatch):
    """The demo trial loaded, then three days of reminders and a digest: every e-mail sent."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    mail.outbox = []
    with django_capture_on_commit_callbacks(execute=True):
        call_command("load_demo", "--participants", "6", "--password", PASSWORD)
    study_ids = list(Participant.objects.values_list("study_id", flat=True))

    def digest(*, site, today):
        visits = [
            {
                "study_id": sid,
                "visit": "D3",
                "target_date": today,
                "window_start": today,
                "window_end": today,
            }
            for sid in study_ids
            if sid.startswith(site.code)
        ]
        return {"opening_tomorrow": visits, "due_today": visits, "overdue": visits}

    monkeypatch.setattr(reminders, "visit_digest", digest)
    with django_capture_on_commit_callbacks(execute=True):
        for days in (1, 2, 3, 6):
            reminders.reminders_send(now=timezone.now() + timedelta(days=days))
        reminders.visit_digests_send()
    return mail.outbox


def _secrets() -> list[str]:
    values = []
    for identity in IdentifyingData.objects.all():
        # getattr: the participants app may reshape its identifying fields; names and national
        # IDs must be there, the rest is checked when present.
        values += [identity.full_name, identity.national_id]
        for name in ("hospital_record_number", "phone", "date_of_birth"):
            value = getattr(identity, name, None)
            values.append(value.isoformat() if hasattr(value, "isoformat") else value)
    return [str(v) for v in values if v]


def _arm_words() -> list[str]:
    return [arm.label for arm in TRIAL.arms] + [arm.description for arm in TRIAL.arms]


def test_the_demo_has_aes_two_saes_and_one_susar(demo_mail):
    serious = AdverseEvent.objects.filter(serious=True)
    assert AdverseEvent.objects.count() > serious.count() >= 3
    assert sum(ae.is_susar for ae in serious) == 1
    assert SAEReport.objects.count() == serious.count()


def test_no_safety_email_carries_identifying_data_or_the_arm(demo_mail):
    kinds = set(Alert.objects.values_list("kind", flat=True))
    assert {"sae_initial", "sae_follow_up_due", "susar_clock", "visit_digest"} <= kinds
    assert len(demo_mail) == Alert.objects.count()
    forbidden = _secrets() + _arm_words() + leak_markers()
    assert len(forbidden) > 20
    for message in demo_mail:
        text = f"{message.subject}\n{message.body}"
        for secret in forbidden:
            assert secret not in text, f"{secret!r} in e-mail {message.subject!r}"


def test_no_safety_pdf_carries_identifying_data_or_the_arm(demo_mail):
    documents = [pdf.cioms_pdf(report=report) for report in SAEReport.objects.all()]
    documents.append(pdf.ae_listing_pdf(adverse_events=AdverseEvent.objects.all()))
    forbidden = _secrets() + [arm.description for arm in TRIAL.arms] + leak_markers()
    forbidden += ["Placebo", "placebo"]
    for content in documents:
        text = "\n".join(p.extract_text() for p in PdfReader(BytesIO(content)).pages)
        assert "Blinded investigational product" in text or "listing" in text
        for secret in forbidden:
            assert secret not in text, secret
