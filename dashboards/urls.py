from django.urls import path

from . import views

app_name = "dashboards"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("consort/", views.consort, name="consort"),
    path("reports/", views.reports, name="reports"),
    path("reports/blank-crfs.pdf", views.blank_crfs_pdf, name="blank_crfs_pdf"),
    path("reports/casebook/<str:study_id>.pdf", views.casebook_pdf, name="casebook_pdf"),
    path("reports/dsmb-open.pdf", views.dsmb_open_pdf, name="dsmb_open_pdf"),
    path("reports/dsmb-closed.pdf", views.dsmb_closed_pdf, name="dsmb_closed_pdf"),
    path("reports/prepare/<slug:kind>/", views.report_prepare, name="report_prepare"),
    path("reports/<int:pk>/", views.report_detail, name="report_detail"),
    path("reports/<int:pk>/status/", views.report_status, name="report_status"),
    path("reports/<int:pk>/download/", views.report_download, name="report_download"),
]
