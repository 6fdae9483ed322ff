"""The kernel's pages: the date picker of the date fields, the audit trail of one record."""

from django.urls import path

from . import datepicker, views

urlpatterns = [
    path("calendar/month/", datepicker.date_picker, name="date_picker"),
    path("calendar/echo/", datepicker.date_echo, name="date_echo"),
    path("audit/<str:label>/<int:pk>/", views.audit_history, name="audit_history"),
]
