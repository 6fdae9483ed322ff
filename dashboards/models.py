"""The dashboards app stores nothing: this unmanaged model only carries its permissions.

Every number on a dashboard is computed from the other apps' tables when asked (selectors.py),
so there is no second copy of trial data to drift from the source.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Dashboard(models.Model):
    class Meta:
        managed = False
        default_permissions = ()
        verbose_name = _("dashboard")
        permissions = [
            ("view_dashboard", _("Can read the investigator dashboard and the CONSORT flow")),
            ("print_blank_crfs", _("Can print the blank annotated CRFs")),
            ("print_casebook", _("Can print a participant casebook")),
            ("view_dsmb_open_report", _("Can print the DSMB report, open part (blinded)")),
            (
                "view_dsmb_closed_report",
                _("Can print the DSMB report, closed part (by arm; unblinded only)"),
            ),
        ]

    def __str__(self) -> str:
        return str(self._meta.verbose_name)
