from django.urls import path, register_converter

from . import views
from .converters import ParticipantKeyConverter

app_name = "participants"
register_converter(ParticipantKeyConverter, "pkey")

# <pkey:…> is a study ID (01-0007) or, before enrollment, a screening number (S01-0003).
urlpatterns = [
    path("", views.participant_list, name="list"),
    path("screening/", views.screening_log, name="screening_log"),
    path("screen/", views.screening_new, name="screen"),
    path("<pkey:study_id>/", views.participant_detail, name="detail"),
    path("<pkey:key>/eligibility/", views.eligibility_edit, name="eligibility"),
    path("<pkey:key>/eligibility/check/", views.eligibility_check, name="eligibility_check"),
    path("<pkey:key>/eligibility/confirm/", views.eligibility_confirm, name="eligibility_confirm"),
    path("<pkey:key>/vital-signs/", views.screening_vital_signs_edit, name="vital_signs"),
    path("<pkey:key>/consent/", views.consent_record, name="consent"),
    path("<pkey:key>/enroll/", views.participant_enroll, name="enroll"),
    path("<pkey:key>/not-enrolled/", views.screening_close, name="close"),
    path("<pkey:key>/withdraw/", views.consent_withdraw, name="withdraw"),
    path("<pkey:study_id>/identity/edit/", views.identifying_data_edit, name="identity_edit"),
]
