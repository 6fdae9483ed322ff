"""Adverse events for the safety tests, made through the services (so alerts and reports exist)."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from safety import services
from safety.models import AdverseEvent


def ae_data(**overrides) -> dict:
    """A coherent non-serious AE: fever, grade 1, recovered, unrelated."""
    today = timezone.localdate()
    data = {
        "verbatim_term": "Fever after the infusion",
        "preferred_term": "Pyrexia",
        "onset_date": today - timedelta(days=2),
        "ongoing": False,
        "end_date": today - timedelta(days=1),
        "ctcae_grade": 1,
        "serious": False,
        "relationship": "unlikely",
        "action_taken": "not_applicable",
        "outcome": "recovered",
    }
    data.update(overrides)
    return data


def sae_data(**overrides) -> dict:
    """A coherent open SAE: ARDS worsening, grade 4, life-threatening, ongoing, unrelated."""
    today = timezone.localdate()
    data = ae_data(
        verbatim_term="Worsening respiratory failure, intubated",
        preferred_term="Acute respiratory distress syndrome worsening",
        onset_date=today - timedelta(days=1),
        ongoing=True,
        end_date=None,
        ctcae_grade=4,
        serious=True,
        criterion_life_threatening=True,
        criterion_hospitalization=True,
        aware_at=timezone.now() - timedelta(hours=2),
        relationship="unrelated",
        outcome="not_recovered",
        description="Desaturation to 82 % on day 1; intubated.",
    )
    data.update(overrides)
    return data


def susar_data(**overrides) -> dict:
    """An open SUSAR: anaphylaxis (not in the RSI), grade 4, life-threatening, probable."""
    data = sae_data(
        verbatim_term="Anaphylaxis during the infusion",
        preferred_term="Anaphylactic reaction",
        criterion_hospitalization=False,
        relationship="probable",
        action_taken="infusion_stopped",
        description="Urticaria, wheeze and hypotension 10 minutes into the infusion.",
    )
    data.update(overrides)
    return data


def report_ae(participant, user, **overrides) -> AdverseEvent:
    return services.ae_report(participant=participant, user=user, data=ae_data(**overrides))


def report_sae(participant, user, **overrides) -> AdverseEvent:
    return services.ae_report(participant=participant, user=user, data=sae_data(**overrides))


def report_susar(participant, user, **overrides) -> AdverseEvent:
    return services.ae_report(participant=participant, user=user, data=susar_data(**overrides))


def safety_physician(username: str = "safety-physician", email: str = "sp@sponsor.example.org"):
    """The sponsor's safety physician (ICH E2A III.C), with a set-up authenticator app."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from kernel.roles import Role

    from .factories import UserFactory

    user = UserFactory(username=username, role=Role.SAFETY_PHYSICIAN, sites=[])
    user.email = email
    user.save()
    TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)
    return user


def totp_now(user, *, new_device: bool = True) -> str:
    """A code the user's authenticator accepts now: by default of a new device, so that two
    unblindings in the same 30-second step are not refused as a replayed code; else of the
    user's first device (a person's one phone: move the clock on between codes)."""
    import time
    from binascii import unhexlify

    from django_otp.oath import TOTP
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = (
        TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)
        if new_device
        else TOTPDevice.objects.filter(user=user).order_by("pk").first()
    )
    totp = TOTP(unhexlify(device.key))
    totp.time = time.time()
    return f"{totp.token():06d}"


def backup_code(user) -> str:
    """One unused backup code of the user (made, with an authenticator, on first use): one-time
    codes with no clock, so a test may unblind several cases at one frozen moment."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from accounts.models import BackupCodes

    codes = getattr(user, "_test_backup_codes", None)
    # The user object may outlive its devices (a test that rolls its trial back and builds it
    # again): make them again then.
    if not codes or not BackupCodes.objects.filter(user=user).exists():
        if not TOTPDevice.objects.filter(user=user, confirmed=True).exists():
            TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)
        backup = BackupCodes.objects.filter(user=user).first() or BackupCodes.objects.create(
            user=user, name="Backup codes"
        )
        codes = backup.codes_replace()
        user._test_backup_codes = codes
    return codes.pop()


def case_unblind(ae, user, *, password: str | None = None, code: str | None = None):
    """The safety physician unblinds the case through the service, as the page does."""
    from django.test import RequestFactory

    from .factories import PASSWORD

    request = RequestFactory().post("/safety/susar/")
    request.user = user
    return services.susar_case_unblind(
        ae=ae,
        user=user,
        password=PASSWORD if password is None else password,
        second_factor_code=backup_code(user) if code is None else code,
        request=request,
    )
