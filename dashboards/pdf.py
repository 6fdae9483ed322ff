"""The dashboards' PDFs (reportlab, on the shared frame kernel.pdf.Report).

- Blank annotated CRFs: every CRF in outcomes.models.CRF_MODELS with each field's variable
  name, type, unit, range and codes beside it (the CDASH habit), read from the model
  definitions, so a new CRF model appears here without code.
- Participant casebook: every visit and CRF of one participant, with an audit summary per
  record (created by whom and when, number of changes, last change and its reason).
- DSMB safety report: the open part (pooled, blinded) and the closed part (by arm). The closed
  part refuses a blinded user before anything is read (BlindedViewerRefused).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC
from decimal import Decimal

from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.units import mm
from reportlab.platypus import PageBreak, Paragraph, Spacer

from datamanagement.selectors import signatures_of_casebook
from kernel.pdf import HEADING, NORMAL, SMALL, SUBHEADING, TITLE, Report, grid, para
from kernel.roles import is_blinded
from kernel.trial import TRIAL
from outcomes.models import CRF_MODELS, ConcomitantMedication, Crf, IcuStay, StudyEvent, Visit
from participants.models import ScreeningVitalSigns
from randomization import allocation
from safety.models import AdverseEvent

from . import plots, selectors
from .exceptions import BlindedViewerRefused

# What every CRF has for bookkeeping: printed once in the CRF's header, not as fields.
_BOOKKEEPING = {"id", "visit", "entered_by", "entered_at", "updated_at"}
_WIDTH = A4[0] - 30 * mm


# --- blank annotated CRFs -----------------------------------------------------------------


def _field_type(field: models.Field) -> str:
    if isinstance(field, models.BooleanField):
        return _("yes/no")
    if isinstance(field, models.DateTimeField):
        return _("date and time (YYYY-MM-DD hh:mm)")
    if isinstance(field, models.DateField):
        return _("date (YYYY-MM-DD)")
    if isinstance(field, models.DecimalField):
        whole = field.max_digits - field.decimal_places
        return _("number %(fmt)s") % {"fmt": "#" * whole + "." + "#" * field.decimal_places}
    if isinstance(field, models.IntegerField):
        return _("whole number")
    if isinstance(field, models.TextField):
        return _("text")
    if isinstance(field, models.CharField):
        return _("text, up to %(n)s characters") % {"n": field.max_length}
    return field.get_internal_type()


def _codes(field: models.Field) -> str:
    """The codes a field stores, each with its label, and its unit and range if limited."""
    parts = []
    if field.choices:
        parts += [f"{value} = {label}" for value, label in field.flatchoices if value != ""]
    elif isinstance(field, models.BooleanField):
        parts += ["true = " + _("yes"), "false = " + _("no")]
    limit = TRIAL.hard_limits.get(field.name)
    if limit is not None:
        parts.append(
            _("unit %(unit)s; allowed %(min)s to %(max)s")
            % {"unit": limit.unit, "min": limit.minimum, "max": limit.maximum}
        )
    if not field.editable:
        parts.append(_("computed by the EDC, not entered"))
    elif field.name in getattr(field.model, "required_for_complete", ()):
        parts.append(_("required to complete"))
    return "\n".join(parts)


def crf_fields(model: type[Crf]) -> list[models.Field]:
    """The fields of a CRF model as the form shows them, bookkeeping left out."""
    return [
        f for f in model._meta.concrete_fields if f.name not in _BOOKKEEPING and not f.auto_created
    ]


class BlankCrfsReport(Report):
    def __init__(self, *, user):
        super().__init__(user=user)
        self.title = _("Blank annotated CRFs")

    def get_story(self) -> list:
        story = [
            Paragraph(self.title, TITLE),
            para(
                _(
                    "Each field shows its variable (table.column in the database and in "
                    "exports), its type and the codes it stores. Derived from the CRF "
                    "definitions of this EDC version."
                ),
                NORMAL,
            ),
        ]
        for code, model in CRF_MODELS.items():
            visits = ", ".join(v.code for v in TRIAL.visits_with_crf(code))
            story += [
                Paragraph(f"{TRIAL.crfs[code]} [{code}]", HEADING),
                para(
                    _("Table %(table)s · collected at %(visits)s")
                    % {"table": model._meta.db_table, "visits": visits or "—"}
                ),
                Spacer(1, 3),
            ]
            rows = [[_("Question"), _("Answer"), _("Variable"), _("Type"), _("Codes, unit, range")]]
            for field in crf_fields(model):
                rows.append(
                    [
                        str(field.verbose_name).capitalize(),
                        "[                    ]" if field.editable else _("(computed)"),
                        f"{model._meta.model_name}.{field.name}",
                        _field_type(field),
                        _codes(field),
                    ]
                )
            story.append(grid(rows, [_WIDTH * f for f in (0.25, 0.16, 0.22, 0.15, 0.22)]))
        return story


def blank_crfs_pdf(*, user) -> bytes:
    return BlankCrfsReport(user=user).render()


# --- casebook -----------------------------------------------------------------------------


def _value(crf: Crf, field: models.Field) -> str:
    value = getattr(crf, field.name)
    if value in (None, ""):
        return "—"
    if field.choices:
        return f"{value} ({getattr(crf, f'get_{field.name}_display')()})"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, Decimal):
        return f"{value.normalize():f}"
    return str(value)


def _audit_history(model, ids: list[int]) -> dict[int, list[dict]]:
    """Per record of `model`: its audit-trail versions, oldest first."""
    history = defaultdict(list)
    for row in (
        model.history.filter(id__in=ids)
        .order_by("id", "history_date")
        .values("id", "history_date", "history_type", "history_change_reason")
        .annotate(username=models.F("history_user__username"))
    ):
        history[row["id"]].append(row)
    return history


def _audit_summary(rows: list[dict]) -> str:
    """One record: created by whom and when, versions, last change with its reason."""
    first, last = rows[0], rows[-1]
    text = _("created %(when)s by %(who)s") % {
        "when": f"{first['history_date']:%Y-%m-%d %H:%M} UTC",
        "who": first["username"] or "—",
    }
    if len(rows) > 1:
        changes = len(rows) - 1
        text += "; " + ngettext(
            "%(n)s change, last %(when)s by %(who)s",
            "%(n)s changes, last %(when)s by %(who)s",
            changes,
        ) % {
            "n": changes,
            "when": f"{last['history_date']:%Y-%m-%d %H:%M} UTC",
            "who": last["username"] or "—",
        }
        if last["history_change_reason"]:
            text += " " + _("(reason: %(r)s)") % {"r": last["history_change_reason"]}
    return text


def _audit_totals(label: str, history: dict[int, list[dict]]) -> list[str]:
    """One row of the casebook's audit summary: a record type, its records and changes."""
    versions = [row for rows in history.values() for row in rows]
    changes = [row for rows in history.values() for row in rows[1:]]
    last = max(versions, key=lambda row: row["history_date"], default=None)
    return [
        label,
        str(len(history)),
        str(len(changes)),
        (
            f"{last['history_date']:%Y-%m-%d %H:%M} UTC · {last['username'] or '—'}"
            + (f" · {last['history_change_reason']}" if last["history_change_reason"] else "")
            if last
            else "—"
        ),
    ]


