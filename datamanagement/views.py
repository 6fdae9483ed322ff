"""Thin views: find the record in the user's scope, call one service or selector, render."""

from __future__ import annotations

from datetime import UTC

from django.contrib import messages
from django.contrib.auth import logout
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from accounts import twofactor
from kernel import concurrency
from kernel.access import get_in_scope_or_404, require, sites_for
from kernel.csv_download import csv_download
from kernel.exceptions import EditConflict, TrialEdcError
from kernel.redirects import redirect_next
from kernel.replica import reading_from_replica
from kernel.services import sensitive_read_record
from kernel.trial import TRIAL
from outcomes.models import CRF_MODELS, Visit
from participants.models import Participant

from . import selectors, services
from .exceptions import SignatureAttemptsExhausted
from .forms import (
    AuditFilterForm,
    DatabaseLockForm,
    LockForm,
    QueryBulkForm,
    QueryFilterForm,
    QueryRaiseForm,
    QueryStepForm,
    SdvForm,
    SignatureForm,
    UnlockApproveForm,
    UnlockForm,
    UnlockRequestForm,
)
from .models import Lock, LockLevel, Notification, Query, SignatureLevel, UnlockRequest

VIEW_QUERIES = "datamanagement.view_query"
VIEW_CRFS = "outcomes.view_visit"


def _participant(request, study_id: str) -> Participant:
    return get_in_scope_or_404(
        Participant.objects.select_related("site"), request.user, study_id=study_id
    )


def _visit(request, study_id: str, code: str) -> Visit:
    return get_in_scope_or_404(
        Visit.objects.select_related("participant__site"),
        request.user,
        site_path="participant__site",
        participant__study_id=study_id,
        code=code,
    )


def _error_text(error: Exception) -> str:
    return "; ".join(error.messages) if isinstance(error, ValidationError) else str(error)


# -- queries ---------------------------------------------------------------------------------


@require_GET
@require(VIEW_QUERIES)
@reading_from_replica()
def query_list(request):
    """Queries trial-wide (in the user's sites), filtered by state, origin, site, participant
    and age; each with its days open."""
    form = QueryFilterForm(request.GET or None, sites=sites_for(request.user))
    filters = selectors.QueryFilters(state="waiting")
    if form.is_bound and form.is_valid():
        filters = selectors.QueryFilters(**{k: v or "" for k, v in form.cleaned_data.items()})
        if not form.cleaned_data["older_than_days"]:
            filters = selectors.QueryFilters(**{**filters.__dict__, "older_than_days": None})
    queries = list(selectors.query_list(request.user, filters)[:500])
    now = timezone.now()
    rows = [
        {
            "query": q,
            "days": selectors.days_open(q, now=now),
            "band": selectors.ageing_band(selectors.days_open(q, now=now)),
        }
        for q in queries
    ]
    return render(request, "datamanagement/query_list.html", {"form": form, "rows": rows})


@require(VIEW_QUERIES, "datamanagement.raise_query")
def query_new(request, study_id: str):
    participant = _participant(request, study_id)
    visit_code = request.GET.get("visit", "")
    crf_code = request.GET.get("crf", "")
    field_name = request.GET.get("field", "")
    visit = _visit(request, study_id, visit_code) if visit_code else None
    visitless = visit is None and crf_code in selectors.VISITLESS_RECORDS
    if visitless and selectors.visitless_record(participant, crf_code) is None:
        raise Http404(_("This record has not been entered yet."))
    if crf_code and not visitless and (visit is None or crf_code not in visit.crf_codes):
        raise Http404(_("This visit has no such CRF."))
    form = QueryRaiseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            query = services.query_raise(
                participant=participant,
                visit=visit,
                crf_code=crf_code,
                field_name=field_name,
                text=form.cleaned_data["text"],
                user=request.user,
            )
        except TrialEdcError as error:
            form.add_error(None, str(error))
        else:
            messages.success(
                request,
                _("Query #%(pk)s raised; the site sees it on the field.") % {"pk": query.pk},
            )
            if visit is not None and crf_code:
                return redirect("datamanagement:crf_review", study_id, visit.code, crf_code)
            if visitless:
                return redirect("datamanagement:visitless_review", study_id, crf_code)
            return redirect("datamanagement:query_detail", query.pk)
    return render(
        request,
        "datamanagement/query_new.html",
        {
            "form": form,
            "participant": participant,
            "visit": visit,
            "crf_code": crf_code,
            "crf_name": selectors.record_name(crf_code),
            "field_label": selectors.field_label(crf_code, field_name),
        },
    )


