"""Reads of the outcomes app that pages, reminders and exports share."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.core.exceptions import MultipleObjectsReturned
from django.db.models import F, OuterRef, QuerySet, Subquery, Value
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from kernel import concurrency
from kernel import trial as trial_codes
from kernel.access import scope_to_sites, site_scope, sites_of_scope
from kernel.physiology import pf_display
from kernel.prepared import PreparedRows, Read, read_together
from kernel.trial import TRIAL

from . import checks, followup, hooks, schedule, scores
from .models import (
    CRF_MODELS,
    ENDING_EVENTS,
    Baseline,
    BloodGas,
    ClinicalStatus,
    ConcomitantMedication,
    Crf,
    CrfStatus,
    DailyStatus,
    Disposition,
    EventKind,
    IcuStay,
    Infusion,
    Murray,
    StudyEvent,
    Visit,
    VisitState,
)
from .models import Crp as CrpModel


def site_today(site) -> date:
    """Today at the site (a Tehran coordinator's today, not the server's UTC date)."""
    return timezone.localdate(timezone=ZoneInfo(site.time_zone))


def day0_of(participant) -> date | None:
    """Day 0: the target date of the participant's D0 visit (None before randomization)."""
    return (
        Visit.objects.filter(participant=participant, day=0)
        .values_list("target_date", flat=True)
        .first()
    )


def with_day0(visits: QuerySet[Visit]) -> QuerySet[Visit]:
    """`visits`, each with `day0`: the target date of its participant's D0 visit, read in the
    same query (a subquery)."""
    return visits.annotate(
        day0=Subquery(
            Visit.objects.filter(participant=OuterRef("participant"), day=0).values("target_date")[
                :1
            ]
        )
    )


def with_same_day(visits: QuerySet[Visit]) -> QuerySet[Visit]:
    """`visits`, each with what a CRF save compares with on the same visit (issue 18), read in
    the same query (subqueries): `infusion_started` (the infusion's start), `murray_pf` and
    `blood_gas_pf` (the P/F of each CRF holding one). No query per CRF saved."""

    def first(model, name):
        return Subquery(model.objects.filter(visit=OuterRef("pk")).values(name)[:1])

    return visits.annotate(
        infusion_started=first(Infusion, "started_at"),
        murray_pf=first(Murray, "pf_ratio"),
        blood_gas_pf=first(BloodGas, "pf_ratio"),
    )


def ended_on(participant) -> date | None:
    """The date of death, withdrawal or loss to follow-up, whichever came first."""
    return (
        StudyEvent.objects.filter(participant=participant, kind__in=ENDING_EVENTS)
        .order_by("occurred_on")
        .values_list("occurred_on", flat=True)
        .first()
    )


def crfs_of(visit: Visit) -> dict[str, Crf | None]:
    """The visit's CRFs by code, in the configuration's order (None where not started)."""
    return {code: CRF_MODELS[code].objects.filter(visit=visit).first() for code in visit.crf_codes}


@dataclass(frozen=True)
class CrfProgress:
    """How far one CRF of a visit is: its status, without its values."""

    status: str

    @property
    def is_complete(self) -> bool:
        return self.status == CrfStatus.COMPLETE


def _crf_statuses(codes: tuple[str, ...], visit_id) -> QuerySet:
    parts = [
        CRF_MODELS[code]
        .objects.filter(visit_id=visit_id)
        .annotate(crf=Value(code))
        .values_list("crf", "status")
        for code in codes
    ]
    return parts[0].union(*parts[1:], all=True)


# Compiled once per list of CRFs (a visit's CRFs are one of a few lists): building and
# compiling this UNION ALL cost 3 ms of Python per call, the database a fraction of it (issue 24).
_CRF_STATUSES = PreparedRows(Visit, _crf_statuses, ("int",))


def _crf_with_version(crf_code: str, visit_id) -> QuerySet:
    queryset = CRF_MODELS[crf_code].objects.filter(visit_id=visit_id)
    return concurrency.with_versions(queryset).order_by("pk")[:1]


# Compiled once per CRF (issue 24): every CRF page and save reads its CRF so.
_CRF_WITH_VERSION: PreparedRows[Any] = PreparedRows(Visit, _crf_with_version, ("int",))


def crf_with_version(visit: Visit, crf_code: str):
    """The visit's CRF `crf_code` read with its version (concurrency.with_versions), or None."""
    found = _CRF_WITH_VERSION.objects(crf_code, visit.pk)
    return found[0] if found else None