# -- signatures (the data-management app's, printed with the record: 21 CFR 11.50(b)) --------


def _casebook_signatures(participant) -> list:
    """The participant's signatures with their validity."""
    return signatures_of_casebook(participant)


def _utc(moment) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _signed_what(signature) -> str:
    if signature.level == "casebook":
        return _("Casebook")
    if signature.level == "visit":
        return _("Visit %(code)s") % {"code": signature.visit.code}
    return _("CRF %(crf)s [%(code)s], visit %(visit)s") % {
        "crf": TRIAL.crfs.get(signature.crf_code, signature.crf_code),
        "code": signature.crf_code,
        "visit": signature.visit.code,
    }


def _signature_status(shown) -> str:
    signature = shown.signature
    if shown.valid:
        return _("valid")
    if signature.is_void:
        return _("VOID since %(at)s: %(reason)s. A new signature is needed.") % {
            "at": _utc(signature.voided_at),
            "reason": signature.void_reason or "—",
        }
    return _("VOID: the data changed after signing. A new signature is needed.")


def _signature_line(shown) -> str:
    """The manifestation as printed under the record: name, date and time (UTC), meaning."""
    signature = shown.signature
    return _(
        "Electronically signed by %(name)s on %(at)s (UTC); meaning: %(meaning)s — %(status)s"
    ) % {
        "name": signature.signer_name,
        "at": _utc(signature.signed_at),
        "meaning": signature.meaning_text,
        "status": _signature_status(shown),
    }