@require(VIEW_QUERIES)
def query_detail(request, pk: int):
    """The query's thread and the steps the user may take. From the field widget (htmx) the
    answer is posted here and the widget is swapped in place."""
    query = get_in_scope_or_404(
        concurrency.with_versions(
            Query.objects.select_related("participant__site", "visit", "raised_by")
        ),
        request.user,
        site_path="participant__site",
        pk=pk,
    )
    form = QueryStepForm(
        request.POST or None, prefix=f"q{query.pk}", edited_by=request.user, versioned=[query]
    )
    if request.method == "POST":
        action = request.POST.get("action", "")
        if form.is_valid():
            try:
                query = services.query_step(
                    query=query,
                    action=action,
                    user=request.user,
                    text=form.cleaned_data["text"],
                    opened_version=form.opened_version(),
                )
            except EditConflict as conflict:
                form.show_conflict(conflict)  # the thread as it is now is shown with it
                query.refresh_from_db()
            except TrialEdcError as error:
                form.add_error(None, str(error))
            else:
                if not request.htmx:
                    messages.success(
                        request,
                        _("Query #%(pk)s is now %(state)s.")
                        % {"pk": query.pk, "state": query.get_state_display().lower()},
                    )
                    return redirect("datamanagement:query_detail", query.pk)
                form = QueryStepForm(
                    prefix=f"q{query.pk}", edited_by=request.user, versioned=[query]
                )
        if request.htmx:
            return render(
                request,
                "datamanagement/_query.html",
                {
                    "query": query,
                    "step_form": form,
                    "actions": selectors.query_actions(query, request.user),
                },
            )
    return render(
        request,
        "datamanagement/query_detail.html",
        {
            "query": query,
            "step_form": form,
            "days": selectors.days_open(query),
            "actions": selectors.query_actions(query, request.user),
        },
    )


# -- the record status grid ------------------------------------------------------------------


@require_GET
@require(VIEW_QUERIES, VIEW_CRFS)
@reading_from_replica()
def record_status(request):
    """Participants × visits × CRFs, one icon per CRF with its state (REDCap's record status
    dashboard), of the user's sites, filtered by site and by state."""
    sites = list(sites_for(request.user).order_by("code").values_list("code", "name"))
    site_code = request.GET.get("site", "")
    if site_code not in {code for code, _name in sites}:
        site_code = ""
    state = request.GET.get("state", "")
    if state not in selectors.CrfState.LABELS:
        state = ""
    grid = selectors.record_status_for(request.user, site_code=site_code, state=state)
    return render(
        request,
        "datamanagement/record_status.html",
        {
            "grid": grid,
            "sites": sites,
            "site_code": site_code,
            "state": state,
            "states": [(s, selectors.CrfState.LABELS[s]) for s in selectors.CrfState.ORDER],
        },
    )


# -- worklists (issue 21) ----------------------------------------------------------------------


@require_GET
@require(VIEW_CRFS, "datamanagement.sign_records")
def worklist_signatures(request):
    """The investigator's visits awaiting a signature, those voided by a change first."""
    return render(
        request,
        "datamanagement/worklist_signatures.html",
        {"tasks": selectors.awaiting_signature(request.user)},
    )


@require_GET
@require(VIEW_CRFS, "datamanagement.verify_source_data")
def worklist_sdv(request):
    """The monitor's SDV queue across participants, in the monitoring plan's order."""
    sites = list(sites_for(request.user).order_by("code").values_list("code", "name"))
    site_code = request.GET.get("site", "")
    if site_code not in {code for code, _name in sites}:
        site_code = ""
    return render(
        request,
        "datamanagement/worklist_sdv.html",
        {
            "tasks": selectors.sdv_queue(request.user, site_code=site_code),
            "sites": sites,
            "site_code": site_code,
        },
    )