def crf_progress(visit: Visit) -> dict[str, CrfProgress | None]:
    """The status of each CRF of the visit, by code in the configuration's order (None where
    not started): one query (UNION ALL over the CRF tables), whatever the number of CRFs."""
    return crf_progress_of(visit, crf_progress_read(visit).run())


def crf_progress_read(visit: Visit) -> Read:
    """crf_progress's statement, for kernel.prepared.read_together (its rows: crf_progress_of)."""
    return Read(_CRF_STATUSES, tuple(visit.crf_codes), (visit.pk,), objects=False)


def crf_progress_of(visit: Visit, rows: list[tuple]) -> dict[str, CrfProgress | None]:
    """crf_progress from the rows of its statement (crf_progress_read)."""
    found = dict(rows)
    return {code: CrfProgress(found[code]) if code in found else None for code in visit.crf_codes}


@dataclass
class VisitRow:
    visit: Visit
    status: str
    crfs: list[dict] = field(default_factory=list)  # {"code", "name", "crf"}
    assessed_on: date | None = None

    @property
    def complete_count(self) -> int:
        return sum(1 for c in self.crfs if c["crf"] is not None and c["crf"].is_complete)


def crfs_of_visits(
    visits: list[Visit], *, only: Callable[[str], object] | None = None
) -> dict[tuple[int, str], Crf]:
    """The saved CRFs of `visits` by (visit, code), as `crfs_of` reads them (a CRF is its
    visit's one), with one statement for each CRF table, not one for each CRF of each visit
    (issue 24: 60 and more statements for a participant's timeline). `only(code)`: the CRF
    codes to read (all of the visits' by default)."""
    codes = [
        code
        for code in dict.fromkeys(code for visit in visits for code in visit.crf_codes)
        if only is None or only(code)
    ]
    return {
        (crf.visit_id, code): crf
        for code in codes
        for crf in CRF_MODELS[code].objects.filter(visit__in=visits)
    }


def visit_rows(participant, *, today: date) -> list[VisitRow]:
    """The participant's visits with today's status and their CRFs: the timeline."""
    end = ended_on(participant)
    visits = list(Visit.objects.filter(participant=participant).order_by("day"))
    saved = crfs_of_visits(visits)
    rows = []
    for visit in visits:
        crfs = {code: saved.get((visit.pk, code)) for code in visit.crf_codes}
        dates = [c.assessed_on for c in crfs.values() if c is not None and c.assessed_on]
        rows.append(
            VisitRow(
                visit=visit,
                status=visit_status(visit, today=today, ended=end),
                crfs=[
                    {"code": code, "name": TRIAL.crfs[code], "crf": crf}
                    for code, crf in crfs.items()
                ],
                assessed_on=min(dates) if dates else None,
            )
        )
    return rows


def visit_status(visit: Visit, *, today: date, ended: date | None = None) -> str:
    return schedule.visit_status(
        state=visit.state,
        target_date=visit.target_date,
        window_start=visit.window_start,
        window_end=visit.window_end,
        today=today,
        ended_on=ended,
    )


def _digest_row(visit: Visit) -> dict:
    return {
        "study_id": visit.participant.study_id,
        "visit": visit.code,
        "target_date": visit.target_date,
        "window_start": visit.window_start,
        "window_end": visit.window_end,
    }


def _pending_visits(queryset: QuerySet[Visit]) -> QuerySet[Visit]:
    """Visits still to do: scheduled, and not after the participant's death or termination."""
    pending = queryset.filter(state=VisitState.SCHEDULED).select_related("participant")
    ended = {
        e.participant_id: e.occurred_on
        for e in StudyEvent.objects.filter(
            participant__in=pending.values("participant"), kind__in=ENDING_EVENTS
        ).order_by("-occurred_on")
    }
    keep = [
        v.pk
        for v in pending
        if not (ended.get(v.participant_id) and v.target_date >= ended[v.participant_id])
    ]
    return pending.filter(pk__in=keep).order_by("target_date", "participant__study_id", "day")


