from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from kernel.models import User

from . import twofactor


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
