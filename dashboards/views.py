"""Pages and PDFs of the dashboards app. Thin: parse the request, call selectors, render.

Blinding: the by-arm CONSORT is drawn only when dashboards.allocation.may_see_arms(user) (the
allocation permission and an unblinded role); the closed DSMB report is refused to anyone else.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET

from kernel.access import get_in_scope_or_404, require, scope_to_sites
from kernel.broker import BrokerUnavailable, task_publish
from kernel.replica import reading_from_replica
from kernel.services import sensitive_read_record
from participants.models import Participant
from randomization import allocation

from . import pdf, plots, selectors, services
from .exceptions import BlindedViewerRefused, ReportRefused, UnknownSite
from .models import KIND_PERMISSIONS, PreparedReport, ReportKind, ReportStatus
from .tasks import report_build_task

logger = logging.getLogger(__name__)


def _scope(request, *, by_arm: bool = False) -> selectors.Scope:
    try:
        return selectors.scope_for(
            request.user, site_code=request.GET.get("site", "").strip(), by_arm=by_arm
        )
    except UnknownSite as error:
        raise Http404(_("No such site among yours.")) from error


def _page_number(request) -> int:
    try:
        return int(request.GET.get("page", "1"))
    except ValueError:
        return 1


def _pdf(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


# The dashboards are read every morning and do not change by the second: the browser may keep
# a page for a minute, never a shared cache (the pages carry study IDs).
_BRIEFLY = cache_control(private=True, max_age=60)


@require_GET
@require("dashboards.view_dashboard")
@_BRIEFLY
@reading_from_replica()
def dashboard(request):
    user = request.user
    scope = _scope(request, by_arm=True)
    context = {
        "scope": scope,
        "sites": selectors.site_choices(user),
        "enrollment": (enrollment := selectors.enrollment(scope)),
        "enrollment_plot": plots.enrollment_plot(enrollment),
        "consort": (consort := selectors.consort(scope)),
        "consort_svg": plots.consort_svg(consort),
        "adverse_events": selectors.adverse_event_counts(scope),
        "trends": plots.trend_plots(selectors.pooled_trends(scope)),
        "open_queries": selectors.open_queries(user, scope),
    }
    if user.has_perm("outcomes.view_visit"):
        context["matrix"] = selectors.completeness_matrix(scope, page=_page_number(request))
        context["overdue"] = selectors.overdue_visits(scope)
    context["show_clocks"] = user.has_perm("safety.view_safety_overview")
    if context["show_clocks"]:
        context["clocks"] = selectors.open_safety_clocks(user, scope)
    return render(request, "dashboards/dashboard.html", context)


@require_GET
@require("dashboards.view_dashboard")
@_BRIEFLY
@reading_from_replica()
def consort(request):
    scope = _scope(request, by_arm=True)
    data = selectors.consort(scope)
    return render(
        request,
        "dashboards/consort.html",
        {
            "scope": scope,
            "sites": selectors.site_choices(request.user),
            "consort": data,
            "consort_svg": plots.consort_svg(data),
            "lines": plots.consort_lines(data),
        },
    )


@require_GET
@require("dashboards.print_blank_crfs")
def reports(request):
    """The PDFs the user may prepare, and their own recent ones; ?casebook=<study ID> opens
    the page that prepares that participant's casebook."""
    study_id = (request.GET.get("casebook") or "").strip()
    if study_id and _STUDY_ID.fullmatch(study_id):
        return redirect(
            reverse("dashboards:report_prepare", args=[ReportKind.CASEBOOK])
            + "?"
            + urlencode({"study_id": study_id})
        )
    return render(
        request,
        "dashboards/reports.html",
        {
            "may_see_arms": allocation.may_see_arms(request.user),
            "prepared": selectors.prepared_reports_of(request.user),
            "kinds": ReportKind,
        },
    )


_STUDY_ID = re.compile(r"[0-9A-Za-z-]{1,20}")


def _casebook_participant(user, study_id: str):
    """The participant whose casebook is asked for, if the user may see it; else None."""
    if not _STUDY_ID.fullmatch(study_id):
        return None
    return (
        scope_to_sites(Participant.objects.select_related("site"), user)
        .filter(study_id=study_id)
        .first()
    )