def visit_digest(*, site, today: date) -> dict[str, list[dict]]:
    """The visits of `site` that need a coordinator's attention on `today` (SPEC §7).

    Contract (used by the safety app's daily digest): a dict with the keys "opening_tomorrow",
    "due_today" and "overdue", each a list of {"study_id", "visit", "target_date",
    "window_start", "window_end"} dicts, ordered by target date. No arm, no identifying data.
    - opening_tomorrow: the window opens tomorrow;
    - due_today: the window is open today (it may be done today);
    - overdue: the window closed before today and the visit is neither done nor marked missed.
    Visits after a participant's death, withdrawal or loss to follow-up are left out.
    """
    pending = _pending_visits(Visit.objects.filter(participant__site=site))
    tomorrow = today + timedelta(days=1)
    return {
        "opening_tomorrow": [_digest_row(v) for v in pending.filter(window_start=tomorrow)],
        "due_today": [
            _digest_row(v) for v in pending.filter(window_start__lte=today, window_end__gte=today)
        ],
        "overdue": [_digest_row(v) for v in pending.filter(window_end__lt=today)],
    }


def visits_to_do(user, *, today: date) -> list[dict]:
    """Open, due and overdue visits at the user's sites, oldest target first (the worklist)."""
    pending = _pending_visits(
        scope_to_sites(Visit.objects.all(), user, site_path="participant__site")
    ).filter(window_start__lte=today)
    return [
        {**_digest_row(v), "status": visit_status(v, today=today)}
        for v in pending.select_related("participant__site")
    ]


def visits_to_do_count(user) -> int:
    return len(visits_to_do(user, today=timezone.localdate()))


# --- values for edit checks -----------------------------------------------------------------

# Soft-limit delta field -> (CRF models holding it, field name), read in this order.
_DELTA_SOURCES = {
    "pf_ratio": ((BloodGas, "pf_ratio"), (Murray, "pf_ratio")),
    "crp_mg_l": ((CrpModel, "crp_mg_l"),),
    "murray_score": ((Murray, "score"),),
    "clinical_status": ((ClinicalStatus, "status_score"),),
}


_DELTA_ROWS = [(key, model, name) for key, pairs in _DELTA_SOURCES.items() for model, name in pairs]


def _previous_values(_key, participant_id, day) -> QuerySet:
    parts = [
        model.objects.filter(
            visit__participant_id=participant_id,
            visit__day__lt=day,
            **{f"{name}__isnull": False},
        )
        .annotate(source=Value(rank), value=F(name))
        .values_list("source", "visit__day", "visit__code", "value")
        for rank, (_key, model, name) in enumerate(_DELTA_ROWS)
    ]
    return parts[0].union(*parts[1:], all=True)


# Compiled once (issue 24): the same UNION ALL for every save, only the participant and day vary.
_PREVIOUS_VALUES = PreparedRows(Visit, _previous_values, ("int", "int"))


def previous_values(visit: Visit) -> dict[str, tuple[str, Decimal]]:
    """For each soft-limit delta, the latest value at an earlier visit: {key: (visit, value)}.

    One query (UNION ALL of one SELECT per source); where two sources hold a value on the same
    day, the one listed first in `_DELTA_SOURCES` is kept."""
    return previous_values_of(previous_values_read(visit).run())


def previous_values_read(visit: Visit) -> Read:
    """previous_values' statement, for kernel.prepared.read_together (its rows:
    previous_values_of)."""
    return Read(_PREVIOUS_VALUES, None, (visit.participant_id, visit.day), objects=False)


def previous_values_of(rows: list[tuple]) -> dict[str, tuple[str, Decimal]]:
    """previous_values from the rows of its statement (previous_values_read)."""
    found: dict[str, tuple[int, str, Decimal]] = {}
    for rank, day, code, value in sorted(rows, key=lambda row: (row[0], -row[1])):
        key = _DELTA_ROWS[rank][0]
        if key not in found or day > found[key][0]:
            found[key] = (day, code, Decimal(value))
    return {key: (code, value) for key, (_, code, value) in found.items()}


