"""Pages of the dashboards app (see tests/pages_trialedc.py for the format)."""

from dashboards.models import PreparedReport, ReportKind, ReportStatus
from kernel.models import User

from .roles_short import SP, C, D, I, M, S

_DASHBOARD = {C, I, M, D, SP, S}
# Who may ask for, look at and download each prepared report (dashboards.models.KIND_PERMISSIONS).
_REPORT_ROLES = {
    ReportKind.BLANK_CRFS: _DASHBOARD,
    ReportKind.CASEBOOK: {C, I, M, D},
    ReportKind.DSMB_OPEN: {D, SP, S},
    ReportKind.DSMB_CLOSED: {S},
}


def prepare(world):
    """One ready report of each kind (its bytes a stand-in: the pages are what is tested here;
    tests/test_dashboards_prepared_reports.py builds real ones)."""
    requester, _ = User.objects.get_or_create(username="report-requester")
    world.reports = {}
    for kind in ReportKind:
        participant = world.participant if kind == ReportKind.CASEBOOK else None
        world.reports[kind], _ = PreparedReport.objects.get_or_create(
            kind=kind,
            participant=participant,
            defaults={
                "requested_by": requester,
                "status": ReportStatus.DONE,
                "unblinded": kind == ReportKind.DSMB_CLOSED,
                "sites": [world.participant.site.code] if participant else [],
                "filename": f"{kind}.pdf",
                "content": b"%PDF-1.4 stand-in",
            },
        )


PAGES = {
    "dashboard": ("dashboards:dashboard", lambda w: "/dashboards/", _DASHBOARD),
    "dashboard, one site": ("dashboards:dashboard", lambda w: "/dashboards/?site=01", _DASHBOARD),
    "CONSORT": ("dashboards:consort", lambda w: "/dashboards/consort/", _DASHBOARD),
    "reports": ("dashboards:reports", lambda w: "/dashboards/reports/", _DASHBOARD),
    "blank CRFs PDF": (
        "dashboards:blank_crfs_pdf",
        lambda w: "/dashboards/reports/blank-crfs.pdf",
        _DASHBOARD,
    ),
    "casebook PDF": (
        "dashboards:casebook_pdf",
        lambda w: f"/dashboards/reports/casebook/{w.participant.study_id}.pdf",
        {C, I, M, D},
    ),
    "DSMB open PDF": (
        "dashboards:dsmb_open_pdf",
        lambda w: "/dashboards/reports/dsmb-open.pdf",
        {D, SP, S},
    ),
    "DSMB closed PDF": (
        "dashboards:dsmb_closed_pdf",
        lambda w: "/dashboards/reports/dsmb-closed.pdf",
        {S},
    ),
    "prepare casebook, no study ID": (
        "dashboards:report_prepare",
        lambda w: "/dashboards/reports/prepare/casebook/",
        {C, I, M, D},
    ),
}
for _kind, _roles in _REPORT_ROLES.items():
    _query = "?study_id={}" if _kind == ReportKind.CASEBOOK else ""
    PAGES |= {
        f"prepare {_kind}": (
            "dashboards:report_prepare",
            lambda w, k=_kind, q=_query: (
                f"/dashboards/reports/prepare/{k}/" + q.format(w.participant.study_id)
            ),
            _roles,
        ),
        f"prepared {_kind}": (
            "dashboards:report_detail",
            lambda w, k=_kind: f"/dashboards/reports/{w.reports[k].pk}/",
            _roles,
        ),
        f"prepared {_kind}, status": (
            "dashboards:report_status",
            lambda w, k=_kind: f"/dashboards/reports/{w.reports[k].pk}/status/",
            _roles,
        ),
        f"prepared {_kind}, download": (
            "dashboards:report_download",
            lambda w, k=_kind: f"/dashboards/reports/{w.reports[k].pk}/download/",
            _roles,
        ),
    }
