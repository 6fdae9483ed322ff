from django.urls import path

from . import views

app_name = "randomization"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("participant/<str:study_id>/", views.participant_status, name="status"),
    path("participant/<str:study_id>/randomize/", views.randomize, name="randomize"),
    path("participant/<str:study_id>/unblind/", views.emergency_unblind, name="emergency_unblind"),
    path("lists/", views.list_index, name="list_index"),
    path("lists/generate/", views.list_generate, name="list_generate"),
    path("lists/import/", views.list_import, name="list_import"),
    path("lists/<int:pk>/", views.list_detail, name="list_detail"),
    path("lists/<int:pk>/csv/", views.list_csv, name="list_csv"),
    path("phase-gate/", views.phase_gate, name="phase_gate"),
    path("pharmacy/", views.pharmacy, name="pharmacy"),
    path("pharmacy/to-prepare/", views.pharmacy_queue, name="pharmacy_queue"),
    path("pharmacy/list.pdf", views.pharmacy_pdf, name="pharmacy_pdf"),
    path("pharmacy/<str:study_id>/", views.pharmacy_prepare, name="pharmacy_prepare"),
    path("pharmacy/<str:study_id>/label/", views.pharmacy_label, name="pharmacy_label"),
    path("trial-unblinding/", views.trial_unblinding, name="trial_unblinding"),
]
