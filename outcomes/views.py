"""Thin views: find the record in the user's scope, call one service or selector, render."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from kernel import concurrency
from kernel.access import get_in_scope_or_404, require
from kernel.exceptions import EditConflict, TrialEdcError
from kernel.trial import AE_ASSESSMENT, TRIAL
from participants.models import Participant

from . import selectors, services
from .checks import FRACTION
from .exceptions import HardLimitExceeded, UnconfirmedWarnings
from .forms import (
    CRF_FORMS,
    ConcomitantMedicationForm,
    DispositionForm,
    IcuStayForm,
    StudyEventForm,
    VisitMissedForm,
    daily_status_choices,
)
from .models import (
    CRF_MODELS,
    ConcomitantMedication,
    DailyStatus,
    Disposition,
    IcuStay,
    StudyEvent,
    Visit,
)

VIEW = "outcomes.view_visit"
COMPONENT_LABELS = {
    "pf_ratio": gettext_lazy("P/F points"),
    "peep": gettext_lazy("PEEP points"),
    "compliance": gettext_lazy("Compliance points"),
    "cxr": gettext_lazy("Chest X-ray points"),
}
ENTER = "outcomes.enter_outcome_data"


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


REPORT_AE = "complete_report_ae"


def ae_report_url(study_id: str, visit_code: str) -> str:
    """The safety app's AE report page, told which AE-assessment visit the event comes from."""
    return reverse("safety:ae_report", kwargs={"study_id": study_id}) + f"?visit={visit_code}"


@require_GET
@require(VIEW)
def visit_list(request, study_id: str):
    """The participant's timeline: each visit's window, status and CRFs; the endpoints."""
    participant = _participant(request, study_id)
    today = selectors.site_today(participant.site)
    return render(
        request,
        "outcomes/visit_list.html",
        {
            "participant": participant,
            "rows": selectors.visit_rows(participant, today=today),
            "today": today,
            "endpoints": selectors.participant_endpoints(participant, today=today),
            "icu_stays": selectors.icu_stays_of(participant),
            "events": selectors.study_events_of(participant),
            "medications": selectors.medications_of(participant),
        },
    )


@require_GET
@require(VIEW)
def visit_calendar(request, study_id: str):
    """The participant's visit calendar, to print and give to the ward."""
    participant = _participant(request, study_id)
    today = selectors.site_today(participant.site)
    return render(
        request,
        "outcomes/visit_calendar.html",
        {"participant": participant, "rows": selectors.visit_rows(participant, today=today)},
    )


@require_GET
@require(VIEW)
def visit_detail(request, study_id: str, code: str):
    visit = _visit(request, study_id, code)
    today = selectors.site_today(visit.participant.site)
    crfs = selectors.crfs_of(visit)
    ae = crfs.get(AE_ASSESSMENT)
    return render(
        request,
        "outcomes/visit_detail.html",
        {
            "visit": visit,
            "participant": visit.participant,
            "status": selectors.visit_status(
                visit, today=today, ended=selectors.ended_on(visit.participant)
            ),
            "crfs": [
                {"code": code, "name": TRIAL.crfs[code], "crf": crf} for code, crf in crfs.items()
            ],
            "ae_report_url": (
                ae_report_url(study_id, visit.code) if ae is not None and ae.new_ae else None
            ),
            "next_visit": _visit_after(visit),
            "all_complete": all(crf is not None and crf.is_complete for crf in crfs.values()),
        },
    )


def _visit_after(visit: Visit) -> Visit | None:
    """The participant's next scheduled visit: where to go once this one is entered."""
    return (
        Visit.objects.filter(participant_id=visit.participant_id, day__gt=visit.day)
        .order_by("day")
        .first()
    )


def _error_text(error: Exception) -> str:
    return "; ".join(error.messages) if isinstance(error, ValidationError) else str(error)