def _signatures_table(signatures: list) -> list:
    if not signatures:
        return [para(_("No electronic signature has been given on this casebook."), NORMAL)]
    rows = [[_("Signed"), _("Signer"), _("Date and time (UTC)"), _("Meaning"), _("Status")]]
    rows += [
        [
            _signed_what(s.signature),
            s.signature.signer_name,
            _utc(s.signature.signed_at),
            s.signature.meaning_text,
            _signature_status(s),
        ]
        for s in signatures
    ]
    return [grid(rows, [_WIDTH * f for f in (0.2, 0.16, 0.19, 0.25, 0.2)])]


class CasebookReport(Report):
    def __init__(self, *, participant, user):
        super().__init__(user=user)
        self.participant = participant
        self.title = _("Casebook %(study_id)s") % {"study_id": participant.study_id}

    def get_story(self) -> list:
        p = self.participant
        visits = list(Visit.objects.filter(participant=p).order_by("day"))
        crfs: dict[tuple[int, str], Crf] = {}
        audit: dict[str, dict[int, str]] = {}
        audit_rows = []
        for code, model in CRF_MODELS.items():
            records = list(model.objects.filter(visit__participant=p))
            for record in records:
                crfs[(record.visit_id, code)] = record
            history = _audit_history(model, [r.pk for r in records])
            audit[code] = {pk: _audit_summary(rows) for pk, rows in history.items()}
            if history:
                audit_rows.append(_audit_totals(f"{TRIAL.crfs[code]} [{code}]", history))
        events = list(StudyEvent.objects.filter(participant=p).order_by("occurred_on"))
        stays = list(IcuStay.objects.filter(participant=p).order_by("admitted_on"))
        medications = list(
            ConcomitantMedication.objects.filter(participant=p).order_by("started_on", "pk")
        )
        screening_vitals = ScreeningVitalSigns.objects.filter(screening_id=p.screening_id).first()
        for model, label, records in (
            (
                ScreeningVitalSigns,
                _("Vital signs at screening"),
                [screening_vitals] if screening_vitals else [],
            ),
            (Visit, _("Visits"), visits),
            (IcuStay, _("ICU stays"), stays),
            (StudyEvent, _("Study events"), events),
            (ConcomitantMedication, _("Concomitant medications"), medications),
        ):
            history = _audit_history(model, [r.pk for r in records])
            if history:
                audit_rows.append(_audit_totals(str(label), history))
        signatures = _casebook_signatures(p)
        story = [
            Paragraph(self.title, TITLE),
            grid(
                [
                    [_("Study ID"), _("Site"), _("Status"), _("Enrolled")],
                    [
                        p.study_id,
                        f"{p.site.code} · {p.site.name}",
                        p.get_status_display(),
                        f"{p.enrolled_at:%Y-%m-%d}",
                    ],
                ],
                [_WIDTH / 4] * 4,
            ),
            para(_("No identifying data and no treatment allocation are printed."), NORMAL),
            Paragraph(_("Electronic signatures"), HEADING),
        ]
        story += _signatures_table(signatures)
        story += [Paragraph(_("Audit trail summary"), HEADING), *_audit_table(audit_rows)]
        signed_here = defaultdict(list)  # (visit pk, CRF code or "") -> its signatures
        for shown in signatures or ():
            if shown.signature.level != "casebook":
                signed_here[(shown.signature.visit_id, shown.signature.crf_code)].append(shown)
        story += _screening_vitals_story(screening_vitals)
        if not visits:
            story.append(para(_("No visit scheduled (not randomized)."), NORMAL))
        for visit in visits:
            story.append(
                Paragraph(
                    _("Visit %(code)s · day %(day)s · target %(target)s · %(state)s")
                    % {
                        "code": visit.code,
                        "day": visit.day,
                        "target": visit.target_date.isoformat(),
                        "state": visit.get_state_display(),
                    },
                    HEADING,
                )
            )
            story += [para(_signature_line(s), NORMAL) for s in signed_here[(visit.pk, "")]]
            if visit.missed_reason:
                story.append(para(_("Missed: %(r)s") % {"r": visit.missed_reason}, NORMAL))
            for code in visit.crf_codes:
                crf = crfs.get((visit.pk, code))
                story.append(Paragraph(f"{TRIAL.crfs[code]} [{code}]", SUBHEADING))
                if crf is None:
                    story.append(para(_("Not started."), SMALL))
                    continue
                story.append(
                    para(
                        f"{crf.get_status_display()} · "
                        + (audit[code].get(crf.pk) or "")
                        + (
                            " · " + _("warnings confirmed: %(w)s") % {"w": crf.warnings_confirmed}
                            if crf.warnings_confirmed
                            else ""
                        ),
                        SMALL,
                    )
                )
                story += [para(_signature_line(s), SMALL) for s in signed_here[(visit.pk, code)]]
                rows = [[_("Field"), _("Variable"), _("Value")]]
                rows += [
                    [
                        str(f.verbose_name).capitalize(),
                        f"{code}.{f.name}",
                        _value(crf, f),
                    ]
                    for f in crf_fields(type(crf))
                    if f.name != "status"
                ]
                story.append(grid(rows, [_WIDTH * 0.4, _WIDTH * 0.25, _WIDTH * 0.35]))
        aes = list(AdverseEvent.objects.filter(participant=p).order_by("number"))
        story.append(Paragraph(_("Events, ICU stays and adverse events"), HEADING))
        rows = [[_("Record"), _("Date"), _("Details")]]
        rows += [[e.get_kind_display(), e.occurred_on.isoformat(), e.details] for e in events]
        rows += [
            [
                _("ICU stay"),
                s.admitted_on.isoformat(),
                _("discharged %(d)s") % {"d": s.discharged_on or _("not yet")},
            ]
            for s in stays
        ]
        rows += [
            [
                _("AE %(n)s") % {"n": ae.number},
                ae.onset_date.isoformat(),
                f"{ae.preferred_term or ae.verbatim_term} · {_('grade')} {ae.ctcae_grade}"
                + (f" · {_('serious')}" if ae.serious else ""),
            ]
            for ae in aes
        ]
        story.append(grid(rows, [_WIDTH * 0.25, _WIDTH * 0.2, _WIDTH * 0.55]))
        story.append(Paragraph(_("Concomitant medications"), HEADING))
        rows = [[_("Drug"), _("Indication"), _("Dose, route, frequency"), _("Start – stop")]]
        rows += [
            [
                m.drug + (f" ({m.get_category_display()})" if m.category else ""),
                m.indication,
                " · ".join(
                    x
                    for x in (
                        f"{m.dose.normalize()} {m.dose_unit}" if m.dose else "",
                        m.get_route_display(),
                        m.get_frequency_display(),
                    )
                    if x
                ),
                f"{m.started_on.isoformat()} – "
                + (
                    str(_("ongoing"))
                    if m.ongoing
                    else m.stopped_on.isoformat()
                    if m.stopped_on
                    else ""
                ),
            ]
            for m in medications
        ]
        if not medications:
            rows.append([_("None recorded."), "", "", ""])
        story.append(grid(rows, [_WIDTH * 0.3, _WIDTH * 0.25, _WIDTH * 0.25, _WIDTH * 0.2]))
        if signatures:
            story.append(Paragraph(_("Casebook signatures"), HEADING))
            story += [
                para(_signature_line(s), NORMAL)
                for s in signatures
                if s.signature.level == "casebook"
            ] or [para(_("The casebook as a whole is not signed."), NORMAL)]
        return story


