"""The IT admin: alerts are read-only (delivery is the outbox's job); AEs are edited in the app,
where reasons for change are asked for, so the admin shows them read-only too."""

from django.contrib import admin

from kernel.admin import ReadOnlyAdminMixin
from kernel.models import Alert

from .models import AdverseEvent, SAEReport


class _ReadOnly(ReadOnlyAdminMixin, admin.ModelAdmin):
    pass


@admin.register(Alert)
class AlertAdmin(_ReadOnly):
    list_display = ("created_at", "kind", "subject", "attempts", "sent_at", "last_error")
    list_filter = ("kind", ("sent_at", admin.EmptyFieldListFilter))
    search_fields = ("subject",)


@admin.register(AdverseEvent)
class AdverseEventAdmin(_ReadOnly):
    list_display = ("participant", "number", "verbatim_term", "ctcae_grade", "serious")
    list_filter = ("serious", "ctcae_grade")


@admin.register(SAEReport)
class SAEReportAdmin(_ReadOnly):
    list_display = ("adverse_event", "number", "kind", "submitted_at")
