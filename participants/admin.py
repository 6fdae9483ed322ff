from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from .models import IdentifyingData, Participant


@admin.register(Participant)
class ParticipantAdmin(SimpleHistoryAdmin):
    list_display = ["study_id", "site", "registered_at"]
    list_filter = ["site"]
    readonly_fields = ["study_id", "site", "registered_at", "registered_by"]


@admin.register(IdentifyingData)
class IdentifyingDataAdmin(SimpleHistoryAdmin):
    list_display = ["participant"]
    readonly_fields = ["participant"]
