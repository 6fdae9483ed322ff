"""The IT admin shows outcome records read-only: trial data is entered and corrected through the
CRF pages, which ask for the reason the audit trail needs."""

from django.contrib import admin

from .models import CRF_MODELS, IcuStay, StudyEvent, Visit


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Visit)
class VisitAdmin(ReadOnlyAdmin):
    list_display = ("participant", "code", "target_date", "window_start", "window_end", "state")
    list_filter = ("code", "state", "participant__site")
    search_fields = ("participant__study_id",)


@admin.register(IcuStay)
class IcuStayAdmin(ReadOnlyAdmin):
    list_display = ("participant", "admitted_on", "discharged_on")
    search_fields = ("participant__study_id",)


@admin.register(StudyEvent)
class StudyEventAdmin(ReadOnlyAdmin):
    list_display = ("participant", "kind", "occurred_on")
    list_filter = ("kind",)
    search_fields = ("participant__study_id",)


for _model in CRF_MODELS.values():
    admin.site.register(
        _model,
        type(
            f"{_model.__name__}Admin",
            (ReadOnlyAdmin,),
            {
                "list_display": ("visit", "status", "assessed_on", "updated_at"),
                "list_filter": ("status", "visit__code"),
                "search_fields": ("visit__participant__study_id",),
            },
        ),
    )
