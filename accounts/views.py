from datetime import UTC

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth import views as auth_views
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from kernel.access import require
from kernel.csv_download import csv_download
from kernel.redirects import safe_next_url
from kernel.services import sensitive_read_record

from . import selectors, services, twofactor
from .forms import NewPasswordForm, OneTimeCodeForm, PreferencesForm, SecurityLogFilterForm
from .middleware import password_change_reason
from .ratelimit import rate_limit


def preferences(request):
    """The signed-in user's own language and calendar, and links to their account's security."""
    user = request.user
    form = PreferencesForm(
        request.POST or None, initial={"language": user.language, "calendar": user.calendar}
    )
    if request.method == "POST" and form.is_valid():
        services.user_preferences_update(user=user, **form.cleaned_data)
        messages.success(request, _("Your preferences are saved."))
        return redirect("preferences")
    return render(
        request,
        "preferences.html",
        {"form": form, "two_factor_on": twofactor.is_set_up(user)},
    )


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


@require_http_methods(["GET", "POST"])
def sessions(request):
    """The user's signed-in sessions (where, since when, last used), each other one can be ended
    at once (ASVS 3.3.4); 'sign out everywhere' ends them all."""
    from .models import UserSession

    if request.method == "POST":
        try:
            services.user_session_end(request=request, pk=int(request.POST.get("end", "")))
        except (ValueError, UserSession.DoesNotExist):
            messages.error(request, _("That session is not one of yours on another device."))
        else:
            messages.success(request, _("That session has ended; the device must sign in again."))
        return redirect("sessions")
    return render(
        request,
        "registration/sessions.html",
        {
            "sessions": selectors.user_sessions_of(request.user),
            "current_key": request.session.session_key,
        },
    )


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
        sensitive_read_record(request=request, what="security_log_csv")
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

    rows = (
        (
            event.at.astimezone(UTC).isoformat(timespec="seconds"),
            event.kind,
            event.username,
            event.user_id or "",
            event.actor.get_username() if event.actor else "",
            event.ip_address or "",
            event.user_agent,
            json.dumps(event.detail, ensure_ascii=False, sort_keys=True),
        )
        for event in events.iterator()
    )
    return csv_download(filename_stem="security-log", header=SECURITY_CSV_COLUMNS, rows=rows)


# -- two-factor sign-in (accounts.twofactor) ---------------------------------------------------


def _next_url(request) -> str:
    """Where to go after the second factor: the page first asked for, if it is one of ours."""
    return safe_next_url(request, default=reverse("home"))


def _backup_codes_page(request, codes: list[str], *, first: bool):
    response = render(
        request,
        "registration/two_factor_backup_codes.html",
        {"codes": codes, "first": first, "next": _next_url(request)},
    )
    response["Cache-Control"] = "no-store"
    return response


@never_cache
@require_http_methods(["GET", "POST"])
@rate_limit("login")
def two_factor(request):
    """Set up two-factor sign-in (an authenticator app + backup codes), or, once it is set up
    and this session verified, see it, make new backup codes or turn it off."""
    user = request.user
    if twofactor.is_set_up(user):
        if not twofactor.is_verified(request):
            # Never a second device on a password alone: give the first one's code.
            return redirect(f"{reverse('two_factor_verify')}?next={reverse('two_factor')}")
        return _two_factor_status(request)
    key = twofactor.pending_secret(request)
    form = OneTimeCodeForm(request.POST or None)
    form.fields["code"].help_text = _("The six digits your app shows once it has the key.")
    if request.method == "POST" and form.is_valid():
        codes = twofactor.enrol(request=request, key_hex=key, code=form.cleaned_data["code"])
        if codes is not None:
            messages.success(request, _("Two-factor sign-in is on."))
            return _backup_codes_page(request, codes, first=True)
        form.add_error(
            "code",
            _(
                "This code is not right. Check that the app shows this account, that the "
                "phone's clock is right, and type the six digits it shows now."
            ),
        )
    uri = twofactor.provisioning_uri(user, key)
    return render(
        request,
        "registration/two_factor_enrol.html",
        {
            "form": form,
            "qr_code": twofactor.qr_data_uri(uri),
            "secret": twofactor.secret_base32(key),
            "required": twofactor.required(user),
            "next": _next_url(request),
        },
    )


# The buttons of the status page, and what the security log calls them.
_STATUS_ACTIONS = {"backup-codes": "new backup codes", "turn-off": "turn off"}


def _two_factor_status(request):
    user = request.user
    form = OneTimeCodeForm(request.POST or None)
    action = request.POST.get("do", "")
    if request.method == "POST" and form.is_valid() and action in _STATUS_ACTIONS:
        try:
            if action == "turn-off" and twofactor.required(user):
                raise twofactor.CodeRefused(
                    _("Your role needs two-factor sign-in; it cannot be turned off.")
                )
            twofactor.check(
                request=request, code=form.cleaned_data["code"], purpose=_STATUS_ACTIONS[action]
            )
            if action == "turn-off":
                twofactor.turn_off(request=request)
                messages.info(request, _("Two-factor sign-in is off."))
                return redirect("preferences")
            codes = twofactor.backup_codes_renew(request=request)
            return _backup_codes_page(request, codes, first=False)
        except twofactor.CodeRefused as refusal:
            form.add_error("code", str(refusal))
    backup = twofactor.backup_codes_of(user)
    return render(
        request,
        "registration/two_factor_status.html",
        {
            "form": form,
            "authenticator": twofactor.authenticator_of(user),
            "backup_codes_left": backup.remaining if backup else 0,
            "required": twofactor.required(user),
        },
    )


@never_cache
@require_http_methods(["GET", "POST"])
@rate_limit("login")
def two_factor_verify(request):
    """Second step of signing in: a code from the authenticator app or a backup code."""
    if twofactor.is_verified(request) or not twofactor.is_set_up(request.user):
        return redirect(_next_url(request))
    form = OneTimeCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            device = twofactor.verify_sign_in(request=request, code=form.cleaned_data["code"])
        except twofactor.CodeRefused as refusal:
            form.add_error("code", str(refusal))
        else:
            left = getattr(device, "remaining", None)
            if left is not None:
                messages.warning(
                    request,
                    _(
                        "You signed in with a backup code; %(n)s are left. Make new ones "
                        "under Your preferences if you are running out."
                    )
                    % {"n": left},
                )
            return redirect(_next_url(request))
    return render(
        request, "registration/two_factor_verify.html", {"form": form, "next": _next_url(request)}
    )
