"""Every write the outcomes app does: keyword-only functions, one transaction each, full_clean()
before save, saved through the audit trail (a change to a saved record needs a reason)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, cast
from zoneinfo import ZoneInfo

from django.db import connection, transaction
from django.db.models import QuerySet
from django.forms.models import model_to_dict
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from kernel import audit, calendars, concurrency
from kernel.physiology import pf_display
from kernel.prepared import PreparedRows, Read, read_before_next, read_together
from kernel.trial import (
    BASELINE,
    BLOOD_GAS,
    CRP,
    DAY60_FOLLOW_UP,
    INFUSION,
    INFUSION_VITALS,
    MURRAY,
    SAFETY_LAB,
    TRIAL,
    VITALS_CRFS,
    VITALS_PRE_INFUSION,
)
from participants.models import Participant
from participants.selectors import data_entry_refusal
from participants.services import participant_death_sync

from . import checks, followup, hooks, schedule, scores, selectors, signals
from .exceptions import (
    CrfIncomplete,
    CrfNotExpected,
    DailyStatusRefused,
    DataEntryRefused,
    DuplicateEvent,
    HardLimitExceeded,
    NotRandomized,
    PreDoseRefused,
    UnconfirmedWarnings,
    VisitNotOpen,
)
from .models import (
    CRF_MODELS,
    DISPOSITION_FIELDS,
    BloodGas,
    ConcomitantMedication,
    Crf,
    CrfStatus,
    DailyStatus,
    Disposition,
    EventKind,
    IcuStay,
    Infusion,
    Murray,
    SafetyLab,
    StudyEvent,
    Visit,
    VisitState,
)


def visit_schedule_create(*, participant, day0: date) -> None:
    """Create the participant's scheduled visits from Day 0 (SPEC §4).

    Day 0 = the day of randomization. Idempotent: visits that exist are left as they are.
    Randomization writes the same rows in its assignment statement (the database function
    `randomization_assign`, migration randomization/0007), with these dates
    (`schedule.visit_dates`), this state and these audit rows; a test compares them.

    The visits go in with one INSERT and their audit rows with another (the same rows as
    `save_with_reason` writes one by one: "+", no user, "Initial entry"), after one lock check
    for the participant: a new visit can be covered only by a participant or database lock.
    The window and uniqueness constraints are the database's (docs/performance.md).
    """
    # No savepoint: inside a caller's transaction a refusal undoes the whole of it.
    with transaction.atomic(savepoint=False):
        signals.data_changing.send(sender=Visit, participant=participant, visit=None, crf_code="")
        existing = set(Visit.objects.filter(participant=participant).values_list("code", flat=True))
        visits = []
        for config in TRIAL.visits:
            if config.code in existing:
                continue
            target, start, end = schedule.visit_dates(
                day0=day0,
                day=config.day,
                window_before=config.window_before,
                window_after=config.window_after,
            )
            visit = Visit(
                participant=participant,
                code=config.code,
                day=config.day,
                target_date=target,
                window_start=start,
                window_end=end,
            )
            visit.full_clean(
                exclude=["participant"], validate_unique=False, validate_constraints=False
            )
            # simple-history's attribute for the user of the history row (none: the system).
            cast(Any, visit)._history_user = None
            visits.append(visit)
        Visit.objects.bulk_create(visits)
        Visit.history.bulk_history_create(visits, default_change_reason=_("Initial entry"))


def _quantize(value: float, places: str) -> Decimal:
    return Decimal(str(value)).quantize(Decimal(places), rounding=ROUND_HALF_UP)


_COMPUTED = {
    BLOOD_GAS: ("pf_ratio",),
    MURRAY: (
        "pf_ratio",
        "pf_points",
        "peep_points",
        "compliance_points",
        "cxr_points",
        "total",
        "n_components",
        "score",
    ),
    # The site's normal range each result was judged against, and its CTCAE v5.0 grade.
    SAFETY_LAB: tuple(
        name
        for a in TRIAL.lab_analytes
        for name in (f"{a.code}_lln", f"{a.code}_uln")
        + ((f"{a.code}_grade",) if a.ctcae_term else ())
    ),
}


# Fields of a CRF that a derived value or an edit check reads together: a change of one, merged
# with someone else's change of another, would give a value (P/F, the Murray score, an end
# before a start) that neither of them saw. kernel.concurrency asks rather than merges them.
CRF_LINKED: dict[str, tuple[frozenset[str], ...]] = {
    BLOOD_GAS: (frozenset({"pao2_mmhg", "fio2"}),),  # P/F
    MURRAY: (
        frozenset(
            {
                "respiratory_support",  # PEEP and compliance for the ventilated only
                "pao2_mmhg",
                "fio2",
                "peep_cmh2o",
                "compliance_ml_cmh2o",
                "cxr_quadrants",
            }
        ),
    ),
    INFUSION: (
        frozenset({"started_at", "ended_at"}),  # the infusion cannot end before it started
        frozenset({"reaction", "reaction_details"}),  # a reaction needs its details
    ),
    # The diastolic pressure must stay below the systolic.
    **dict.fromkeys(VITALS_CRFS, (frozenset({"systolic_mmhg", "diastolic_mmhg"}),)),
    # Lymphocytes cannot exceed the white cells.
    SAFETY_LAB: (frozenset({"wbc", "lymphocytes"}),),
}
# Fields written with, and only with, another: how a CRP value was typed follows the value.
CRF_FOLLOWERS: dict[str, dict[str, tuple[str, ...]]] = {
    CRP: {"crp_mg_l": ("entered_value", "entered_unit")},
    SAFETY_LAB: {a.code: (f"{a.code}_entered", f"{a.code}_unit") for a in TRIAL.lab_analytes},
}


def lab_baseline_of(visit: Visit) -> SafetyLab | None | bool:
    """The participant's baseline safety lab (TRIAL.lab_baseline_visit); False at the baseline
    visit itself (its results have no baseline)."""
    if visit.code == TRIAL.lab_baseline_visit:
        return False
    return SafetyLab.objects.filter(
        visit__participant_id=visit.participant_id, visit__code=TRIAL.lab_baseline_visit
    ).first()


def _derive_lab(crf: SafetyLab, *, baseline: SafetyLab | None | bool) -> None:
    """The site's normal range of each result and its CTCAE grade (outcomes.ctcae), against
    the baseline values."""
    site_code = crf.visit.participant.site.code
    ranges = {a.code: TRIAL.lab_normal_range(site_code, a.code) for a in TRIAL.lab_analytes}
    values = {a.code: getattr(crf, a.code) for a in TRIAL.lab_analytes}
    baseline_values = (
        {a.code: getattr(baseline, a.code) for a in TRIAL.lab_analytes} if baseline else {}
    )
    grades = checks.lab_grades(values, ranges=ranges, baseline=baseline_values)
    for analyte in TRIAL.lab_analytes:
        has_value = values[analyte.code] is not None
        lln, uln = ranges[analyte.code]
        setattr(crf, f"{analyte.code}_lln", lln if has_value else None)
        setattr(crf, f"{analyte.code}_uln", uln if has_value else None)
        if analyte.ctcae_term:
            setattr(crf, f"{analyte.code}_grade", grades[analyte.code])


def _derive(crf: Crf, *, lab_baseline: SafetyLab | None | bool = None) -> None:
    """Store the computed values beside the inputs (P/F; Murray components, sum, mean; the
    safety lab's ranges and grades): the fields `_COMPUTED` lists. `lab_baseline`: the
    baseline safety lab when the caller has it (lab_baseline_of), else read here."""
    if isinstance(crf, SafetyLab):
        _derive_lab(
            crf, baseline=lab_baseline if lab_baseline is not None else lab_baseline_of(crf.visit)
        )
        return
    if not isinstance(crf, BloodGas | Murray):
        return
    pf = None
    if crf.pao2_mmhg is not None and crf.fio2 is not None:
        pf = scores.pf_ratio(pao2_mmhg=crf.pao2_mmhg, fio2=crf.fio2)
    # Scored exact; stored cut down to 0.1, on the same side of every band edge (physiology).
    crf.pf_ratio = None if pf is None else pf_display(pf)
    if not isinstance(crf, Murray):
        return
    # PEEP and compliance count for the ventilated only, as in the preview (checks.murray_of).
    result = checks.murray_of(
        pf_ratio=pf,
        peep_cmh2o=crf.peep_cmh2o,
        compliance_ml_cmh2o=crf.compliance_ml_cmh2o,
        cxr_quadrants=crf.cxr_quadrants,
        respiratory_support=crf.respiratory_support,
    )
    components = result.components if result else {}
    crf.pf_points = components.get("pf_ratio")
    crf.peep_points = components.get("peep")
    crf.compliance_points = components.get("compliance")
    crf.cxr_points = components.get("cxr")
    crf.total = result.total if result else None
    crf.n_components = result.n_components if result else None
    crf.score = _quantize(result.score, "0.01") if result else None


def crf_save(
    *,
    visit: Visit,
    crf_code: str,
    values: Mapping[str, Any],
    complete: bool,
    user,
    opened_version: int | None,
    reason: str = "",
    confirm_warnings: bool = False,
    warning_reason: str = "",
) -> Crf:
    """Save one CRF (the docstring of `_crf_save` says how). A Day-0 assessment timed after
    the infusion's start, or an infusion started before an assessment, is refused, and the
    refusal is raised as a query on the record it disagrees with (outcomes.signals.
    check_refused): nothing typed is stored, but the disagreement is not lost (issue 18)."""
    try:
        return _crf_save(
            visit=visit,
            crf_code=crf_code,
            values=values,
            complete=complete,
            user=user,
            opened_version=opened_version,
            reason=reason,
            confirm_warnings=confirm_warnings,
            warning_reason=warning_reason,
        )
    except PreDoseRefused as refused:
        signals.check_refused.send(
            sender=Visit,
            participant=refused.visit.participant,
            visit=refused.visit,
            crf_code=refused.query_crf,
            field_name=refused.query_field,
            text=refused.query_text,
        )
        raise


def _locked_visit(_key, visit_id) -> QuerySet:
    return selectors.with_same_day(
        selectors.with_day0(
            Visit.objects.select_for_update(of=("self", "participant")).select_related(
                "participant__withdrawal", "participant__site"
            )
        )
    ).filter(pk=visit_id)


def _locked_crf(crf_code: str, visit_id) -> QuerySet:
    model = CRF_MODELS[crf_code]
    return model.objects.select_for_update().filter(visit_id=visit_id).order_by("pk")[:1]


def _crf_version(crf_code: str, visit_id) -> QuerySet:
    """The newest audit row of the visit's CRF `crf_code` (its id, its history id): the
    version concurrency.version_of reads for the CRF's row, found by the visit rather than the
    row's id, so that it can be sent with the CRF's locking read (one CRF per visit, a unique
    constraint; _version_read checks the row's id)."""
    model = CRF_MODELS[crf_code]
    crf_ids = model.objects.filter(visit_id=visit_id).values("pk")
    history = cast(Any, model).history.model
    newest = history.objects.filter(id__in=crf_ids).order_by("-history_id")
    return newest.values_list("id", "history_id")[:1]


def _version_read(crf: Crf, rows: list[tuple]):
    """The CRF's version from _CRF_VERSION's rows, read under its row lock: the history id of
    its newest audit row, as concurrency.version_of gives it (None: not saved yet). Read again
    by version_of if those rows are not the locked row's (never expected: one CRF per visit,
    its row locked by the statement before)."""
    if crf.pk is None:
        return None
    if rows and rows[0][0] == crf.pk:
        return rows[0][1]
    return concurrency.version_of(crf)


# The save's two locking reads, their SQL compiled once per process (kernel.prepared; issue 24):
# the same statements as the querysets above, without building them again on every save.
_LOCKED_VISIT = PreparedRows(Visit, _locked_visit, ("int",), for_write=True)
# (Of the CRF model `crf_code` names; Visit only tells the router where it reads.)
_LOCKED_CRF: PreparedRows[Any] = PreparedRows(Visit, _locked_crf, ("int",), for_write=True)
# The CRF's version, sent with it (above).
_CRF_VERSION: PreparedRows[Any] = PreparedRows(Visit, _crf_version, ("int",))


def _read_under_visit_lock(visit: Visit, crf_code: str, *, lock: bool = True):
    """The visit's row locked (_LOCKED_VISIT, when `lock`) and the reads that follow it (see
    _crf_save), in one round trip: (locked visits, (the data_changing receivers' rows by name,
    the CRF locked, its version rows, the previous values' rows or None)). Of a code that is
    no CRF, only the visit (the caller refuses the code)."""
    first = [Read(_LOCKED_VISIT, None, (visit.pk,))] if lock else []
    if crf_code not in CRF_MODELS:
        return (read_together(first)[0] if lock else []), None
    changing = hooks.crf_changing_reads_of(visit, crf_code)
    own = [
        Read(_LOCKED_CRF, crf_code, (visit.pk,)),
        Read(_CRF_VERSION, crf_code, (visit.pk,), objects=False),
    ]
    if crf_code in checks.DELTA_FIELDS:
        own.append(selectors.previous_values_read(visit))
    results = read_together([*first, *changing.values(), *own])
    locked = results.pop(0) if lock else []
    read = dict(zip(changing, results, strict=False))
    locked_crf, version_rows, *previous = results[len(changing) :]
    return locked, (read, locked_crf, version_rows, previous[0] if previous else None)


def _crf_save(
    *,
    visit: Visit,
    crf_code: str,
    values: Mapping[str, Any],
    complete: bool,
    user,
    opened_version: int | None,
    reason: str = "",
    confirm_warnings: bool = False,
    warning_reason: str = "",
) -> Crf:
    """Save one CRF of a visit as draft or complete; computed values are stored with it.

    `values` are as the person entered them: FiO₂ as `fio2` with its `fio2_unit` (fraction
    when not said), CRP as `entered_value` with `entered_unit` (checks.to_stored_units).
    `opened_version` is the CRF's version the form was opened on (None: it was not entered
    yet): a save on a version someone else has since changed is refused (EditConflict) or
    merged, as kernel.concurrency says.

    The edit checks run here, on every save, whoever saves (outcomes.checks): a value beyond a
    hard limit is refused (HardLimitExceeded, field -> message); the soft warnings of the
    values (window, change since the previous visit, unusual values) refuse the save
    (UnconfirmedWarnings) unless `confirm_warnings` with a `warning_reason`: the person confirms
    the values saved, so exactly the warnings these values give. Those warnings, computed here,
    are stored with the CRF and raised as queries.
    """
    with transaction.atomic():
        # The visit and participant rows locked (lock_create and signature_sign lock the same
        # visit rows); the participant's withdrawal of consent, if any, read in the same query.
        # Day 0, for the edit checks, read in the same query (selectors.with_day0).
        # What the CRF is compared with on the same visit (the infusion's start, the other P/F)
        # in the same query too (selectors.with_same_day).
        # (Its SQL compiled once per process: _LOCKED_VISIT, issue 24.)
        # Then, under that lock and in the same round trip (issue 24), each its own statement
        # in the order they ran one by one, each with its own snapshot taken when the one
        # before it returned (kernel.prepared.read_together; READ COMMITTED, so not one
        # statement: a lock or version read in the visit's locking statement could be stale,
        # docs/performance.md): the locks covering the CRF (data management's, hooks.
        # crf_changing_reads), the CRF row FOR UPDATE, its newest audit row (its version:
        # _CRF_VERSION, checked against the row below), and the previous visits' values of its
        # soft-limit deltas. Only reads: a save refused before it writes keeps nothing of them.
        # Their arguments are the visit's id, participant and day, which a visit keeps; they
        # are compared with the locked row's, and the reads made again if they differ.
        locked, under_lock = _read_under_visit_lock(visit, crf_code)
        if not locked:
            raise Visit.DoesNotExist(f"Visit {visit.pk} does not exist.")
        if (visit.participant_id, visit.day) != (locked[0].participant_id, locked[0].day):
            under_lock = None
        visit = locked[0]
        if crf_code not in visit.crf_codes:
            raise CrfNotExpected(
                _("Visit %(visit)s has no %(crf)s CRF.")
                % {"visit": visit.code, "crf": TRIAL.crfs.get(crf_code, crf_code)}
            )
        if visit.state == VisitState.MISSED:
            raise VisitNotOpen(_("Visit %(visit)s was marked missed.") % {"visit": visit.code})
        if under_lock is None:
            _locked, under_lock = _read_under_visit_lock(visit, crf_code, lock=False)
        changing, locked_crf, version_rows, previous_rows = under_lock
        signals.data_changing.send(
            sender=Visit,
            participant=None,
            visit=visit,
            crf_code=crf_code,
            read=changing,
        )
        if crf_code == BASELINE:
            # Sex, age and the respiratory support come from their single source, not typed
            # again (issue 18): what a form or an import sends for them is replaced.
            values = {**values, **selectors.baseline_from_sources(visit.participant)}
        errors = _hard_errors(visit=visit, crf_code=crf_code, values=values, complete=complete)
        if errors:
            raise HardLimitExceeded(errors)
        values = checks.to_stored_units(values)
        model = CRF_MODELS[crf_code]
        crf = locked_crf[0] if locked_crf else model(entered_by=user)
        crf.visit = visit  # the locked row, with its participant: not read again on save
        # Draft or complete is part of what the person saves: compared like the values.
        typed = {**values, "status": CrfStatus.COMPLETE if complete else CrfStatus.DRAFT}
        written = concurrency.refuse_stale_edit(
            record=crf,
            opened_version=opened_version,
            values=typed,
            linked=CRF_LINKED.get(crf_code, ()),
            followers=CRF_FOLLOWERS.get(crf_code),
            current_version=_version_read(crf, version_rows),
        )
        # The values before this save, read under the lock above: what crf_changed compares the
        # saved values with to clear the SDV marks of changed fields (None: a new CRF).
        values_before = model_to_dict(crf) if crf.pk else None
        for name, value in written.items():
            setattr(crf, name, value)
        # After a withdrawal of consent nothing dated on or after it is collected; with scope
        # "follow-up only", routine records (the day-60 vital status) still are (SPEC §2).
        refusal = data_entry_refusal(
            visit.participant,
            crf.assessed_on or visit.target_date,
            routine_records=crf_code == DAY60_FOLLOW_UP,
        )
        if refusal:
            raise DataEntryRefused(refusal)
        if visit.day == 0:
            _pre_dose_check(visit=visit, crf=crf, crf_code=crf_code)
        # What the apps above add (randomization: no infusion before the dose's hand-over).
        refused: dict[str, str] = {}
        for guard in hooks.crf_guards():
            refused.update(guard(crf, crf.status == CrfStatus.COMPLETE))
        if refused:
            raise HardLimitExceeded(refused)
        if crf.status == CrfStatus.COMPLETE:
            missing = crf.missing_for_complete()
            if missing:
                raise CrfIncomplete(
                    _("To mark the CRF complete, fill: %(fields)s. You can save it as a draft.")
                    % {"fields": ", ".join(missing)}
                )
        # The inputs first: limits and types, before any score is computed (the computed
        # fields still hold the previous version's values: they are validated once recomputed).
        # The visit is the row locked above and the CRF the one row of this visit read under
        # that lock; the user who entered it is the signed-in one or the one stored. So the rows
        # they point to and the one-CRF-per-visit rule need no query here (the database's
        # foreign keys and unique constraint stay the backstop).
        computed = _COMPUTED.get(crf_code, ())
        crf.full_clean(exclude=["visit", "entered_by", *computed])
        _derive(crf)
        # Then what _derive computed, and only that: the inputs' fields and check constraints
        # were validated just above and have not changed.
        crf.full_clean(
            exclude=[f.name for f in crf._meta.fields if f.name not in computed],
            validate_unique=False,
        )
        # The soft warnings of the values as they will be stored (after a merge, with P/F and
        # the Murray sum computed). The warnings of this version only: a correction that clears
        # them clears them here (the earlier ones stay in the audit trail).
        warnings = _soft_warnings(
            visit=visit,
            crf=crf,
            previous=selectors.previous_values_of(previous_rows)
            if previous_rows is not None
            else {},
        )
        if warnings and not (confirm_warnings and warning_reason.strip()):
            raise UnconfirmedWarnings(
                warnings,
                ae_suggested=checks.infusion_reaction_suspected(
                    crf_code,
                    {f.name: getattr(crf, f.attname) for f in crf._meta.concrete_fields},
                    soft_check_context(visit=visit, crf=crf),
                ),
            )
        crf.warnings_confirmed = "\n".join(warnings)
        crf.warning_reason = warning_reason.strip() if warnings else ""
        # The lock was checked above, in this transaction, with the visit row locked: the
        # pre_save guard need not read the locks again for this save (datamanagement.guards).
        cast(Any, crf)._lock_checked = (visit.participant_id, visit.pk, crf_code)
        # Data management: SDV marks of changed fields cleared, signatures voided, confirmed
        # warnings queried (its receivers of crf_saved). The values before the save go with the
        # CRF (`values_before_save`), so the receiver need not read them back from the audit
        # trail; only for this signal.
        cast(Any, crf).values_before_save = values_before
        try:
            # The reads after the write (issue 24): the receivers' (the changed fields' SDV
            # marks and the covering signatures, each row locked: hooks.crf_saved_reads), then
            # the visit's CRF statuses, in the order they ran one by one, in one message with
            # the CRF's audit row (simple-history's INSERT, after the CRF's UPDATE or INSERT;
            # kernel.prepared.read_before_next; crf7): the reads first, then the audit row, one
            # round trip for both. The reads see the CRF as saved (its UPDATE ran before); none
            # reads the audit table, and the audit row's INSERT locks no row they lock (its
            # table's only checked foreign key is the user's: a KEY SHARE lock on that row),
            # so reading before it gives the same rows and locks as after it. No receiver
            # writes a CRF, so the statuses read before their writes are the same.
            reads = hooks.crf_saved_reads_of(crf)
            audit_table = cast(Any, model).history.model._meta.db_table
            with read_before_next(
                [*reads.values(), selectors.crf_progress_read(visit)],
                starting=f"INSERT INTO {connection.ops.quote_name(audit_table)} ",
            ) as after_save:
                try:
                    audit.save_with_reason(crf, user=user, reason=reason)
                finally:
                    crf.__dict__.pop("_lock_checked", None)
            *read, statuses = after_save
            cast(Any, crf).read_after_save = dict(zip(reads, read, strict=True))
            signals.crf_saved.send(
                sender=type(crf),
                crf=crf,
                user=user,
                warnings=list(warnings),
                warning_reason=crf.warning_reason,
            )
        finally:
            crf.__dict__.pop("values_before_save", None)
            crf.__dict__.pop("read_after_save", None)
        _visit_refresh_state(
            visit=visit, user=user, progress=selectors.crf_progress_of(visit, statuses)
        )
    return crf


def _hard_errors(*, visit: Visit, crf_code: str, values: Mapping[str, Any], complete: bool):
    """checks.hard_errors of the values as entered, with the visit's dates and the day-60
    CRF's death event read here."""
    participant = visit.participant
    day0 = getattr(visit, "day0", None) or selectors.day0_of(participant)
    death_recorded = crf_code == DAY60_FOLLOW_UP and (
        StudyEvent.objects.filter(participant=participant, kind=EventKind.DEATH).exists()
    )
    return checks.hard_errors(
        crf_code,
        values,
        today=selectors.site_today(participant.site),
        day0=day0 or visit.target_date,  # no Day 0 visit: a schedule being made
        now=timezone.now(),
        complete=complete,
        death_recorded=death_recorded,
        show_date=calendars.shown,
    )


def soft_check_context(*, visit: Visit, crf: Crf) -> dict[str, Any]:
    """What the soft checks of the safety data read besides the CRF (checks.soft_warnings):
    for a D0 vital-signs time point, the minutes since the infusion started and the
    pre-infusion values; for the safety lab, the baseline grades (None at baseline)."""
    context: dict[str, Any] = {}
    if crf.crf_code in INFUSION_VITALS:
        infusion = Infusion.objects.filter(visit=visit).first()
        measured = getattr(crf, "measured_at", None)
        if infusion and infusion.started_at and measured and crf.assessed_on:
            zone = ZoneInfo(visit.participant.site.time_zone)
            moment = datetime.combine(crf.assessed_on, measured, tzinfo=zone)
            context["minutes_after_start"] = int(
                (moment - infusion.started_at).total_seconds() // 60
            )
        if crf.crf_code != VITALS_PRE_INFUSION:
            pre = CRF_MODELS[VITALS_PRE_INFUSION].objects.filter(visit=visit).first()
            if pre is not None:
                context["pre_infusion"] = {
                    name: getattr(pre, name) for name in TRIAL.infusion_reaction_changes
                }
    if crf.crf_code == SAFETY_LAB:
        baseline = lab_baseline_of(visit)
        if baseline is False:
            context["baseline_grades"] = None
        else:
            context["baseline_grades"] = {
                a.code: getattr(baseline, f"{a.code}_grade", None) if baseline else None
                for a in TRIAL.lab_analytes
                if a.ctcae_term
            }
    return context


def _show_moment(zone: ZoneInfo):
    def show(moment: datetime) -> str:
        local = moment.astimezone(zone)
        return f"{calendars.shown(local.date())} {local:%H:%M}"

    return show


def _pre_dose_check(*, visit: Visit, crf: Crf, crf_code: str) -> None:
    """Day 0: the baseline assessments (checks.PRE_DOSE_CRFS) are made before the infusion.
    Checked from either save against what the other records hold, as they will be stored: an
    assessment timed after the infusion's start, or an infusion started before an assessment,
    is refused (PreDoseRefused), naming the record it disagrees with."""
    zone = ZoneInfo(visit.participant.site.time_zone)
    show = _show_moment(zone)
    if crf_code in checks.PRE_DOSE_CRFS:
        started = selectors.infusion_started_at(visit)
        message = checks.assessment_after_infusion_error(
            assessed_at=selectors.pre_dose_moment(crf, zone),
            infusion_started_at=started,
            show=show,
        )
        if message:
            raise PreDoseRefused(
                {"assessed_time": message},
                visit=visit,
                query_crf=INFUSION,
                query_field="started_at",
                query_text=_("%(crf)s was refused: %(message)s Is the infusion start right?")
                % {"crf": TRIAL.crfs[crf_code], "message": message},
            )
    elif crf_code == INFUSION:
        assessments = selectors.pre_dose_assessments(visit, zone=zone)
        message = checks.infusion_after_assessments_error(
            infusion_started_at=getattr(crf, "started_at", None),
            assessments=[(name, moment) for _code, name, moment in assessments],
            show=show,
        )
        if message:
            started = cast(Infusion, crf).started_at
            first_code = next(code for code, _name, moment in assessments if moment > started)
            raise PreDoseRefused(
                {"started_at": message},
                visit=visit,
                query_crf=first_code,
                query_field="assessed_time",
                query_text=_(
                    "The infusion CRF was refused: %(message)s Is the assessment time right?"
                )
                % {"message": message},
            )


def _soft_warnings(*, visit: Visit, crf: Crf, previous: dict) -> list[str]:
    """checks.soft_warnings of the CRF as it will be stored, against the previous visits
    (`previous`: selectors.previous_values, read by the caller under the visit's lock; {} for
    a CRF with no soft-limit delta) and the other CRF of the same visit that holds a P/F
    (Murray <-> blood gas)."""
    return checks.soft_warnings(
        crf.crf_code,
        {f.name: getattr(crf, f.attname) for f in crf._meta.concrete_fields},
        visit_code=visit.code,
        window_start=visit.window_start,
        window_end=visit.window_end,
        previous=previous,
        show_date=calendars.shown,
        same_day_pf=selectors.same_day_pf(visit, crf.crf_code),
        context=soft_check_context(visit=visit, crf=crf),
    )


def _visit_refresh_state(*, visit: Visit, user, progress=None) -> None:
    """A visit is done when every CRF its configuration lists is complete. `progress`: the
    visit's crf_progress when the caller read it after its write, else read here."""
    if progress is None:
        progress = selectors.crf_progress(visit)  # one query, however many CRFs the visit has
    # Kept with the visit for the caller (the form view's next CRF to open): not read again.
    cast(Any, visit).crf_progress_after_save = progress
    done = all(p is not None and p.is_complete for p in progress.values())
    if done and visit.state == VisitState.SCHEDULED:
        visit.state = VisitState.DONE
        audit.save_with_reason(visit, user=user, reason=_("Every CRF of the visit is complete"))
    elif not done and visit.state == VisitState.DONE:
        visit.state = VisitState.SCHEDULED
        audit.save_with_reason(visit, user=user, reason=_("A CRF of the visit was reopened"))


def visit_mark_missed(*, visit: Visit, reason: str, user, opened_version: int | None) -> Visit:
    """Record that a visit did not take place, and why (SPEC §4: missed visit with reason).

    Refused if the visit changed since the page was opened (`opened_version`): marked missed
    by someone else meanwhile, or its CRFs completed (kernel.concurrency)."""
    reason = (reason or "").strip()
    with transaction.atomic():
        visit = Visit.objects.select_for_update().get(pk=visit.pk)
        signals.data_changing.send(sender=Visit, participant=None, visit=visit, crf_code="")
        concurrency.refuse_changed_since(
            record=visit, opened_version=opened_version, action=_("nothing was recorded")
        )
        if visit.state == VisitState.DONE:
            raise VisitNotOpen(
                _("Visit %(visit)s is done; it cannot be marked missed.") % {"visit": visit.code}
            )
        if not reason:
            raise VisitNotOpen(_("Give the reason the visit was missed."))
        visit.state = VisitState.MISSED
        visit.missed_reason = reason
        visit.full_clean()
        audit.save_with_reason(
            visit, user=user, reason=_("Visit missed: %(reason)s") % {"reason": reason}
        )
        signals.participant_data_changed.send(
            sender=Visit, participant=visit.participant, visit=visit, what=str(visit)
        )
    return visit


# An ICU stay's discharge cannot precede its admission; an event's kind and date say together
# what happened when (a death on that day): neither pair is merged silently (concurrency).
ICU_STAY_LINKED = (frozenset({"admitted_on", "discharged_on"}),)
STUDY_EVENT_LINKED = (frozenset({"kind", "occurred_on"}),)


def _field_label(model, name: str) -> str:
    return capfirst(str(model._meta.get_field(name).verbose_name))


def icu_stay_save(
    *,
    participant,
    admitted_on: date,
    discharged_on: date | None,
    user,
    stay: IcuStay | None = None,
    opened_version: int | None = None,
    reason: str = "",
) -> IcuStay:
    """Record an ICU episode, or correct one (a correction needs a reason, and the version of
    the stay the form was opened on: kernel.concurrency). Dates in the future, or a discharge
    before the admission, are refused (checks.icu_stay_errors) with HardLimitExceeded."""
    errors = checks.icu_stay_errors(
        admitted_on=admitted_on,
        discharged_on=discharged_on,
        today=selectors.site_today(participant.site),
        show_date=calendars.shown,
        labels={name: _field_label(IcuStay, name) for name in ("admitted_on", "discharged_on")},
    )
    if errors:
        raise HardLimitExceeded(errors)
    with transaction.atomic():
        # The participant row locked, as a casebook signature does while it reads the versions.
        Participant.objects.select_for_update().get(pk=participant.pk)
        signals.data_changing.send(sender=Visit, participant=participant, visit=None, crf_code="")
        values = {"admitted_on": admitted_on, "discharged_on": discharged_on}
        if stay is None:
            stay = IcuStay(participant=participant, entered_by=user)
        else:
            stay = IcuStay.objects.select_for_update().get(pk=stay.pk, participant=participant)
            values = concurrency.refuse_stale_edit(
                record=stay, opened_version=opened_version, values=values, linked=ICU_STAY_LINKED
            )
        for name, value in values.items():
            setattr(stay, name, value)
        stay.full_clean()
        audit.save_with_reason(stay, user=user, reason=reason)
        signals.participant_data_changed.send(
            sender=type(stay), participant=participant, visit=None, what=str(stay)
        )
    return stay


CONMED_LINKED = (frozenset({"started_on", "stopped_on", "ongoing"}),)


def conmed_save(
    *,
    participant,
    values: Mapping[str, Any],
    user,
    medication: ConcomitantMedication | None = None,
    opened_version: int | None = None,
    reason: str = "",
) -> ConcomitantMedication:
    """Record a concomitant medication, or correct one (a correction needs a reason and the
    version the form was opened on: kernel.concurrency). The checks are checks.conmed_errors
    (HardLimitExceeded, field -> message); a quick pick with no drug name typed is named by
    its label."""
    values = dict(values)
    if values.get("category") and not (values.get("drug") or "").strip():
        values["drug"] = TRIAL.conmed_quick_picks[values["category"]]
    errors = checks.conmed_errors(
        values, today=selectors.site_today(participant.site), show_date=calendars.shown
    )
    if errors:
        raise HardLimitExceeded(errors)
    with transaction.atomic():
        # The participant row locked, and read afresh: its withdrawal (if any) is read from it,
        # not from the caller's instance (whose cached relations it leaves alone).
        locked = Participant.objects.select_for_update().get(pk=participant.pk)
        signals.data_changing.send(sender=Visit, participant=participant, visit=None, crf_code="")
        if medication is None:
            medication = ConcomitantMedication(participant=participant, entered_by=user)
        else:
            medication = ConcomitantMedication.objects.select_for_update().get(
                pk=medication.pk, participant=participant
            )
            values = concurrency.refuse_stale_edit(
                record=medication,
                opened_version=opened_version,
                values=values,
                linked=CONMED_LINKED,
            )
        for name, value in values.items():
            setattr(medication, name, value)
        refusal = data_entry_refusal(locked, medication.started_on, routine_records=False)
        if refusal and medication.pk is None:
            raise DataEntryRefused(refusal)
        medication.full_clean()
        audit.save_with_reason(medication, user=user, reason=reason)
        signals.participant_data_changed.send(
            sender=type(medication), participant=participant, visit=None, what=str(medication)
        )
    return medication


def study_event_save(
    *,
    participant,
    kind: str,
    occurred_on: date,
    details: str,
    user,
    event: StudyEvent | None = None,
    opened_version: int | None = None,
    reason: str = "",
) -> StudyEvent:
    """Record hospital discharge, death or early termination (one of each kind); a correction
    needs a reason and the version of the event the form was opened on (concurrency). A date
    in the future or before screening is refused (checks.event_date_error)."""
    error = checks.event_date_error(
        occurred_on,
        label=_field_label(StudyEvent, "occurred_on"),
        today=selectors.site_today(participant.site),
        show_date=calendars.shown,
        earliest=participant.screening.screened_on,
    )
    if error:
        raise HardLimitExceeded({"occurred_on": error})
    with transaction.atomic():
        # The participant row locked: two people recording the same kind at once are told,
        # one by one, that it exists (not a database error); and a casebook signature reading
        # the versions waits for this save, or this save for it.
        Participant.objects.select_for_update().get(pk=participant.pk)
        signals.data_changing.send(sender=Visit, participant=participant, visit=None, crf_code="")
        values: dict[str, Any] = {
            "kind": EventKind(kind),
            "occurred_on": occurred_on,
            "details": details,
        }
        if event is not None:
            event = StudyEvent.objects.select_for_update().get(pk=event.pk, participant=participant)
            values = concurrency.refuse_stale_edit(
                record=event,
                opened_version=opened_version,
                values=values,
                linked=STUDY_EVENT_LINKED,
            )
        new_kind = values.get("kind", event.kind if event is not None else kind)
        duplicate = StudyEvent.objects.filter(participant=participant, kind=new_kind)
        if event is not None:
            duplicate = duplicate.exclude(pk=event.pk)
        if duplicate.exists():
            raise DuplicateEvent(
                _("%(event)s is already recorded for this participant; correct that record.")
                % {"event": EventKind(new_kind).label}
            )
        if event is None:
            event = StudyEvent(participant=participant, entered_by=user)
        for name, value in values.items():
            setattr(event, name, value)
        event.full_clean()
        audit.save_with_reason(event, user=user, reason=reason)
        participant_death_sync(
            participant=participant,
            user=user,
            died=StudyEvent.objects.filter(participant=participant, kind=EventKind.DEATH).exists(),
        )
        signals.participant_data_changed.send(
            sender=type(event), participant=participant, visit=None, what=str(event)
        )
    return event


# --- end of study: the disposition (issue 18 point 2) ----------------------------------------

# The last contact and the vital statuses are read together by the edit checks (a death, a
# last contact after it): neither is merged silently with someone else's change.
DISPOSITION_LINKED = (
    frozenset(
        {
            "outcome",
            "last_contact_on",
            "vital_status_d28",
            "vital_status_d28_on",
            "vital_status_d60",
            "vital_status_d60_on",
        }
    ),
)


def disposition_save(
    *,
    participant,
    values: Mapping[str, Any],
    user,
    opened_version: int | None,
    reason: str = "",
) -> Disposition:
    """Record how the participant's follow-up ended, or correct it (a correction needs a reason
    and the version the form was opened on: kernel.concurrency).

    The edit checks (outcomes.followup.disposition_errors) run here, whoever saves: a value
    that cannot be true raises HardLimitExceeded (field -> message). The disposition is a
    routine record: it may be entered after a withdrawal of consent (its scope permitting)."""
    with transaction.atomic():
        Participant.objects.select_for_update().get(pk=participant.pk)
        signals.data_changing.send(sender=Visit, participant=participant, visit=None, crf_code="")
        day0 = selectors.day0_of(participant)
        if day0 is None:
            raise NotRandomized(_("The participant has not been randomized: no follow-up yet."))
        values = {name: values.get(name) for name in DISPOSITION_FIELDS}
        for name in ("vital_status_d28_source", "vital_status_d60_source", "notes"):
            values[name] = values[name] or ""
        death = StudyEvent.objects.filter(participant=participant, kind=EventKind.DEATH).first()
        d60 = TRIAL.visit("D60")
        errors = followup.disposition_errors(
            values,
            day0=day0,
            today=selectors.site_today(participant.site),
            death_on=death.occurred_on if death else None,
            completed_from=day0 + timedelta(days=d60.day - d60.window_before),
            show_date=calendars.shown,
            last_data_on=selectors.last_data_on(participant, day0=day0),
        )
        if errors:
            raise HardLimitExceeded(errors)
        disposition = (
            Disposition.objects.select_for_update().filter(participant=participant).first()
        )
        if disposition is None:
            disposition = Disposition(participant=participant, entered_by=user)
        values = concurrency.refuse_stale_edit(
            record=disposition,
            opened_version=opened_version,
            values=values,
            linked=DISPOSITION_LINKED,
        )
        for name, value in values.items():
            setattr(disposition, name, value)
        disposition.full_clean(exclude=["participant", "entered_by"])
        audit.save_with_reason(disposition, user=user, reason=reason)
        signals.participant_data_changed.send(
            sender=Disposition, participant=participant, visit=None, what=str(disposition)
        )
    return disposition


# --- the daily status (issue 18 point 3) -----------------------------------------------------


def daily_status_save(
    *,
    participant,
    day: int,
    status: int | None,
    user,
    opened_version: int | None,
    reason: str = "",
) -> DailyStatus | None:
    """Record (or correct) the 6-point status of one study day, D1 to D28 or the end of
    follow-up (outcomes.followup.daily_status_error). Returns None when nothing changed (the
    same value, or only someone else's change since the page was opened).

    A day whose status is already saved is corrected with a reason (the audit trail's rule);
    a version changed since the page was opened is refused (EditConflict), as for a CRF. The
    page saves each row through this, one transaction each, so one refused row never undoes
    another."""
    with transaction.atomic():
        participant = (
            Participant.objects.select_for_update(of=("self",))
            .select_related("withdrawal", "site")
            .get(pk=participant.pk)
        )
        signals.data_changing.send(sender=Visit, participant=participant, visit=None, crf_code="")
        day0 = selectors.day0_of(participant)
        if day0 is None:
            raise NotRandomized(_("The participant has not been randomized: no follow-up yet."))
        today_day = schedule.study_day(day0=day0, on=selectors.site_today(participant.site))
        error = followup.daily_status_error(
            day=day,
            status=status,
            today_day=today_day,
            horizon=TRIAL.ttic_horizon_day,
            end_day=selectors.daily_status_end_day(participant, day0=day0),
        )
        if error:
            raise DailyStatusRefused(error)
        refusal = data_entry_refusal(participant, day0 + timedelta(days=day))
        if refusal:
            raise DataEntryRefused(refusal)
        row = DailyStatus.objects.select_for_update().filter(participant=participant, day=day)
        record = row.first() or DailyStatus(participant=participant, day=day, entered_by=user)
        values = concurrency.refuse_stale_edit(
            record=record, opened_version=opened_version, values={"status_score": status}
        )
        if record.pk is not None and all(
            getattr(record, name) == value for name, value in values.items()
        ):
            return None
        if record.pk is not None and not reason.strip():
            raise DailyStatusRefused(
                _("Day %(day)s is already saved: give the reason for the change.") % {"day": day}
            )
        for name, value in values.items():
            setattr(record, name, value)
        record.full_clean(exclude=["participant", "entered_by"])
        audit.save_with_reason(record, user=user, reason=reason.strip())
        signals.participant_data_changed.send(
            sender=DailyStatus, participant=participant, visit=None, what=str(record)
        )
    return record
