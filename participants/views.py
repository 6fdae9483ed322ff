"""Pages of the participants app: thin — parse the request, call one service, render."""

from __future__ import annotations

import zoneinfo

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from kernel import concurrency
from kernel.access import get_in_scope_or_404, require, sites_for
from kernel.exceptions import EditConflict, TrialEdcError
from kernel.replica import reading_from_replica
from kernel.roles import Role
from kernel.trial import TRIAL

from . import selectors, services, timeline
from .exceptions import (
    AlreadyRecorded,
    PossibleRescreen,
    ScreeningError,
    UnconfirmedVitalSigns,
)
from .forms import (
    ConsentForm,
    EligibilityConfirmForm,
    EligibilityForm,
    IdentifyingDataForm,
    ScreeningCloseForm,
    ScreeningForm,
    ScreeningVitalSignsForm,
    WithdrawalForm,
    eligibility_typed,
)
from .models import (
    Consent,
    ConsentWithdrawal,
    Eligibility,
    IdentifyingData,
    NotEnrolledReason,
    Participant,
    ParticipantStatus,
    Screening,
    ScreeningVitalSigns,
)

VIEW_SCREENING = "participants.view_screening"
PHI = "participants.view_identifyingdata"


def _screening(request, key: str) -> Screening:
    """The screening a key names (screening number or study ID), within the user's sites."""
    queryset = Screening.objects.select_related("site", "screened_by")
    if key.startswith(TRIAL.screening_number_prefix):
        return get_in_scope_or_404(queryset, request.user, screening_number=key)
    return get_in_scope_or_404(queryset, request.user, participant__study_id=key)


def _key(screening: Screening) -> str:
    participant = getattr(screening, "participant", None)
    return participant.study_id if participant is not None else screening.screening_number


def _to_page(screening: Screening) -> HttpResponseRedirect:
    return redirect("participants:detail", study_id=_key(screening))


def _form_error(form, error: TrialEdcError) -> None:
    """The service's refusal on the fields it names (every one of them), else on the form."""
    errors = getattr(error, "errors", None) or {getattr(error, "field", None): str(error)}
    for field, message in errors.items():
        form.add_error(field if field in form.fields else None, message)


# --- lists ------------------------------------------------------------------------------


@require("participants.view_participant")
@reading_from_replica()
def participant_list(request):
    show_identity = request.user.has_perm(PHI)
    participants = selectors.participants_for(request.user)
    if show_identity:
        participants = participants.select_related("identity")
    status = request.GET.get("status", "")
    if status in ParticipantStatus.values:
        participants = participants.filter(status=status)
    query = request.GET.get("q", "").strip()
    if query:
        # Persian names match whichever keyboard typed them (ي/ی, ك/ک, with or without ZWNJ).
        folded = selectors.search_text(query)
        match = Q(study_id__icontains=folded)
        if show_identity:
            participants = selectors.with_search_name(participants, "identity__full_name")
            match |= Q(search_name__icontains=folded)
        participants = participants.filter(match)
    return render(
        request,
        "participants/list.html",
        {
            "participants": participants,
            "show_identity": show_identity,
            "statuses": ParticipantStatus.choices[3:],
            "status": status,
            "q": query,
        },
    )


