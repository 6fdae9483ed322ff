"""Pages of the dashboards app (see tests/pages_trialedc.py for the format)."""

from .roles_short import SP, C, D, I, M, S

_DASHBOARD = {C, I, M, D, SP, S}

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
}
