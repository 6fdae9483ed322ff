from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DashboardsConfig(AppConfig):
    name = "dashboards"
    verbose_name = _("Dashboards and reports")

    def ready(self) -> None:
        from kernel import home

        home.nav(
            label=_("Dashboard"),
            url_name="dashboards:dashboard",
            permission="dashboards.view_dashboard",
            order=15,
            group="reports",
        )
        home.card(
            title=_("Trial dashboard"),
            text=_(
                "Enrollment against target, the CONSORT flow, visit completeness, overdue "
                "visits, adverse events and pooled trends."
            ),
            url_name="dashboards:dashboard",
            permission="dashboards.view_dashboard",
            action=_("Open the dashboard"),
            order=20,
        )
        home.card(
            title=_("Reports (PDF)"),
            text=_("Blank annotated CRFs, participant casebooks and the DSMB safety report."),
            url_name="dashboards:reports",
            permission="dashboards.print_blank_crfs",
            action=_("Open the reports"),
            order=95,
        )
