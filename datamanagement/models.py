"""Queries, source-data verification marks, electronic signatures, locks and notifications.

Each row records who and when; state changes of queries are kept as steps (the thread), and every
model keeps a django-simple-history trail. None of these models refers to the allocation.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from kernel.trial import TRIAL


class QueryState(models.TextChoices):
    OPEN = "open", _("Open")
    ANSWERED = "answered", _("Answered")
    CLOSED = "closed", _("Closed")


class QueryOrigin(models.TextChoices):
    MANUAL = "manual", _("Raised by hand")
    EDIT_CHECK = "edit_check", _("Edit check")
    MISSING_CRF = "missing_crf", _("Missing CRF")


class QueryAction(models.TextChoices):
    RAISE = "raise", _("Raised")
    ANSWER = "answer", _("Answered")
    CLOSE = "close", _("Closed")
    REOPEN = "reopen", _("Re-opened")


# The query state machine: (state, action) -> new state. Anything else is refused.
TRANSITIONS: dict[tuple[str, str], str] = {
    (QueryState.OPEN, QueryAction.ANSWER): QueryState.ANSWERED,
    (QueryState.OPEN, QueryAction.CLOSE): QueryState.CLOSED,
    (QueryState.ANSWERED, QueryAction.CLOSE): QueryState.CLOSED,
    (QueryState.ANSWERED, QueryAction.REOPEN): QueryState.OPEN,
    (QueryState.CLOSED, QueryAction.REOPEN): QueryState.OPEN,
}
# Who may take each step (the permission checked by the service as well as by the view).
ACTION_PERMISSIONS: dict[str, str] = {
    QueryAction.RAISE: "datamanagement.raise_query",
    QueryAction.ANSWER: "datamanagement.answer_query",
    QueryAction.CLOSE: "datamanagement.close_query",
    QueryAction.REOPEN: "datamanagement.close_query",
}


class Query(models.Model):
    """A question on a CRF field (or a whole CRF, `field_name` empty) of one participant's
    visit: REDCap's data-resolution thread, OpenClinica's discrepancy note."""

    participant = models.ForeignKey(
        "participants.Participant",
        on_delete=models.PROTECT,
        related_name="queries",
        verbose_name=_("participant"),
    )
    visit = models.ForeignKey(
        "outcomes.Visit",
        on_delete=models.PROTECT,
        related_name="queries",
        null=True,
        blank=True,
        verbose_name=_("visit"),
    )
    crf_code = models.CharField(_("CRF"), max_length=30, blank=True)
    field_name = models.CharField(_("field"), max_length=60, blank=True)
    origin = models.CharField(
        _("origin"), max_length=12, choices=QueryOrigin.choices, default=QueryOrigin.MANUAL
    )
    state = models.CharField(
        _("state"), max_length=10, choices=QueryState.choices, default=QueryState.OPEN
    )
    text = models.TextField(_("question"))
    raised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        verbose_name=_("raised by"),
    )
    raised_at = models.DateTimeField(_("raised at"), auto_now_add=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    # Automatic queries carry a key so that raising them again does nothing.
    auto_key = models.CharField(max_length=120, null=True, blank=True, unique=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-raised_at", "-pk"]
        verbose_name = _("query")
        verbose_name_plural = _("queries")
        permissions = [
            ("raise_query", _("Can raise a query on a CRF field")),
            ("answer_query", _("Can answer a query")),
            ("close_query", _("Can close and re-open a query")),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(state="closed") | Q(closed_at__isnull=False),
                name="query_closed_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.participant.study_id} #{self.pk}"

    @property
    def crf_name(self) -> str:
        from .selectors import record_name

        return record_name(self.crf_code)

    @property
    def field_label(self) -> str:
        from .selectors import field_label

        return field_label(self.crf_code, self.field_name)


class QueryStep(models.Model):
    """One step of a query's thread: who, when, what was said, and the state it led to."""

    query = models.ForeignKey(
        Query, on_delete=models.PROTECT, related_name="steps", verbose_name=_("query")
    )
    action = models.CharField(_("action"), max_length=10, choices=QueryAction.choices)
    text = models.TextField(_("text"))
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        verbose_name=_("by"),
    )
    at = models.DateTimeField(_("at"), auto_now_add=True)
    state_after = models.CharField(_("state after"), max_length=10, choices=QueryState.choices)
    history = HistoricalRecords()

    class Meta:
        ordering = ["at", "pk"]
        verbose_name = _("query step")
        verbose_name_plural = _("query steps")

    def __str__(self) -> str:
        return f"{self.query} {self.action}"