def _screening_vitals_story(record: ScreeningVitalSigns | None) -> list:
    """The vital signs at screening (issue 19), before Day 0's: field by field as the CRFs."""
    story: list = [Paragraph(_("Vital signs at screening"), HEADING)]
    if record is None:
        return [*story, para(_("Not recorded."), SMALL)]
    if record.warnings_confirmed:
        story.append(
            para(
                _("warnings confirmed: %(w)s") % {"w": record.warnings_confirmed}
                + f" — {record.warning_reason}",
                SMALL,
            )
        )
    rows = [[_("Field"), _("Variable"), _("Value")]]
    rows += [
        [
            str(f.verbose_name).capitalize(),
            f"screening.{f.name}",
            _value(record, f),  # type: ignore[arg-type]
        ]
        for f in (ScreeningVitalSigns._meta.get_field(n) for n in ScreeningVitalSigns.VALUE_FIELDS)
    ]
    return [*story, grid(rows, [_WIDTH * 0.4, _WIDTH * 0.25, _WIDTH * 0.35])]


def _audit_table(rows: list[list[str]]) -> list:
    if not rows:
        return [para(_("No record entered yet."), NORMAL)]
    header = [_("Record type"), _("Records"), _("Changes after first save"), _("Last change")]
    note = para(
        _(
            "Every change after the first save carries a reason (21 CFR 11.10(e)); the full "
            "trail of each record is on its audit page in the EDC."
        ),
        SMALL,
    )
    return [grid([header, *rows], [_WIDTH * f for f in (0.35, 0.1, 0.17, 0.38)]), note]


