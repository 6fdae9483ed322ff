"""Permissions of the dashboards app, per role (SPEC §1 and §9; docs/dashboards.md).

Site staff and monitors see their own sites; the data manager, the sponsor (blinded) and the
statistician (unblinded) see the trial as a whole. The per-participant parts of a dashboard
(completeness matrix, overdue visits) follow `outcomes.view_visit`, so the sponsor and the
statistician see aggregates only. The closed DSMB report is the statistician's alone, and its
view checks blinding a second time (dashboards.views).
"""

from kernel.roles import Role

_DASHBOARD = ("dashboards.view_dashboard", "dashboards.print_blank_crfs")

ROLE_PERMISSIONS = {
    Role.COORDINATOR: (*_DASHBOARD, "dashboards.print_casebook"),
    Role.INVESTIGATOR: (*_DASHBOARD, "dashboards.print_casebook"),
    Role.MONITOR: (*_DASHBOARD, "dashboards.print_casebook"),
    Role.DATA_MANAGER: (
        *_DASHBOARD,
        "dashboards.print_casebook",
        "dashboards.view_dsmb_open_report",
    ),
    Role.SPONSOR: (*_DASHBOARD, "dashboards.view_dsmb_open_report"),
    Role.STATISTICIAN: (
        *_DASHBOARD,
        "dashboards.view_dsmb_open_report",
        "dashboards.view_dsmb_closed_report",
    ),
}