@require(VIEW_SCREENING)
@reading_from_replica()
def screening_log(request):
    show_identity = request.user.has_perm(PHI)
    screenings = selectors.screenings_for(request.user)
    if show_identity:
        screenings = screenings.select_related("identity")
    query = request.GET.get("q", "").strip()
    if query:
        folded = selectors.search_text(query)
        match = Q(screening_number__icontains=folded) | Q(participant__study_id__icontains=folded)
        if show_identity:
            screenings = selectors.with_search_name(screenings, "identity__full_name")
            match |= Q(search_name__icontains=folded)
        screenings = screenings.filter(match)
    rows = [(s, selectors.screening_stage(s)) for s in screenings]
    outcome = request.GET.get("outcome", "")
    counts = {
        "screened": len(rows),
        "enrolled": sum(1 for s, _st in rows if hasattr(s, "participant")),
        "open": sum(1 for _s, st in rows if not st.closed),
        "not_enrolled": sum(1 for _s, st in rows if st.status == "not_enrolled"),
    }
    if outcome == "enrolled":
        rows = [r for r in rows if hasattr(r[0], "participant")]
    elif outcome == "not_enrolled":
        rows = [r for r in rows if r[1].status == "not_enrolled"]
    elif outcome == "open":
        rows = [r for r in rows if not r[1].closed]
    elif outcome == "to_confirm":
        rows = [
            r
            for r in rows
            if hasattr(r[0], "eligibility")
            and r[0].eligibility.eligible
            and r[0].eligibility.confirmed_at is None
            and r[1].status != "not_enrolled"
        ]
    return render(
        request,
        "participants/screening_log.html",
        {
            "rows": rows,
            "counts": counts,
            "show_identity": show_identity,
            "outcome": outcome,
            "q": query,
        },
    )


# --- screening ----------------------------------------------------------------------------


@require("participants.add_screening")
def screening_new(request):
    form = ScreeningForm(request.POST or None, sites=sites_for(request.user), today=_today())
    duplicates = []
    if request.method == "POST" and form.is_valid():
        try:
            screening = services.screening_create(
                site=form.cleaned_data["site"],
                user=request.user,
                screened_on=form.cleaned_data["screened_on"],
                identity=form.identity(),
                submission_token=form.cleaned_data["submission_token"],
                confirm_rescreen=form.cleaned_data["confirm_rescreen"],
            )
        except PossibleRescreen as error:
            duplicates = error.screenings
            _form_error(form, error)
        except TrialEdcError as error:
            _form_error(form, error)
        else:
            messages.success(
                request,
                _("Screened: screening number %(number)s. Next: the eligibility form.")
                % {"number": screening.screening_number},
            )
            return redirect("participants:eligibility", key=_key(screening))
    return render(request, "participants/screen.html", {"form": form, "duplicates": duplicates})


def _today():
    return timezone.localdate()


@require("participants.view_participant")
def participant_detail(request, study_id: str):
    """The participant's page: screening steps, identifying data, then the timeline."""
    if study_id.startswith(TRIAL.screening_number_prefix):
        if not request.user.has_perm(VIEW_SCREENING):
            return render(request, "403.html", status=403)
        screening = _screening(request, study_id)
        participant = getattr(screening, "participant", None)
    else:
        participant = get_in_scope_or_404(
            Participant.objects.select_related("site", "screening", "withdrawal"),
            request.user,
            study_id=study_id,
        )
        screening = participant.screening
    context = {
        "participant": participant,
        "screening": screening,
        "key": _key(screening),
        "identity": None,
        "timeline_sections": timeline.sections_for(request.user) if participant else [],
    }
    if request.user.has_perm(VIEW_SCREENING):
        context.update(
            stage=selectors.screening_stage(screening),
            eligibility=Eligibility.objects.filter(screening=screening)
            .select_related("assessed_by", "confirmed_by")
            .first(),
            consent=getattr(screening, "consent", None),
            vital_signs=ScreeningVitalSigns.objects.filter(screening=screening)
            .select_related("recorded_by")
            .first(),
        )
    if request.user.has_perm(PHI):
        context["identity"] = IdentifyingData.objects.filter(screening=screening).first()
    return render(request, "participants/detail.html", context)


# --- eligibility --------------------------------------------------------------------------


def _criteria_rows(screening, data, identity=None):
    """The live verdict: each criterion's state, from what is typed so far."""
    return selectors.eligibility_preview(
        screening=screening, identity=identity, **eligibility_typed(data)
    )


