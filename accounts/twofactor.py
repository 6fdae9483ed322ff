"""Two-factor sign-in (issue 12, docs/security.md): who needs it, setting it up, checking codes.

Built on django-otp: an authenticator app (`TOTPDevice`, RFC 6238: six digits every 30 s) and ten
one-time backup codes (`accounts.models.BackupCodes`). A session becomes *verified* when a code is
accepted (`django_otp.login`); `accounts.middleware.TwoFactorMiddleware` lets a signed-in but
unverified session open nothing but these pages. Re-authentication for emergency unblinding,
trial-level unblinding and e-signatures asks the password and a current code
(`SecondFactorMixin` in accounts.forms, `confirm` here).

Every act is written to the security log: set up, accepted, refused, new backup codes, turned
off, reset by an administrator.
"""

from __future__ import annotations

import time
from binascii import unhexlify
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils.translation import gettext as _
from django_otp import login as otp_login
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice, default_key

from kernel import calendars
from kernel.models import SecurityEventKind, User
from kernel.roles import PHI_PERMISSION, Role, roles_of
from kernel.services import security_event_record

from .models import BackupCodes, backup_code_normalize

# Roles that must use a second factor wherever it is enforced (issue 12): those who know the
# allocation, and the data manager who can change, lock and export everything. Anyone who may
# see identifying data is added by permission, and staff (the admin site) too.
REQUIRED_ROLES: frozenset[Role] = frozenset(
    {Role.PHARMACIST, Role.STATISTICIAN, Role.DATA_MANAGER, Role.SAFETY_PHYSICIAN}
)
# The session key holding the secret of an authenticator being set up (until its first code).
PENDING_KEY = "edc_two_factor_pending_key"
AUTHENTICATOR_NAME = "Authenticator app"


def required(user) -> bool:
    """Must this user give a second factor to use the EDC (where settings enforce it)?"""
    if not settings.TWO_FACTOR_ENFORCED or not user.is_authenticated:
        return False
    return (
        user.is_staff
        or user.is_superuser
        or bool(roles_of(user) & REQUIRED_ROLES)
        or user.has_perm(PHI_PERMISSION)
    )


def authenticator_of(user) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


def backup_codes_of(user) -> BackupCodes | None:
    return BackupCodes.objects.filter(user=user, confirmed=True).first()


def is_set_up(user) -> bool:
    """Has the user a second factor? (Backup codes never exist without the authenticator.)"""
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def has_authenticator() -> Exists:
    """Over a user row: has it a confirmed authenticator (is_set_up's question, as an
    expression). Read with the session's user on every request (accounts.apps, issue 24)."""
    return Exists(TOTPDevice.objects.filter(user=OuterRef("pk"), confirmed=True))


def was_set_up_at_sign_in_read(user) -> bool:
    """is_set_up's answer read with the session's user at this request's start
    (kernel.backends.sign_in_annotation), else read now. For the middleware, which runs before
    any view could change it; a view asks is_set_up."""
    known = getattr(user, "sign_in_second_factor", None)
    return is_set_up(user) if known is None else known


def is_verified(request) -> bool:
    """Did this session give a second factor since it signed in?"""
    return bool(getattr(request.user, "is_verified", lambda: False)())


# -- setting up ---------------------------------------------------------------------------------


def pending_secret(request) -> str:
    """The hex secret of the authenticator being set up in this session (made on first ask)."""
    key = request.session.get(PENDING_KEY)
    if not key:
        key = default_key()
        request.session[PENDING_KEY] = key
    return key


def secret_base32(key_hex: str) -> str:
    """The secret as typed into an app by hand: base32 in groups of four."""
    from base64 import b32encode

    text = b32encode(unhexlify(key_hex)).decode().rstrip("=")
    return " ".join(text[i : i + 4] for i in range(0, len(text), 4))


def provisioning_uri(user: User, key_hex: str) -> str:
    """The otpauth:// address an authenticator app reads from the QR code."""
    return TOTPDevice(user=user, key=key_hex).config_url


def qr_data_uri(uri: str) -> str:
    """The QR code of `uri` as an SVG data: address (drawn here: no image service, no script)."""
    import segno

    return segno.make(uri, error="m").svg_data_uri(scale=5, border=2, dark="#000", light="#fff")


def _typed(code) -> str:
    """A code as typed, with Persian or Arabic digits (a Persian keyboard) made ASCII."""
    return calendars.ascii_digits(str(code or "")).strip()


def _totp_step(key_hex: str, token: str, *, at: float | None = None) -> int | None:
    """The time step at which `token` is valid for the secret (±1 step of drift), or None."""
    code = "".join(_typed(token).split())
    if not (code.isascii() and code.isdigit() and len(code) == 6):
        return None
    totp = TOTP(unhexlify(key_hex))
    totp.time = time.time() if at is None else at
    if totp.verify(int(code), tolerance=1):
        return totp.t() + totp.drift
    return None


