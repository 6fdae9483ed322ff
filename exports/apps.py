from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ExportsConfig(AppConfig):
    name = "exports"
    verbose_name = _("Exports")

    def ready(self) -> None:
        from kernel import home

        home.nav(
            label=_("Exports"),
            url_name="exports:index",
            permission="exports.view_exportrun",
            order=80,
            group="reports",
        )
        home.card(
            title=_("De-identified IPD export"),
            text=_(
                "Export the individual participant data as CSV files, a data dictionary and "
                "CDISC ODM 1.3.2, without identifiers."
            ),
            url_name="exports:index",
            permission="exports.view_exportrun",
            action=_("Open the exports"),
            order=80,
        )
