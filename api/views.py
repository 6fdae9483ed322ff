"""The read-only REST API, /api/v1/ (issue 22; docs/api.md).

Each endpoint reads through the same selectors and scoped querysets as the pages and asks the
same permissions (`required_permissions`, checked by `RolePermission`): another site's record is
a 404, a role without the page's permission gets 403. Every call is written to the security log.
The token page (`tokens`) is an ordinary page under the user's account.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from django.contrib import messages
from django.db.models import BooleanField, Case, OuterRef, Subquery, Value, When
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, permissions, status
from rest_framework.response import Response
from rest_framework.views import APIView

from datamanagement.selectors import (
    VISITLESS_RECORDS,
    crf_data_fields,
    queries_in_scope,
    record_name,
    visitless_record,
)
from exports import selectors as export_selectors
from exports import services as export_services
from exports.models import ExportRun
from exports.tasks import export_hand_over
from kernel.access import get_in_scope_or_404, sites_for
from kernel.models import SecurityEventKind
from kernel.roles import roles_of
from kernel.services import security_event_record
from kernel.trial import TRIAL
from outcomes.models import CRF_MODELS, Visit
from outcomes.selectors import crf_progress, with_day0
from participants.selectors import participants_for
from randomization.allocation import participant_annotations, randomized_condition
from safety.selectors import adverse_events_for

from . import selectors, serializers, services
from .exceptions import TokenRefused
from .forms import TokenCreateForm
from .models import ApiToken
from .throttling import ApiRateThrottle

# --- permissions and the security log ---------------------------------------------------------


class RolePermission(permissions.BasePermission):
    """A trial role, and the view's `required_permissions` (all of them), as
    `kernel.access.require` asks of a page; `required_permissions_for_post` for a POST. A user
    with no trial role (an IT superuser) reads nothing of the trial (issue 20, finding 1)."""

    message = _("Your role does not allow this.")

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not user or not user.is_authenticated or not roles_of(user):
            return False
        perms = getattr(view, "required_permissions", ())
        if request.method == "POST":
            perms = (*perms, *getattr(view, "required_permissions_for_post", ()))
        return user.has_perms(perms)


class ApiView:
    """What every /api/v1/ endpoint is: role-checked, rate-limited, logged."""

    required_permissions: tuple[str, ...] = ()
    permission_classes = [RolePermission]

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        user = getattr(request, "user", None)
        token = getattr(request, "auth", None)
        security_event_record(
            kind=SecurityEventKind.API_CALL,
            request=request._request,
            user=user if user is not None and user.is_authenticated else None,
            detail={
                "method": request.method,
                "path": request.get_full_path()[:300],
                "status": response.status_code,
                "token": token.prefix if isinstance(token, ApiToken) else None,
            },
        )
        return response


def _day0_of_participant(outer: str = "pk") -> Subquery:
    """Day 0 (the D0 visit's target date) of the participant at `outer`, in the same query."""
    return Subquery(
        Visit.objects.filter(participant=OuterRef(outer), day=0).values("target_date")[:1]
    )


def _randomized():
    return Case(
        When(randomized_condition(), then=Value(True)),
        default=Value(False),
        output_field=BooleanField(),
    )


def _participants(user):
    return (
        participants_for(user)
        .annotate(**participant_annotations(with_arm=False), day0=_day0_of_participant())
        .order_by("study_id")
    )


def _participant_or_404(user, study_id: str):
    return get_in_scope_or_404(_participants(user), user, study_id=study_id)


# --- resources ----------------------------------------------------------------------------------


class SiteList(ApiView, generics.ListAPIView):
    """The sites whose data you may see (yours, for site staff; every site otherwise)."""

    serializer_class = serializers.SiteSerializer

    def get_queryset(self):
        return sites_for(self.request.user).order_by("code")


class ParticipantList(ApiView, generics.ListAPIView):
    """Enrolled participants in your scope, by study ID. Filter with `?site=01`."""

    required_permissions = ("participants.view_participant",)
    serializer_class = serializers.ParticipantSerializer

    def get_queryset(self):
        participants = _participants(self.request.user)
        if site := self.request.query_params.get("site"):
            participants = participants.filter(site__code=site)
        return participants.annotate(randomized=_randomized())


class ParticipantDetail(ApiView, generics.RetrieveAPIView):
    """One participant (404 outside your scope, as if it did not exist)."""

    required_permissions = ("participants.view_participant",)
    serializer_class = serializers.ParticipantSerializer

    def get_object(self):
        return get_in_scope_or_404(
            _participants(self.request.user).annotate(randomized=_randomized()),
            self.request.user,
            study_id=self.kwargs["study_id"],
        )


class VisitList(ApiView, generics.ListAPIView):
    """A participant's visits with the state of each CRF."""

    required_permissions = ("participants.view_participant", "outcomes.view_visit")
    serializer_class = serializers.VisitSerializer

    def get_queryset(self):
        participant = _participant_or_404(self.request.user, self.kwargs["study_id"])
        return with_day0(Visit.objects.filter(participant=participant)).order_by("day")

    def paginate_queryset(self, queryset):
        page = super().paginate_queryset(queryset)
        for visit in page if page is not None else queryset:
            visit.crfs = [
                {"code": code, "name": str(TRIAL.crfs[code]), "status": p.status if p else None}
                for code, p in crf_progress(visit).items()
            ]
        return page


class CrfDetail(ApiView, generics.GenericAPIView):
    """One CRF's data (404 for a CRF the visit does not have or has not begun)."""

    required_permissions = ("participants.view_participant", "outcomes.view_visit")
    serializer_class = serializers.CrfDataSerializer

    def get(self, request, study_id: str, visit: str, crf: str):
        participant = _participant_or_404(request.user, study_id)
        visit_row = with_day0(Visit.objects.filter(participant=participant, code=visit)).first()
        if visit_row is None or crf not in visit_row.crf_codes or crf not in CRF_MODELS:
            raise Http404(_("No such CRF."))
        record = CRF_MODELS[crf].objects.filter(visit=visit_row).first()
        if record is None:
            raise Http404(_("This CRF has not been begun."))
        shows_dates = serializers.shows_dates({"request": request})
        data = {}
        for name in crf_data_fields(crf):
            data[name] = _json_value(getattr(record, name), visit_row.day0, shows_dates)
        body = {
            "participant": participant.study_id,
            "visit": visit_row.code,
            "crf": crf,
            "status": record.status,
            "assessed_day": serializers.study_day(record.assessed_on, visit_row.day0),
            "data": data,
        }
        return Response(self.get_serializer(body).data)


class RecordDetail(ApiView, generics.GenericAPIView):
    """A casebook record of no visit: `screening_vitals`, the vital signs at screening (404 if
    not recorded). Its data as a CRF's: dates as study days (negative: before Day 0) unless
    your role sees identifying data."""

    required_permissions = (
        "participants.view_participant",
        "participants.view_screening",
        "outcomes.view_visit",
    )
    serializer_class = serializers.RecordDataSerializer

    def get(self, request, study_id: str, crf: str):
        participant = _participant_or_404(request.user, study_id)
        if crf not in VISITLESS_RECORDS:
            raise Http404(_("No such record."))
        record = visitless_record(participant, crf)
        if record is None:
            raise Http404(_("This record has not been entered."))
        shows_dates = serializers.shows_dates({"request": request})
        day0 = participant.day0
        body = {
            "participant": participant.study_id,
            "record": crf,
            "name": record_name(crf),
            "measured_day": serializers.study_day(getattr(record, "measured_on", None), day0),
            "data": {
                name: _json_value(getattr(record, name), day0, shows_dates)
                for name in crf_data_fields(crf)
            },
        }
        return Response(self.get_serializer(body).data)


def _json_value(value, day0, shows_dates: bool):
    if isinstance(value, datetime | date):
        if shows_dates:
            return value.isoformat()
        return serializers.study_day(value, day0)
    if isinstance(value, Decimal):
        return str(value)
    return value


class AdverseEventList(ApiView, generics.ListAPIView):
    """Adverse events (serious ones too, `?serious=true`) in your scope."""

    required_permissions = ("safety.view_adverseevent",)
    serializer_class = serializers.AdverseEventSerializer

    def get_queryset(self):
        events = adverse_events_for(self.request.user).annotate(
            day0=_day0_of_participant("participant")
        )
        serious = self.request.query_params.get("serious")
        if serious in ("true", "false"):
            events = events.filter(serious=serious == "true")
        return events.order_by("participant__study_id", "number")


class QueryList(ApiView, generics.ListAPIView):
    """Data queries in your scope. Filter with `?state=open|answered|closed`."""

    required_permissions = ("datamanagement.view_query",)
    serializer_class = serializers.QuerySerializer

    def get_queryset(self):
        queries = queries_in_scope(self.request.user)
        if state := self.request.query_params.get("state"):
            queries = queries.filter(state=state)
        return queries.order_by("pk")


class ExportList(ApiView, generics.ListCreateAPIView):
    """The export log (GET); POST starts a de-identified IPD export, as the export page does."""

    required_permissions = ("exports.view_exportrun",)
    required_permissions_for_post = ("exports.add_exportrun",)
    serializer_class = serializers.ExportRunSerializer

    def get_queryset(self):
        return export_selectors.export_runs()

    def get_throttles(self):
        throttles = super().get_throttles()
        if self.request.method == "POST":
            throttles.append(ExportThrottle())
        return throttles

    @extend_schema(
        request=serializers.ExportStartSerializer,
        responses={202: serializers.ExportRunSerializer},
    )
    def post(self, request):
        start = serializers.ExportStartSerializer(data=request.data)
        start.is_valid(raise_exception=True)
        run = export_services.export_run_start(
            user=request.user, new_release=start.validated_data["new_release"]
        )
        export_hand_over(run_id=run.pk)  # a failure is on the run, for the caller to poll
        run.refresh_from_db()
        data = self.get_serializer(run).data
        return Response(data, status=status.HTTP_202_ACCEPTED)


class ExportThrottle(ApiRateThrottle):
    """The export page's own limit ("export" in RATE_LIMITS), on top of the API's."""

    scope = "export"


def _run_or_404(pk: int) -> ExportRun:
    try:
        return export_selectors.export_run(pk)
    except ExportRun.DoesNotExist as missing:
        raise Http404(_("No such export.")) from missing


class ExportDetail(ApiView, generics.RetrieveAPIView):
    """One export run: poll its `status` (queued, running, done, failed) and `progress`."""

    required_permissions = ("exports.view_exportrun",)
    serializer_class = serializers.ExportRunSerializer

    def get_object(self):
        return _run_or_404(self.kwargs["pk"])


class ExportDownload(ApiView, APIView):
    """The export's ZIP, through the same check and the same security-log line as the page."""

    required_permissions = ("exports.view_exportrun",)

    def get_throttles(self):
        return [*super().get_throttles(), ExportThrottle()]

    @extend_schema(
        responses={
            (200, "application/zip"): OpenApiResponse(OpenApiTypes.BINARY),
            404: OpenApiResponse(description="No such export, or no file (yet)."),
        }
    )
    def get(self, request, pk: int):
        run = _run_or_404(pk)
        # The page's download (exports.views.run_download), after this view's checks.
        response = export_services.export_file_response(run, request=request._request)
        if response is None:
            raise Http404(_("This export has no file to download."))
        return response


# --- the token page (HTML) ----------------------------------------------------------------------


def tokens(request):
    """Your API tokens: make one (shown once), revoke one. The data manager also sees and may
    revoke everyone's."""
    form = TokenCreateForm(request.POST if request.POST.get("action") == "create" else None)
    if request.method == "POST":
        if request.POST.get("action") == "revoke":
            try:
                token = services.token_revoke(
                    token_id=int(request.POST.get("token", "")), user=request.user, request=request
                )
            except (ValueError, ApiToken.DoesNotExist):
                messages.error(request, _("That token is not one you may revoke."))
            else:
                messages.success(
                    request,
                    _("Token %(name)s is revoked: it opens nothing any more.")
                    % {"name": token.name},
                )
            return redirect("api:tokens")
        if form.is_valid():
            try:
                token, whole = services.token_create(
                    user=request.user,
                    name=form.cleaned_data["name"],
                    days=form.cleaned_data["days"],
                    request=request,
                )
            except TokenRefused as refused:
                form.add_error(None, str(refused))
            else:
                # Shown in this response only: never stored, never in a redirect or a session.
                return render(
                    request,
                    "api/token_created.html",
                    _tokens_context(request, TokenCreateForm(), created=token, whole=whole),
                )
    return render(request, "api/tokens.html", _tokens_context(request, form))


def _tokens_context(request, form, **extra) -> dict:
    everyone = None
    if request.user.has_perm("api.revoke_any_apitoken"):
        everyone = selectors.tokens_of_everyone().exclude(user=request.user)[:500]
    return {
        "form": form,
        "tokens": selectors.tokens_of(request.user),
        "everyone": everyone,
        **extra,
    }
