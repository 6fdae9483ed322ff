"""PDFs of the safety app: the CIOMS I form of one SAE report, and the AE listing, on the
product's one PDF frame (`kernel.pdf.Report`: header with the trial, title, page x of y).

The CIOMS form follows the boxes of the official CIOMS I form; while the trial is blinded the
suspect drug reads "Blinded investigational product" and no dose is printed. Box 1 (initials)
and box 2 (date of birth) are replaced by the study ID and the age: no identifying data leaves
the EDC. Both build without a signed-in user (a task may attach a CIOMS to an e-mail).
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from django.utils import translation
from django.utils.translation import gettext as _
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.platypus import Spacer

from kernel.pdf import SMALL, SUBHEADING, TITLE, Report, grid, para
from kernel.trial import TRIAL

from . import selectors
from .models import (
    CRITERIA_LABELS,
    ActionTaken,
    AdverseEvent,
    Outcome,
    Relationship,
    SAEReport,
    SusarCase,
)

BLINDED_PRODUCT = "Blinded investigational product"

_BOX_LABEL = ParagraphStyle("cioms-box", parent=SMALL, textColor=colors.HexColor("#333333"))
# The CIOMS I form's boxes: black rules, no header row.
_BOX_RULE = (0.5, colors.black)


def _box(label: str, value: object) -> list:
    return [para(label, _BOX_LABEL, bold=True), para(value)]


def _boxes(rows: list[list], widths: list[float]):
    return grid(rows, widths, header=False, rule=_BOX_RULE)


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
    def __init__(self, report: SAEReport, *, user=None, case: SusarCase | None = None):
        super().__init__(user=user)
        self.report = report
        self.ae: AdverseEvent = report.adverse_event
        self.s = report.snapshot
        # The expedited form of a SUSAR the safety physician unblinded in the product arm: the
        # suspect drug is named (ICH E2A III.C). Only the safety physician's page passes it.
        self.case = case if case is not None and case.reportable else None
        self.title = f"CIOMS I · {self.ae.participant.study_id} AE {self.ae.number}"
        if self.case is not None:
            self.title += f" · {_('expedited, unblinded')}"

    def _suspect_drug(self) -> tuple[str, str, str]:
        """Boxes 14, 15 and the blinding box."""
        if self.case is None:
            return (
                BLINDED_PRODUCT,
                _("blinded"),
                _("the allocation is not disclosed in this report"),
            )
        product = TRIAL.arms[0]
        when = f"{self.case.assessed_at:%Y-%m-%d %H:%M} UTC"
        return (
            product.label,
            product.description,
            _("unblinded for this case only by the sponsor's safety physician on %(when)s")
            % {"when": when},
        )

    def get_story(self) -> list:
        s, ae, report = self.s, self.ae, self.report
        width = self.width
        onset = _as_date(s.get("onset_date"))
        age = selectors.participant_age(ae.participant, on=onset) if onset else None
        criteria = [c for c in CRITERIA_LABELS if s.get(f"criterion_{c}")]
        tick = "[X]"
        blank = "[  ]"
        checks = "\n".join(
            f"{tick if c in criteria else blank} {CRITERIA_LABELS[c]}" for c in CRITERIA_LABELS
        )
        which = _("Initial") if report.number == 0 else _("Follow-up %(n)s") % {"n": report.number}
        drug, dose, blinding = self._suspect_drug()
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
            para(f"CIOMS FORM — {_('SUSPECT ADVERSE REACTION REPORT')}", TITLE),
            para(f"{TRIAL.registry_id} · {TRIAL.public_title} · {_('Report type')}: {which}"),
            Spacer(1, 4),
            para(f"I. {_('REACTION INFORMATION')}", SUBHEADING),
            _boxes(
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
            _boxes(
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
            para(f"II. {_('SUSPECT DRUG(S) INFORMATION')}", SUBHEADING),
            _boxes(
                [
                    [
                        _box(_("14. Suspect drug(s)"), drug),
                        _box(_("15. Daily dose(s)"), dose),
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
                        _box(_("Blinding"), blinding),
                    ],
                ],
                [width / 3] * 3,
            ),
            para(f"III. {_('CONCOMITANT DRUG(S) AND HISTORY')}", SUBHEADING),
            _boxes(
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
            para(f"IV. {_('MANUFACTURER INFORMATION')}", SUBHEADING),
            _boxes(
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


def cioms_pdf(*, report: SAEReport, user=None, case: SusarCase | None = None) -> bytes:
    # CIOMS I is an international form: English whatever the reader's language (issue 21).
    with translation.override("en"):
        return CiomsReport(report, user=user, case=case).render()


class AeListingReport(Report):
    pagesize = landscape(A4)

    def __init__(self, adverse_events, *, user=None):
        super().__init__(user=user)
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
        rows = [[para(h, bold=True) for h in header]]
        for ae in self.adverse_events:
            rows.append(
                [
                    para(ae.participant.study_id),
                    para(ae.number),
                    para(ae.verbatim_term),
                    para(ae.preferred_term or _("to be coded")),
                    para(ae.onset_date),
                    para(ae.end_date or _("ongoing")),
                    para(ae.ctcae_grade),
                    para(_("yes") if ae.serious else _("no")),
                    para(ae.get_relationship_display()),
                    para(_("yes") if ae.expected else _("no")),
                    para(ae.get_outcome_display()),
                    para(_("yes") if ae.is_susar else ""),
                ]
            )
        fractions = (0.07, 0.04, 0.15, 0.15, 0.08, 0.08, 0.05, 0.06, 0.09, 0.07, 0.11, 0.05)
        return [
            para(self.title, TITLE),
            para(
                f"{TRIAL.registry_id} · {len(self.adverse_events)} {_('adverse events')} · "
                f"{_('generated')} {self.generated_at:%Y-%m-%d %H:%M} UTC · "
                f"{_('blinded: no treatment allocation is shown')}"
            ),
            Spacer(1, 6),
            grid(rows, [self.width * f for f in fractions]),
        ]


def ae_listing_pdf(*, adverse_events, user=None) -> bytes:
    return AeListingReport(adverse_events, user=user).render()