def _next_crf(visit: Visit, after: str, progress=None) -> str | None:
    """The next CRF of the visit still to complete, after `after`; `progress`: the visit's CRF
    statuses when the caller has them (the save just read them), else read here."""
    codes = list(visit.crf_codes)
    if progress is None:
        progress = selectors.crf_progress(visit)
    for code in codes[codes.index(after) + 1 :] + codes[: codes.index(after)]:
        if progress[code] is None or not progress[code].is_complete:
            return code
    return None


@require(VIEW, ENTER)
def crf_edit(request, study_id: str, code: str, crf: str):
    # The visit and the CRF, read with its version (the form carries it, and the save is
    # refused if it changed), in one round trip.
    visit, saved_crf = selectors.visit_and_crf_in_scope_or_404(
        request.user, study_id=study_id, code=code, crf_code=crf
    )
    if crf not in visit.crf_codes:
        raise Http404(_("This visit has no such CRF."))
    model, form_class = CRF_MODELS[crf], CRF_FORMS[crf]
    instance = saved_crf or model(visit=visit)
    today = selectors.site_today(visit.participant.site)
    form = form_class(
        request.POST or None, instance=instance, visit=visit, today=today, edited_by=request.user
    )
    if request.method == "POST" and form.is_valid():
        action = request.POST.get("action")
        # "complete_report_ae": saved as complete, then the AE report (a possible infusion
        # reaction's next step: the values typed are saved first, never lost).
        complete = action in ("complete", REPORT_AE)
        try:
            saved = services.crf_save(
                visit=visit,
                crf_code=crf,
                values=form.crf_values(),
                complete=complete,
                user=request.user,
                opened_version=form.opened_version(),
                reason=form.reason_for_change if instance.pk else "",
                confirm_warnings=form.warnings_confirmed(),
                warning_reason=form.cleaned_data.get("warning_reason", ""),
            )
        except EditConflict as conflict:
            form.show_conflict(conflict)
        except HardLimitExceeded as refused:
            form.show_hard_errors(refused.errors)
        except UnconfirmedWarnings as unconfirmed:
            form.show_warnings(unconfirmed.warnings, ae_suggested=unconfirmed.ae_suggested)
        except TrialEdcError as error:
            form.add_error(None, str(error))
        except ValidationError as error:
            form.add_error(None, "; ".join(error.messages))
        else:
            state = _("complete") if saved.is_complete else _("draft")
            messages.success(
                request,
                _("%(crf)s saved (%(state)s); the entry is in the audit trail.")
                % {"crf": TRIAL.crfs[crf], "state": state},
            )
            if crf == AE_ASSESSMENT and saved.new_ae:
                return redirect("outcomes:visit", study_id=study_id, code=code)
            if action == REPORT_AE and request.user.has_perm("safety.add_adverseevent"):
                messages.info(
                    request,
                    _("Next: report the possible infusion reaction as an adverse event."),
                )
                return redirect(ae_report_url(study_id, code))
            # The statuses the save read, in its transaction, after this CRF was saved.
            following = _next_crf(visit, crf, getattr(saved.visit, "crf_progress_after_save", None))
            if following:
                return redirect("outcomes:crf", study_id=study_id, code=code, crf=following)
            after = _visit_after(visit)
            if after is not None:
                # Every CRF of the visit is complete: the visit page offers the visit after.
                messages.info(
                    request,
                    _("Every CRF of %(visit)s is complete. Next: visit %(next)s.")
                    % {"visit": visit.code, "next": after.code},
                )
            return redirect("outcomes:visit", study_id=study_id, code=code)
    return render(
        request,
        "outcomes/crf_form.html",
        {
            "form": form,
            "visit": visit,
            "participant": visit.participant,
            "crf_code": crf,
            "crf_name": TRIAL.crfs[crf],
            "crf": instance if instance.pk else None,
            "live": crf in ("blood_gas", "murray"),
            "reason_field": form[form.reason_field_name]
            if form.reason_field_name in form.fields
            else None,
            "crf_tabs": [
                (code, TRIAL.crfs[code], progress)
                for code, progress in selectors.crf_progress(visit).items()
            ],
        },
    )


