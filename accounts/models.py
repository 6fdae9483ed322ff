"""Sign-in security's records: rate-limit counts kept while the cache is down, the list of
signed-in sessions, backup codes. Their tables keep the names they were made with under the
kernel's label `trialedc` (decision 0019)."""

import hashlib
import hmac
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_otp.models import Device, ThrottlingMixin, TimestampMixin


class RateLimitCount(models.Model):
    """One rate-limit window's count, kept here only while the cache (Redis) is unreachable
    (accounts.ratelimit, decision 0016). `key` names the scope, who and the window; a row is
    deleted once its window is over."""

    key = models.CharField(_("counter"), max_length=400, unique=True)
    count = models.PositiveIntegerField(_("requests"), default=0)
    expires_at = models.DateTimeField(_("window ends"), db_index=True)

    class Meta:
        db_table = "trialedc_ratelimitcount"  # made under the kernel's label (decision 0019)
        verbose_name = _("rate-limit count")
        verbose_name_plural = _("rate-limit counts")
        default_permissions = ()

    def __str__(self) -> str:
        return f"{self.key} {self.count}"


class UserSession(models.Model):
    """One signed-in session of a user, for the list of their sessions (ASVS 3.3.4): where and
    when it began and was last used. The session itself is Django's (`django_session`); this row
    goes when the user signs out or ends it, and is not shown once the session has expired."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("user")
    )
    session_key = models.CharField(_("session key"), max_length=40, unique=True, editable=False)
    signed_in_at = models.DateTimeField(_("signed in at"), default=timezone.now)
    last_seen_at = models.DateTimeField(_("last used at"), default=timezone.now)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("browser"), max_length=300, blank=True)

    class Meta:
        db_table = "trialedc_usersession"  # made under the kernel's label (decision 0019)
        ordering = ["-last_seen_at"]
        verbose_name = _("signed-in session")
        verbose_name_plural = _("signed-in sessions")
        default_permissions = ()

    def __str__(self) -> str:
        return f"{self.user_id} {self.signed_in_at:%Y-%m-%d %H:%M}"


# Backup codes: ten one-time codes of ten letters and digits (about 50 bits each).
BACKUP_CODE_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read off paper
BACKUP_CODE_LENGTH = 10


def backup_code_normalize(code: str) -> str:
    """What the user typed, as stored: lower case, without spaces and dashes."""
    return "".join(str(code).split()).replace("-", "").lower()


class BackupCodes(TimestampMixin, ThrottlingMixin, Device):
    """One-time backup codes for when the authenticator is not at hand (a django-otp device).

    Only salted SHA-256 digests are kept (the codes are random, not chosen by people, so a fast
    digest is enough; ASVS 2.6.2): the codes themselves are shown once, when made."""

    salt = models.CharField(max_length=32, default="", editable=False)
    digests = models.JSONField(default=list, editable=False)

    class Meta(Device.Meta):
        db_table = "trialedc_backupcodes"  # made under the kernel's label (decision 0019)
        verbose_name = _("backup codes")
        verbose_name_plural = _("backup codes")

    def _digest(self, code: str) -> str:
        return hashlib.sha256(f"{self.salt}:{backup_code_normalize(code)}".encode()).hexdigest()

    def codes_replace(self, count: int = 10) -> list[str]:
        """Forget every earlier code; return `count` new ones (shown to the user once)."""
        codes = [
            "".join(secrets.choice(BACKUP_CODE_ALPHABET) for _ in range(BACKUP_CODE_LENGTH))
            for _ in range(count)
        ]
        self.salt = secrets.token_hex(16)
        self.digests = [self._digest(code) for code in codes]
        self.throttle_reset(commit=False)
        self.save()
        return [f"{code[:5]}-{code[5:]}" for code in codes]

    @property
    def remaining(self) -> int:
        return len(self.digests)

    def verify_token(self, token) -> bool:
        allowed, _ = self.verify_is_allowed()
        if not allowed:
            return False
        digest = self._digest(str(token))
        match = next((d for d in self.digests if hmac.compare_digest(d, digest)), None)
        if match is None:
            self.throttle_increment(commit=True)
            return False
        self.digests = [d for d in self.digests if d != match]  # each code works once
        self.throttle_reset(commit=False)
        self.set_last_used_timestamp(commit=False)
        self.save()
        return True

    def get_throttle_factor(self) -> int:
        return getattr(settings, "OTP_TOTP_THROTTLE_FACTOR", 1)
