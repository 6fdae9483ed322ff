"""Sites and users (who works where: every participant row belongs to one site), the security
log, the background processes' heartbeats."""

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Calendar(models.TextChoices):
    GREGORIAN = "gregorian", _("Gregorian (2021-03-05)")
    JALALI = "jalali", _("Solar Hijri / Jalali (1399/12/15)")


class Site(models.Model):
    """A recruiting centre. Rows mirror `TRIAL.sites` (services.sites_sync)."""

    code = models.CharField(
        _("site code"),
        max_length=2,
        unique=True,
        validators=[RegexValidator(r"^\d{2}$", _("A site code is two digits, e.g. 01."))],
    )
    name = models.CharField(_("name"), max_length=200)
    time_zone = models.CharField(_("time zone"), max_length=64, default="UTC")
    default_calendar = models.CharField(
        _("default calendar"), max_length=10, choices=Calendar.choices, default=Calendar.GREGORIAN
    )

    class Meta:
        ordering = ["code"]
        verbose_name = _("site")
        verbose_name_plural = _("sites")

    def __str__(self) -> str:
        return f"{self.code} · {self.name}"


class User(AbstractUser):
    """A person who signs in. Belongs to zero or more sites; roles are Django groups."""

    sites = models.ManyToManyField(Site, related_name="users", blank=True, verbose_name=_("sites"))
    language = models.CharField(
        _("language"),
        max_length=8,
        choices=settings.LANGUAGES,
        blank=True,
        help_text=_("Empty: the browser's language."),
    )
    calendar = models.CharField(
        _("calendar"),
        max_length=10,
        choices=Calendar.choices,
        blank=True,
        help_text=_("Empty: the calendar of your site."),
    )
    # Passwords and sessions (docs/security.md; 21 CFR 11.300(b): passwords are periodically
    # checked and revised).
    must_change_password = models.BooleanField(
        _("must change password"),
        default=False,
        help_text=_("Set for demo and initial passwords: the user must choose a new one first."),
    )
    password_changed_at = models.DateTimeField(_("password changed at"), default=timezone.now)
    sessions_valid_after = models.DateTimeField(
        _("sessions valid after"),
        null=True,
        blank=True,
        help_text=_("Sessions begun before this time are ended ('sign out everywhere')."),
    )

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        permissions = [
            ("view_audit_trail", _("Can read the audit trail of records they can see")),
        ]

    def set_password(self, raw_password):
        # Every way a password is set (the change page, the admin, load_demo) restarts its age.
        super().set_password(raw_password)
        self.password_changed_at = timezone.now()

    # Trial permissions come only from trial role groups (kernel.backends; issue 20): Django's
    # "an active superuser has every permission" holds here only for the others.
    def has_perm(self, perm, obj=None) -> bool:
        from django.contrib.auth.models import _user_has_perm

        from .roles import is_trial_permission

        if is_trial_permission(perm):
            return self.is_active and _user_has_perm(self, perm, obj=obj)
        return super().has_perm(perm, obj)

    def has_module_perms(self, app_label) -> bool:
        from django.contrib.auth.models import _user_has_module_perms

        from .roles import TRIAL_DATA_APPS

        if app_label in TRIAL_DATA_APPS:
            return self.is_active and _user_has_module_perms(self, app_label)
        return super().has_module_perms(app_label)

    def __str__(self) -> str:
        full = self.get_full_name()
        return f"{full} ({self.username})" if full else self.username


class SecurityEventKind(models.TextChoices):
    SIGN_IN = "sign_in", _("Signed in")
    SIGN_IN_FAILED = "sign_in_failed", _("Sign-in failed")
    LOCKED_OUT = "locked_out", _("Account locked out")
    SIGN_OUT = "sign_out", _("Signed out")
    RATE_LIMITED = "rate_limited", _("Refused: too many requests")
    EMERGENCY_UNBLINDING = "emergency_unblinding", _("Emergency unblinding")
    SUSAR_CASE_UNBLINDING = "susar_case_unblinding", _("SUSAR case unblinding")
    TRIAL_UNBLINDING = "trial_unblinding", _("Trial-level unblinding confirmation")
    EXPORT_STARTED = "export_started", _("Export started")
    EXPORT_DOWNLOADED = "export_downloaded", _("Export downloaded")
    EXPORT_FAILED = "export_failed", _("Export failed")
    LIST_DOWNLOADED = "list_downloaded", _("Randomization list downloaded")
    SENSITIVE_READ = "sensitive_read", _("Allocation or identifying data read")
    ROLES_CHANGED = "roles_changed", _("Roles or permissions changed")
    SITES_CHANGED = "sites_changed", _("Sites changed")
    PASSWORD_CHANGED = "password_changed", _("Password changed")
    PASSWORD_SET_BY_ADMIN = "password_set_by_admin", _("Password set by an administrator")
    SIGNED_OUT_EVERYWHERE = "signed_out_everywhere", _("Signed out everywhere")
    SESSION_EXPIRED = "session_expired", _("Session ended: absolute time limit")
    ACCOUNT_CHANGED = "account_changed", _("Account status changed")
    TWO_FACTOR_ENROLLED = "two_factor_enrolled", _("Two-factor sign-in set up")
    TWO_FACTOR_VERIFIED = "two_factor_verified", _("Second factor accepted")
    TWO_FACTOR_FAILED = "two_factor_failed", _("Second factor refused")
    BACKUP_CODES_CREATED = "backup_codes_created", _("New backup codes made")
    TWO_FACTOR_REMOVED = "two_factor_removed", _("Two-factor sign-in turned off")
    TWO_FACTOR_RESET = "two_factor_reset", _("Two-factor sign-in reset by an administrator")
    SESSION_ENDED = "session_ended", _("Session on another device ended by its user")
    SIGN_IN_DELAYED = "sign_in_delayed", _("Sign-in refused: wait after wrong passwords")
    SERVICE_DOWN = "service_down", _("Service unreachable: running without it")
    SERVICE_RESTORED = "service_restored", _("Service reachable again")
    API_CALL = "api_call", _("API call")
    API_TOKEN_CREATED = "api_token_created", _("API token created")
    API_TOKEN_REVOKED = "api_token_revoked", _("API token revoked")


