"""The IT admin shows the export log read-only. Release keys and export IDs are not shown:
together they would re-identify the participants of an export."""

from django.contrib import admin

from kernel.admin import ReadOnlyAdminMixin

from .models import ExportRun


@admin.register(ExportRun)
class ExportRunAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("pk", "requested_at", "requested_by", "via", "status", "unblinded", "checksum")
    list_filter = ("status", "via", "unblinded")
    exclude = ("file_path",)