@require("dashboards.print_blank_crfs")
def report_prepare(request, kind: str):
    """GET: what will be prepared, with one button; POST: queue it and show its progress."""
    if kind not in ReportKind.values:
        raise Http404(_("No such report."))
    if not request.user.has_perms(KIND_PERMISSIONS[kind]):
        raise PermissionDenied(_("Your role does not allow this report."))
    data = request.POST if request.method == "POST" else request.GET
    study_id = (data.get("study_id") or "").strip()
    site_code = (data.get("site") or "").strip()
    participant, problem = None, ""
    if kind == ReportKind.CASEBOOK:
        participant = _casebook_participant(request.user, study_id) if study_id else None
        if study_id and participant is None:
            problem = _("No participant %(id)s among your sites: check the study ID.") % {
                "id": study_id
            }
        elif not study_id and request.method == "POST":
            problem = _("Enter the study ID of the participant whose casebook to print.")
    ready = kind != ReportKind.CASEBOOK or participant is not None
    if ready:
        error = selectors.report_access_error(
            request.user, kind=kind, participant=participant, site_code=site_code
        )
        if error:
            raise PermissionDenied(error)
    if request.method == "POST" and ready:
        try:
            report = services.report_request(
                user=request.user, kind=kind, participant=participant, site_code=site_code
            )
        except ReportRefused as refused:
            raise PermissionDenied(str(refused)) from refused
        # The row is committed; a worker (or, without a broker, this process) builds it.
        try:
            task_publish(report_build_task, report_id=report.pk)
        except BrokerUnavailable:  # the report stays queued; the sweep hands it over again
            logger.warning("report %s not handed to the broker; the sweep will", report.pk)
            messages.warning(
                request,
                _(
                    "The background worker cannot be reached just now; the report is queued and "
                    "will be prepared when it is back."
                ),
            )
        except Exception:  # noqa: BLE001 - without a broker it ran here; its page says how
            logger.exception("report %s could not be built", report.pk)
            messages.error(request, _("The report could not be started; try again later."))
        return redirect("dashboards:report_detail", pk=report.pk)
    return render(
        request,
        "dashboards/report_prepare.html",
        {
            "kind": kind,
            "kind_label": ReportKind(kind).label,
            "participant": participant,
            "study_id": study_id,
            "site_code": site_code,
            "problem": problem,
            "prepared": [
                r
                for r in selectors.prepared_reports_of(request.user)
                if r.kind == kind and (participant is None or r.participant_id == participant.pk)
            ],
        },
    )


def _prepared_report(request, pk: int) -> PreparedReport:
    """The report if the user may have it now (checked at every look, not only when asked)."""
    report = (
        PreparedReport.objects.select_related("participant__site", "requested_by")
        .defer("content")
        .filter(pk=pk)
        .first()
    )
    if report is None or not selectors.prepared_report_in_scope(request.user, report):
        # Another site's report answers exactly like one that does not exist (issue 20).
        raise Http404(_("No such report."))
    error = selectors.prepared_report_access_error(request.user, report)
    if error:
        raise PermissionDenied(error)
    return report


@require_GET
@require("dashboards.print_blank_crfs")
def report_detail(request, pk: int):
    return render(
        request, "dashboards/report_detail.html", {"report": _prepared_report(request, pk)}
    )


@require_GET
@require("dashboards.print_blank_crfs")
def report_status(request, pk: int):
    """The status panel, polled by htmx while the report is being prepared."""
    return render(
        request, "dashboards/_report_status.html", {"report": _prepared_report(request, pk)}
    )


@require_GET
@require("dashboards.print_blank_crfs")
def report_download(request, pk: int):
    report = _prepared_report(request, pk)
    if report.status != ReportStatus.DONE:
        raise Http404(_("This report is not ready yet."))
    content = PreparedReport.objects.values_list("content", flat=True).get(pk=report.pk)
    sensitive_read_record(
        request=request, what="prepared_report", report=report.pk, kind=report.kind
    )
    response = HttpResponse(bytes(content), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{report.filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


@require_GET
@require("dashboards.print_blank_crfs")
def blank_crfs_pdf(request):
    return _pdf(pdf.blank_crfs_pdf(user=request.user), "blank-annotated-crfs.pdf")


@require_GET
@require("dashboards.print_casebook", "outcomes.view_visit")
@reading_from_replica()
def casebook_pdf(request, study_id: str):
    participant = get_in_scope_or_404(
        Participant.objects.select_related("site"), request.user, study_id=study_id
    )
    return _pdf(
        pdf.casebook_pdf(participant=participant, user=request.user),
        f"casebook-{participant.study_id}.pdf",
    )


@require_GET
@require("dashboards.view_dsmb_open_report")
@reading_from_replica()
def dsmb_open_pdf(request):
    scope = _scope(request)
    return _pdf(pdf.dsmb_pdf(scope=scope, user=request.user), "dsmb-open-report.pdf")


@require_GET
@require("dashboards.view_dsmb_closed_report")
@reading_from_replica()
def dsmb_closed_pdf(request):
    try:
        scope = _scope(request, by_arm=True)
        content = pdf.dsmb_pdf(scope=scope, user=request.user, closed=True)
    except BlindedViewerRefused as error:
        raise PermissionDenied(str(error)) from error
    sensitive_read_record(request=request, what="dsmb_closed_report")
    return _pdf(content, "dsmb-closed-report.pdf")