def scores_as_typed(
    *,
    pao2_mmhg: Decimal | None,
    fio2: Decimal | None,
    fio2_unit: str,
    peep_cmh2o: Decimal | None,
    compliance_ml_cmh2o: Decimal | None,
    cxr_quadrants: Decimal | None,
    murray: bool,
    respiratory_support: str = "",
) -> dict:
    """P/F and the Murray score of what is typed so far, shown beside the form as the person
    types (nothing saved): {"pf", "murray", "show_murray", "errors"}. FiO₂ is converted as the
    service converts it (checks.fio2_fraction), and the Murray score is the one the save stores
    (checks.murray_of: PEEP and compliance count for a ventilated patient only, and the save's
    message is shown when they are typed for another); what cannot be computed is said in
    `errors`."""
    result: dict = {"errors": [], "pf": None}
    if fio2_unit not in (checks.FRACTION, checks.PERCENT):
        fio2_unit = checks.FRACTION
    pf = None
    if pao2_mmhg is not None and fio2 is not None:
        try:
            pf = scores.pf_ratio(pao2_mmhg=pao2_mmhg, fio2=checks.fio2_fraction(fio2, fio2_unit))
        except ValueError:
            result["errors"].append(
                _("P/F cannot be computed: PaO₂ or FiO₂ is outside its limits.")
            )
    if fio2 is not None and fio2 > 1 and fio2_unit == checks.FRACTION:
        result["errors"].append(
            _("FiO₂ above 1 as a fraction: was it typed as a percentage? Choose “percent”.")
        )
    # Shown as it will be stored; the Murray points are those of the exact ratio.
    result["pf"] = None if pf is None else pf_display(pf)
    if murray:
        support = respiratory_support or ""
        if support and support not in trial_codes.TRIAL.respiratory_support_labels:
            support = ""
        result["errors"].extend(
            checks.murray_support_errors(
                {
                    "respiratory_support": support,
                    "peep_cmh2o": peep_cmh2o,
                    "compliance_ml_cmh2o": compliance_ml_cmh2o,
                }
            ).values()
        )
        try:
            result["murray"] = checks.murray_of(
                pf_ratio=pf,
                peep_cmh2o=peep_cmh2o,
                compliance_ml_cmh2o=compliance_ml_cmh2o,
                cxr_quadrants=cxr_quadrants,
                respiratory_support=support,
            )
        except ValueError as error:
            result["errors"].append(_("Murray score cannot be computed: %s") % error)
        result["show_murray"] = True
    return result


# --- derived endpoints ----------------------------------------------------------------------


def _event_day(participant, kind: str, day0: date) -> int | None:
    event = StudyEvent.objects.filter(participant=participant, kind=kind).first()
    return None if event is None else schedule.study_day(day0=day0, on=event.occurred_on)


def _stays_days(participant, day0: date) -> list[tuple[int, int | None]]:
    return [
        (
            schedule.study_day(day0=day0, on=s.admitted_on),
            None if s.discharged_on is None else schedule.study_day(day0=day0, on=s.discharged_on),
        )
        for s in IcuStay.objects.filter(participant=participant)
    ]


def last_data_on(participant, *, day0: date) -> date | None:
    """The latest date an assessment was recorded for: a CRF's assessment date or a daily
    status's day (the disposition's last contact cannot be before it)."""
    dates = [
        found
        for model in CRF_MODELS.values()
        if (
            found := model.objects.filter(visit__participant=participant)
            .order_by("-assessed_on")
            .exclude(assessed_on__isnull=True)
            .values_list("assessed_on", flat=True)
            .first()
        )
    ]
    day = (
        DailyStatus.objects.filter(participant=participant)
        .order_by("-day")
        .values_list("day", flat=True)
        .first()
    )
    if day is not None:
        dates.append(day0 + timedelta(days=day))
    return max(dates) if dates else None


def disposition_of(participant) -> Disposition | None:
    return Disposition.objects.filter(participant=participant).first()


def last_contact_day_of(participant, *, day0: date) -> int | None:
    """The study day at which follow-up ended early alive (followup.last_contact_day): the
    disposition's last contact when it says withdrawal, loss or investigator's decision. Until
    the disposition is entered, the earliest recorded withdrawal of consent, early-termination
    event (withdrawal, loss to follow-up) stands in for it. None: followed to the horizon."""
    disposition = disposition_of(participant)
    if disposition is not None:
        return followup.last_contact_day(
            outcome=disposition.outcome, last_contact=disposition.last_contact_on, day0=day0
        )
    dates = list(
        StudyEvent.objects.filter(
            participant=participant,
            kind__in=(EventKind.WITHDRAWAL, EventKind.LOST_TO_FOLLOW_UP),
        ).values_list("occurred_on", flat=True)
    )
    withdrawal = getattr(participant, "withdrawal", None)
    if withdrawal is not None:
        dates.append(withdrawal.withdrawn_on)
    if not dates:
        return None
    return followup.last_contact_day(
        outcome=followup.ENDED_EARLY_ALIVE[0], last_contact=min(dates), day0=day0
    )