def casebook_pdf(*, participant, user) -> bytes:
    return CasebookReport(participant=participant, user=user).render()


# --- DSMB ---------------------------------------------------------------------------------


def _consort_table(consort) -> list:
    lines = plots.consort_lines(consort)
    story = []
    for key in ("top", "excluded", "enrolled", "not_randomized", "randomized"):
        story.append(para("\n".join(lines[key]), NORMAL))
        story.append(Spacer(1, 2))
    for stage, boxes in lines["stages"]:
        story.append(Paragraph(stage, SUBHEADING))
        story.append(
            grid(
                [["\n".join(box) for box in boxes]],
                [_WIDTH / len(boxes)] * len(boxes),
                header=False,
            )
        )
    return story


def _ae_grid(rows: list[dict]) -> list:
    table = [[_("CTCAE grade"), _("Not serious"), _("Serious"), _("All")]]
    table += [
        [
            str(r["grade"]),
            str(r["non_serious"]),
            str(r["serious"]),
            str(r["non_serious"] + r["serious"]),
        ]
        for r in rows
    ]
    return [grid(table, [_WIDTH / 4] * 4)]


def _soc_grid(rows: list[dict], width: float) -> list:
    if not rows:
        return [para(_("No adverse event."), NORMAL)]
    table = [
        [
            _("System organ class"),
            *(_("Grade %(g)s") % {"g": g} for g in range(1, 6)),
            _("Events"),
            _("Participants"),
        ]
    ]
    table += [
        [
            r["soc"] or _("not yet coded"),
            *(str(n) for n in r["grades"]),
            str(r["events"]),
            str(r["participants"]),
        ]
        for r in rows
    ]
    return [grid(table, [width * 0.37] + [width * 0.07] * 5 + [width * 0.14] * 2)]


def _lab_shift_grid(tables: list[dict], width: float) -> list:
    """Per CTCAE-graded analyte, the baseline grades seen (rows) × the worst grade after
    baseline (columns): participants."""
    header = [
        _("Analyte (CTCAE v5.0 term)"),
        _("Baseline grade"),
        *(_("Worst %(g)s") % {"g": g} for g in selectors.LAB_GRADES),
        _("n"),
        _("Worse than baseline"),
    ]
    rows = []
    for table in tables:
        analyte = table["analyte"]
        label = f"{_(analyte.label)} ({analyte.ctcae_term})"
        if not table["n"]:
            rows.append([label, "—", *("" for _ in selectors.LAB_GRADES), "0", ""])
            continue
        for baseline, counts in enumerate(table["shifts"]):
            if not any(counts):
                continue
            rows.append(
                [
                    label,
                    str(baseline),
                    *(str(n) for n in counts),
                    str(sum(counts)),
                    str(sum(counts[baseline + 1 :])),
                ]
            )
    fractions = [0.3, 0.1] + [0.07] * len(selectors.LAB_GRADES) + [0.08, 0.17]
    return [grid([header, *rows], [width * f for f in fractions])]


def _signed(value: Decimal | None) -> str:
    """A change with its sign ("+20", "−0.5", "0"); "—" for none."""
    if value is None:
        return "—"
    text = format(value.normalize(), "f")
    if value > 0:
        return f"+{text}"
    return text.replace("-", "−")


