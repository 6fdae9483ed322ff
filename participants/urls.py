from django.urls import path

from . import views

app_name = "participants"

urlpatterns = [
    path("", views.participant_list, name="list"),
    path("register/", views.participant_register, name="register"),
    path("<str:study_id>/", views.participant_detail, name="detail"),
    path("<str:study_id>/identity/edit/", views.identifying_data_edit, name="identity_edit"),
]