def daily_status_end_day(participant, *, day0: date) -> int | None:
    """The last study day a daily status is expected: the day of discharge alive, death, or
    the end of follow-up alive, whichever is first (None: to the horizon)."""
    days = [
        _event_day(participant, kind, day0)
        for kind in (EventKind.HOSPITAL_DISCHARGE, EventKind.DEATH)
    ]
    days.append(last_contact_day_of(participant, day0=day0))
    known = [d for d in days if d is not None]
    return min(known) if known else None


def statuses_by_day(participant, *, day0: date) -> tuple[int | None, dict[int, int]]:
    """(the D0 baseline status, {study day: status}) from the visit CRFs (by the study day of
    their assessment date) and the daily page, merged by followup.merged_statuses."""
    visits: dict[int, int] = {}
    baseline: int | None = None
    for crf in ClinicalStatus.objects.filter(visit__participant=participant).select_related(
        "visit"
    ):
        score = crf.status_score
        if score is None:  # a draft without the status yet
            continue
        if crf.visit.day == 0:
            baseline = score
        elif crf.assessed_on is not None:
            visits[schedule.study_day(day0=day0, on=crf.assessed_on)] = score
    daily = dict(
        DailyStatus.objects.filter(participant=participant).values_list("day", "status_score")
    )
    return baseline, followup.merged_statuses(daily=daily, visits=visits)


def participant_endpoints(participant, *, today: date) -> dict:
    """TTIC and ICU-free days of one participant, from the CRFs and events recorded so far.

    `final` says whether the value can still change: TTIC is final once the horizon has passed
    or the event happened, or follow-up ended; ICU-free days once day 60 has passed, the
    participant died, or follow-up ended early (then they are unknown, None). `censored_at`
    is the last-contact day when follow-up ended early alive (followup.last_contact_day).
    """
    day0 = day0_of(participant)
    if day0 is None:
        return {"available": False}
    today_day = schedule.study_day(day0=day0, on=today)
    baseline, statuses = statuses_by_day(participant, day0=day0)
    death_day = _event_day(participant, EventKind.DEATH, day0)
    discharge_day = _event_day(participant, EventKind.HOSPITAL_DISCHARGE, day0)
    last_contact = last_contact_day_of(participant, day0=day0)
    result: dict = {"available": True, "day0": day0, "study_day": today_day}
    result["death_day"] = death_day
    result["discharge_day"] = discharge_day
    result["last_contact_day"] = last_contact
    if baseline is not None:
        horizon = TRIAL.ttic_horizon_day
        day, event = scores.time_to_clinical_improvement(
            baseline_status=baseline,
            statuses=statuses,
            discharged_alive_day=discharge_day,
            death_day=death_day,
            horizon=horizon,
            last_contact_day=last_contact,
        )
        result["ttic_censored_at_last_contact"] = (
            not event and last_contact is not None and day == last_contact < horizon
        )
        result["ttic"] = {
            "baseline": baseline,
            "day": day,
            "event": event,
            "final": event
            or today_day > horizon
            or death_day is not None
            or last_contact is not None,
        }
    horizon = TRIAL.icu_free_days_horizon_day
    stays = _stays_days(participant, day0)
    value = scores.icu_free_days(
        stays=stays, death_day=death_day, horizon=horizon, last_contact_day=last_contact
    )
    result["icu_free_days_unknown"] = value is None
    result["icu_free_days"] = {
        "value": value,
        "icu_days": scores.icu_days(stays=stays, horizon=horizon),
        "final": today_day > horizon
        or (death_day is not None and death_day <= horizon)
        or value is None,
        "stays": len(stays),
    }
    result["murray"] = [
        {"visit": m.visit.code, "score": m.score, "total": m.total}
        for m in Murray.objects.filter(visit__participant=participant, score__isnull=False)
        .select_related("visit")
        .order_by("visit__day")
    ]
    pf: dict[int, tuple[str, Decimal | None]] = {}
    for model in (BloodGas, Murray):
        for row in model.objects.filter(
            visit__participant=participant, pf_ratio__isnull=False
        ).select_related("visit"):
            pf.setdefault(row.visit.day, (row.visit.code, row.pf_ratio))
    result["pf_ratio"] = [
        {"visit": code, "value": value} for _, (code, value) in sorted(pf.items())
    ]
    result["crp"] = [
        {"visit": c.visit.code, "value": c.crp_mg_l}
        for c in CrpModel.objects.filter(visit__participant=participant, crp_mg_l__isnull=False)
        .select_related("visit")
        .order_by("visit__day")
    ]
    return result


