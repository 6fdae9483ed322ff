from django.urls import path

from . import views

app_name = "datamanagement"

_P = "participants/<str:study_id>"

urlpatterns = [
    path("status/", views.record_status, name="record_status"),
    path("worklists/signatures/", views.worklist_signatures, name="worklist_signatures"),
    path("worklists/sdv/", views.worklist_sdv, name="worklist_sdv"),
    path("worklists/queries/", views.worklist_queries, name="worklist_queries"),
    path("queries/", views.query_list, name="queries"),
    path("queries/<int:pk>/", views.query_detail, name="query_detail"),
    path(f"{_P}/queries/new/", views.query_new, name="query_new"),
    path(f"{_P}/", views.casebook, name="casebook"),
    path(f"{_P}/visits/<str:code>/<str:crf>/", views.crf_review, name="crf_review"),
    path(f"{_P}/records/<str:crf>/", views.visitless_review, name="visitless_review"),
    path(f"{_P}/sdv/", views.sdv, name="sdv"),
    path(f"{_P}/sign/", views.sign, name="sign"),
    path("locks/", views.locks, name="locks"),
    path("audit/", views.audit_log, name="audit_log"),
    path("notifications/", views.notifications, name="notifications"),
]