@require(VIEW, ENTER)
def visit_missed(request, study_id: str, code: str):
    visit = _visit(request, study_id, code)
    form = VisitMissedForm(request.POST or None, edited_by=request.user, versioned=[visit])
    if request.method == "POST" and form.is_valid():
        try:
            services.visit_mark_missed(
                visit=visit,
                reason=form.cleaned_data["reason"],
                user=request.user,
                opened_version=form.opened_version(),
            )
        except EditConflict as conflict:
            form.show_conflict(conflict)
        except TrialEdcError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, _("Visit %(visit)s marked missed.") % {"visit": code})
            return redirect("outcomes:visits", study_id=study_id)
    return render(
        request,
        "outcomes/visit_missed.html",
        {"form": form, "visit": visit, "participant": visit.participant},
    )


def _num(value: str | None) -> Decimal | None:
    try:
        return Decimal(value) if value not in (None, "") else None
    except InvalidOperation:
        return None


@require_GET
@require(VIEW, ENTER)
def compute(request):
    """P/F and Murray score of what is typed so far (htmx, as the coordinator types)."""
    q = request.GET
    context = selectors.scores_as_typed(
        pao2_mmhg=_num(q.get("pao2_mmhg")),
        fio2=_num(q.get("fio2")),
        fio2_unit=q.get("fio2_unit") or FRACTION,
        peep_cmh2o=_num(q.get("peep_cmh2o")),
        compliance_ml_cmh2o=_num(q.get("compliance_ml_cmh2o")),
        cxr_quadrants=_num(q.get("cxr_quadrants")),
        murray="cxr_quadrants" in q or "peep_cmh2o" in q,
        respiratory_support=q.get("respiratory_support") or "",
    )
    return render(request, "outcomes/_computed.html", {**context, "labels": COMPONENT_LABELS})