@require(VIEW_QUERIES)
def worklist_queries(request):
    """Queries waiting, oldest first by ageing band; tick several and answer or close them in
    one go (each step taken and audited as if one by one)."""
    state = request.GET.get("state", "")
    if state not in ("open", "answered", "waiting"):
        state = selectors.query_worklist_state_for(request.user)
    state = "" if state == "waiting" else state
    band = request.GET.get("band", "")
    if band not in selectors.ageing_bands():
        band = ""
    rows = selectors.query_worklist(request.user, state=state, band=band)
    queries = [r["query"] for r in rows]
    form = QueryBulkForm(request.POST or None, edited_by=request.user, versioned=queries)
    if request.method == "POST":
        action = request.POST.get("action", "")
        ticked = {str(pk) for pk in request.POST.getlist("query")}
        chosen = [q for q in queries if str(q.pk) in ticked]
        if form.is_valid():
            try:
                count = services.query_step_many(
                    queries=chosen,
                    action=action,
                    user=request.user,
                    text=form.cleaned_data["text"],
                    opened_versions=form.opened_versions(),
                )
            except TrialEdcError as error:
                form.add_error(None, str(error))
            else:
                messages.success(request, _("%(n)s queries updated.") % {"n": count})
                return redirect(request.get_full_path())
        for row in rows:
            row["ticked"] = str(row["query"].pk) in ticked
    actions = [
        (value, label)
        for value, label in (("answer", _("Answer the ticked")), ("close", _("Close the ticked")))
        if request.user.has_perm(f"datamanagement.{value}_query")
    ]
    return render(
        request,
        "datamanagement/worklist_queries.html",
        {
            "form": form,
            "rows": rows,
            "state": state or "waiting",
            "band": band,
            "bands": selectors.ageing_bands(),
            "actions": actions,
        },
    )


# -- participant casebook, CRF review ----------------------------------------------------------


@require_GET
@require(VIEW_QUERIES, VIEW_CRFS)
def casebook(request, study_id: str):
    """A participant's data-management page: queries, SDV progress, signatures and lock."""
    participant = _participant(request, study_id)
    now = timezone.now()
    queries = selectors.queries_in_scope(request.user).filter(participant=participant)
    return render(
        request,
        "datamanagement/casebook.html",
        {
            "participant": participant,
            "queries": [{"query": q, "days": selectors.days_open(q, now=now)} for q in queries],
            "sdv": selectors.sdv_of_participant(participant),
            "visits": selectors.record_status(Participant.objects.filter(pk=participant.pk))
            .rows[0]
            .visits.values(),
            "lock": selectors.lock_for_participant(participant),
            "states": [(s, selectors.CrfState.LABELS[s]) for s in selectors.CrfState.ORDER],
        },
    )


@require_GET
@require(VIEW_QUERIES, VIEW_CRFS)
def crf_review(request, study_id: str, code: str, crf: str):
    """One CRF read-only, field by field, with its queries, SDV marks, signatures and lock:
    where monitors and data managers raise and close queries."""
    visit = _visit(request, study_id, code)
    if crf not in visit.crf_codes:
        raise Http404(_("This visit has no such CRF."))
    record = CRF_MODELS[crf].objects.filter(visit=visit).first()
    # The SDV marks read once for the page: its status box takes the same (issue 24).
    sdv = selectors.sdv_of_crf(
        visit, crf, record, crf_read=True, of_visit=selectors.visit_records(request, visit)
    )
    sdv_fields = {f.name: f for f in sdv.fields}
    rows = []
    if record is not None:
        for field in record._meta.concrete_fields:
            if field.name in ("id", "visit", "entered_by", "warnings_confirmed", "warning_reason"):
                continue
            if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
                continue
            rows.append(
                {
                    "name": field.name,
                    "label": field.verbose_name,
                    "value": selectors.reader_value(record, field.name),
                    "sdv": sdv_fields.get(field.name),
                    "queryable": field.name in selectors.crf_data_fields(crf),
                }
            )
    return render(
        request,
        "datamanagement/crf_review.html",
        {
            "participant": visit.participant,
            "visit": visit,
            "crf_code": crf,
            "crf_name": TRIAL.crfs[crf],
            "crf": record,
            "rows": rows,
            "whole_crf_queries": True,
        },
    )


