"""Pages and PDFs of the dashboards app. Thin: parse the request, call selectors, render.

Blinding: the by-arm CONSORT is drawn only when dashboards.allocation.may_see_arms(user) (the
allocation permission and an unblinded role); the closed DSMB report is refused to anyone else.
"""

from __future__ import annotations

import re

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET

from participants.models import Participant
from trialedc.access import get_in_scope_or_403, require

from . import allocation, pdf, plots, selectors
from .exceptions import BlindedViewerRefused, UnknownSite


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
    """The PDFs the user may print; ?casebook=<study ID> opens that participant's casebook."""
    study_id = (request.GET.get("casebook") or "").strip()
    if study_id and re.fullmatch(r"[0-9A-Za-z-]{1,20}", study_id):
        return redirect("dashboards:casebook_pdf", study_id=study_id)
    return render(
        request,
        "dashboards/reports.html",
        {"may_see_arms": allocation.may_see_arms(request.user)},
    )


@require_GET
@require("dashboards.print_blank_crfs")
def blank_crfs_pdf(request):
    return _pdf(pdf.blank_crfs_pdf(user=request.user), "blank-annotated-crfs.pdf")


@require_GET
@require("dashboards.print_casebook", "outcomes.view_visit")
def casebook_pdf(request, study_id: str):
    participant = get_in_scope_or_403(
        Participant.objects.select_related("site"), request.user, study_id=study_id
    )
    return _pdf(
        pdf.casebook_pdf(participant=participant, user=request.user),
        f"casebook-{participant.study_id}.pdf",
    )


@require_GET
@require("dashboards.view_dsmb_open_report")
def dsmb_open_pdf(request):
    scope = _scope(request)
    return _pdf(pdf.dsmb_pdf(scope=scope, user=request.user), "dsmb-open-report.pdf")


@require_GET
@require("dashboards.view_dsmb_closed_report")
def dsmb_closed_pdf(request):
    try:
        scope = _scope(request, by_arm=True)
        content = pdf.dsmb_pdf(scope=scope, user=request.user, closed=True)
    except BlindedViewerRefused as error:
        raise PermissionDenied(str(error)) from error
    return _pdf(content, "dsmb-closed-report.pdf")
