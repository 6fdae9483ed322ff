"""The IT admin: read-only views of the participants app; every write goes through services."""

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from kernel.admin import ReadOnlyAdminMixin

from .models import Consent, ConsentWithdrawal, Eligibility, Participant, Screening


class ReadOnlyAdmin(ReadOnlyAdminMixin, SimpleHistoryAdmin):
    """Screening numbers and study IDs are never reused; records are never deleted."""


@admin.register(Screening)
class ScreeningAdmin(ReadOnlyAdmin):
    list_display = ["screening_number", "site", "screened_on", "not_enrolled_reason"]
    list_filter = ["site"]


@admin.register(Participant)
class ParticipantAdmin(ReadOnlyAdmin):
    list_display = ["study_id", "site", "status", "enrolled_at"]
    list_filter = ["site", "status"]


admin.site.register(Eligibility, ReadOnlyAdmin)
admin.site.register(Consent, ReadOnlyAdmin)
admin.site.register(ConsentWithdrawal, ReadOnlyAdmin)
