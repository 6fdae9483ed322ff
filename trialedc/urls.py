from django.contrib import admin
from django.urls import include, path

from . import views

urlpatterns = [
    path("", views.home_page, name="home"),
    path("", include("accounts.urls")),
    path("", include("kernel.urls")),
    path("health/", views.health, name="health"),
    path("health/live/", views.health_live, name="health_live"),
    path("participants/", include("participants.urls")),
    path("randomization/", include("randomization.urls")),
    path("outcomes/", include("outcomes.urls")),
    path("safety/", include("safety.urls")),
    path("exports/", include("exports.urls")),
    path("dashboards/", include("dashboards.urls")),
    path("data/", include("datamanagement.urls")),
    path("", include("api.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
]
