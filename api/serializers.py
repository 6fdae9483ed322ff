"""What the API shows of each record (docs/api.md). No serializer has an arm field: the API is
arm-free for every role (decision 0021), so blinding holds by construction and is proven by the
blinded crawl and the differential test all the same.

Dates: a role that may see identifying data (site staff) gets calendar dates as the pages show
them; every other role gets study days (days from Day 0, the D0 visit's date), as in the
de-identified IPD export.
"""

from __future__ import annotations

from datetime import date, datetime

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from exports.models import ExportRun
from kernel.models import Site
from kernel.roles import PHI_PERMISSION

from .models import ApiToken

NULLABLE_INT = {"type": "integer", "nullable": True}
NULLABLE_DATE = {"type": "string", "format": "date", "nullable": True}
NULLABLE_STR = {"type": "string", "nullable": True}


def shows_dates(context) -> bool:
    """May the caller see identifying data (and so calendar dates and free text)?"""
    request = context.get("request")
    return bool(request is not None and request.user.has_perm(PHI_PERMISSION))


def study_day(value, day0: date | None) -> int | None:
    """Days from Day 0 (Day 0 itself is 0; screening before it is negative)."""
    if value is None or day0 is None:
        return None
    if isinstance(value, datetime):
        value = timezone.localdate(value)
    return (value - day0).days


class SiteSerializer(serializers.ModelSerializer):
    class Meta:
        model = Site
        fields = ["code", "name", "time_zone"]


class ParticipantSerializer(serializers.Serializer):
    study_id = serializers.CharField()
    site = serializers.CharField(source="site.code")
    status = serializers.CharField()
    randomized = serializers.BooleanField()
    phase = serializers.CharField(allow_null=True)
    stratum = serializers.CharField(allow_null=True)
    emergency_unblinded = serializers.BooleanField(
        help_text="Whether the participant was unblinded in an emergency (never the arm)."
    )
    enrolled_day = serializers.SerializerMethodField(
        help_text="Study day of enrolment (negative: before Day 0)."
    )
    withdrawn_day = serializers.SerializerMethodField()
    dates = serializers.SerializerMethodField(
        help_text="Calendar dates: only for roles that may see identifying data, else null."
    )

    @extend_schema_field(NULLABLE_INT)
    def get_enrolled_day(self, participant) -> int | None:
        return study_day(participant.enrolled_at, participant.day0)

    @extend_schema_field(NULLABLE_INT)
    def get_withdrawn_day(self, participant) -> int | None:
        withdrawal = getattr(participant, "withdrawal", None)
        return study_day(withdrawal.withdrawn_on if withdrawal else None, participant.day0)

    @extend_schema_field(
        {
            "type": "object",
            "nullable": True,
            "properties": {
                "day0": {"type": "string", "format": "date", "nullable": True},
                "enrolled_on": {"type": "string", "format": "date"},
            },
        }
    )
    def get_dates(self, participant):
        if not shows_dates(self.context):
            return None
        return {
            "day0": participant.day0.isoformat() if participant.day0 else None,
            "enrolled_on": timezone.localdate(participant.enrolled_at).isoformat(),
        }


class CrfStateSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    status = serializers.CharField(allow_null=True, help_text="draft, complete, or null: not begun")


class VisitSerializer(serializers.Serializer):
    code = serializers.CharField()
    day = serializers.IntegerField(help_text="The visit's scheduled study day.")
    state = serializers.CharField()
    window_start_day = serializers.SerializerMethodField()
    window_end_day = serializers.SerializerMethodField()
    target_date = serializers.SerializerMethodField(
        help_text="Calendar date: only for roles that may see identifying data, else null."
    )
    crfs = CrfStateSerializer(many=True)

    @extend_schema_field(NULLABLE_INT)
    def get_window_start_day(self, visit) -> int | None:
        return study_day(visit.window_start, visit.day0)

    @extend_schema_field(NULLABLE_INT)
    def get_window_end_day(self, visit) -> int | None:
        return study_day(visit.window_end, visit.day0)

    @extend_schema_field(NULLABLE_DATE)
    def get_target_date(self, visit):
        return visit.target_date.isoformat() if shows_dates(self.context) else None


class CrfDataSerializer(serializers.Serializer):
    participant = serializers.CharField()
    visit = serializers.CharField()
    crf = serializers.CharField()
    status = serializers.CharField()
    assessed_day = serializers.IntegerField(allow_null=True)
    data = serializers.DictField(
        child=serializers.JSONField(allow_null=True),
        help_text="Every field a person enters on the CRF; dates as study days for roles "
        "that may not see identifying data.",
    )


