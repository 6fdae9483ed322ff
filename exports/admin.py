"""The IT admin shows the export log read-only. Release keys and export IDs are not shown:
together they would re-identify the participants of an export."""

from django.contrib import admin

from .models import ExportRun


@admin.register(ExportRun)
class ExportRunAdmin(admin.ModelAdmin):
    list_display = ("pk", "requested_at", "requested_by", "via", "status", "unblinded", "checksum")
    list_filter = ("status", "via", "unblinded")
    exclude = ("file_path",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
