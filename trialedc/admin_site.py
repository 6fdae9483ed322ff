"""The IT admin's site, without a sign-in page of its own (issue 20, finding 8).

Django's /admin/login/ has none of the app's sign-in defences (the rate limits, the lock-out,
the delays after wrong passwords, the second factor at sign-in). Here it sends to the app's
/login/, which has them all; a signed-in user who is not staff is refused.
"""

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig


class EdcAdminSite(admin.AdminSite):
    def login(self, request, extra_context=None):
        # Imported here: this module is loaded with the app registry, before the models.
        from django.contrib.auth.views import redirect_to_login
        from django.core.exceptions import PermissionDenied
        from django.shortcuts import redirect
        from django.urls import reverse

        if request.user.is_authenticated:
            if self.has_permission(request):
                return redirect(reverse("admin:index"))
            raise PermissionDenied
        return redirect_to_login(request.GET.get("next") or reverse("admin:index"))

    login.login_required = False  # type: ignore[attr-defined]  # open to visitors, as Django's


class EdcAdminConfig(AdminConfig):
    default_site = "trialedc.admin_site.EdcAdminSite"
