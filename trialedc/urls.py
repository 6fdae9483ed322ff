from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from . import views
from .ratelimit import rate_limit, sign_in_delay

urlpatterns = [
    path("", views.home_page, name="home"),
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
    path("health/", views.health, name="health"),
    path("health/live/", views.health_live, name="health_live"),
    path("security-log/", views.security_log, name="security_log"),
    path("", include("kernel.urls")),
    path("participants/", include("participants.urls")),
    path("randomization/", include("randomization.urls")),
    path("outcomes/", include("outcomes.urls")),
    path("safety/", include("safety.urls")),
    path("exports/", include("exports.urls")),
    path("dashboards/", include("dashboards.urls")),
    path("data/", include("datamanagement.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
]
