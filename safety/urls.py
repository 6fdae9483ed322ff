from django.urls import path

from . import views

app_name = "safety"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("participants/<str:study_id>/ae/", views.participant_aes, name="participant_aes"),
    # Linked from the AE-assessment CRF of the outcomes app (contract: keep name and path).
    path("participants/<str:study_id>/ae/new/", views.ae_report, name="ae_report"),
    path("ae/<int:pk>/", views.ae_detail, name="ae_detail"),
    path("ae/<int:pk>/edit/", views.ae_edit, name="ae_edit"),
    path("ae/<int:pk>/follow-up/", views.sae_follow_up, name="sae_follow_up"),
    path("ae/<int:pk>/sign/", views.ae_sign, name="ae_sign"),
    path("susar/", views.susar_cases, name="susar_cases"),
    path("susar/<int:pk>/", views.susar_case, name="susar_case"),
    path("susar/<int:pk>/expedited-report/", views.susar_expedited, name="susar_expedited"),
    path("susar/<int:pk>/completing-report/", views.susar_completion, name="susar_completion"),
    path("susar/<int:pk>/cioms.pdf", views.susar_cioms_pdf, name="susar_cioms_pdf"),
    path("ae/<int:pk>/reports/<int:number>/cioms.pdf", views.cioms_pdf, name="cioms_pdf"),
    path("listing.pdf", views.ae_listing_pdf, name="ae_listing_pdf"),
    path("alerts/", views.alerts, name="alerts"),
]
