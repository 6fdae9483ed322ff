"""The API's URLs: /api/v1/ (token or session), the schema and its browsable docs, and the
token page under the user's account.

API views are exempt from LoginRequiredMiddleware (a token arrives in a header, which DRF reads
after the middleware; DRF marks its views so itself, `_open` says it here too); DRF refuses an
unauthenticated call with 401.
"""

from django.contrib.auth.decorators import login_not_required, login_required
from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from . import views

app_name = "api"


def _open(view):
    return login_not_required(view.as_view())


urlpatterns = [
    path("api/v1/sites/", _open(views.SiteList), name="sites"),
    path("api/v1/participants/", _open(views.ParticipantList), name="participants"),
    path(
        "api/v1/participants/<str:study_id>/",
        _open(views.ParticipantDetail),
        name="participant",
    ),
    path(
        "api/v1/participants/<str:study_id>/visits/",
        _open(views.VisitList),
        name="visits",
    ),
    path(
        "api/v1/participants/<str:study_id>/visits/<str:visit>/crfs/<str:crf>/",
        _open(views.CrfDetail),
        name="crf",
    ),
    path(
        "api/v1/participants/<str:study_id>/records/<str:crf>/",
        _open(views.RecordDetail),
        name="record",
    ),
    path("api/v1/adverse-events/", _open(views.AdverseEventList), name="adverse_events"),
    path("api/v1/queries/", _open(views.QueryList), name="queries"),
    path("api/v1/exports/", _open(views.ExportList), name="exports"),
    path("api/v1/exports/<int:pk>/", _open(views.ExportDetail), name="export"),
    path(
        "api/v1/exports/<int:pk>/download/",
        _open(views.ExportDownload),
        name="export_download",
    ),
    # The schema and the docs describe, not show, data: for any signed-in user or token holder
    # (SPECTACULAR_SETTINGS["SERVE_PERMISSIONS"]); the docs page is for a browser's session.
    path("api/schema/", login_not_required(SpectacularAPIView.as_view()), name="schema"),
    path(
        "api/docs/",
        # DRF marks its views login-exempt; the docs page is a browser's: to the login page.
        login_required(SpectacularSwaggerSplitView.as_view(url_name="api:schema")),
        name="docs",
    ),
    path("account/api-tokens/", views.tokens, name="tokens"),
]