@require(VIEW, ENTER)
def icu_stay_edit(request, study_id: str, pk: int | None = None):
    participant = _participant(request, study_id)
    stay = None
    if pk is not None:
        stay = get_in_scope_or_404(
            IcuStay.objects.filter(participant=participant),
            request.user,
            site_path="participant__site",
            pk=pk,
        )
    form = IcuStayForm(request.POST or None, instance=stay, edited_by=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            services.icu_stay_save(
                participant=participant,
                admitted_on=form.cleaned_data["admitted_on"],
                discharged_on=form.cleaned_data["discharged_on"],
                user=request.user,
                stay=stay,
                opened_version=form.opened_version() if stay else None,
                reason=form.reason_for_change if stay else "",
            )
        except EditConflict as conflict:
            form.show_conflict(conflict)
        except HardLimitExceeded as refused:
            for name, message in refused.errors.items():
                form.add_error(name if name in form.fields else None, message)
        except (TrialEdcError, ValidationError) as error:
            form.add_error(None, _error_text(error))
        else:
            messages.success(request, _("ICU stay saved; the entry is in the audit trail."))
            return redirect("outcomes:visits", study_id=study_id)
    return render(
        request,
        "outcomes/event_form.html",
        {"form": form, "participant": participant, "title": _("ICU stay")},
    )


@require(VIEW, ENTER)
def study_event_edit(request, study_id: str, pk: int | None = None):
    participant = _participant(request, study_id)
    event = None
    if pk is not None:
        event = get_in_scope_or_404(
            StudyEvent.objects.filter(participant=participant),
            request.user,
            site_path="participant__site",
            pk=pk,
        )
    form = StudyEventForm(request.POST or None, instance=event, edited_by=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            services.study_event_save(
                participant=participant,
                kind=form.cleaned_data["kind"],
                occurred_on=form.cleaned_data["occurred_on"],
                details=form.cleaned_data["details"],
                user=request.user,
                event=event,
                opened_version=form.opened_version() if event else None,
                reason=form.reason_for_change if event else "",
            )
        except EditConflict as conflict:
            form.show_conflict(conflict)
        except HardLimitExceeded as refused:
            for name, message in refused.errors.items():
                form.add_error(name if name in form.fields else None, message)
        except (TrialEdcError, ValidationError) as error:
            form.add_error(None, _error_text(error))
        else:
            messages.success(request, _("Event saved; the entry is in the audit trail."))
            return redirect("outcomes:visits", study_id=study_id)
    return render(
        request,
        "outcomes/event_form.html",
        {"form": form, "participant": participant, "title": _("Unscheduled event")},
    )


@require_GET
@require(VIEW)
def worklist(request):
    """Visits open, due or overdue at the user's sites."""
    from django.utils import timezone

    today = timezone.localdate()
    return render(
        request,
        "outcomes/worklist.html",
        {"visits": selectors.visits_to_do(request.user, today=today), "today": today},
    )


@require(VIEW, ENTER)
def disposition_edit(request, study_id: str):
    """The end-of-study CRF: how follow-up ended, the last contact, vital status at days 28 and
    60 (issue 18 point 2). One per participant; a correction needs a reason."""
    participant = _participant(request, study_id)
    disposition = concurrency.with_versions(
        Disposition.objects.filter(participant=participant)
    ).first()
    if selectors.day0_of(participant) is None:
        raise Http404(_("The participant has not been randomized: no follow-up yet."))
    form = DispositionForm(request.POST or None, instance=disposition, edited_by=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            services.disposition_save(
                participant=participant,
                values=form.cleaned_data,
                user=request.user,
                opened_version=form.opened_version() if disposition else None,
                reason=form.reason_for_change if disposition else "",
            )
        except EditConflict as conflict:
            form.show_conflict(conflict)
        except HardLimitExceeded as refused:
            form.show_errors(refused.errors)
        except (TrialEdcError, ValidationError) as error:
            form.add_error(None, _error_text(error))
        else:
            messages.success(
                request, _("End-of-study disposition saved; the entry is in the audit trail.")
            )
            return redirect("outcomes:visits", study_id=study_id)
    return render(
        request,
        "outcomes/event_form.html",
        {"form": form, "participant": participant, "title": _("End of study (disposition)")},
    )


def _daily_row_save(request, participant, row, value: str, opened, reason: str, which: str):
    """Save one row of the daily page: None when saved (or unchanged), '' when nothing was
    typed in a row saved with the others, else the error (an EditConflict, or a message)."""
    if value == "":
        if row.record is not None:
            return _(
                "A saved status cannot be emptied; choose the right status and give the reason."
            )
        return _("Choose the status of this day.") if which != "all" else ""
    try:
        status = int(value)
    except ValueError:
        return _("The status is one of the 6 points of the scale.")
    if row.record is not None and status == row.record.status_score:
        return ""
    try:
        services.daily_status_save(
            participant=participant,
            day=row.day,
            status=status,
            user=request.user,
            opened_version=opened.version(row.record) if row.record is not None else None,
            reason=reason,
        )
    except EditConflict as conflict:
        return conflict
    except (TrialEdcError, ValidationError) as error:
        return _error_text(error)
    return None


def _daily_token(user, rows, versions: dict[int, int | None]) -> str:
    label = concurrency.label_of(DailyStatus())
    return concurrency.token(
        user=user,
        records=[(label, r.record.pk, versions.get(r.day)) for r in rows if r.record is not None],
    )


@require(VIEW, ENTER)
def daily_status(request, study_id: str):
    """The 6-point status, one row per day D1-D28 (issue 18 point 3): one select per day,
    saved row by row or all at once. A refused row keeps what was typed, with its message; the
    rows that could be saved are saved."""
    participant = _participant(request, study_id)
    today = selectors.site_today(participant.site)
    page = selectors.daily_rows(participant, today=today)
    if page["day0"] is None:
        raise Http404(_("The participant has not been randomized: no follow-up yet."))
    rows = page["rows"]
    typed: dict[int, str] = {}
    errors: dict[int, str] = {}
    reason = ""
    if request.method != "POST":
        versions = {r.day: concurrency.shown_version(r.record) for r in rows if r.record}
    else:
        opened = concurrency.opened_from(request.POST.get(concurrency.FIELD), user=request.user)
        reason = request.POST.get("reason", "")
        which = request.POST.get("save_day", "all")
        typed = {r.day: request.POST.get(f"d{r.day}", "").strip() for r in rows}
        fresh: set[int] = set()  # saved now, or shown in conflict: the version now is seen
        for row in rows:
            if which != "all" and str(row.day) != which:
                continue
            error = _daily_row_save(
                request, participant, row, typed.get(row.day, ""), opened, reason, which
            )
            if error is None:
                fresh.add(row.day)
            elif error:
                errors[row.day] = str(error)
                if isinstance(error, EditConflict):
                    fresh.add(row.day)
        saved = sum(1 for day in fresh if day not in errors)
        page = selectors.daily_rows(participant, today=today)
        rows = page["rows"]
        unsaved = {
            r.day
            for r in rows
            if typed.get(r.day) and typed[r.day] != str(r.record.status_score if r.record else "")
        }
        if saved:
            messages.success(
                request,
                _("%(n)s day(s) saved; the entries are in the audit trail.") % {"n": saved},
            )
        if not errors and not unsaved:
            return redirect("outcomes:daily_status", study_id=study_id)
        # Rows saved or shown in conflict: the version now; others: the one opened.
        versions = {
            r.day: (
                concurrency.shown_version(r.record) if r.day in fresh else opened.version(r.record)
            )
            for r in rows
            if r.record is not None
        }
    token = _daily_token(request.user, rows, versions)
    return render(
        request,
        "outcomes/daily_status.html",
        {
            "participant": participant,
            "page": page,
            "rows": [
                {
                    "row": r,
                    "value": typed.get(r.day) or (str(r.record.status_score) if r.record else ""),
                    "error": errors.get(r.day, ""),
                    "missing": r.day in page["missing"],
                }
                for r in rows
            ],
            "choices": daily_status_choices(),
            "token": token,
            "token_name": concurrency.FIELD,
            "reason": reason,
            "has_errors": bool(errors),
        },
    )


@require(VIEW, ENTER)
def conmed_edit(request, study_id: str, pk: int | None = None):
    """A line of the concomitant-medications log: new, or corrected with a reason."""
    participant = _participant(request, study_id)
    medication = None
    if pk is not None:
        medication = get_in_scope_or_404(
            concurrency.with_versions(
                ConcomitantMedication.objects.filter(participant=participant)
            ),
            request.user,
            site_path="participant__site",
            pk=pk,
        )
    form = ConcomitantMedicationForm(
        request.POST or None, instance=medication, edited_by=request.user
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.conmed_save(
                participant=participant,
                values=form.values(),
                user=request.user,
                medication=medication,
                opened_version=form.opened_version() if medication else None,
                reason=form.reason_for_change if medication else "",
            )
        except EditConflict as conflict:
            form.show_conflict(conflict)
        except HardLimitExceeded as refused:
            form.show_errors(refused.errors)
        except (TrialEdcError, ValidationError) as error:
            form.add_error(None, _error_text(error))
        else:
            messages.success(request, _("Medication saved; the entry is in the audit trail."))
            return redirect(reverse("outcomes:visits", args=[study_id]) + "#medications-heading")
    return render(
        request,
        "outcomes/event_form.html",
        {"form": form, "participant": participant, "title": _("Concomitant medication")},
    )