@require_GET
@require(VIEW_QUERIES, VIEW_CRFS)
def visitless_review(request, study_id: str, crf: str):
    """A casebook record of no visit (the vital signs at screening) read-only, field by field,
    with its queries, SDV marks, signatures and lock, as `crf_review` shows a CRF."""
    participant = _participant(request, study_id)
    if crf not in selectors.VISITLESS_RECORDS:
        raise Http404(_("There is no such record."))
    record = selectors.visitless_record(participant, crf)
    sdv = selectors.sdv_of_crf(None, crf, record, participant=participant)
    sdv_fields = {f.name: f for f in sdv.fields}
    rows = [
        {
            "name": name,
            "label": selectors.field_label(crf, name),
            "value": selectors.reader_value(record, name),
            "sdv": sdv_fields.get(name),
            "queryable": True,
        }
        for name in (selectors.crf_data_fields(crf) if record is not None else [])
    ]
    return render(
        request,
        "datamanagement/visitless_review.html",
        {
            "participant": participant,
            "visit": None,
            "crf_code": crf,
            "crf_name": selectors.record_name(crf),
            "crf": record,
            "rows": rows,
            "lock": selectors.lock_for_record(participant, crf),
        },
    )


# -- source-data verification ----------------------------------------------------------------


@require(VIEW_CRFS, "datamanagement.verify_source_data")
def sdv(request, study_id: str):
    """The monitor's SDV page: every CRF needing verification; tick fields or whole CRFs and
    verify them together."""
    participant = _participant(request, study_id)
    crfs = selectors.sdv_of_participant(participant)
    form = SdvForm(request.POST or None, edited_by=request.user, versioned=[r.crf for r in crfs])
    if request.method == "POST":
        items = []
        for row in crfs:
            key = row.key
            if request.POST.get(f"crf:{key}"):
                items.append((row.visit, row.crf_code, None))
                continue
            fields = [f.name for f in row.fields if request.POST.get(f"field:{key}:{f.name}")]
            if fields:
                items.append((row.visit, row.crf_code, fields))
        if not items:
            messages.warning(request, _("Tick the fields or CRFs you verified against the source."))
        else:
            try:
                count = services.sdv_mark_many(
                    user=request.user,
                    items=items,
                    opened_versions=form.opened_versions(),
                    participant=participant,
                )
            except EditConflict as conflict:
                form.show_conflict(conflict)
                crfs = selectors.sdv_of_participant(participant)
                _keep_ticks(crfs, request.POST, conflict=conflict)
            except TrialEdcError as error:
                messages.error(request, str(error))
            else:
                messages.success(request, _("%(n)s fields marked verified.") % {"n": count})
                return redirect("datamanagement:sdv", study_id)
    return render(
        request,
        "datamanagement/sdv.html",
        {"participant": participant, "crfs": crfs, "form": form},
    )


def _keep_ticks(crfs, posted, *, conflict) -> None:
    """After a refusal the ticks stay as the monitor left them, except on the fields that
    changed since the page was opened (and the whole-CRF tick of their CRF): those new values
    must be compared with the source again."""
    changed = {(row.record, row.name) for row in conflict.fields}
    for row in crfs:
        key = row.key
        where = str(row.crf)
        row.ticked = bool(posted.get(f"crf:{key}")) and not any(r == where for r, _n in changed)
        for f in row.fields:
            f.changed_since_opened = (where, f.name) in changed
            f.ticked = bool(posted.get(f"field:{key}:{f.name}")) and not f.changed_since_opened


# -- electronic signatures -------------------------------------------------------------------


