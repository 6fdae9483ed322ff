import csv

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from . import audit, home, selectors, services
from .access import get_in_scope_or_403, require
from .forms import NewPasswordForm, PreferencesForm, SecurityLogFilterForm
from .middleware import password_change_reason
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


class PasswordChangeView(auth_views.PasswordChangeView):
    """Change one's own password (forced for initial passwords, and when it expires)."""

    form_class = NewPasswordForm
    template_name = "registration/password_change_form.html"

    def get_success_url(self):
        return reverse("home")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["reason"] = password_change_reason(self.request.user)
        return context

    def form_valid(self, form):
        response = super().form_valid(form)  # saves, keeps this session, ends the others
        services.password_changed(user=self.request.user, request=self.request)
        messages.success(self.request, _("Your password is changed."))
        return response


def sign_out_everywhere(request):
    """End every session of the user on every device, this one included."""
    if request.method == "POST":
        services.sessions_end_everywhere(user=request.user, request=request)
        logout(request)
        messages.info(request, _("You are signed out on every device."))
        return redirect("login")
    return render(request, "registration/sign_out_everywhere.html")


@require_GET
@require("trialedc.view_securityevent")
def security_log(request):
    """The security log for the data manager: filters, the newest 200 on the page; the CSV has
    every matching row, for inspectors."""
    form = SecurityLogFilterForm(request.GET or None)
    filters = selectors.SecurityFilters()
    if form.is_bound and form.is_valid():
        filters = selectors.SecurityFilters(
            **{k: v for k, v in form.cleaned_data.items() if v not in (None, "")}
        )
    events = selectors.security_events(filters)
    if request.GET.get("format") == "csv" and not form.errors:
        return _security_csv(events)
    return render(
        request,
        "security_log.html",
        {"form": form, "events": events[:200], "csv_query": request.GET.urlencode()},
    )


SECURITY_CSV_COLUMNS = [
    "when_utc",
    "event",
    "username",
    "account_id",
    "done_by",
    "ip_address",
    "browser",
    "detail",
]


def _security_csv(events) -> HttpResponse:
    import json

    from exports.cells import neutralize  # the one spreadsheet-safe cell rule

    response = HttpResponse(content_type="text/csv; charset=utf-8")
    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    response["Content-Disposition"] = f'attachment; filename="security-log-{stamp}.csv"'
    response["Cache-Control"] = "no-store"
    writer = csv.writer(response)
    writer.writerow(SECURITY_CSV_COLUMNS)
    for event in events.iterator():
        writer.writerow(
            [
                neutralize(value)
                for value in (
                    event.at.astimezone(timezone.UTC).isoformat(timespec="seconds"),
                    event.kind,
                    event.username,
                    event.user_id or "",
                    event.actor.get_username() if event.actor else "",
                    event.ip_address or "",
                    event.user_agent,
                    json.dumps(event.detail, ensure_ascii=False, sort_keys=True),
                )
            ]
        )
    return response


@login_not_required
@require_GET
def health(request):
    """Liveness probe for the load balancer and docker-compose."""
    return HttpResponse("ok", content_type="text/plain")
