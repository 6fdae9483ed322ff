from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from . import audit, home, services
from .access import get_in_scope_or_403, require
from .forms import PreferencesForm
from .roles import roles_of


@require_GET
def home_page(request):
    return render(
        request,
        "home.html",
        {"cards": home.cards_for(request.user), "roles": roles_of(request.user)},
    )


@require_GET
@require("trialedc.view_audit_trail")
def audit_history(request, label: str, pk: int):
    """The audit trail of one record: who, when, what changed from what to what, and why."""
    spec = audit.registered(label)
    if spec is None or not request.user.has_perm(spec.view_permission):
        # Unregistered models (e.g. allocations) have no history page for anyone here.
        return render(request, "403.html", {"message": _("No audit trail here.")}, status=403)
    obj = get_in_scope_or_403(
        spec.model.objects.all(), request.user, site_path=spec.site_path, pk=pk
    )
    return render(
        request,
        "audit/history.html",
        {"record": obj, "entries": audit.history_of(obj), "verbose_name": obj._meta.verbose_name},
    )


def preferences(request):
    """The signed-in user's own language and calendar."""
    user = request.user
    form = PreferencesForm(
        request.POST or None, initial={"language": user.language, "calendar": user.calendar}
    )
    if request.method == "POST" and form.is_valid():
        services.user_preferences_update(user=user, **form.cleaned_data)
        messages.success(request, _("Your preferences are saved."))
        return redirect("preferences")
    return render(request, "preferences.html", {"form": form})


@login_not_required
@require_GET
def health(request):
    """Liveness probe for the load balancer and docker-compose."""
    return HttpResponse("ok", content_type="text/plain")
