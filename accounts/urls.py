"""Sign-in security's pages. Included at the site's root by the project's URLconf, so the paths
and URL names are those they always had (login, logout, password_change, ...)."""

from django.contrib.auth import views as auth_views
from django.urls import path

from . import views
from .ratelimit import rate_limit, sign_in_delay

urlpatterns = [
    path(
        "login/",
        rate_limit("login")(
            sign_in_delay(auth_views.LoginView.as_view(redirect_authenticated_user=True))
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password/", views.PasswordChangeView.as_view(), name="password_change"),
    path("sign-out-everywhere/", views.sign_out_everywhere, name="sign_out_everywhere"),
    path("account/sessions/", views.sessions, name="sessions"),
    path("preferences/", views.preferences, name="preferences"),
    path("account/two-factor/", views.two_factor, name="two_factor"),
    path("account/two-factor/verify/", views.two_factor_verify, name="two_factor_verify"),
    path("security-log/", views.security_log, name="security_log"),
]