def icu_stays_of(participant) -> QuerySet[IcuStay]:
    return IcuStay.objects.filter(participant=participant).order_by("admitted_on")


def study_events_of(participant) -> QuerySet[StudyEvent]:
    return StudyEvent.objects.filter(participant=participant).order_by("occurred_on")


def medications_of(participant) -> QuerySet[ConcomitantMedication]:
    """The participant's concomitant-medications log, by start date."""
    return ConcomitantMedication.objects.filter(participant=participant).order_by(
        "started_on", "pk"
    )


# --- the safety window of the phase gate (SPEC §10) -----------------------------------------

# Follow-up ended early in a way that closes the safety window (SPEC §10: "or ended by death or
# withdrawal"). Loss to follow-up is not among them: that participant's safety is unknown.
SAFETY_WINDOW_ENDING_EVENTS = (EventKind.DEATH, EventKind.WITHDRAWAL)


@dataclass(frozen=True)
class SafetyWindow:
    """Where one participant stands in the safety window: the window's visit (D14) and whether
    follow-up ended by death or withdrawal. Arm-free."""

    visit_code: str
    visit_state: str | None  # VisitState of that visit; None without a visit schedule
    visit_window_end: date | None
    ended_by: str | None = None  # EventKind (death or withdrawal), the earliest
    ended_on: date | None = None

    @property
    def complete(self) -> bool:
        return self.visit_state == VisitState.DONE or self.ended_by is not None


def safety_windows(participant_ids) -> dict[int, SafetyWindow]:
    """The safety window of each participant (by pk), in two queries; the window is complete
    when its visit (`TRIAL.gate_safety_window_visit`) is done, or follow-up ended by death or
    withdrawal. A participant without a visit schedule has an empty window (not complete)."""
    ids = list(participant_ids)
    code = TRIAL.gate_safety_window_visit
    visits = {
        pid: (state, window_end)
        for pid, state, window_end in Visit.objects.filter(
            participant_id__in=ids, code=code
        ).values_list("participant_id", "state", "window_end")
    }
    endings: dict[int, tuple[str, date]] = {}
    for pid, kind, occurred_on in (
        StudyEvent.objects.filter(participant_id__in=ids, kind__in=SAFETY_WINDOW_ENDING_EVENTS)
        .order_by("occurred_on", "pk")
        .values_list("participant_id", "kind", "occurred_on")
    ):
        endings.setdefault(pid, (kind, occurred_on))
    result = {}
    for pid in ids:
        visit = visits.get(pid)
        ending = endings.get(pid)
        result[pid] = SafetyWindow(
            visit_code=code,
            visit_state=visit[0] if visit else None,
            visit_window_end=visit[1] if visit else None,
            ended_by=ending[0] if ending else None,
            ended_on=ending[1] if ending else None,
        )
    return result


# --- the daily status page and its missing days (issue 18 point 3) ---------------------------


@dataclass
class DailyRow:
    day: int
    on: date
    expected: bool  # a status is expected for this day (not after the end, not to come)
    record: DailyStatus | None = None
    visit_status: int | None = None  # the visit CRF's status of that day, if any
    visit_code: str = ""


def daily_rows(participant, *, today: date) -> dict:
    """The daily status page of one participant: D0 (the baseline CRF) and one row per day
    D1..D28 with its saved status, the visit CRF's status of that day, and whether a status is
    expected. {"day0", "baseline", "rows", "end_day", "today_day", "missing"}."""
    day0 = day0_of(participant)
    if day0 is None:
        return {"day0": None, "rows": []}
    today_day = schedule.study_day(day0=day0, on=today)
    horizon = TRIAL.ttic_horizon_day
    end_day = daily_status_end_day(participant, day0=day0)
    expected = set(followup.expected_days(today_day=today_day, horizon=horizon, end_day=end_day))
    records = {
        r.day: r
        for r in concurrency.with_versions(DailyStatus.objects.filter(participant=participant))
    }
    visit_statuses: dict[int, tuple[int | None, str]] = {}
    baseline = None
    for crf in ClinicalStatus.objects.filter(
        visit__participant=participant, status_score__isnull=False
    ).select_related("visit"):
        if crf.visit.day == 0:
            baseline = crf.status_score
        elif crf.assessed_on is not None:
            day = schedule.study_day(day0=day0, on=crf.assessed_on)
            visit_statuses[day] = (crf.status_score, crf.visit.code)
    rows = [
        DailyRow(
            day=day,
            on=day0 + timedelta(days=day),
            expected=day in expected,
            record=records.get(day),
            visit_status=visit_statuses.get(day, (None, ""))[0],
            visit_code=visit_statuses.get(day, (None, ""))[1],
        )
        for day in range(1, horizon + 1)
    ]
    missing = followup.missing_days(
        recorded=set(records) | set(visit_statuses),
        today_day=today_day,
        horizon=horizon,
        end_day=end_day,
    )
    return {
        "day0": day0,
        "baseline": baseline,
        "rows": rows,
        "end_day": end_day,
        "today_day": today_day,
        "missing": missing,
    }


