"""The IT admin's pages for accounts (issue 20, finding 2; docs/security.md).

- Authenticator keys are never shown or accepted: django-otp's device admin is unregistered;
  a lost phone is the audited "Reset two-factor sign-in" action (reason, security log, e-mail).
- A password set by an administrator needs a reason; it is in the security log, the user is
  told by e-mail and must choose their own at the next sign-in.
- The trial's role groups are read-only here (kernel.role_guard refuses any other change).
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.auth.admin import GroupAdmin as BaseGroupAdmin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import AdminPasswordChangeForm
from django.contrib.auth.models import Group
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django_otp.plugins.otp_totp.models import TOTPDevice

from kernel.models import User
from kernel.request_context import current_request
from kernel.role_guard import ROLE_NAMES

from . import services, twofactor

# An authenticator's key is the second factor itself: whoever reads it signs in as the user.
if admin.site.is_registered(TOTPDevice):
    admin.site.unregister(TOTPDevice)


class AuditedPasswordSetForm(AdminPasswordChangeForm):
    """The admin's "set password", through accounts.services.password_set_by_administrator."""

    reason = forms.CharField(
        label=_("Reason"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text=_(
            "For example: password forgotten, identity checked in person. Kept in the security "
            "log; the user is told by e-mail and chooses their own password at the next sign-in."
        ),
    )

    def __init__(self, user, *args, **kwargs):
        super().__init__(user, *args, **kwargs)
        # No "disable password sign-in" here: deactivate the account instead (it is logged).
        self.fields.pop("usable_password", None)
        self.fields["password1"].required = True
        self.fields["password2"].required = True

    def save(self, commit=True):
        request = current_request()
        self.user = services.password_set_by_administrator(
            user=self.user,
            password=self.cleaned_data["password1"],
            actor=request.user,
            reason=self.cleaned_data["reason"],
            request=request,
        )
        return self.user


class TwoFactorResetForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text=_(
            "For example: phone lost, reported by the user in person on the ward. Kept in the "
            "security log."
        ),
    )


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    fieldsets = [*BaseUserAdmin.fieldsets, ("Trial", {"fields": ["sites"]})]
    filter_horizontal = ["groups", "user_permissions", "sites"]
    change_password_form = AuditedPasswordSetForm
    change_user_password_template = "admin/password_set.html"  # noqa: S105 - a template
    actions = ["reset_two_factor"]
    list_display = [*BaseUserAdmin.list_display, "is_active", "two_factor"]

    def get_queryset(self, request):
        from django.db.models import Exists, OuterRef
        from django_otp.plugins.otp_totp.models import TOTPDevice

        devices = TOTPDevice.objects.filter(user=OuterRef("pk"), confirmed=True)
        return super().get_queryset(request).annotate(has_two_factor=Exists(devices))

    @admin.display(description=_("Two-factor sign-in"), boolean=True, ordering="has_two_factor")
    def two_factor(self, user) -> bool:
        return user.has_two_factor

    @admin.action(description=_("Reset two-factor sign-in (lost phone)"), permissions=["change"])
    def reset_two_factor(self, request, queryset):
        """Recovery by an administrator: the users' authenticators and backup codes are removed
        (they set up new ones at their next sign-in); each reset is in the security log with the
        administrator and the reason."""
        form = TwoFactorResetForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            for user in queryset:
                twofactor.reset(
                    user=user,
                    actor=request.user,
                    reason=form.cleaned_data["reason"],
                    request=request,
                )
            count = queryset.count()
            self.message_user(
                request,
                ngettext(
                    "Two-factor sign-in reset for %(n)d user; it is in the security log.",
                    "Two-factor sign-in reset for %(n)d users; it is in the security log.",
                    count,
                )
                % {"n": count},
                messages.SUCCESS,
            )
            return None
        return TemplateResponse(
            request,
            "admin/two_factor_reset.html",
            {
                **self.admin_site.each_context(request),
                "title": _("Reset two-factor sign-in"),
                "users": queryset,
                "form": form,
                "opts": self.model._meta,
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            },
        )


admin.site.unregister(Group)


@admin.register(Group)
class GroupAdmin(BaseGroupAdmin):
    """Other groups as Django has them; the trial's role groups read-only (kernel.role_guard)."""

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.name in ROLE_NAMES:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.name in ROLE_NAMES:
            return False
        return super().has_delete_permission(request, obj)
