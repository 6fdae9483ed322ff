"""The pharmacist's randomization list as a PDF, on the product's one PDF frame
(`kernel.pdf.Report`). Unblinded: pharmacy pages only."""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext as _
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.units import mm
from reportlab.platypus import Spacer

from kernel.pdf import NORMAL, TITLE, Report, grid, para
from kernel.trial import TRIAL


class PharmacyListReport(Report):
    pagesize = landscape(A4)

    def __init__(self, *, rows, user):
        super().__init__(user=user)
        self.rows = list(rows)
        self.title = _("Pharmacy randomization list")

    def get_story(self) -> list:
        header = [
            _("Study ID"),
            _("Number"),
            _("Envelope"),
            _("Day 0"),
            _("Arm"),
            _("Weight (kg)"),
            _("Product (ml)"),
            _("Saline (ml)"),
            _("Lot"),
            _("Prepared"),
            _("Handed over"),
        ]
        data = [header]
        for r in self.rows:
            prep = getattr(r, "preparation", None)
            data.append(
                [
                    r.participant.study_id,
                    str(r.slot.number),
                    r.slot.envelope_code,
                    r.day0.isoformat(),
                    TRIAL.arm(r.slot.arm).label,
                    str(prep.weight_kg) if prep else "",
                    str(prep.product_volume_ml) if prep else "",
                    str(prep.saline_volume_ml) if prep else "",
                    prep.lot_number if prep else "",
                    timezone.localtime(prep.prepared_at).strftime("%Y-%m-%d %H:%M") if prep else "",
                    f"{timezone.localtime(prep.handed_over_at):%Y-%m-%d %H:%M} · "
                    f"{prep.handed_over_to}"
                    if prep and prep.handed_over_at
                    else "",
                ]
            )
        fractions = (0.07, 0.06, 0.07, 0.08, 0.1, 0.07, 0.08, 0.07, 0.1, 0.1, 0.2)
        story = [
            para(f"{TRIAL.acronym} · {TRIAL.registry_id}", TITLE),
            para(
                _("UNBLINDED — pharmacy only. Printed %(when)s by %(user)s.")
                % {"when": timezone.localtime().strftime("%Y-%m-%d %H:%M %Z"), "user": self.user},
                NORMAL,
            ),
            Spacer(1, 4 * mm),
            grid(data, [self.width * f for f in fractions]),
        ]
        if not self.rows:
            story.append(para(_("No participant is randomized at your sites yet.")))
        return story


def pharmacy_list(*, rows, user) -> bytes:
    return PharmacyListReport(rows=rows, user=user).render()