def missing_daily_statuses(participant, *, today: date) -> list[tuple[int, date]]:
    """(study day, date) of each expected day without a status, a whole day after it (from the
    daily page or a visit CRF assessed that day): what the missing-status queries list."""
    page = daily_rows(participant, today=today)
    if page["day0"] is None:
        return []
    return [(day, page["day0"] + timedelta(days=day)) for day in page["missing"]]


# --- values from their single source, and the same day's other CRFs (issue 18) ---------------


def baseline_from_sources(participant) -> dict:
    """The Baseline CRF's values that are not typed again: sex (the identifying data of
    screening), age (on the screening date, from the eligibility form) and what the apps above
    register (randomization: the respiratory support the participant was randomized with).
    A value without a source is left out (the form then asks for it)."""
    values: dict = {}
    identity = getattr(participant, "identity", None)
    if identity is not None and identity.sex:
        values["sex"] = identity.sex
    eligibility = getattr(participant.screening, "eligibility", None)
    if eligibility is not None and eligibility.age_years is not None:
        values["age_years"] = eligibility.age_years
    for source in hooks.baseline_sources():
        values.update({k: v for k, v in source(participant).items() if v not in (None, "")})
    return values


# Clinical status (6-point scale) -> the respiratory support it implies, where it implies one.
_SUPPORT_OF_STATUS = {5: "invasive_ventilation", 2: "none", 1: "none"}


def same_day_respiratory_support(visit: Visit) -> tuple[str, str] | None:
    """(support, where it comes from) recorded on the day of `visit` elsewhere, for the Murray
    CRF to start from: the Baseline CRF's (Day 0, itself from randomization), else what the
    clinical status of the same visit implies (5: invasive ventilation; 1-2: none; 3-4 say
    no one support). None when the day has no such record."""
    if visit.day == 0:
        baseline = Baseline.objects.filter(visit=visit).exclude(respiratory_support="").first()
        if baseline is not None:
            return baseline.respiratory_support, _("the Baseline CRF")
        support = baseline_from_sources(visit.participant).get("respiratory_support")
        if support:
            return support, _("randomization")
    status = (
        ClinicalStatus.objects.filter(visit=visit, status_score__isnull=False)
        .values_list("status_score", flat=True)
        .first()
    )
    if status in _SUPPORT_OF_STATUS:
        return _SUPPORT_OF_STATUS[status], _("the clinical status of this visit")
    return None


def same_day_pf(visit: Visit, crf_code: str) -> tuple[str, Decimal] | None:
    """(CRF name, P/F) of the other CRF of `visit` that holds a P/F (Murray <-> blood gas)."""
    others: dict[str, type[Murray] | type[BloodGas]] = {
        trial_codes.MURRAY: BloodGas,
        trial_codes.BLOOD_GAS: Murray,
    }
    other = others.get(crf_code)
    if other is None:
        return None
    annotated = {Murray: "murray_pf", BloodGas: "blood_gas_pf"}[other]
    if hasattr(visit, annotated):  # read with the visit (with_same_day)
        pf = getattr(visit, annotated)
    else:
        pf = (
            other.objects.filter(visit=visit, pf_ratio__isnull=False)
            .values_list("pf_ratio", flat=True)
            .first()
        )
    return None if pf is None else (TRIAL.crfs.source(other.crf_code), pf)


def pre_dose_moment(crf, zone: ZoneInfo) -> datetime | None:
    """The moment of a Day-0 assessment: its date and time at the site."""
    on, at = getattr(crf, "assessed_on", None), getattr(crf, "assessed_time", None)
    if on is None or at is None:
        return None
    return datetime.combine(on, at, tzinfo=zone)