@require(VIEW_CRFS, "datamanagement.sign_records")
def sign(request, study_id: str):
    """The investigator signs a CRF (?level=crf&visit=D3&crf=murray), a visit or the casebook,
    re-entering the password and choosing the meaning."""
    participant = _participant(request, study_id)
    source = request.POST or request.GET
    level = source.get("level", SignatureLevel.CASEBOOK)
    if level not in SignatureLevel.values:
        raise Http404(_("Nothing to sign here."))
    visit = None
    crf_code = ""
    visitless = level == SignatureLevel.CRF and source.get("crf", "") in (
        selectors.VISITLESS_RECORDS
    )
    if level == SignatureLevel.VISIT or (level == SignatureLevel.CRF and not visitless):
        visit = _visit(request, study_id, source.get("visit", ""))
    if level == SignatureLevel.CRF:
        crf_code = source.get("crf", "")
        if visit is not None and crf_code not in visit.crf_codes:
            raise Http404(_("This visit has no such CRF."))
    records = selectors.signed_records(
        level, participant=participant, visit=visit, crf_code=crf_code
    )
    form = SignatureForm(
        request.POST or None, user=request.user, edited_by=request.user, versioned=records
    )
    if (
        request.method == "POST"
        and form.is_valid()
        and twofactor.confirm(request, form, purpose="e-signature")
    ):
        try:
            services.signature_sign(
                user=request.user,
                password=form.cleaned_data["password"],
                participant=participant,
                level=level,
                meaning=form.cleaned_data["meaning"],
                opened_versions=form.opened_versions(),
                visit=visit,
                crf_code=crf_code,
            )
        except EditConflict as conflict:
            form.show_conflict(conflict)
            records = selectors.signed_records(
                level, participant=participant, visit=visit, crf_code=crf_code
            )
        except SignatureAttemptsExhausted as error:
            logout(request)
            messages.error(request, str(error))
            return redirect("login")
        except TrialEdcError as error:
            form.add_error("password", str(error))
        else:
            messages.success(request, _("Signed. Your signature is shown with the record."))
            if visitless:
                return redirect("datamanagement:visitless_review", study_id, crf_code)
            if level == SignatureLevel.CRF:
                return redirect("datamanagement:crf_review", study_id, visit.code, crf_code)
            return redirect("datamanagement:casebook", study_id)
    return render(
        request,
        "datamanagement/sign.html",
        {
            "form": form,
            "participant": participant,
            "level": level,
            "level_label": SignatureLevel(level).label,
            "visit": visit,
            "crf_code": crf_code,
            "crf_name": selectors.record_name(crf_code),
            "records": records,
        },
    )


# -- locks -----------------------------------------------------------------------------------


@require("datamanagement.lock_data")
def locks(request):
    """The data manager's locks: lock a CRF, a participant or the database; unlock with a
    reason."""
    form = LockForm(request.POST if request.POST.get("do") == "lock" else None)
    readiness = selectors.database_lock_readiness()
    database_form = DatabaseLockForm(
        request.POST if request.POST.get("do") == "database" else None,
        readiness=readiness,
        user=request.user,
    )
    if request.method == "POST" and database_form.is_bound and database_form.is_valid():
        if twofactor.confirm(request, database_form, purpose="database lock"):
            try:
                services.database_lock(
                    user=request.user,
                    password=database_form.cleaned_data["password"],
                    reason=database_form.cleaned_data["reason"],
                    waivers=database_form.waivers(),
                    second_factor="code" if "otp_code" in database_form.fields else "",
                )
            except TrialEdcError as error:
                database_form.add_error(None, str(error))
            else:
                messages.success(request, _("The database is locked and your signature recorded."))
                return redirect("datamanagement:locks")
    unlock_form = UnlockForm(request.POST if request.POST.get("do") == "unlock" else None)
    if request.method == "POST" and form.is_bound and form.is_valid():
        data = form.cleaned_data
        try:
            participant = visit = None
            participant = _participant(request, data["study_id"])
            if data["level"] == LockLevel.CRF and not (
                data["crf_code"] in selectors.VISITLESS_RECORDS and not data["visit_code"]
            ):
                visit = _visit(request, data["study_id"], data["visit_code"])
            services.lock_create(
                user=request.user,
                level=data["level"],
                participant=participant,
                visit=visit,
                crf_code=data["crf_code"] or "",
                reason=data["reason"],
            )
        except Http404:
            form.add_error("study_id", _("No such participant or visit."))
        except TrialEdcError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, _("Locked. Nobody can change these data until unlocked."))
            return redirect_next(request, default=reverse("datamanagement:locks"))
    request_form = UnlockRequestForm(
        request.POST if request.POST.get("do") == "unlock_request" else None, user=request.user
    )
    approve_form = UnlockApproveForm(
        request.POST if request.POST.get("do") == "unlock_approve" else None, user=request.user
    )
    unblinded = selectors.trial_is_unblinded()
    database_lock = selectors.active_locks().filter(level=LockLevel.DATABASE).first()
    pending = (
        UnlockRequest.objects.filter(lock=database_lock, approved_at__isnull=True)
        .select_related("requested_by")
        .first()
        if database_lock
        else None
    )
    if request.method == "POST" and request_form.is_bound and database_lock is not None:
        if request_form.is_valid() and twofactor.confirm(
            request, request_form, purpose="unlock after unblinding"
        ):
            try:
                services.unlock_request_create(
                    user=request.user,
                    lock=database_lock,
                    reason=request_form.cleaned_data["reason"],
                    password=request_form.cleaned_data["password"],
                )
            except TrialEdcError as error:
                request_form.add_error(None, str(error))
            else:
                messages.success(
                    request, _("Requested; another data manager must approve. Sponsor told.")
                )
                return redirect("datamanagement:locks")
    if request.method == "POST" and approve_form.is_bound and pending is not None:
        if approve_form.is_valid() and twofactor.confirm(
            request, approve_form, purpose="unlock after unblinding"
        ):
            try:
                services.unlock_request_approve(
                    user=request.user,
                    unlock=pending,
                    password=approve_form.cleaned_data["password"],
                )
            except TrialEdcError as error:
                approve_form.add_error(None, str(error))
            else:
                messages.success(request, _("Approved: the database is unlocked. Sponsor told."))
                return redirect("datamanagement:locks")
    if request.method == "POST" and unlock_form.is_bound:
        lock_id = str(request.POST.get("lock", ""))
        lock = Lock.objects.filter(pk=lock_id).first() if lock_id.isdigit() else None
        if lock is None:
            raise Http404(_("No such lock."))
        if unlock_form.is_valid():
            try:
                services.lock_release(
                    user=request.user, lock=lock, reason=unlock_form.cleaned_data["reason"]
                )
            except TrialEdcError as error:
                unlock_form.add_error(None, str(error))
            else:
                messages.success(request, _("Unlocked; the reason is in the audit trail."))
                return redirect("datamanagement:locks")
    return render(
        request,
        "datamanagement/locks.html",
        {
            "form": form,
            "unlock_form": unlock_form,
            "database_form": database_form,
            "unblinded": unblinded,
            "request_form": request_form,
            "approve_form": approve_form,
            "pending_unlock": pending,
            "readiness": readiness,
            "unlock_pk": request.POST.get("lock"),
            "locks": selectors.active_locks(),
            "database_locked": selectors.database_is_locked(),
            "released": Lock.objects.filter(unlocked_at__isnull=False).select_related(
                "participant", "visit", "locked_by", "unlocked_by"
            )[:50],
        },
    )


