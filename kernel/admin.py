from django.contrib import admin

from .models import SecurityEvent, Site


class ReadOnlyAdminMixin:
    """For records the admin may read but never add, change or delete: the audit trail, the
    security log, safety alerts, randomization events (the apps' services write them)."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Site)
class SiteAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "time_zone"]


@admin.register(SecurityEvent)
class SecurityEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only: the security log is append-only (a database trigger backs this up)."""

    list_display = ["at", "kind", "username", "actor", "ip_address"]
    list_filter = ["kind"]
    search_fields = ["username", "ip_address"]