@require("participants.add_eligibility", "participants.change_eligibility")
def eligibility_edit(request, key: str):
    screening = _screening(request, key)
    identity = IdentifyingData.objects.get(screening=screening)
    instance = concurrency.with_versions(Eligibility.objects.filter(screening=screening)).first()
    form = EligibilityForm(
        request.POST or None, instance=instance, sex=identity.sex, edited_by=request.user
    )
    if request.method == "POST":
        saved = Eligibility.objects.filter(screening=screening).first()
        if instance is None and saved is not None and saved.assessed_by_id == request.user.pk:
            # The same person's second submit (a double click, a reload).
            messages.info(request, _("The eligibility form was saved already."))
            return _to_page(screening)
        if form.is_valid():
            try:
                eligibility = services.eligibility_save(
                    screening=screening,
                    user=request.user,
                    answers=form.answers(),
                    pao2_mmhg=form.cleaned_data["pao2_mmhg"],
                    fio2_entered=form.cleaned_data["fio2_entered"],
                    fio2_unit=form.cleaned_data["fio2_unit"],
                    opened_version=form.opened_version(),
                    reason=form.reason_for_change,
                    **form.pregnancy(),
                )
            except EditConflict as conflict:
                form.show_conflict(conflict)
            except AlreadyRecorded as error:
                messages.info(request, str(error))
                return _to_page(screening)
            except TrialEdcError as error:
                _form_error(form, error)
            else:
                messages.success(request, _("Eligibility saved."))
                if not eligibility.eligible and hasattr(screening, "participant"):
                    messages.warning(
                        request,
                        _(
                            "%(study_id)s is enrolled but, as corrected, not eligible "
                            "(%(codes)s): report a protocol deviation to the investigator."
                        )
                        % {
                            "study_id": screening.participant.study_id,
                            "codes": ", ".join(eligibility.failed_codes),
                        },
                    )
                if (
                    eligibility.eligible
                    and request.user.has_perm("participants.add_consent")
                    and not Consent.objects.filter(screening=screening).exists()
                ):
                    # The next step, not the overview: eligible and not yet consented.
                    messages.info(request, _("Eligible. Next: record the consent."))
                    return redirect("participants:consent", key=_key(screening))
                return _to_page(screening)
    data = request.POST if request.method == "POST" else _instance_data(instance)
    return render(
        request,
        "participants/eligibility.html",
        {
            "form": form,
            "screening": screening,
            "key": _key(screening),
            "identity_sex": identity.get_sex_display(),
            **_criteria_rows(screening, data, identity),
        },
    )


