"""Every write of the data-management app: keyword-only functions, one transaction each, with
row locks where two people could act on the same thing at once.

How the other apps reach it:
- the outcomes services send outcomes.signals (it sits below this app and cannot call it); the
  receivers at the end of this module run `assert_editable` before a change, and `crf_changed`,
  `edit_check_queries_raise` and `participant_data_changed` after it, so that locks refuse,
  source-data marks are cleared, signatures voided and confirmed warnings queried;
- randomization (above this app) calls it directly (the database lock at trial unblinding);
- its own daily job raises `missing_crf_queries_raise` (datamanagement.tasks, beat).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date
from typing import Any, cast

from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.forms.models import model_to_dict
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from kernel import audit, concurrency
from kernel.alerts import alert_create
from kernel.exceptions import EditConflict, TrialEdcError
from kernel.models import AlertKind
from kernel.prepared import PreparedRows, Read
from kernel.trial import TRIAL
from outcomes import selectors as outcome_selectors
from outcomes.models import CRF_MODELS, CrfStatus, Visit, VisitState
from outcomes.schedule import OVERDUE
from participants.models import Participant

from . import selectors
from .exceptions import (
    AlreadyLocked,
    NotLocked,
    QueryTransitionRefused,
    RecordLocked,
    SdvNotRequired,
    SignatureAttemptsExhausted,
    SignatureRefused,
)
from .models import (
    ACTION_PERMISSIONS,
    TRANSITIONS,
    Lock,
    LockLevel,
    Notification,
    Query,
    QueryAction,
    QueryOrigin,
    QueryState,
    QueryStep,
    SdvMark,
    Signature,
    SignatureFailure,
    SignatureLevel,
    UnlockRequest,
)

# -- locks -----------------------------------------------------------------------------------


def assert_editable(*, participant=None, visit: Visit | None = None, crf_code: str = "") -> None:
    """Refuse (RecordLocked) if a database, participant or CRF lock covers the data."""
    participant_id = participant.pk if participant is not None else None
    if participant_id is None and visit is not None:
        participant_id = visit.participant_id
    lock = selectors.lock_covering(
        participant_id=participant_id,
        visit_id=visit.pk if visit is not None else None,
        crf_code=crf_code,
    )
    if lock is None:
        return
    raise lock_refusal(lock)


def lock_refusal(lock: Lock) -> RecordLocked:
    """The refusal of a change that `lock` covers (also raised for a check the database made,
    e.g. randomization's `randomization_assign`)."""
    return RecordLocked(
        _(
            "These data are locked (%(level)s lock by %(who)s on %(when)s); they cannot be "
            "changed. Ask the data manager to unlock them, with a reason."
        )
        % {
            "level": lock.get_level_display(),
            "who": lock.locked_by.get_full_name() or lock.locked_by.username,
            "when": timezone.localtime(lock.locked_at).strftime("%Y-%m-%d %H:%M"),
        }
    )


def lock_create(
    *,
    user,
    level: str,
    participant=None,
    visit: Visit | None = None,
    crf_code: str = "",
    reason: str = "",
    readiness: dict | None = None,
) -> Lock:
    """Lock a CRF or a participant's casebook (data manager), with the reason. The whole
    database is locked through `database_lock`, with its readiness checklist and e-signature."""
    if not user.has_perm("datamanagement.lock_data"):
        raise RecordLocked(_("Your role does not allow locking data."))
    if not (reason or "").strip():
        raise NotLocked(_("Give the reason for locking."))
    if level == LockLevel.DATABASE and readiness is None:
        raise NotLocked(_("The database is locked from the locks page, with its checklist."))
    with transaction.atomic():
        if participant is not None:
            # Serialise with CRF saves, which lock the visit row (outcomes.services.crf_save),
            # and with the saves of its records of no visit, which lock the participant row.
            type(participant).objects.select_for_update().get(pk=participant.pk)
            list(Visit.objects.select_for_update().filter(participant=participant))
        visitless = level == LockLevel.CRF and visit is None
        if visitless and (
            crf_code not in selectors.VISITLESS_RECORDS
            or selectors.visitless_record(participant, crf_code) is None
        ):
            raise NotLocked(_("Choose a CRF of the visit to lock."))
        if (
            level == LockLevel.CRF
            and not visitless
            and (visit is None or crf_code not in visit.crf_codes)
        ):
            raise NotLocked(_("Choose a CRF of the visit to lock."))
        lock = Lock(
            level=level,
            participant=participant if level != LockLevel.DATABASE else None,
            visit=visit if level == LockLevel.CRF else None,
            crf_code=crf_code if level == LockLevel.CRF else "",
            reason=(reason or "").strip(),
            readiness=readiness or {},
            locked_by=user,
        )
        lock.full_clean(validate_constraints=False)
        try:
            with transaction.atomic():
                audit.save_with_reason(lock, user=user)
        except IntegrityError as error:
            raise AlreadyLocked(_("These data are already locked.")) from error
    return lock


def database_lock(
    *, user, password: str, reason: str, waivers: dict[str, str], second_factor: str = ""
) -> Lock:
    """Lock the whole database (issue 20; 21 CFR 11.10(g), 11.200): every item of the readiness
    checklist is cleared or waived with a reason, the reason for locking is given, and the data
    manager signs with the password (the view checks the second factor first and names it in
    `second_factor`)."""
    if not user.has_perm("datamanagement.lock_data"):
        raise RecordLocked(_("Your role does not allow locking data."))
    reason = (reason or "").strip()
    if not reason:
        raise NotLocked(_("Give the reason for locking."))
    items = selectors.database_lock_readiness()
    waived = {k: (v or "").strip() for k, v in (waivers or {}).items() if (v or "").strip()}
    unwaived = [item.label for item in items if not item.cleared and item.key not in waived]
    if unwaived:
        raise NotLocked(
            _("Not ready to lock: clear these or waive them with a reason: %(items)s.")
            % {"items": "; ".join(unwaived)}
        )
    if not user.check_password(password or ""):
        raise NotLocked(_("The password is not correct; the database was not locked."))
    readiness = {
        "items": {item.key: item.count for item in items},
        "waivers": {item.key: waived[item.key] for item in items if not item.cleared},
        "signature": {
            "signer": user.get_full_name() or user.get_username(),
            "meaning": str(_("I lock the database for analysis")),
            "second_factor": second_factor,
            "signed_at": timezone.now().isoformat(timespec="seconds"),
        },
    }
    return lock_create(user=user, level=LockLevel.DATABASE, reason=reason, readiness=readiness)


def _unlock_alert(*, unlock: UnlockRequest, what: str) -> None:
    """Tell the sponsor and the statistician (the alert outbox: never lost) of a step of an unlock
    after unblinding. No arm, no identifying data."""
    step = unlock.approved_at is not None
    body = "\n".join(
        [
            what,
            _("Requested by %(who)s: %(reason)s")
            % {"who": unlock.requested_by, "reason": unlock.reason},
            _("Approved by: %(who)s") % {"who": unlock.approved_by or "—"},
            _(
                "Every export after this unlock lists the values changed after unblinding "
                "(changes_after_unblinding.csv)."
            ),
        ]
    )
    alert_create(
        kind=AlertKind.UNLOCK_AFTER_UNBLINDING,
        subject=_("%(trial)s: %(what)s") % {"trial": TRIAL.acronym, "what": what},
        body=body,
        recipients=selectors.unblinded_unlock_recipients(),
        dedupe_key=f"unlock-after-unblinding:{unlock.pk}:{'approved' if step else 'requested'}",
    )


def unlock_request_create(*, user, lock: Lock, reason: str, password: str) -> UnlockRequest:
    """After unblinding: ask for the database lock to be released, with the reason and the
    password (the view checks the second factor first). Another data manager approves."""
    reason = (reason or "").strip()
    if not user.has_perm("datamanagement.lock_data"):
        raise NotLocked(_("Your role does not allow unlocking data."))
    if not reason:
        raise NotLocked(_("Give the reason for unlocking."))
    if not user.check_password(password or ""):
        raise NotLocked(_("The password is not correct; nothing was requested."))
    with transaction.atomic():
        lock = Lock.objects.select_for_update().get(pk=lock.pk)
        if not lock.is_active or lock.level != LockLevel.DATABASE:
            raise NotLocked(_("Only an active database lock needs a request to release."))
        if lock.unlock_requests.filter(approved_at__isnull=True).exists():
            raise NotLocked(_("An unlock request is already waiting for approval."))
        unlock = UnlockRequest(lock=lock, reason=reason, requested_by=user)
        unlock.full_clean(validate_constraints=False)
        audit.save_with_reason(unlock, user=user, reason=reason)
        _unlock_alert(unlock=unlock, what=str(_("Database unlock requested after unblinding")))
    return unlock


def unlock_request_approve(*, user, unlock: UnlockRequest, password: str) -> Lock:
    """Approve (a second data manager, re-authenticated) and release the database lock."""
    if not user.has_perm("datamanagement.lock_data"):
        raise NotLocked(_("Your role does not allow unlocking data."))
    if not user.check_password(password or ""):
        raise NotLocked(_("The password is not correct; nothing was approved."))
    with transaction.atomic():
        unlock = UnlockRequest.objects.select_for_update().get(pk=unlock.pk)
        if unlock.approved_at is not None:
            raise NotLocked(_("This request was already approved."))
        if unlock.requested_by_id == user.pk:
            raise NotLocked(_("Another person must approve the request: two people unlock."))
        unlock.approved_by, unlock.approved_at = user, timezone.now()
        audit.save_with_reason(unlock, user=user, reason=_("Approved"))
        lock = _release(
            user=user,
            lock=unlock.lock,
            reason=_("After unblinding, requested by %(who)s, approved by %(approver)s: %(r)s")
            % {"who": unlock.requested_by, "approver": user, "r": unlock.reason},
        )
        _unlock_alert(unlock=unlock, what=str(_("Database unlocked after unblinding")))
    return lock


def lock_release(*, user, lock: Lock, reason: str) -> Lock:
    """Unlock, with the reason; the investigators who signed the data are told."""
    reason = (reason or "").strip()
    if not user.has_perm("datamanagement.lock_data"):
        raise NotLocked(_("Your role does not allow unlocking data."))
    if not reason:
        raise NotLocked(_("Give the reason for unlocking."))
    if lock.level == LockLevel.DATABASE and selectors.trial_is_unblinded():
        # After unblinding, one person's unlock could change data knowing the arms
        # (issue 20, finding 3): a request approved by a second person (unlock_request_*).
        raise NotLocked(
            _(
                "The trial is unblinded: the database stays locked. A correction needs an "
                "unlock requested by one data manager and approved by another."
            )
        )
    return _release(user=user, lock=lock, reason=reason)


def _release(*, user, lock: Lock, reason: str) -> Lock:
    with transaction.atomic():
        lock = Lock.objects.select_for_update().get(pk=lock.pk)
        if not lock.is_active:
            raise NotLocked(_("This lock was already released."))
        lock.unlocked_by = user
        lock.unlocked_at = timezone.now()
        lock.unlock_reason = reason
        lock.full_clean(validate_constraints=False)
        audit.save_with_reason(lock, user=user, reason=_("Unlocked: %(r)s") % {"r": reason})
        signatures = Signature.objects.filter(voided_at__isnull=True)
        if lock.level == LockLevel.PARTICIPANT:
            signatures = signatures.filter(participant=lock.participant)
        elif lock.level == LockLevel.CRF:
            signatures = signatures.filter(participant=lock.participant).filter(
                Q(level=SignatureLevel.CASEBOOK)
                | Q(level=SignatureLevel.VISIT, visit=lock.visit)
                | Q(level=SignatureLevel.CRF, visit=lock.visit, crf_code=lock.crf_code)
            )
        for signer in {s.signed_by for s in signatures.select_related("signed_by")}:
            notify(
                recipient=signer,
                text=_("%(lock)s was unlocked by %(who)s: %(reason)s. Data you signed may change.")
                % {
                    "lock": str(lock),
                    "who": user.get_full_name() or user.username,
                    "reason": reason,
                },
                link=reverse("datamanagement:locks"),
            )
    return lock


# -- notifications ---------------------------------------------------------------------------


def notify(*, recipient, text: str, link: str = "", email: bool = True) -> Notification:
    """A message in the product, and by e-mail after commit when the user has an address
    (`email=False` where the caller sends the e-mail through the outbox itself)."""
    note = Notification(recipient=recipient, text=text, link=link)
    note.full_clean()
    note.save()
    if email and recipient.email:
        transaction.on_commit(
            lambda: send_mail(
                subject=_("Trial EDC: %(text)s") % {"text": text[:60]},
                message=text,
                from_email=None,
                recipient_list=[recipient.email],
                fail_silently=True,
            )
        )
    return note


def notifications_mark_read(*, user) -> int:
    return Notification.objects.filter(recipient=user, read_at__isnull=True).update(
        read_at=timezone.now()
    )


# -- queries ---------------------------------------------------------------------------------


def _check_field(crf_code: str, field_name: str) -> None:
    if crf_code and selectors.record_model(crf_code) is None:
        raise QueryTransitionRefused(_("There is no CRF %(crf)s.") % {"crf": crf_code})
    if field_name and field_name not in selectors.crf_data_fields(crf_code):
        raise QueryTransitionRefused(
            _("%(crf)s has no field %(field)s.")
            % {"crf": selectors.record_name(crf_code) or crf_code, "field": field_name}
        )


def query_raise(
    *,
    participant,
    text: str,
    user=None,
    visit: Visit | None = None,
    crf_code: str = "",
    field_name: str = "",
    origin: str = QueryOrigin.MANUAL,
    auto_key: str | None = None,
) -> Query:
    """Open a query on a CRF field (or a whole CRF). By hand: a monitor or data manager;
    automatic (user None): an edit check or a missing CRF, idempotent through `auto_key`."""
    text = (text or "").strip()
    if not text:
        raise QueryTransitionRefused(_("Write the question."))
    if origin == QueryOrigin.MANUAL and (
        user is None or not user.has_perm(ACTION_PERMISSIONS[QueryAction.RAISE])
    ):
        raise QueryTransitionRefused(_("Your role does not allow raising queries."))
    if visit is not None and visit.participant_id != participant.pk:
        raise QueryTransitionRefused(_("The visit is not this participant's."))
    if visit is not None and crf_code in selectors.VISITLESS_RECORDS:
        raise QueryTransitionRefused(_("This record belongs to no visit."))
    _check_field(crf_code, field_name)
    with transaction.atomic():
        if auto_key:
            existing = Query.objects.filter(auto_key=auto_key).first()
            if existing is not None:
                return existing
        query = Query(
            participant=participant,
            visit=visit,
            crf_code=crf_code,
            field_name=field_name,
            origin=origin,
            text=text,
            raised_by=user,
            auto_key=auto_key,
        )
        query.full_clean()
        audit.save_with_reason(query, user=user)
        step = QueryStep(
            query=query, action=QueryAction.RAISE, text=text, by=user, state_after=query.state
        )
        audit.save_with_reason(step, user=user)
    return query


def query_step(*, query: Query, action: str, user, text: str, opened_version: int | None) -> Query:
    """Move a query along the state machine (models.TRANSITIONS); anything else is refused.

    The step answers the thread as the user was shown it (`opened_version`): if the query
    moved since (answered, closed, re-opened by someone else), nothing is done and the user
    sees what changed (kernel.concurrency)."""
    text = (text or "").strip()
    if action not in ACTION_PERMISSIONS or action == QueryAction.RAISE:
        raise QueryTransitionRefused(_("Unknown step."))
    if not user.has_perm(ACTION_PERMISSIONS[action]):
        raise QueryTransitionRefused(
            _("Your role does not allow this step (%(step)s).")
            % {"step": QueryAction(action).label}
        )
    if not text:
        raise QueryTransitionRefused(_("Write a text for this step; it stays in the thread."))
    with transaction.atomic():
        query = Query.objects.select_for_update().get(pk=query.pk)
        new_state = TRANSITIONS.get((query.state, action))
        if new_state is None:
            raise QueryTransitionRefused(
                _("A query that is %(state)s cannot be %(step)s.")
                % {
                    "state": query.get_state_display().lower(),
                    "step": QueryAction(action).label.lower(),
                }
            )
        # A step the state allows, but on a thread that moved since the user read it.
        concurrency.refuse_changed_since(
            record=query, opened_version=opened_version, action=_("your step was not taken")
        )
        query.state = new_state
        query.closed_at = timezone.now() if new_state == QueryState.CLOSED else None
        query.full_clean()
        audit.save_with_reason(
            query, user=user, reason=f"{QueryAction(action).label}: {text}"[:100]
        )
        step = QueryStep(query=query, action=action, text=text, by=user, state_after=new_state)
        audit.save_with_reason(step, user=user)
    return query


def query_step_many(
    *, queries: list[Query], action: str, user, text: str, opened_versions: dict
) -> int:
    """The data manager's (or the site's) bulk step from the query worklist: the same step,
    with the same text, on each query, each taken by `query_step` as if done one by one (its
    own thread step, audit row and version check). All or nothing: if one is refused (moved
    since the list was opened, or a state that does not allow the step) none is taken and the
    refusal names that query."""
    if not queries:
        raise QueryTransitionRefused(_("Tick the queries to act on."))
    with transaction.atomic():
        for query in queries:
            key = (concurrency.label_of(query), query.pk)
            try:
                query_step(
                    query=query,
                    action=action,
                    user=user,
                    text=text,
                    opened_version=opened_versions.get(key, concurrency.UNKNOWN),
                )
            except TrialEdcError as error:
                raise QueryTransitionRefused(
                    _("Query #%(pk)s: %(error)s Nothing was changed.")
                    % {"pk": query.pk, "error": error}
                ) from error
    return len(queries)


def query_answer(*, query: Query, user, text: str, opened_version: int | None) -> Query:
    return query_step(
        query=query, action=QueryAction.ANSWER, user=user, text=text, opened_version=opened_version
    )


def query_close(*, query: Query, user, text: str, opened_version: int | None) -> Query:
    return query_step(
        query=query, action=QueryAction.CLOSE, user=user, text=text, opened_version=opened_version
    )


def query_reopen(*, query: Query, user, text: str, opened_version: int | None) -> Query:
    return query_step(
        query=query,
        action=QueryAction.REOPEN,
        user=user,
        text=text,
        opened_version=opened_version,
    )


def edit_check_queries_raise(*, crf, warnings, warning_reason: str = "") -> list[Query]:
    """A soft-limit warning the site confirmed becomes a query for the data manager to review
    (each warning once per CRF)."""
    raised = []
    for warning in warnings:
        digest = hashlib.sha256(str(warning).encode()).hexdigest()[:16]
        text = str(warning)
        if warning_reason:
            text += " " + _("Confirmed at entry: %(reason)s") % {"reason": warning_reason}
        raised.append(
            query_raise(
                participant=crf.visit.participant,
                visit=crf.visit,
                crf_code=crf.crf_code,
                text=text,
                origin=QueryOrigin.EDIT_CHECK,
                auto_key=f"edit-check:{crf._meta.label_lower}:{crf.pk}:{digest}",
            )
        )
    return raised


def missing_crf_queries_raise(*, today: date | None = None) -> int:
    """Raise a query for every CRF still missing (or draft) once its visit's window has closed.
    Idempotent: each missing CRF gets one query, however often this runs. Returns how many
    were raised now."""
    raised = 0
    visits = (
        Visit.objects.filter(state=VisitState.SCHEDULED)
        .select_related("participant__site")
        .order_by("participant__study_id", "day")
    )
    for visit in visits:
        on = today or outcome_selectors.site_today(visit.participant.site)
        status = outcome_selectors.visit_status(
            visit, today=on, ended=outcome_selectors.ended_on(visit.participant)
        )
        if status != OVERDUE:
            continue
        for code in visit.crf_codes:
            crf = CRF_MODELS[code].objects.filter(visit=visit).first()
            if crf is not None and crf.status == CrfStatus.COMPLETE:
                continue
            key = f"missing-crf:{visit.pk}:{code}"
            if Query.objects.filter(auto_key=key).exists():
                continue
            query_raise(
                participant=visit.participant,
                visit=visit,
                crf_code=code,
                origin=QueryOrigin.MISSING_CRF,
                auto_key=key,
                text=_(
                    "The %(crf)s CRF of visit %(visit)s is missing or incomplete; the window "
                    "closed on %(end)s. Enter it, or mark the visit missed with the reason."
                )
                % {"crf": TRIAL.crfs[code], "visit": visit.code, "end": visit.window_end},
            )
            raised += 1
    return raised + missing_daily_status_queries_raise(today=today)


def missing_daily_status_queries_raise(*, today: date | None = None) -> int:
    """Raise a query for every day D1-D28 (to discharge, death or the end of follow-up) whose
    6-point status is still missing a whole day after it (outcomes.followup.missing_days;
    issue 18 point 3). Run with the missing-CRF queries (the same daily beat task), idempotent
    the same way: one query per participant and day. Returns how many were raised now."""
    raised = 0
    participants = (
        Participant.objects.filter(visits__day=0)
        .select_related("site", "withdrawal")
        .order_by("study_id")
        .distinct()
    )
    for participant in participants:
        on = today or outcome_selectors.site_today(participant.site)
        for day, day_date in outcome_selectors.missing_daily_statuses(participant, today=on):
            key = f"missing-daily-status:{participant.pk}:{day}"
            if Query.objects.filter(auto_key=key).exists():
                continue
            query_raise(
                participant=participant,
                origin=QueryOrigin.MISSING_CRF,
                auto_key=key,
                text=_(
                    "The daily clinical status of day %(day)s (%(date)s) is missing. Enter it "
                    "on the daily status page."
                )
                % {"day": day, "date": day_date},
            )
            raised += 1
    return raised


# -- after a change to trial data ------------------------------------------------------------


def _crf_review_link(visit: Visit, crf_code: str) -> str:
    return reverse(
        "datamanagement:crf_review",
        kwargs={"study_id": visit.participant.study_id, "code": visit.code, "crf": crf_code},
    )


def _void(signatures, *, reason: str) -> int:
    """Void the signatures of `signatures` (a queryset) not voided yet, each row locked; or
    of `signatures` already so read (a list, e.g. from _SIGNATURES_TO_VOID)."""
    if isinstance(signatures, QuerySet):
        signatures = signatures.select_for_update().filter(voided_at__isnull=True)
    voided = 0
    for signature in signatures:
        signature.voided_at = timezone.now()
        signature.void_reason = reason
        audit.save_with_reason(signature, user=None, reason=reason[:100])
        notify(
            recipient=signature.signed_by,
            text=_(
                "Your signature (%(what)s, %(participant)s) was voided: %(reason)s. "
                "Please sign again."
            )
            % {
                "what": signature.get_level_display(),
                "participant": signature.participant.study_id,
                "reason": reason,
            },
            link=reverse(
                "datamanagement:casebook", kwargs={"study_id": signature.participant.study_id}
            ),
        )
        voided += 1
    return voided


def _changed_fields(crf) -> set[str] | None:
    """The fields a save of `crf` changed, from the values crf_save read under its row lock
    before the save (`values_before_save`): those the audit trail's diff would give (the
    tracked, editable fields). None: the CRF had no earlier version."""
    before = crf.__dict__["values_before_save"]
    if before is None:
        return None
    fields = _audited_fields(type(crf))
    after = model_to_dict(crf, fields=fields)
    return {name for name in fields if before.get(name) != after[name]}


def _sdv_marks_read(crf, changed: set[str]) -> Read:
    return Read(_SDV_MARKS_TO_CLEAR, (crf.crf_code, tuple(sorted(changed))), (crf.visit.pk,))


def _signatures_read(crf) -> Read:
    visit = crf.visit
    return Read(_SIGNATURES_TO_VOID, None, (visit.participant_id, visit.pk, crf.crf_code))


def crf_changed_reads(crf) -> dict[str, Read]:
    """crf_changed's two reads (outcomes.hooks.crf_saved_reads): the changed fields' SDV marks
    (none read when no field changed or the CRF is new, as crf_changed reads none) and the
    covering signatures, each row locked, in this order. crf_save runs them in one round trip
    with its own read after its write and hands the rows back as `crf.read_after_save`."""
    reads = {}
    changed = _changed_fields(crf)
    if changed:
        reads["datamanagement.sdv_marks"] = _sdv_marks_read(crf, changed)
    reads["datamanagement.signatures"] = _signatures_read(crf)
    return reads


def crf_changed(*, crf, user) -> None:
    """After a CRF was saved: clear the SDV marks of the fields that changed (telling the
    monitor) and void the signatures that covered the earlier version."""
    visit = crf.visit
    latest = None
    changed: set[str] | None = None  # None: the CRF had no earlier version
    # The rows crf_save read for this receiver after its write (crf_changed_reads), if any.
    read = crf.__dict__.get("read_after_save")
    if "values_before_save" in crf.__dict__:
        # outcomes.services.crf_save passes the values it read under its row lock before the
        # save: the changed fields without reading the audit trail's two last versions back.
        changed = _changed_fields(crf)
    else:
        # The version just saved and the one before it, in one query.
        latest, previous = [
            *crf.history.order_by("-history_date", "-history_id")[:2],
            None,
            None,
        ][:2]
        if previous is not None:
            changed = {c.field for c in latest.diff_against(previous).changes}
    what = f"{visit.code} {TRIAL.crfs[crf.crf_code]}"
    # All or nothing with the save it follows (crf_save's transaction): no savepoint of its own.
    with transaction.atomic(savepoint=False):
        if changed:  # (an empty set reads nothing, as the queryset's empty IN did)
            if read is not None:
                marks = read["datamanagement.sdv_marks"]
            else:
                marks = _sdv_marks_read(crf, changed).run()
            for mark in marks:
                if latest is None:  # the version just saved, for its reason for change
                    latest = crf.history.order_by("-history_date", "-history_id").first()
                _sdv_mark_clear(
                    mark,
                    user=user,
                    reason=latest.history_change_reason or "",
                    study_id=visit.participant.study_id,
                    what=what,
                    crf_code=crf.crf_code,
                )
        reason = _("%(what)s changed after signing") % {"what": what}
        if read is not None:
            signatures = read["datamanagement.signatures"]
        else:
            signatures = _signatures_read(crf).run()
        _void(signatures, reason=reason)


_AUDITED_FIELDS: dict[type, frozenset[str]] = {}


def _audited_fields(model: type) -> frozenset[str]:
    """The fields the audit trail's diff compares (tracked and editable), of a CRF model. Once
    per model: simple_history builds a new manager class on each `.history` (issue 24)."""
    fields = _AUDITED_FIELDS.get(model)
    if fields is None:
        history = cast(Any, model).history.model
        fields = frozenset(f.name for f in history.tracked_fields if f.editable)
        _AUDITED_FIELDS[model] = fields
    return fields


def _sdv_marks_to_clear(key, visit_id) -> QuerySet:
    crf_code, field_names = key
    return SdvMark.objects.select_for_update().filter(
        visit=visit_id,
        crf_code=crf_code,
        field_name__in=field_names,
        cleared_at__isnull=True,
    )


# The SDV marks of a CRF's changed fields, each row locked: the same statement as the queryset,
# compiled once per CRF and set of changed fields (a few per CRF in practice; issue 24).
_SDV_MARKS_TO_CLEAR = PreparedRows(SdvMark, _sdv_marks_to_clear, ("int",), for_write=True)


def _sdv_mark_clear(
    mark: SdvMark, *, user, reason: str, study_id: str, what: str, crf_code: str
) -> None:
    """A verified value changed: its mark is cleared (audited, with the change's reason) and the
    monitor who verified it is told to verify it again."""
    mark.cleared_at = timezone.now()
    mark.cleared_because = _("changed by %(who)s after verification: %(reason)s") % {
        "who": user.username if user else "-",
        "reason": reason,
    }
    audit.save_with_reason(mark, user=user, reason=_("Value changed after SDV"))
    notify(
        recipient=mark.verified_by,
        text=_(
            "%(participant)s %(what)s: %(field)s changed after you verified it; verify it again."
        )
        % {
            "participant": study_id,
            "what": what,
            "field": selectors.field_label(crf_code, mark.field_name),
        },
        link=reverse("datamanagement:sdv", kwargs={"study_id": study_id}),
    )


def visitless_record_changed(*, record, user, warnings, warning_reason: str = "") -> None:
    """After a casebook record of no visit was saved (the vital signs at screening): as
    `crf_changed` and `edit_check_queries_raise` do for a CRF, clear the SDV marks of the
    fields that changed (telling the monitor), void the signatures that covered the earlier
    version, and raise a query for each soft-limit warning confirmed. Before enrollment there
    is no casebook yet: nothing to clear or void, and the queries are raised at enrollment
    (`visitless_queries_raise`)."""
    participant = selectors.participant_of_record(record)
    if participant is None:
        return
    code = type(record).crf_code
    what = selectors.record_name(code)
    latest, previous = [
        *record.history.order_by("-history_date", "-history_id")[:2],
        None,
        None,
    ][:2]
    changed = (
        {c.field for c in latest.diff_against(previous).changes}
        if latest is not None and previous is not None
        else set()
    )
    with transaction.atomic(savepoint=False):
        for mark in (
            SdvMark.objects.select_for_update()
            .filter(
                participant=participant,
                visit__isnull=True,
                crf_code=code,
                field_name__in=changed,
                cleared_at__isnull=True,
            )
            .order_by("pk")  # not the model's order, through the (empty) visit
        ):
            _sdv_mark_clear(
                mark,
                user=user,
                reason=latest.history_change_reason or "",
                study_id=participant.study_id,
                what=what,
                crf_code=code,
            )
        _void(
            Signature.objects.filter(participant=participant).filter(
                Q(level=SignatureLevel.CASEBOOK)
                | Q(level=SignatureLevel.CRF, visit__isnull=True, crf_code=code)
            ),
            reason=_("%(what)s changed after signing") % {"what": what},
        )
        visitless_queries_raise(participant=participant, record=record)


def visitless_queries_raise(*, participant, record=None) -> list[Query]:
    """A soft-limit warning confirmed on a casebook record of no visit becomes a query for the
    data manager to review, as a CRF's does (each warning once per record). Run after each
    save of the record, and at enrollment for the warnings confirmed before it."""
    raised = []
    records = (
        [record]
        if record is not None
        else [
            r
            for code in selectors.VISITLESS_RECORDS
            if (r := selectors.visitless_record(participant, code)) is not None
        ]
    )
    for rec in records:
        reason = getattr(rec, "warning_reason", "")
        for warning in (getattr(rec, "warnings_confirmed", "") or "").splitlines():
            if not warning.strip():
                continue
            digest = hashlib.sha256(warning.encode()).hexdigest()[:16]
            text = warning
            if reason:
                text += " " + _("Confirmed at entry: %(reason)s") % {"reason": reason}
            raised.append(
                query_raise(
                    participant=participant,
                    crf_code=type(rec).crf_code,
                    text=text,
                    origin=QueryOrigin.EDIT_CHECK,
                    auto_key=f"edit-check:{rec._meta.label_lower}:{rec.pk}:{digest}",
                )
            )
    return raised


def _signatures_to_void(_key, participant_id, visit_id, crf_code) -> QuerySet:
    """The signatures covering a CRF, not voided yet, locked: what a change of it voids."""
    return (
        Signature.objects.filter(participant_id=participant_id)
        .filter(
            Q(level=SignatureLevel.CASEBOOK)
            | Q(level=SignatureLevel.VISIT, visit_id=visit_id)
            | Q(level=SignatureLevel.CRF, visit_id=visit_id, crf_code=crf_code)
        )
        .select_for_update()
        .filter(voided_at__isnull=True)
    )


# Compiled once (issue 24): every CRF save asks.
_SIGNATURES_TO_VOID = PreparedRows(
    Signature, _signatures_to_void, ("int", "int", "text"), for_write=True
)


def participant_data_changed(*, participant, visit: Visit | None = None, what: str) -> None:
    """After a visit, ICU stay or study event changed: void the visit and casebook signatures."""
    covering = Q(level=SignatureLevel.CASEBOOK)
    if visit is not None:
        covering |= Q(level=SignatureLevel.VISIT, visit=visit)
    with transaction.atomic():
        _void(
            Signature.objects.filter(participant=participant).filter(covering),
            reason=_("%(what)s changed after signing") % {"what": what},
        )


# -- source-data verification ----------------------------------------------------------------


def sdv_mark(
    *,
    user,
    visit: Visit | None,
    crf_code: str,
    opened_version: int | None,
    fields: list[str] | None = None,
    participant=None,
) -> int:
    """Mark fields of one CRF verified against the source (all required ones if `fields` is
    None). Fields already verified are left as they are. Returns how many were marked.
    `visit` None: the `participant`'s casebook record of no visit with this code (the vital
    signs at screening, selectors.VISITLESS_RECORDS).

    The marks are of the CRF's version the monitor was shown (`opened_version`, kept in each
    mark): if the CRF changed since, nothing is marked (kernel.concurrency)."""
    if not user.has_perm("datamanagement.verify_source_data"):
        raise SdvNotRequired(_("Your role does not allow source-data verification."))
    required = selectors.sdv_required_fields(crf_code)
    wanted = required if fields is None else list(fields)
    unknown = [f for f in wanted if f not in required]
    if unknown:
        raise SdvNotRequired(
            _("%(crf)s does not ask to verify: %(fields)s")
            % {"crf": TRIAL.crfs.get(crf_code, crf_code), "fields": ", ".join(unknown)}
        )
    marked = 0
    with transaction.atomic():
        if visit is None:
            if participant is None or crf_code not in selectors.VISITLESS_RECORDS:
                raise SdvNotRequired(_("Choose the record to verify."))
            # Hold the participant still: a change to the record locks it first (services
            # below: on_screening_vitals_changing).
            participant = Participant.objects.select_for_update().get(pk=participant.pk)
            crf = selectors.visitless_record(participant, crf_code)
            existing = SdvMark.objects.filter(participant=participant, visit__isnull=True)
        else:
            visit = Visit.objects.select_for_update().get(pk=visit.pk)
            crf = CRF_MODELS[crf_code].objects.filter(visit=visit).first()
            existing = SdvMark.objects.filter(visit=visit)
        if crf is None:
            raise SdvNotRequired(_("This CRF has not been entered yet."))
        concurrency.refuse_changed_since(
            record=crf,
            opened_version=opened_version,
            action=_("nothing was marked verified"),
            named=True,
        )
        crf_version = concurrency.version_of(crf)
        active = set(
            existing.filter(crf_code=crf_code, cleared_at__isnull=True).values_list(
                "field_name", flat=True
            )
        )
        for name in wanted:
            if name in active:
                continue
            mark = SdvMark(
                visit=visit,
                participant=participant if visit is None else None,
                crf_code=crf_code,
                field_name=name,
                value=selectors.shown_value(crf, name),
                crf_version=crf_version,
                verified_by=user,
            )
            mark.full_clean(validate_constraints=False)
            audit.save_with_reason(mark, user=user)
            marked += 1
    return marked


def sdv_mark_many(
    *,
    user,
    items: list[tuple[Visit | None, str, list[str] | None]],
    opened_versions: dict,
    participant=None,
) -> int:
    """Bulk verification: several CRFs (whole, or chosen fields) in one transaction.
    `opened_versions`: (CRF label, pk) -> the version the page showed. If any CRF changed
    since, nothing is marked, and every change is reported at once. An item of no visit is
    the `participant`'s record of no visit with that code."""
    conflicts: list[EditConflict] = []
    marked = 0
    with transaction.atomic():
        for visit, code, fields in items:
            if visit is None:
                crf = selectors.visitless_record(participant, code)
            else:
                crf = CRF_MODELS[code].objects.filter(visit=visit).first()
            key = (crf._meta.label_lower, crf.pk) if crf is not None else None
            try:
                marked += sdv_mark(
                    user=user,
                    visit=visit,
                    participant=participant,
                    crf_code=code,
                    fields=fields,
                    opened_version=opened_versions.get(key, concurrency.UNKNOWN),
                )
            except EditConflict as conflict:
                conflicts.append(conflict)
        if conflicts:  # raised inside the transaction: the marks made above are undone
            raise EditConflict(
                str(conflicts[0]),
                versions=[v for c in conflicts for v in c.versions],
                fields=[f for c in conflicts for f in c.fields],
                edits=[e for c in conflicts for e in c.edits],
            )
    return marked


# -- electronic signatures -------------------------------------------------------------------


def signature_sign(
    *,
    user,
    password: str,
    participant,
    level: str,
    meaning: str,
    opened_versions: dict,
    visit: Visit | None = None,
    crf_code: str = "",
) -> Signature:
    """The investigator signs a CRF, a visit or the casebook (21 CFR 11.50, 11.70, 11.200).

    The password is asked again; the signature records the signer's printed name, the time and
    the meaning, and is bound to the exact versions signed (manifest + SHA-256). Those are the
    versions the investigator was shown (`opened_versions`: (label, pk) -> version): if a
    record changed since, or one was added, nothing is signed (kernel.concurrency)."""
    if not user.has_perm("datamanagement.sign_records"):
        raise SignatureRefused(_("Your role does not allow signing."))
    if meaning not in TRIAL.signature_meanings:
        raise SignatureRefused(_("Choose the meaning of your signature."))
    if level not in SignatureLevel.values:
        raise SignatureRefused(_("Choose what to sign."))
    allowed = TRIAL.signature_attempts_allowed
    if not user.check_password(password or ""):
        with transaction.atomic():
            failure = SignatureFailure.objects.create(user=user, participant=participant)
            in_a_row = selectors.signature_failures_since_last_success(user)
            if in_a_row >= allowed:
                # The report is written in the same transaction as the failure (the safety
                # outbox), so it is sent even if the mail server is down right now.
                _signature_attempts_report(failure=failure, in_a_row=in_a_row)
        if in_a_row >= allowed:
            raise SignatureAttemptsExhausted(
                _("Wrong password %(n)s times: you are signed out. Sign in again to sign.")
                % {"n": allowed}
            )
        raise SignatureRefused(_("The password is not correct; nothing was signed."))
    if level == SignatureLevel.CRF and visit is None:
        if crf_code not in selectors.VISITLESS_RECORDS:
            raise SignatureRefused(_("Choose what to sign."))
    with transaction.atomic():
        if level == SignatureLevel.CRF and visit is None:
            # A record of no visit: its changes lock the participant row first.
            type(participant).objects.select_for_update().get(pk=participant.pk)
        # Hold the visits still while the versions are read (crf_save locks the visit row).
        visits = Visit.objects.select_for_update().filter(participant=participant)
        if level != SignatureLevel.CASEBOOK:
            visits = visits.filter(pk=visit.pk) if visit is not None else visits.none()
        list(visits)
        if level == SignatureLevel.CASEBOOK:
            # And the participant row, which ICU stay and study event saves lock: a stay
            # corrected at the same instant is either in the versions read, or refuses after.
            type(participant).objects.select_for_update().get(pk=participant.pk)
        records = selectors.signed_records(
            level, participant=participant, visit=visit, crf_code=crf_code
        )
        if not [r for r in records if r._meta.model_name != "visit"]:
            raise SignatureRefused(_("There is no entered data to sign yet."))
        keys = {(concurrency.label_of(r), r.pk): r for r in records}
        concurrency.refuse_changed_records(
            records=[
                (r, opened_versions[key]) for key, r in keys.items() if key in opened_versions
            ],
            added=[r for key, r in keys.items() if key not in opened_versions],
            action=_("nothing was signed"),
        )
        manifest, content_hash = selectors.manifest_and_hash(records)
        signature = Signature(
            level=level,
            participant=participant,
            visit=visit if level != SignatureLevel.CASEBOOK else None,
            crf_code=crf_code if level == SignatureLevel.CRF else "",
            meaning=meaning,
            meaning_text=TRIAL.signature_meanings[meaning],
            signed_by=user,
            signer_name=user.get_full_name() or user.username,
            manifest=manifest,
            content_hash=content_hash,
        )
        signature.full_clean()
        audit.save_with_reason(signature, user=user)
    return signature


def _signature_attempts_report(*, failure: SignatureFailure, in_a_row: int) -> None:
    """E-mail the security contacts and data managers at once (21 CFR 11.300(d): "detect and
    report in an immediate and urgent manner any attempts at their unauthorized use").

    Through the safety app's outbox, the path that never loses an e-mail. One report per failed
    attempt from the limit on: each of them signed the user out. No identifying data, no arm.
    """

    user = failure.user
    who = user.get_full_name() or user.get_username()
    context = {
        "who": who,
        "username": user.get_username(),
        "n": in_a_row,
        "study_id": failure.participant.study_id,
        "site": failure.participant.site.code,
        "at": failure.at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    body = "\n".join(
        [
            _(
                "%(n)s wrong passwords in a row were entered to sign as %(who)s "
                "(user name %(username)s) in %(trial)s."
            )
            % {**context, "trial": TRIAL.acronym},
            _("Last attempt: %(at)s (UTC), casebook %(study_id)s, site %(site)s.") % context,
            _(
                "The user was signed out. If the user did not make these attempts, someone may "
                "be trying to use their signature: contact the user and deactivate the account "
                "if needed."
            ),
            _("Reported under 21 CFR 11.300(d)."),
        ]
    )
    alert_create(
        kind=AlertKind.SIGNATURE_ATTEMPTS,
        subject=_("%(trial)s security: %(n)s failed e-signature attempts by %(username)s")
        % {**context, "trial": TRIAL.acronym},
        body=body,
        recipients=selectors.security_alert_recipients(),
        participant=failure.participant,
        dedupe_key=f"signature-attempts:{failure.pk}",
    )


# -- receivers of the outcomes app's signals (connected in apps.py) ---------------------------
# Outcomes sits below data management and cannot call it (decision 0019): its services send
# these signals inside their transaction, and a refusal raised here rolls the save back.


def on_data_changing(sender, *, participant, visit, crf_code, read=None, **kwargs) -> None:
    if read is not None and "datamanagement.covering_locks" in read:
        # The covering locks crf_save read for this receiver (crf_changing_reads), under the
        # visit's lock, in this transaction: the same statement as assert_editable's.
        lock = selectors.lock_covering_of(read["datamanagement.covering_locks"])
        if lock is not None:
            raise lock_refusal(lock)
        return
    assert_editable(participant=participant, visit=visit, crf_code=crf_code)


def crf_changing_reads(visit, crf_code: str) -> dict[str, Read]:
    """on_data_changing's read for a CRF save (outcomes.hooks.crf_changing_reads): the active
    locks covering the CRF, as assert_editable(visit=visit, crf_code=crf_code) reads them.
    crf_save runs it under the visit's lock, first of its reads there, in one round trip,
    and sends the rows with data_changing (`read`)."""
    return {
        "datamanagement.covering_locks": selectors.lock_covering_read(
            participant_id=visit.participant_id, visit_id=visit.pk, crf_code=crf_code
        )
    }


def on_crf_saved(sender, *, crf, user, warnings, warning_reason, **kwargs) -> None:
    crf_changed(crf=crf, user=user)
    edit_check_queries_raise(crf=crf, warnings=warnings, warning_reason=warning_reason)


def on_check_refused(sender, *, participant, visit, crf_code, field_name, text, **kwargs) -> None:
    """A save refused because it disagrees with another record (outcomes: a Day-0 assessment
    after the infusion): a query on that record's field, once per disagreement."""
    digest = hashlib.sha256(str(text).encode()).hexdigest()[:16]
    query_raise(
        participant=participant,
        visit=visit,
        crf_code=crf_code,
        field_name=field_name,
        text=str(text),
        origin=QueryOrigin.EDIT_CHECK,
        auto_key=f"refused:{visit.pk}:{crf_code}:{field_name}:{digest}",
    )


def on_participant_data_changed(sender, *, participant, visit, what, **kwargs) -> None:
    participant_data_changed(participant=participant, visit=visit, what=what)


# -- receivers of the participants app's signals (connected in apps.py) -----------------------


def on_record_changing(sender, *, screening, crf_code, **kwargs) -> None:
    """Before a casebook record of no visit changes: refused if a lock covers it (the
    database's; once enrolled, the participant's or the record's own). The participant row is
    locked, so that SDV marks and signatures read a record that holds still."""
    participant = (
        Participant.objects.select_for_update(of=("self",))
        .filter(screening_id=screening.pk)
        .order_by()
        .first()
    )
    lock = selectors.lock_covering(
        participant_id=participant.pk if participant is not None else None, crf_code=crf_code
    )
    if lock is not None:
        raise lock_refusal(lock)


def on_record_saved(sender, *, record, user, warnings, warning_reason, **kwargs) -> None:
    visitless_record_changed(
        record=record, user=user, warnings=warnings, warning_reason=warning_reason
    )


def on_participant_enrolled(sender, *, participant, **kwargs) -> None:
    visitless_queries_raise(participant=participant)