def enrol(*, request, key_hex: str, code: str) -> list[str] | None:
    """Turn on two-factor sign-in with the authenticator whose first `code` proves it is set up.

    Returns the new backup codes (shown once) or None when the code is wrong. The session counts
    as verified from here on."""
    user = request.user
    step = _totp_step(key_hex, code)
    if step is None:
        security_event_record(
            kind=SecurityEventKind.TWO_FACTOR_FAILED, request=request, detail={"for": "set-up"}
        )
        return None
    with transaction.atomic():
        # One authenticator per person: a new one replaces an earlier one.
        TOTPDevice.objects.filter(user=user).delete()
        device = TOTPDevice.objects.create(
            user=user, name=AUTHENTICATOR_NAME, key=key_hex, confirmed=True, last_t=step
        )
        backup, _created = BackupCodes.objects.get_or_create(
            user=user, defaults={"name": "Backup codes", "confirmed": True}
        )
        codes = backup.codes_replace()
        security_event_record(kind=SecurityEventKind.TWO_FACTOR_ENROLLED, request=request)
    request.session.pop(PENDING_KEY, None)
    otp_login(request, device)
    return codes


# -- checking a code ----------------------------------------------------------------------------


class CodeRefused(Exception):
    """The code was not accepted; the message says why, for the user."""


def _devices_for(user, code: str):
    """The device a code is for: six digits are the app's, anything else a backup code."""
    digits = "".join(code.split())
    if digits.isascii() and digits.isdigit() and len(digits) == 6:
        return TOTPDevice.objects.filter(user=user, confirmed=True)
    return BackupCodes.objects.filter(user=user, confirmed=True)


def check(*, request, code: str, purpose: str):
    """The device that accepts `code` for the signed-in user; raises CodeRefused otherwise.

    Each wrong code makes the device wait longer before the next (1, 2, 4 ... s: django-otp's
    throttling); every outcome is in the security log with `purpose`."""
    user = request.user
    code = _typed(code)
    accepted = None
    wait = None
    with transaction.atomic():
        devices = list(_devices_for(user, code).select_for_update()) if code else []
        for device in devices:
            allowed, detail = device.verify_is_allowed()
            if not allowed:
                wait = _seconds_until((detail or {}).get("locked_until"))
                break
            typed = backup_code_normalize(code) if _is_backup(device) else "".join(code.split())
            if device.verify_token(typed):  # counts a failure on the device when wrong
                accepted = device
                break
        if accepted is not None:
            detail = {"for": purpose, "with": "backup code" if _is_backup(accepted) else "app"}
            if _is_backup(accepted):
                detail["backup_codes_left"] = accepted.remaining
            security_event_record(
                kind=SecurityEventKind.TWO_FACTOR_VERIFIED, request=request, detail=detail
            )
            return accepted
        security_event_record(
            kind=SecurityEventKind.TWO_FACTOR_FAILED,
            request=request,
            detail={"for": purpose, **({"throttled": True} if wait is not None else {})},
        )
    if wait is not None:
        raise CodeRefused(
            _("Too many wrong codes: wait %(seconds)s seconds, then try again.") % {"seconds": wait}
        )
    raise CodeRefused(
        _("This code is not right. Type the six digits your app shows now, or a backup code.")
    )


def _is_backup(device) -> bool:
    return isinstance(device, BackupCodes)


def _seconds_until(when: datetime | None) -> int:
    from django.utils import timezone

    if when is None:
        return 1
    return max(1, int((when - timezone.now()).total_seconds() + 0.999))


def verify_sign_in(*, request, code: str):
    """Second step of signing in: the session is verified when the code is accepted."""
    device = check(request=request, code=code, purpose="sign-in")
    otp_login(request, device)
    return device


def confirm(request, form, *, purpose: str) -> bool:
    """Re-authentication in a form with SecondFactorMixin: check its code, if it asks one.

    Adds the refusal to the form's code field and returns False when the code is not right."""
    if "otp_code" not in form.fields:
        return True
    try:
        check(request=request, code=form.cleaned_data.get("otp_code", ""), purpose=purpose)
    except CodeRefused as refusal:
        form.add_error("otp_code", str(refusal))
        return False
    return True


# -- backup codes, turning off, administrator's reset -------------------------------------------


def backup_codes_renew(*, request) -> list[str]:
    """New backup codes for the signed-in user (every earlier one stops working)."""
    with transaction.atomic():
        backup, _created = BackupCodes.objects.select_for_update().get_or_create(
            user=request.user, defaults={"name": "Backup codes", "confirmed": True}
        )
        codes = backup.codes_replace()
        security_event_record(kind=SecurityEventKind.BACKUP_CODES_CREATED, request=request)
    return codes


def _devices_delete(user) -> None:
    TOTPDevice.objects.filter(user=user).delete()
    BackupCodes.objects.filter(user=user).delete()


def turn_off(*, request) -> None:
    """The user turns their own second factor off (only where their role does not need one)."""
    if required(request.user):
        raise CodeRefused(_("Your role needs two-factor sign-in; it cannot be turned off."))
    with transaction.atomic():
        _devices_delete(request.user)
        security_event_record(kind=SecurityEventKind.TWO_FACTOR_REMOVED, request=request)


def reset(*, user: User, actor: User, reason: str, request=None) -> None:
    """An administrator removes a user's authenticator and backup codes (a lost phone).

    The user sets up a new authenticator at their next sign-in (where it is required); sessions
    verified with the old device are no longer verified. The reason is kept in the log."""
    with transaction.atomic():
        _devices_delete(user)
        security_event_record(
            kind=SecurityEventKind.TWO_FACTOR_RESET,
            request=request,
            user=user,
            actor=actor,
            detail={"reason": reason},
        )