# -- audit log -------------------------------------------------------------------------------


@require_GET
@require("datamanagement.view_trial_audit_log")
@reading_from_replica()
def audit_log(request):
    """Every audit row the user may read (in their sites), filtered; `?format=csv` exports the
    filtered rows, every one, for inspectors."""
    sources = selectors.audit_sources(request.user)
    from django.apps import apps

    choices = [
        (s.label, str(apps.get_model(s.label)._meta.verbose_name).capitalize()) for s in sources
    ]
    form = AuditFilterForm(request.GET or None, models=choices)
    filters = selectors.AuditFilters()
    if form.is_bound and form.is_valid():
        filters = selectors.AuditFilters(
            **{k: v for k, v in form.cleaned_data.items() if v not in (None, "")}
        )
    if request.GET.get("format") == "csv":
        sensitive_read_record(request=request, what="audit_log_csv")
        return _audit_csv(selectors.audit_log(request.user, filters, limit=None))
    return render(
        request,
        "datamanagement/audit_log.html",
        {
            "form": form,
            "rows": selectors.audit_log(request.user, filters, limit=200),
            "csv_query": request.GET.urlencode(),
        },
    )


AUDIT_CSV_COLUMNS = [
    "when_utc",
    "user",
    "record_type",
    "record_id",
    "study_id",
    "action",
    "field",
    "old_value",
    "new_value",
    "reason",
]


def _audit_csv(rows) -> HttpResponse:
    # One line per changed field. A value or reason typed as "=HYPERLINK(...)" must not run in
    # the reader's spreadsheet: csv_download passes every cell through the one formula rule.
    lines = (
        (
            row.when.astimezone(UTC).isoformat(timespec="seconds"),
            row.who,
            row.model,
            row.record_id,
            row.study_id,
            row.action,
            field,
            old,
            new,
            row.reason,
        )
        for row in rows
        for field, old, new in (row.changes() or [("", "", "")])
    )
    return csv_download(filename_stem="audit-log", header=AUDIT_CSV_COLUMNS, rows=lines)


# -- notifications ---------------------------------------------------------------------------


@require_GET
@require("datamanagement.view_notification")
def notifications(request):
    notes = list(Notification.objects.filter(recipient=request.user)[:100])
    services.notifications_mark_read(user=request.user)
    return render(request, "datamanagement/notifications.html", {"notes": notes})
