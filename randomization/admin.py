"""The IT admin sees only arm-free records of this app, read-only.

RandomizationList, Slot, Randomization and Preparation are deliberately not registered: a list
or a slot carries the arm (and the seed that regenerates it), and admin staff are not unblinded.
Lists are managed on the statistician's pages, which check randomization.view_allocation.
"""

from django.contrib import admin

from kernel.admin import ReadOnlyAdminMixin

from .models import EmergencyUnblinding, PhaseReview


class ReadOnlyAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    pass


@admin.register(EmergencyUnblinding)
class EmergencyUnblindingAdmin(ReadOnlyAdmin):
    list_display = ["participant", "requested_at", "requested_by", "sae_reference"]


@admin.register(PhaseReview)
class PhaseReviewAdmin(ReadOnlyAdmin):
    list_display = ["phase", "review_date", "decision", "document_reference", "recorded_by"]
