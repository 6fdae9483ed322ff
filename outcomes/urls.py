from django.urls import path

from . import views

app_name = "outcomes"

_P = "participants/<str:study_id>"

urlpatterns = [
    path("visits/", views.worklist, name="worklist"),
    path("compute/", views.compute, name="compute"),
    path(f"{_P}/visits/", views.visit_list, name="visits"),
    path(f"{_P}/calendar/", views.visit_calendar, name="calendar"),
    path(f"{_P}/visits/<str:code>/", views.visit_detail, name="visit"),
    path(f"{_P}/visits/<str:code>/missed/", views.visit_missed, name="visit_missed"),
    path(f"{_P}/visits/<str:code>/<str:crf>/", views.crf_edit, name="crf"),
    path(f"{_P}/icu-stays/new/", views.icu_stay_edit, name="icu_stay_new"),
    path(f"{_P}/icu-stays/<int:pk>/", views.icu_stay_edit, name="icu_stay_edit"),
    path(f"{_P}/events/new/", views.study_event_edit, name="event_new"),
    path(f"{_P}/events/<int:pk>/", views.study_event_edit, name="event_edit"),
    path(f"{_P}/disposition/", views.disposition_edit, name="disposition"),
    path(f"{_P}/daily-status/", views.daily_status, name="daily_status"),
    path(f"{_P}/medications/new/", views.conmed_edit, name="conmed_new"),
    path(f"{_P}/medications/<int:pk>/", views.conmed_edit, name="conmed_edit"),
]