class SecurityEvent(models.Model):
    """One line of the security log: append-only (a database trigger refuses UPDATE and DELETE).

    `user` is the account the event is about (who signed in, whose roles changed); `username` is
    what was typed or the account's name, kept for failures of unknown accounts; `actor` is who
    acted when that is someone else (the administrator who changed a role).
    """

    at = models.DateTimeField(_("time (UTC)"), default=timezone.now, db_index=True)
    kind = models.CharField(_("event"), max_length=32, choices=SecurityEventKind.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("account"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="security_events",
    )
    username = models.CharField(_("username"), max_length=150, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("done by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("browser"), max_length=300, blank=True)
    detail = models.JSONField(_("detail"), default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-pk"]
        verbose_name = _("security event")
        verbose_name_plural = _("security events")
        indexes = [models.Index(fields=["kind", "at"]), models.Index(fields=["username", "at"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.get_kind_display()} {self.username}"


class HeartbeatProcess(models.TextChoices):
    WORKER = "worker", _("Celery worker")


class Heartbeat(models.Model):
    """When a background process last proved that it works; read by /health/ (trialedc.health).

    The worker's row is written by the heartbeat task that beat schedules every minute, so a
    recent row proves beat, the broker and a worker together. In the database, so every web
    process reads the same answer even when the broker is down."""

    process = models.CharField(
        _("process"), max_length=20, unique=True, choices=HeartbeatProcess.choices
    )
    at = models.DateTimeField(_("last seen at"))

    class Meta:
        verbose_name = _("heartbeat")
        verbose_name_plural = _("heartbeats")
        default_permissions = ()

    def __str__(self) -> str:
        return f"{self.process} {self.at:%Y-%m-%d %H:%M:%S}"


class AlertKind(models.TextChoices):
    SAE_INITIAL = "sae_initial", _("SAE initial report")
    SAE_FOLLOW_UP = "sae_follow_up", _("SAE follow-up report")
    SAE_FOLLOW_UP_DUE = "sae_follow_up_due", _("SAE follow-up due")
    SUSAR_IDENTIFIED = "susar", _("SUSAR identified")
    SUSAR_CLOCK = "susar_clock", _("SUSAR clock reminder")
    VISIT_DIGEST = "visit_digest", _("Daily visit digest")
    EMERGENCY_UNBLINDING = "emergency_unblinding", _("Emergency unblinding")
    SIGNATURE_ATTEMPTS = "signature_attempts", _("Failed e-signature attempts")
    EMERGENCY_NO_EVENT = (
        "emergency_unblinding_no_event",
        _("Emergency unblinding with no event recorded yet"),
    )
    # Sent to the sponsor's safety physicians only, after a case unblinding: whether they exist
    # follows the arm, so blinded readers of the outbox never see them (UNBLINDED_ALERT_KINDS).
    SUSAR_CONFIRMED = "unblinded_susar_confirmed", _("SUSAR confirmed after case unblinding")
    SUSAR_CLOCK_UNBLINDED = "unblinded_susar_clock", _("SUSAR clock reminder (unblinded)")
    UNLOCK_AFTER_UNBLINDING = "unlock_after_unblinding", _("Database unlock after unblinding")
    # To the site's pharmacists at each randomization; the same words whatever the arm.
    DOSE_TO_PREPARE = "dose_to_prepare", _("Dose to prepare")


UNBLINDED_ALERT_KINDS = frozenset({AlertKind.SUSAR_CONFIRMED, AlertKind.SUSAR_CLOCK_UNBLINDED})


class Alert(models.Model):
    """An e-mail in the transactional outbox (kernel.alerts). Pending while `sent_at` is empty.

    The participant and the adverse event it is about are named by string, not imported: the
    kernel imports no app above it; the rows link to theirs (decision 0019)."""

    kind = models.CharField(_("kind"), max_length=40)
    subject = models.CharField(_("subject"), max_length=250)
    body = models.TextField(_("body"))
    recipients = models.JSONField(_("recipients"), default=list)
    participant = models.ForeignKey(
        "participants.Participant",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("participant"),
    )
    adverse_event = models.ForeignKey(
        "safety.AdverseEvent",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="alerts",
        verbose_name=_("adverse event"),
    )
    # Reminders are sent once per occasion (e.g. "susar-clock:12:1d"): the unique key makes a
    # second sweep a no-op instead of a second e-mail.
    dedupe_key = models.CharField(max_length=120, unique=True, null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_attempt_at = models.DateTimeField(_("last attempt at"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    next_attempt_at = models.DateTimeField(_("next attempt at"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        # Made by the safety app before the outbox moved to the kernel (decision 0019).
        db_table = "safety_alert"
        ordering = ["-created_at", "-pk"]
        verbose_name = _("alert")
        verbose_name_plural = _("alerts")
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(sent_at__isnull=True),
                name="alert_pending_by_next_attempt",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} · {self.subject}"

    @property
    def pending(self) -> bool:
        return self.sent_at is None

    @property
    def kind_label(self) -> str:
        try:
            return str(AlertKind(self.kind).label)
        except ValueError:
            return self.kind