def _infusion_vitals_grid(changes: dict, width: float) -> list:
    """Per time point after the infusion's start and vital sign: the change from before the
    infusion (n, median, min–max) and the warnings of an infusion reaction."""
    header = [
        _("After the start"),
        _("Vital sign"),
        _("n"),
        _("Median change"),
        _("Min – max"),
        _("Infusion-reaction warnings"),
    ]
    rows = []
    for row in changes["rows"]:
        minutes = row["minutes"]
        when = (
            _("%(h)s h") % {"h": minutes // 60}
            if minutes % 60 == 0
            else _("%(m)s min") % {"m": minutes}
        )
        rows.append(
            [
                when,
                f"{_(row['label'])} ({row['unit']})",
                str(row["n"]),
                _signed(row["median"]),
                f"{_signed(row['minimum'])} – {_signed(row['maximum'])}" if row["n"] else "—",
                "—" if row["warnings"] is None else str(row["warnings"]),
            ]
        )
    fractions = [0.14, 0.3, 0.08, 0.14, 0.16, 0.18]
    return [
        grid([header, *rows], [width * f for f in fractions]),
        para(
            _(
                "%(w)s of %(p)s participants measured had at least one change that warned of "
                "an infusion reaction."
            )
            % {"w": changes["participants_warned"], "p": changes["participants"]},
            NORMAL,
        ),
    ]


def _trend_table(trends: dict) -> list:
    rows = [[_("Measure"), _("Study day"), _("Median [IQR]"), _("n")]]
    for name, points in trends.items():
        label = plots.TREND_LABELS[name][1]()
        for day, q1, median, q3, n in points:
            rows.append([label, str(day), f"{median:g} [{q1:g}–{q3:g}]", str(n)])
    return [grid(rows, [_WIDTH * f for f in (0.35, 0.15, 0.35, 0.15)])]


def _serious_rows(scope, *, arm_lookup: str | None) -> list[list[str]]:
    events = (
        AdverseEvent.objects.filter(participant__site__in=scope.site_ids, serious=True)
        .select_related("participant")
        .order_by("participant__study_id", "number")
    )
    if arm_lookup:
        events = events.annotate(arm_code=models.F(arm_lookup))
    rows = []
    for ae in events:
        row = [
            ae.participant.study_id,
            str(ae.number),
            ae.preferred_term or ae.verbatim_term,
            str(ae.ctcae_grade),
            ae.onset_date.isoformat(),
            ae.get_outcome_display(),
            ae.get_relationship_display(),
            _("yes") if ae.is_susar else _("no"),
        ]
        if arm_lookup:
            row.insert(1, TRIAL.arm(ae.arm_code).label if ae.arm_code else "—")
        rows.append(row)
    return rows


class DsmbReport(Report):
    pagesize = landscape(A4)

    def __init__(self, *, scope, user, closed: bool):
        super().__init__(user=user)
        self.scope = scope
        self.closed = closed
        self.title = (
            _("DSMB safety report — closed part (by arm)")
            if closed
            else _("DSMB safety report — open part (blinded, pooled)")
        )

    def get_story(self) -> list:
        scope = self.scope
        width = landscape(A4)[0] - 30 * mm
        story = [Paragraph(self.title, TITLE)]
        if self.closed:
            story.append(
                para(
                    _(
                        "CONFIDENTIAL — UNBLINDED. For the unblinded statistician and the DSMB "
                        "in closed session only. Do not show to blinded trial staff."
                    ),
                    NORMAL,
                )
            )
        else:
            story.append(
                para(_("Blinded: every figure pools both arms; no allocation is shown."), NORMAL)
            )
        if self.closed and not scope.by_arm:
            story.append(
                para(
                    _("The allocation is not shown: this reader may not see the arms."),
                    NORMAL,
                )
            )
            return story
        enrollment = selectors.enrollment(scope)
        story += [Paragraph(_("Enrollment against target"), HEADING)]
        rows = [[_("Phase"), _("Stratum"), _("Randomized"), _("Target")]]
        for target in enrollment.targets():
            for s in target["strata"]:
                rows.append(
                    [
                        str(target["phase"].label),
                        str(s["stratum"].label),
                        str(s["count"]),
                        str(s["target"] or "—"),
                    ]
                )
            rows.append(
                [
                    str(target["phase"].label),
                    _("total"),
                    str(target["count"]),
                    str(target["target"]),
                ]
            )
        story.append(grid(rows, [width / 4] * 4))
        story.append(
            para(
                _("%(e)s enrolled, %(r)s randomized.")
                % {"e": enrollment.enrolled, "r": enrollment.randomized},
                NORMAL,
            )
        )
        consort = selectors.consort(scope)
        # The diagram on a page of its own, fitted below its heading; then its counts as text.
        page_height = landscape(A4)[1] - 35 * mm
        story += [
            PageBreak(),
            Paragraph(_("CONSORT flow"), HEADING),
            plots.consort_drawing(consort, max_width=width, max_height=page_height - 40),
            PageBreak(),
            Paragraph(_("CONSORT flow: the counts"), HEADING),
            *_consort_table(consort),
            PageBreak(),
        ]
        story.append(Paragraph(_("Adverse events by grade and seriousness"), HEADING))
        if self.closed:
            for block in selectors.adverse_events_by_arm(scope):
                story.append(Paragraph(block["arm"].label, SUBHEADING))
                story += _ae_grid(block["rows"])
        else:
            counts = selectors.adverse_event_counts(scope)
            story += _ae_grid(counts["rows"])
            totals = counts["totals"]
            story.append(
                para(
                    _("%(e)s events in %(p)s participants; %(s)s serious in %(sp)s participants.")
                    % {
                        "e": totals["events"],
                        "p": totals["participants"],
                        "s": totals["serious_events"],
                        "sp": totals["serious_participants"],
                    },
                    NORMAL,
                )
            )
        story.append(Paragraph(_("Adverse events by system organ class and grade"), HEADING))
        if self.closed:
            for arm in TRIAL.arms:
                story.append(Paragraph(arm.label, SUBHEADING))
                story += _soc_grid(selectors.adverse_events_by_soc(scope, arm_code=arm.code), width)
        else:
            story += _soc_grid(selectors.adverse_events_by_soc(scope), width)
        # Laboratory shifts and infusion-reaction vital signs: pooled on the open report, per
        # arm on the closed one, as the AEs by system organ class.
        story.append(
            Paragraph(
                _("Laboratory shifts: CTCAE v5.0 grade at baseline → worst grade after baseline"),
                HEADING,
            )
        )
        if self.closed:
            for arm in TRIAL.arms:
                story.append(Paragraph(arm.label, SUBHEADING))
                story += _lab_shift_grid(selectors.lab_shifts(scope, arm_code=arm.code), width)
        else:
            story += _lab_shift_grid(selectors.lab_shifts(scope), width)
        story.append(
            Paragraph(_("Infusion-reaction vital signs: change from before the infusion"), HEADING)
        )
        if self.closed:
            for arm in TRIAL.arms:
                story.append(Paragraph(arm.label, SUBHEADING))
                story += _infusion_vitals_grid(
                    selectors.infusion_vital_changes(scope, arm_code=arm.code), width
                )
        else:
            story += _infusion_vitals_grid(selectors.infusion_vital_changes(scope), width)
        story.append(Paragraph(_("Serious adverse events"), HEADING))
        header = [
            _("Study ID"),
            _("AE"),
            _("Term"),
            _("Grade"),
            _("Onset"),
            _("Outcome"),
            _("Relationship"),
            _("SUSAR"),
        ]
        fractions = [0.1, 0.05, 0.3, 0.07, 0.1, 0.16, 0.14, 0.08]
        arm_lookup = allocation.arm_path("participant__") if self.closed else None
        if arm_lookup:
            header.insert(1, _("Arm"))
            fractions = [0.09, 0.1, 0.05, 0.25, 0.06, 0.1, 0.15, 0.12, 0.08]
        rows = _serious_rows(scope, arm_lookup=arm_lookup)
        if rows:
            story.append(grid([header, *rows], [width * f for f in fractions]))
        else:
            story.append(para(_("No serious adverse event."), NORMAL))
        if not self.closed:
            story.append(Paragraph(_("Pooled trends (median and interquartile range)"), HEADING))
            story += _trend_table(selectors.pooled_trends(scope))
        return story


def dsmb_pdf(*, scope, user, closed: bool = False) -> bytes:
    if closed:
        # Second gate (the first is the view's permission): never for a blinded role.
        if is_blinded(user):
            raise BlindedViewerRefused(
                _("The closed DSMB report is for the unblinded statistician and DSMB only.")
            )
    return DsmbReport(scope=scope, user=user, closed=closed).render()
