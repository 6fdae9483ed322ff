"""The pharmacist's randomization list as a PDF (reportlab). Unblinded: pharmacy pages only."""

from __future__ import annotations

import io

from django.utils import timezone
from django.utils.translation import gettext as _
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from trialedc.trial import TRIAL


def pharmacy_list(*, rows, user) -> bytes:
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=landscape(A4),
        leftMargin=12 * mm,
        rightMargin=12 * mm,
        topMargin=12 * mm,
        bottomMargin=12 * mm,
        title=_("Pharmacy randomization list"),
        author=str(user),
    )
    styles = getSampleStyleSheet()
    story = [
        Paragraph(f"{TRIAL.acronym} · {TRIAL.registry_id}", styles["Title"]),
        Paragraph(
            _("UNBLINDED — pharmacy only. Printed %(when)s by %(user)s.")
            % {"when": timezone.localtime().strftime("%Y-%m-%d %H:%M %Z"), "user": user},
            styles["Normal"],
        ),
        Spacer(1, 4 * mm),
    ]
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
    for r in rows:
        prep = getattr(r, "preparation", None)
        data.append(
            [
                r.participant.study_id,
                r.slot.number,
                r.slot.envelope_code,
                r.day0.isoformat(),
                TRIAL.arm(r.slot.arm).label,
                str(prep.weight_kg) if prep else "",
                str(prep.product_volume_ml) if prep else "",
                str(prep.saline_volume_ml) if prep else "",
                prep.lot_number if prep else "",
                timezone.localtime(prep.prepared_at).strftime("%Y-%m-%d %H:%M") if prep else "",
                f"{timezone.localtime(prep.handed_over_at):%Y-%m-%d %H:%M} · {prep.handed_over_to}"
                if prep and prep.handed_over_at
                else "",
            ]
        )
    if len(data) == 1:
        data.append([_("No participant is randomized at your sites yet.")] + [""] * 10)
    table = Table(data, repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#0b4f6c")),
                ("TEXTCOLOR", (0, 0), (-1, 0), colors.white),
                ("FONTSIZE", (0, 0), (-1, -1), 8),
                ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    story.append(table)
    doc.build(story)
    return buffer.getvalue()
