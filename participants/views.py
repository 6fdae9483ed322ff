from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from trialedc.access import get_in_scope_or_403, require, sites_for
from trialedc.exceptions import TrialEdcError

from . import selectors, services
from .forms import IdentifyingDataForm, ParticipantRegisterForm
from .models import IdentifyingData, Participant


@require("participants.view_participant")
def participant_list(request):
    show_identity = request.user.has_perm("participants.view_identifyingdata")
    participants = selectors.participants_for(request.user)
    if show_identity:
        participants = participants.select_related("identity")
    return render(
        request,
        "participants/list.html",
        {"participants": participants, "show_identity": show_identity},
    )


@require("participants.add_participant")
def participant_register(request):
    form = ParticipantRegisterForm(request.POST or None, sites=sites_for(request.user))
    if request.method == "POST" and form.is_valid():
        identity = {k: v for k, v in form.cleaned_data.items() if k != "site"}
        try:
            participant = services.participant_register(
                site=form.cleaned_data["site"], user=request.user, identity=identity
            )
        except TrialEdcError as error:
            form.add_error(None, str(error))
        else:
            messages.success(
                request, _("Registered participant %(id)s.") % {"id": participant.study_id}
            )
            return redirect("participants:detail", study_id=participant.study_id)
    return render(request, "participants/register.html", {"form": form})


@require("participants.view_participant")
def participant_detail(request, study_id: str):
    participant = get_in_scope_or_403(
        Participant.objects.select_related("site"),
        request.user,
        study_id=study_id,
    )
    identity = None
    if request.user.has_perm("participants.view_identifyingdata"):
        identity = IdentifyingData.objects.filter(participant=participant).first()
    return render(
        request,
        "participants/detail.html",
        {"participant": participant, "identity": identity},
    )


@require("participants.view_identifyingdata", "participants.change_identifyingdata")
def identifying_data_edit(request, study_id: str):
    identifying = get_in_scope_or_403(
        IdentifyingData.objects.select_related("participant__site"),
        request.user,
        site_path="participant__site",
        participant__study_id=study_id,
    )
    form = IdentifyingDataForm(request.POST or None, instance=identifying)
    if request.method == "POST" and form.is_valid():
        changes = form.changed_values()
        if not changes:
            messages.info(request, _("Nothing changed, so nothing was saved."))
            return redirect("participants:detail", study_id=study_id)
        try:
            services.identifying_data_update(
                identifying=identifying,
                user=request.user,
                reason=form.reason_for_change,
                changes=changes,
            )
        except TrialEdcError as error:
            form.add_error(None, str(error))
        else:
            messages.success(
                request, _("Identifying data saved; the change is in the audit trail.")
            )
            return redirect("participants:detail", study_id=study_id)
    return render(
        request,
        "participants/identity_edit.html",
        {"form": form, "participant": identifying.participant},
    )