@require("participants.add_screeningvitalsigns", "participants.change_screeningvitalsigns")
def screening_vital_signs_edit(request, key: str):
    """The vital signs at screening (issue 19): recorded, or corrected with a reason."""
    screening = _screening(request, key)
    instance = concurrency.with_versions(
        ScreeningVitalSigns.objects.filter(screening=screening)
    ).first()
    form = ScreeningVitalSignsForm(
        request.POST or None, instance=instance, edited_by=request.user, today=_today()
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.screening_vital_signs_save(
                screening=screening,
                user=request.user,
                values=form.typed_values(),
                fio2_unit=form.cleaned_data["fio2_unit"],
                opened_version=form.opened_version(),
                reason=form.reason_for_change,
                confirm_warnings=form.cleaned_data["confirm_warnings"],
                warning_reason=form.cleaned_data["warning_reason"],
            )
        except EditConflict as conflict:
            form.show_conflict(conflict)
        except UnconfirmedVitalSigns as unconfirmed:
            form.show_warnings(unconfirmed.warnings)
        except AlreadyRecorded as error:
            messages.info(request, str(error))
            return _to_page(screening)
        except TrialEdcError as error:
            _form_error(form, error)
        else:
            messages.success(request, _("Vital signs at screening saved."))
            return _to_page(screening)
    return render(
        request,
        "participants/screening_vitals.html",
        {
            "form": form,
            "screening": screening,
            "key": _key(screening),
            # Once enrolled, the record's queries, lock, signatures and SDV are shown with it.
            "participant": Participant.objects.filter(screening=screening).first(),
        },
    )


def _instance_data(instance):
    if instance is None:
        return {}
    data = {name: str(getattr(instance, name)) for name in Eligibility.ANSWER_FIELDS}
    data.update(
        pao2_mmhg=str(instance.pao2_mmhg),
        fio2_entered=str(instance.fio2_entered),
        fio2_unit=instance.fio2_unit,
    )
    return data


@require("participants.add_eligibility")
def eligibility_check(request, key: str):
    """htmx: the verdict for what is typed so far (GET with the form's fields)."""
    screening = _screening(request, key)
    return render(
        request,
        "participants/_eligibility_result.html",
        {"screening": screening, **_criteria_rows(screening, request.GET)},
    )


@require("participants.confirm_eligibility")
def eligibility_confirm(request, key: str):
    screening = _screening(request, key)
    eligibility = Eligibility.objects.filter(screening=screening).first()
    form = EligibilityConfirmForm(
        request.POST or None, edited_by=request.user, versioned=[eligibility]
    )
    if request.method == "POST" and eligibility is not None:
        try:
            services.eligibility_confirm(
                eligibility=eligibility, user=request.user, opened_version=form.opened_version()
            )
        except EditConflict as conflict:
            form.show_conflict(conflict)  # the answers as they are now, shown below
            eligibility.refresh_from_db()
        except AlreadyRecorded as error:
            messages.info(request, str(error))
            return _to_page(screening)
        except TrialEdcError as error:
            messages.error(request, str(error))
            return _to_page(screening)
        else:
            messages.success(request, _("Eligibility confirmed."))
            return _to_page(screening)
    context = {
        "screening": screening,
        "key": _key(screening),
        "eligibility": eligibility,
        "form": form,
    }
    if eligibility is not None:
        context["criteria"] = selectors.eligibility_criteria(eligibility)
    return render(request, "participants/eligibility_confirm.html", context)


# --- consent, enrollment, closing, withdrawal ---------------------------------------------


def _site_staff(site):
    return (
        get_user_model()
        .objects.filter(
            sites=site,
            is_active=True,
            groups__name__in=[Role.COORDINATOR.value, Role.INVESTIGATOR.value],
        )
        .distinct()
        .order_by("last_name", "first_name")
    )


@require("participants.add_consent")
def consent_record(request, key: str):
    screening = _screening(request, key)
    timezone.activate(zoneinfo.ZoneInfo(screening.site.time_zone))
    existing = getattr(screening, "consent", None)
    form = ConsentForm(
        request.POST or None,
        staff=_site_staff(screening.site),
        screened_on=screening.screened_on,
        initial={"obtained_by": request.user.pk, "form_version": _current_version()},
        edited_by=request.user,
        versioned=[],
    )
    if request.method == "POST":
        if existing is None and form.is_valid():
            try:
                services.consent_record(screening=screening, user=request.user, **form.cleaned_data)
            except AlreadyRecorded:
                existing = Consent.objects.get(screening=screening)
            except TrialEdcError as error:
                _form_error(form, error)
            else:
                messages.success(request, _("Consent recorded (criterion I6 met)."))
                return _to_page(screening)
        if existing is not None and existing.recorded_by_id == request.user.pk:
            # The same person's second submit (a double click, a reload): nothing to compare.
            messages.info(request, _("Consent of this patient is recorded already."))
            return _to_page(screening)
        if existing is not None:
            # Recorded by someone else while this user typed: shown, with what was typed kept.
            form.show_conflict(
                concurrency.recorded_meanwhile(existing, action=_("your form was not recorded"))
            )
    eligibility = Eligibility.objects.filter(screening=screening).first()
    return render(
        request,
        "participants/consent.html",
        {
            "form": form,
            "screening": screening,
            "key": _key(screening),
            "consent": existing,
            "eligibility": eligibility,
        },
    )


def _current_version():
    today = timezone.localdate()
    current = [v for v in TRIAL.consent_form_versions if v.valid_on(today)]
    return current[-1].code if current else ""


@require("participants.enroll_participant")
def participant_enroll(request, key: str):
    screening = _screening(request, key)
    if request.method == "POST":
        try:
            participant = services.participant_enroll(screening=screening, user=request.user)
        except AlreadyRecorded as error:
            messages.info(request, str(error))
        except TrialEdcError as error:
            messages.error(request, str(error))
        else:
            messages.success(
                request,
                _("Enrolled: study ID %(study_id)s.") % {"study_id": participant.study_id},
            )
            return redirect("participants:detail", study_id=participant.study_id)
        return _to_page(screening)
    return render(
        request,
        "participants/enroll.html",
        {
            "screening": screening,
            "key": _key(screening),
            "stage": selectors.screening_stage(screening),
            "eligibility": Eligibility.objects.filter(screening=screening).first(),
            "consent": getattr(screening, "consent", None),
        },
    )


@require("participants.change_screening")
def screening_close(request, key: str):
    screening = _screening(request, key)
    form = ScreeningCloseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.screening_close(
                screening=screening,
                user=request.user,
                reason=form.cleaned_data["reason"],
                detail=form.cleaned_data["detail"],
            )
        except AlreadyRecorded as error:
            messages.info(request, str(error))
            return _to_page(screening)
        except TrialEdcError as error:
            _form_error(form, error)
        else:
            messages.success(request, _("Recorded in the screening log: not enrolled."))
            return _to_page(screening)
    return render(
        request,
        "participants/close.html",
        {
            "form": form,
            "screening": screening,
            "key": _key(screening),
            "stage": selectors.screening_stage(screening),
            "reasons": NotEnrolledReason,
        },
    )


@require("participants.add_consentwithdrawal")
def consent_withdraw(request, key: str):
    screening = _screening(request, key)
    participant = getattr(screening, "participant", None)
    withdrawal = getattr(participant, "withdrawal", None) if participant else None
    form = WithdrawalForm(
        request.POST or None,
        initial={"withdrawn_on": timezone.localdate()},
        edited_by=request.user,
        versioned=[],
    )
    if request.method == "POST" and participant is not None:
        if withdrawal is None and form.is_valid():
            try:
                services.consent_withdraw(
                    participant=participant, user=request.user, **form.cleaned_data
                )
            except AlreadyRecorded:
                withdrawal = ConsentWithdrawal.objects.get(participant=participant)
            except TrialEdcError as error:
                _form_error(form, error)
            else:
                messages.warning(
                    request,
                    _("Withdrawal of consent recorded: %(study_id)s is withdrawn.")
                    % {"study_id": participant.study_id},
                )
                return _to_page(screening)
        if withdrawal is not None and withdrawal.recorded_by_id == request.user.pk:
            messages.info(request, _("The withdrawal of consent is recorded already."))
            return _to_page(screening)
        if withdrawal is not None:  # recorded by someone else while this user typed
            form.show_conflict(
                concurrency.recorded_meanwhile(withdrawal, action=_("your form was not recorded"))
            )
    return render(
        request,
        "participants/withdraw.html",
        {
            "form": form,
            "screening": screening,
            "participant": participant,
            "key": _key(screening),
            "withdrawal": withdrawal,
        },
    )


@require(PHI, "participants.change_identifyingdata")
def identifying_data_edit(request, study_id: str):
    screening = _screening(request, study_id)
    identifying = IdentifyingData.objects.select_related("screening").get(screening=screening)
    form = IdentifyingDataForm(request.POST or None, instance=identifying, edited_by=request.user)
    if request.method == "POST" and form.is_valid():
        if not form.changed_values():
            messages.info(request, _("Nothing changed, so nothing was saved."))
            return _to_page(screening)
        try:
            services.identifying_data_update(
                identifying=identifying,
                user=request.user,
                reason=form.reason_for_change,
                values=form.edited_values(),
                opened_version=form.opened_version(),
            )
        except EditConflict as conflict:
            form.show_conflict(conflict)
        except ScreeningError as error:
            _form_error(form, error)
        except TrialEdcError as error:
            form.add_error(None, str(error))
        else:
            messages.success(
                request, _("Identifying data saved; the change is in the audit trail.")
            )
            return _to_page(screening)
    return render(
        request,
        "participants/identity_edit.html",
        {"form": form, "screening": screening, "key": _key(screening)},
    )