def pre_dose_assessments(visit: Visit, *, zone: ZoneInfo, exclude: str = "") -> list:
    """[(CRF code, CRF name, moment)] of the Day-0 assessments of `visit` with a time."""
    found = []
    for code in checks.PRE_DOSE_CRFS:
        if code == exclude or code not in visit.crf_codes:
            continue
        crf = CRF_MODELS[code].objects.filter(visit=visit).first()
        moment = pre_dose_moment(crf, zone) if crf is not None else None
        if moment is not None:
            found.append((code, TRIAL.crfs[code], moment))
    return found


def infusion_started_at(visit: Visit) -> datetime | None:
    if hasattr(visit, "infusion_started"):  # read with the visit (with_same_day)
        return visit.infusion_started
    return (
        Infusion.objects.filter(visit=visit, started_at__isnull=False)
        .values_list("started_at", flat=True)
        .first()
    )


def _visit_in_scope(scope, user_id, study_id, code) -> QuerySet:
    # kernel.access.sites_for's sites (scope "none" never gets here: no rows, no statement).
    return Visit.objects.select_related("participant__site").filter(
        participant__site__in=sites_of_scope(scope, user_id),
        participant__study_id=study_id,
        code=code,
    )


# Every CRF page and save reads its visit so: compiled once per site scope (issue 24).
_VISIT_IN_SCOPE = PreparedRows(Visit, _visit_in_scope, ("int", "text", "text"))


def visit_in_scope_or_404(user, *, study_id: str, code: str) -> Visit:
    """kernel.access.get_in_scope_or_404 of a participant's visit, with its participant and
    site: the same statement, compiled once per scope (own sites or all) instead of built on
    every request. 404 for a visit of a site the user may not see, as for one that does not
    exist (issue 20, finding 7)."""
    scope = site_scope(user)
    if scope == "none":
        raise Http404("No Visit matches the given query.")
    return _the_visit(_VISIT_IN_SCOPE.objects(scope, user.pk, study_id, code), study_id, code)


def _the_visit(found: list[Visit], study_id: str, code: str) -> Visit:
    if not found:
        raise Http404("No Visit matches the given query.")
    if len(found) > 1:
        raise MultipleObjectsReturned(f"{len(found)} visits {study_id} {code}")
    return found[0]


def _crf_with_version_in_scope(key, user_id, study_id, code) -> QuerySet:
    # crf_with_version's statement, its visit found as _visit_in_scope finds it (a subquery)
    # rather than by its id: sent with _VISIT_IN_SCOPE, before the visit's id is known.
    scope, crf_code = key
    visits = _visit_in_scope(scope, user_id, study_id, code).values("pk")
    queryset = CRF_MODELS[crf_code].objects.filter(visit__in=visits)
    return concurrency.with_versions(queryset).order_by("pk")[:1]


_CRF_WITH_VERSION_IN_SCOPE: PreparedRows[Any] = PreparedRows(
    Visit, _crf_with_version_in_scope, ("int", "text", "text")
)


def visit_and_crf_in_scope_or_404(user, *, study_id: str, code: str, crf_code: str):
    """(visit_in_scope_or_404, crf_with_version of its CRF `crf_code` or None), the two reads of
    a CRF page in one round trip (kernel.prepared.read_together; issue 24, crf7): the visit's
    statement, then the CRF's, each with its own snapshot as when the second followed the first.
    The CRF's statement finds its visit by the same conditions (the URL's participant and visit
    code, the user's sites) instead of its id: a CRF row of another visit is never taken (its
    visit id is compared, and the CRF read again by the visit's id if it differs); none is
    found only where the visit has none, or stopped matching (the user's sites changed) between
    the two statements: then the form opens as a new CRF's, whose save is refused as a conflict
    if a CRF is there (kernel.concurrency). A code that is no CRF: the visit alone."""
    scope = site_scope(user)
    if scope == "none":
        raise Http404("No Visit matches the given query.")
    visit_read = Read(_VISIT_IN_SCOPE, scope, (user.pk, study_id, code))
    if crf_code not in CRF_MODELS:
        return _the_visit(visit_read.run(), study_id, code), None
    found, crfs = read_together(
        [visit_read, Read(_CRF_WITH_VERSION_IN_SCOPE, (scope, crf_code), (user.pk, study_id, code))]
    )
    visit = _the_visit(found, study_id, code)
    crf = crfs[0] if crfs else None
    if crf is not None and crf.visit_id != visit.pk:
        crf = crf_with_version(visit, crf_code)
    return visit, crf
