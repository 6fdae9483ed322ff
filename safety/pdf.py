"""PDFs of the safety app (reportlab): the CIOMS I form of one SAE report, and the AE listing.

A `Report` base class with `get_story()` (the clinicedc edc-pdf-reports pattern). The CIOMS form
follows the boxes of the official CIOMS I form; while the trial is blinded the suspect drug reads
"Blinded investigational product" and no dose is printed. Box 1 (initials) and box 2 (date of
birth) are replaced by the study ID and the age: no identifying data leaves the EDC.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from io import BytesIO
from xml.sax.saxutils import escape

from django.utils import timezone
from django.utils.translation import gettext as _
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from trialedc.trial import TRIAL

from . import selectors
from .models import CRITERIA_LABELS, ActionTaken, AdverseEvent, Outcome, Relationship, SAEReport

BLINDED_PRODUCT = "Blinded investigational product"

_STYLES = getSampleStyleSheet()
_SMALL = ParagraphStyle("small", parent=_STYLES["Normal"], fontSize=8, leading=10)
_BOX_LABEL = ParagraphStyle("box", parent=_SMALL, textColor=colors.HexColor("#333333"))
_SECTION = ParagraphStyle(
    "section", parent=_STYLES["Heading4"], spaceBefore=6, spaceAfter=2, fontSize=10
)


def _p(text: object, style=_SMALL) -> Paragraph:
    return Paragraph(
        escape(str(text if text not in (None, "") else "—")).replace("\n", "<br/>"), style
    )


def _box(label: str, value: object) -> list:
    return [Paragraph(f"<b>{escape(label)}</b>", _BOX_LABEL), _p(value)]


def _grid(rows: list[list], widths: list[float]) -> Table:
    table = Table(rows, colWidths=widths)
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 3),
                ("RIGHTPADDING", (0, 0), (-1, -1), 3),
            ]
        )
    )
    return table


class Report:
    """A PDF document: a title, a story of flowables, a footer with the trial and page."""

    title = ""
    pagesize = A4

    def get_story(self) -> list:
        raise NotImplementedError

    def _footer(self, canvas, doc) -> None:
        canvas.saveState()
        canvas.setFont("Helvetica", 7)
        canvas.drawString(
            15 * mm,
            8 * mm,
            f"{TRIAL.registry_id} · {self.title} · "
            f"{_('printed')} {timezone.now():%Y-%m-%d %H:%M} UTC · {_('page')} {doc.page}",
        )
        canvas.restoreState()

    def render(self) -> bytes:
        buffer = BytesIO()
        doc = SimpleDocTemplate(
            buffer,
            pagesize=self.pagesize,
            leftMargin=15 * mm,
            rightMargin=15 * mm,
            topMargin=15 * mm,
            bottomMargin=15 * mm,
            title=self.title,
            author="Trial EDC",
        )
        doc.build(self.get_story(), onFirstPage=self._footer, onLaterPages=self._footer)
        return buffer.getvalue()


def _as_date(value) -> date | None:
    if not value:
        return None
    return date.fromisoformat(value[:10])


def _utc_text(iso: str | None) -> str | None:
    if not iso:
        return None
    moment = datetime.fromisoformat(iso).astimezone(UTC)
    return f"{moment:%Y-%m-%d %H:%M} UTC"


def _label(choices, value) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return str(value or "—")


class CiomsReport(Report):
    def __init__(self, report: SAEReport):
        self.report = report
        self.ae: AdverseEvent = report.adverse_event
        self.s = report.snapshot
        self.title = f"CIOMS I · {self.ae.participant.study_id} AE {self.ae.number}"

    def get_story(self) -> list:
        s, ae, report = self.s, self.ae, self.report
        width = A4[0] - 30 * mm
        onset = _as_date(s.get("onset_date"))
        age = selectors.participant_age(ae.participant, on=onset) if onset else None
        criteria = [c for c in CRITERIA_LABELS if s.get(f"criterion_{c}")]
        tick = "[X]"
        blank = "[  ]"
        checks = "\n".join(
            f"{tick if c in criteria else blank} {CRITERIA_LABELS[c]}" for c in CRITERIA_LABELS
        )
        which = _("Initial") if report.number == 0 else _("Follow-up %(n)s") % {"n": report.number}
        reaction = "\n".join(
            [
                f"{_('Verbatim term')}: {s.get('verbatim_term')}",
                f"{_('Coded term')}: {s.get('preferred_term') or _('to be coded')}"
                + (f" ({s.get('system_organ_class')})" if s.get("system_organ_class") else ""),
                f"{_('CTCAE v5 grade')}: {s.get('ctcae_grade')}",
                f"{_('Outcome')}: {_label(Outcome, s.get('outcome'))}"
                + (f", {_('end date')} {s.get('end_date')}" if s.get("end_date") else ""),
                f"{_('Date of death')}: {s.get('death_date')} — {s.get('death_cause') or ''}"
                if s.get("death_date")
                else "",
                f"{_('Relationship')}: {_label(Relationship, s.get('relationship'))}",
                f"{_('Expected per reference safety information')}: "
                + (_("yes") if s.get("expected") else _("no")),
                f"{_('SUSAR')}: " + (_("yes") if s.get("is_susar") else _("no")),
                "",
                f"{_('Description')}: {s.get('description') or '—'}",
                f"{_('Information in this report')}: {report.narrative or '—'}",
            ]
        )
        story = [
            Paragraph(
                f"<b>CIOMS FORM</b> — {_('SUSPECT ADVERSE REACTION REPORT')}", _STYLES["Title"]
            ),
            _p(f"{TRIAL.registry_id} · {TRIAL.public_title} · {_('Report type')}: {which}"),
            Spacer(1, 4),
            Paragraph(f"I. {_('REACTION INFORMATION')}", _SECTION),
            _grid(
                [
                    [
                        _box(
                            _("1. Patient (study ID; initials withheld)"), ae.participant.study_id
                        ),
                        _box(_("1a. Country"), TRIAL.reporting_country),
                        _box(_("2. Date of birth"), _("withheld")),
                        _box(
                            _("2a. Age"), _("%(y)s years") % {"y": age} if age is not None else None
                        ),
                        _box(_("3. Sex"), _("not recorded")),
                        _box(_("4-6. Reaction onset"), s.get("onset_date")),
                    ],
                ],
                [width * f for f in (0.22, 0.18, 0.14, 0.12, 0.12, 0.22)],
            ),
            _grid(
                [
                    [
                        _box(
                            _("7 + 13. Describe reaction(s), relevant tests and lab data"), reaction
                        ),
                        _box(_("8-12. Check all appropriate to adverse reaction"), checks),
                    ]
                ],
                [width * 0.62, width * 0.38],
            ),
            Paragraph(f"II. {_('SUSPECT DRUG(S) INFORMATION')}", _SECTION),
            _grid(
                [
                    [
                        _box(_("14. Suspect drug(s)"), BLINDED_PRODUCT),
                        _box(_("15. Daily dose(s)"), _("blinded")),
                        _box(_("16. Route(s) of administration"), _("intravenous")),
                    ],
                    [
                        _box(_("17. Indication(s) for use"), TRIAL.indication),
                        _box(_("18. Therapy dates"), _("single infusion on day 0")),
                        _box(_("19. Therapy duration"), _("single dose")),
                    ],
                    [
                        _box(
                            _("20. Did reaction abate after stopping drug? / action taken"),
                            _label(ActionTaken, s.get("action_taken")),
                        ),
                        _box(
                            _("21. Did reaction reappear after reintroduction?"),
                            _("not applicable"),
                        ),
                        _box(_("Blinding"), _("the allocation is not disclosed in this report")),
                    ],
                ],
                [width / 3] * 3,
            ),
            Paragraph(f"III. {_('CONCOMITANT DRUG(S) AND HISTORY')}", _SECTION),
            _grid(
                [
                    [
                        _box(
                            _("22. Concomitant drug(s) and dates of administration"),
                            s.get("concomitant_medications"),
                        )
                    ],
                    [_box(_("23. Other relevant history"), s.get("relevant_history"))],
                ],
                [width],
            ),
            Paragraph(f"IV. {_('MANUFACTURER INFORMATION')}", _SECTION),
            _grid(
                [
                    [
                        _box(
                            _("24a. Name and address of manufacturer (sponsor)"),
                            TRIAL.sponsor_name_address,
                        ),
                        _box(
                            _("24b. MFR control no."),
                            f"{TRIAL.registry_id}-{ae.participant.study_id}-AE{ae.number}",
                        ),
                    ],
                    [
                        _box(
                            _("24c. Date received by manufacturer (site aware)"),
                            _utc_text(s.get("aware_at")),
                        ),
                        _box(_("24d. Report source"), _("study")),
                    ],
                    [
                        _box(_("Date of this report"), f"{report.submitted_at:%Y-%m-%d %H:%M} UTC"),
                        _box(_("25a. Report type"), which),
                    ],
                ],
                [width * 0.6, width * 0.4],
            ),
        ]
        return story


def cioms_pdf(*, report: SAEReport) -> bytes:
    return CiomsReport(report).render()


class AeListingReport(Report):
    pagesize = landscape(A4)

    def __init__(self, adverse_events):
        self.adverse_events = list(adverse_events)
        self.title = _("Adverse event listing")

    def get_story(self) -> list:
        header = [
            _("Study ID"),
            _("AE"),
            _("Verbatim term"),
            _("Coded term"),
            _("Onset"),
            _("End"),
            _("Grade"),
            _("Serious"),
            _("Relationship"),
            _("Expected"),
            _("Outcome"),
            _("SUSAR"),
        ]
        rows = [[Paragraph(f"<b>{escape(str(h))}</b>", _SMALL) for h in header]]
        for ae in self.adverse_events:
            rows.append(
                [
                    _p(ae.participant.study_id),
                    _p(ae.number),
                    _p(ae.verbatim_term),
                    _p(ae.preferred_term or _("to be coded")),
                    _p(ae.onset_date),
                    _p(ae.end_date or _("ongoing")),
                    _p(ae.ctcae_grade),
                    _p(_("yes") if ae.serious else _("no")),
                    _p(ae.get_relationship_display()),
                    _p(_("yes") if ae.expected else _("no")),
                    _p(ae.get_outcome_display()),
                    _p(_("yes") if ae.is_susar else ""),
                ]
            )
        width = landscape(A4)[0] - 30 * mm
        fractions = (0.07, 0.04, 0.15, 0.15, 0.08, 0.08, 0.05, 0.06, 0.09, 0.07, 0.11, 0.05)
        table = Table(rows, colWidths=[width * f for f in fractions], repeatRows=1)
        table.setStyle(
            TableStyle(
                [
                    ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                    ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef2")),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ]
            )
        )
        generated = timezone.now()
        return [
            Paragraph(escape(str(self.title)), _STYLES["Title"]),
            _p(
                f"{TRIAL.registry_id} · {len(self.adverse_events)} {_('adverse events')} · "
                f"{_('generated')} {generated:%Y-%m-%d %H:%M} UTC · "
                f"{_('blinded: no treatment allocation is shown')}"
            ),
            Spacer(1, 6),
            table,
        ]


def ae_listing_pdf(*, adverse_events) -> bytes:
    return AeListingReport(adverse_events).render()