class RecordDataSerializer(serializers.Serializer):
    participant = serializers.CharField()
    record = serializers.CharField(help_text="Its code: screening_vitals.")
    name = serializers.CharField()
    measured_day = serializers.IntegerField(
        allow_null=True, help_text="Study day measured (negative: before Day 0)."
    )
    data = serializers.DictField(
        child=serializers.JSONField(allow_null=True),
        help_text="Every field a person enters on the record; dates as study days for roles "
        "that may not see identifying data.",
    )


class AdverseEventSerializer(serializers.Serializer):
    participant = serializers.CharField(source="participant.study_id")
    site = serializers.CharField(source="participant.site.code")
    number = serializers.IntegerField()
    visit = serializers.CharField()
    verbatim_term = serializers.SerializerMethodField(
        help_text="As the site typed it: only for roles that may see identifying data (free "
        "text may name the patient), else null."
    )
    preferred_term = serializers.SerializerMethodField(
        help_text="Coded term. Until coded it holds what the site typed, shown only to roles "
        "that may see identifying data (null for the others, as in the IPD export)."
    )
    system_organ_class = serializers.SerializerMethodField()
    needs_coding = serializers.BooleanField()
    onset_day = serializers.SerializerMethodField()
    end_day = serializers.SerializerMethodField()
    ongoing = serializers.BooleanField()
    ctcae_grade = serializers.IntegerField(allow_null=True)
    serious = serializers.BooleanField()
    relationship = serializers.CharField()
    expected = serializers.BooleanField(allow_null=True)
    action_taken = serializers.CharField()
    outcome = serializers.CharField()

    @extend_schema_field(NULLABLE_STR)
    def get_verbatim_term(self, ae) -> str | None:
        return ae.verbatim_term if shows_dates(self.context) else None

    @extend_schema_field(NULLABLE_STR)
    def get_preferred_term(self, ae) -> str | None:
        return ae.preferred_term if self._coded_or_allowed(ae) else None

    @extend_schema_field(NULLABLE_STR)
    def get_system_organ_class(self, ae) -> str | None:
        return ae.system_organ_class if self._coded_or_allowed(ae) else None

    def _coded_or_allowed(self, ae) -> bool:
        return not ae.needs_coding or shows_dates(self.context)

    @extend_schema_field(NULLABLE_INT)
    def get_onset_day(self, ae) -> int | None:
        return study_day(ae.onset_date, ae.day0)

    @extend_schema_field(NULLABLE_INT)
    def get_end_day(self, ae) -> int | None:
        return study_day(ae.end_date, ae.day0)


class QuerySerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    participant = serializers.CharField(source="participant.study_id")
    site = serializers.CharField(source="participant.site.code")
    visit = serializers.SerializerMethodField()
    crf = serializers.CharField(source="crf_code")
    field = serializers.CharField(source="field_name")
    origin = serializers.CharField()
    state = serializers.CharField()
    text = serializers.CharField()
    raised_at = serializers.DateTimeField()
    closed_at = serializers.DateTimeField(allow_null=True)

    @extend_schema_field(NULLABLE_STR)
    def get_visit(self, query) -> str | None:
        return query.visit.code if query.visit_id else None


class ExportRunSerializer(serializers.ModelSerializer):
    download = serializers.SerializerMethodField(
        help_text="Where to download the ZIP once the status is done."
    )

    class Meta:
        model = ExportRun
        fields = [
            "id",
            "status",
            "via",
            "requested_at",
            "started_at",
            "finished_at",
            "progress",
            "row_counts",
            "checksum",
            "error",
            "download",
        ]
        read_only_fields = fields

    @extend_schema_field({"type": "string", "format": "uri", "nullable": True})
    def get_download(self, run) -> str | None:
        if run.status != "done" or not run.file_path:
            return None
        request = self.context.get("request")
        path = f"/api/v1/exports/{run.pk}/download/"
        return request.build_absolute_uri(path) if request is not None else path


class ExportStartSerializer(serializers.Serializer):
    new_release = serializers.BooleanField(
        default=False,
        help_text="Start a new release: new export IDs, not linkable to earlier releases.",
    )


class TokenSerializer(serializers.ModelSerializer):
    class Meta:
        model = ApiToken
        fields = ["name", "prefix", "created_at", "expires_at", "last_used_at"]