class SdvMark(models.Model):
    """A field of a CRF (or of a record of no visit) verified against the source, as it was then.

    A CRF's mark names its visit; a mark on a record of no visit (the vital signs at screening)
    names the participant instead."""

    visit = models.ForeignKey(
        "outcomes.Visit",
        on_delete=models.PROTECT,
        related_name="sdv_marks",
        null=True,
        blank=True,
        verbose_name=_("visit"),
    )
    participant = models.ForeignKey(
        "participants.Participant",
        on_delete=models.PROTECT,
        related_name="sdv_marks",
        null=True,
        blank=True,
        verbose_name=_("participant"),
    )
    crf_code = models.CharField(_("CRF"), max_length=30)
    field_name = models.CharField(_("field"), max_length=60)
    value = models.TextField(_("value verified"), blank=True)
    # The CRF's version (its audit row) the monitor was shown and verified (issue 26).
    crf_version = models.PositiveBigIntegerField(_("CRF version verified"), null=True, blank=True)
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("verified by"),
    )
    verified_at = models.DateTimeField(_("verified at"), auto_now_add=True)
    cleared_at = models.DateTimeField(_("cleared at"), null=True, blank=True)
    cleared_because = models.TextField(_("cleared because"), blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["visit", "crf_code", "field_name", "-verified_at"]
        verbose_name = _("source-data verification mark")
        verbose_name_plural = _("source-data verification marks")
        permissions = [("verify_source_data", _("Can mark fields source-data verified"))]
        constraints = [
            models.UniqueConstraint(
                fields=["visit", "crf_code", "field_name"],
                condition=Q(cleared_at__isnull=True),
                name="sdv_one_active_mark_per_field",
            ),
            models.UniqueConstraint(
                fields=["participant", "crf_code", "field_name"],
                condition=Q(cleared_at__isnull=True, visit__isnull=True),
                name="sdv_one_active_mark_per_visitless_field",
            ),
            models.CheckConstraint(
                condition=Q(visit__isnull=False) | Q(participant__isnull=False),
                name="sdv_mark_names_visit_or_participant",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.visit or self.participant} {self.crf_code}.{self.field_name}"


class SignatureLevel(models.TextChoices):
    CRF = "crf", _("CRF")
    VISIT = "visit", _("Visit")
    CASEBOOK = "casebook", _("Casebook")


class Signature(models.Model):
    """An investigator's electronic signature (21 CFR 11.50, 11.70, 11.200).

    `manifest` lists every record signed with the history_id of its version at signing;
    `content_hash` is the SHA-256 of the manifest and the values, so the signature is bound to
    exactly those versions: a later change voids it (services) and the hash shows it (selectors).
    """

    level = models.CharField(_("what was signed"), max_length=10, choices=SignatureLevel.choices)
    participant = models.ForeignKey(
        "participants.Participant",
        on_delete=models.PROTECT,
        related_name="signatures",
        verbose_name=_("participant"),
    )
    visit = models.ForeignKey(
        "outcomes.Visit",
        on_delete=models.PROTECT,
        related_name="signatures",
        null=True,
        blank=True,
        verbose_name=_("visit"),
    )
    crf_code = models.CharField(_("CRF"), max_length=30, blank=True)
    meaning = models.CharField(_("meaning"), max_length=40)
    meaning_text = models.TextField(_("meaning as shown"))
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("signed by"),
    )
    signer_name = models.CharField(_("printed name of the signer"), max_length=200)
    signed_at = models.DateTimeField(_("signed at"), auto_now_add=True)
    manifest = models.JSONField(_("records and versions signed"))
    content_hash = models.CharField(_("SHA-256 of what was signed"), max_length=64)
    voided_at = models.DateTimeField(_("voided at"), null=True, blank=True)
    void_reason = models.TextField(_("why it was voided"), blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-signed_at", "-pk"]
        verbose_name = _("electronic signature")
        verbose_name_plural = _("electronic signatures")
        permissions = [("sign_records", _("Can sign CRFs, visits and casebooks"))]

    def __str__(self) -> str:
        return f"{self.signer_name} {self.signed_at:%Y-%m-%d %H:%M} {self.meaning_text}"

    @property
    def is_void(self) -> bool:
        return self.voided_at is not None


class SignatureFailure(models.Model):
    """A wrong password at signing (11.300(d): attempts are counted and reported)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(auto_now_add=True)
    participant = models.ForeignKey(
        "participants.Participant", on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-at"]
        verbose_name = _("failed signature attempt")
        verbose_name_plural = _("failed signature attempts")

    def __str__(self) -> str:
        return f"{self.user} {self.at:%Y-%m-%d %H:%M}"


class LockLevel(models.TextChoices):
    CRF = "crf", _("CRF")
    PARTICIPANT = "participant", _("Participant")
    DATABASE = "database", _("Database")


class Lock(models.Model):
    """A CRF, a participant's casebook or the whole database locked by the data manager.

    Active while `unlocked_at` is empty; unlocking keeps the row with who, when and why.
    """

    level = models.CharField(_("level"), max_length=12, choices=LockLevel.choices)
    participant = models.ForeignKey(
        "participants.Participant",
        on_delete=models.PROTECT,
        related_name="locks",
        null=True,
        blank=True,
        verbose_name=_("participant"),
    )
    visit = models.ForeignKey(
        "outcomes.Visit",
        on_delete=models.PROTECT,
        related_name="locks",
        null=True,
        blank=True,
        verbose_name=_("visit"),
    )
    crf_code = models.CharField(_("CRF"), max_length=30, blank=True)
    reason = models.TextField(_("reason for locking"), blank=True)
    # Database lock only: the readiness checklist as it stood, each open item's waiver reason,
    # and the data manager's e-signature (meaning, second factor) (issue 20).
    readiness = models.JSONField(_("readiness at lock"), default=dict, blank=True)
    locked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("locked by"),
    )
    locked_at = models.DateTimeField(_("locked at"), auto_now_add=True)
    unlocked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        verbose_name=_("unlocked by"),
    )
    unlocked_at = models.DateTimeField(_("unlocked at"), null=True, blank=True)
    unlock_reason = models.TextField(_("reason for unlocking"), blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-locked_at", "-pk"]
        verbose_name = _("lock")
        verbose_name_plural = _("locks")
        permissions = [("lock_data", _("Can lock and unlock CRFs, participants and the database"))]
        constraints = [
            models.UniqueConstraint(
                fields=["level"],
                condition=Q(level="database", unlocked_at__isnull=True),
                name="lock_one_active_database_lock",
            ),
            models.UniqueConstraint(
                fields=["participant"],
                condition=Q(level="participant", unlocked_at__isnull=True),
                name="lock_one_active_participant_lock",
            ),
            models.UniqueConstraint(
                fields=["visit", "crf_code"],
                condition=Q(level="crf", unlocked_at__isnull=True),
                name="lock_one_active_crf_lock",
            ),
            # A casebook record of no visit (the vital signs at screening): one lock at a time.
            models.UniqueConstraint(
                fields=["participant", "crf_code"],
                condition=Q(level="crf", unlocked_at__isnull=True, visit__isnull=True),
                name="lock_one_active_visitless_record_lock",
            ),
            models.CheckConstraint(
                condition=Q(unlocked_at__isnull=True) | ~Q(unlock_reason=""),
                name="lock_unlock_has_reason",
            ),
            models.CheckConstraint(
                condition=Q(level="database", participant__isnull=True)
                | Q(level="participant", participant__isnull=False, visit__isnull=True)
                | Q(level="crf", participant__isnull=False) & ~Q(crf_code=""),
                name="lock_target_matches_level",
            ),
        ]

    def __str__(self) -> str:
        if self.level == LockLevel.DATABASE:
            return str(_("Database lock"))
        if self.level == LockLevel.PARTICIPANT:
            return f"{self.participant.study_id}"
        if self.visit is None:
            from .selectors import record_name

            return f"{self.participant.study_id} {record_name(self.crf_code)}"
        return f"{self.visit} {TRIAL.crfs.get(self.crf_code, self.crf_code)}"

    @property
    def is_active(self) -> bool:
        return self.unlocked_at is None


class UnlockRequest(models.Model):
    """A request to release the database lock after trial-level unblinding (issue 20): asked by
    one data manager with the reason, approved by another, each re-authenticated; the sponsor
    and the statistician are told at each step."""

    lock = models.ForeignKey(
        Lock, on_delete=models.PROTECT, related_name="unlock_requests", verbose_name=_("lock")
    )
    reason = models.TextField(_("reason for unlocking"))
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("requested by"),
    )
    requested_at = models.DateTimeField(_("requested at"), auto_now_add=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        verbose_name=_("approved by"),
    )
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-requested_at", "-pk"]
        verbose_name = _("unlock request after unblinding")
        verbose_name_plural = _("unlock requests after unblinding")
        constraints = [
            models.CheckConstraint(condition=~Q(reason=""), name="unlock_request_has_reason"),
            models.CheckConstraint(
                condition=Q(approved_by__isnull=True) | ~Q(approved_by=F("requested_by")),
                name="unlock_request_two_people",
            ),
            models.UniqueConstraint(
                fields=["lock"],
                condition=Q(approved_at__isnull=True),
                name="unlock_request_one_pending_per_lock",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.lock} · {self.requested_by}"


class Notification(models.Model):
    """A message to one user inside the product (and by e-mail, when mail is configured)."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="dm_notifications"
    )
    text = models.TextField(_("message"))
    link = models.CharField(_("link"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        permissions = [("view_trial_audit_log", _("Can read and export the trial-wide audit log"))]

    def __str__(self) -> str:
        return self.text[:60]
