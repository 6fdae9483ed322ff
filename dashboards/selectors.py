"""The dashboards' reads: aggregates computed by the database, a fixed number of queries each.

Nothing here loops over participants with a query per row: counts are `COUNT(...) FILTER`,
trends are `percentile_cont`, the completeness matrix is one page of participants with their
visits and every CRF's status joined in one query. tests/test_dashboards_queries.py holds the
number of queries constant between two trial sizes; tests/bench/ times it at 10,000.

Every function takes a `Scope`: the sites the viewer may see (kernel.access.sites_for), today,
and whether the viewer may see arms (randomization.allocation.may_see_arms). With `by_arm` False
no function reads the allocation, so a blinded page cannot differ by arm.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import TypedDict

from django.db.models import (
    Aggregate,
    Case,
    Count,
    Exists,
    F,
    FloatField,
    Max,
    Min,
    OuterRef,
    Q,
    When,
)
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import gettext as _

from datamanagement.selectors import open_queries_for
from kernel import trial as trial_codes
from kernel.access import scope_to_sites, sites_for
from kernel.roles import is_blinded
from kernel.trial import TRIAL, PhaseConfig, StratumConfig
from outcomes import checks, schedule
from outcomes.models import (
    CRF_MODELS,
    ENDING_EVENTS,
    VITAL_SIGN_MEASURES,
    CrfStatus,
    EventKind,
    Infusion,
    StudyEvent,
    Visit,
    VisitState,
)
from participants.models import NotEnrolledReason, Participant, ParticipantStatus, Screening
from randomization import allocation
from safety.models import AdverseEvent
from safety.selectors import open_clocks

from .exceptions import UnknownSite

POOLED = "pooled"


@dataclass(frozen=True)
class Scope:
    site_ids: tuple[int, ...]
    today: date
    by_arm: bool = False
    site_code: str = ""  # the one site chosen, or "" for every site the viewer may see


def scope_for(user, *, site_code: str = "", by_arm: bool = False, today=None) -> Scope:
    """The viewer's sites (one of them if `site_code` is given), today, and by-arm or not."""
    sites = list(sites_for(user).order_by("code").values_list("pk", "code"))
    if site_code:
        sites = [(pk, code) for pk, code in sites if code == site_code]
        if not sites:
            raise UnknownSite(site_code)
    return Scope(
        site_ids=tuple(pk for pk, _ in sites),
        today=today or timezone.localdate(),
        by_arm=by_arm and allocation.may_see_arms(user),
        site_code=site_code,
    )


def site_choices(user) -> list[tuple[str, str]]:
    return list(sites_for(user).order_by("code").values_list("code", "name"))


def _participants(scope: Scope):
    return Participant.objects.filter(site__in=scope.site_ids)


class Percentile(Aggregate):
    """PostgreSQL `percentile_cont(f) WITHIN GROUP (ORDER BY x)`: continuous quantile, nulls
    ignored (the same definition as numpy's default "linear" method)."""

    function = "PERCENTILE_CONT"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression, fraction: float, **extra):
        super().__init__(expression, fraction=float(fraction), **extra)


# --- screening and CONSORT ----------------------------------------------------------------


def _criterion_filter(code: str) -> Q:
    return Q(eligibility__failed_criteria__regex=rf"(^|,){code}(,|$)")


def screening_counts(scope: Scope) -> dict:
    """The screening log in numbers (one query): screened, enrolled, excluded with reasons.

    The categories follow participants.selectors.screening_stage: enrolled wins; then the
    recorded reason; then a failed eligibility; the rest are still being screened.
    """
    not_enrolled = Q(participant__isnull=True)
    ineligible = not_enrolled & (
        Q(not_enrolled_reason=NotEnrolledReason.INELIGIBLE)
        | Q(not_enrolled_reason="", eligibility__eligible=False)
    )
    aggregates = {
        "screened": Count("pk"),
        "enrolled": Count("pk", filter=Q(participant__isnull=False)),
        "ineligible": Count("pk", filter=ineligible),
        "declined": Count(
            "pk", filter=not_enrolled & Q(not_enrolled_reason=NotEnrolledReason.DECLINED)
        ),
        "other": Count("pk", filter=not_enrolled & Q(not_enrolled_reason=NotEnrolledReason.OTHER)),
    }
    codes = [c.code for c in TRIAL.eligibility_criteria]
    for code in codes:
        aggregates[f"criterion_{code}"] = Count("pk", filter=ineligible & _criterion_filter(code))
    row = Screening.objects.filter(site__in=scope.site_ids).aggregate(**aggregates)
    row["excluded"] = row["ineligible"] + row["declined"] + row["other"]
    row["in_screening"] = row["screened"] - row["enrolled"] - row["excluded"]
    row["criteria"] = [
        (code, row.pop(f"criterion_{code}")) for code in codes if row[f"criterion_{code}"]
    ]
    return row


def _event(kind) -> Exists:
    return Exists(StudyEvent.objects.filter(participant=OuterRef("pk"), kind=kind))


def _visit_done(code: str) -> Exists:
    return Exists(
        Visit.objects.filter(participant=OuterRef("pk"), code=code, state=VisitState.DONE)
    )


FLOW_KEYS = (
    "enrolled",
    "randomized",
    "infused",
    "followed_d28",
    "followed_d60",
    "lost",
    "withdrawn",
    "died",
)


def participant_flow(scope: Scope) -> dict[str, dict[str, int]]:
    """Enrolled participants through randomization and follow-up (one query).

    {"pooled": {...}} for a blinded viewer; {arm code: {...}, ...} when `scope.by_arm` (the
    not-randomized are then under "" and left out of the arm columns).
    """
    randomized = allocation.randomized_condition()
    infused = Exists(
        Infusion.objects.filter(
            visit__participant=OuterRef("pk"), status=CrfStatus.COMPLETE, completed=True
        )
    )
    withdrawn = (
        Q(status=ParticipantStatus.WITHDRAWN)
        | Q(withdrawal__isnull=False)
        | Q(_event(EventKind.WITHDRAWAL))
    )
    died = Q(status=ParticipantStatus.DIED) | Q(_event(EventKind.DEATH))
    aggregates = {
        "enrolled": Count("pk"),
        "randomized": Count("pk", filter=randomized),
        "infused": Count("pk", filter=randomized & Q(infused)),
        "followed_d28": Count("pk", filter=randomized & Q(_visit_done("D28"))),
        "followed_d60": Count("pk", filter=randomized & Q(_visit_done("D60"))),
        "lost": Count("pk", filter=randomized & Q(_event(EventKind.LOST_TO_FOLLOW_UP))),
        "withdrawn": Count("pk", filter=randomized & withdrawn),
        "withdrawn_before_randomization": Count("pk", filter=~randomized & withdrawn),
        "died": Count("pk", filter=randomized & died),
    }
    participants = _participants(scope)
    if not scope.by_arm:
        return {POOLED: participants.aggregate(**aggregates)}
    rows = (
        participants.annotate(arm=F(allocation.arm_path()))
        .values("arm")
        .annotate(**aggregates)
        .order_by("arm")
    )
    flow = {arm.code: dict.fromkeys(aggregates, 0) for arm in TRIAL.arms}
    for row in rows:
        arm = row.pop("arm") or ""
        flow[arm] = row
    return flow


@dataclass
class Consort:
    screening: dict
    flow: dict[str, dict[str, int]]
    by_arm: bool

    @property
    def enrolled(self) -> int:
        return sum(f["enrolled"] for f in self.flow.values())

    @property
    def randomized(self) -> int:
        return sum(f["randomized"] for f in self.flow.values())

    @property
    def withdrawn_before_randomization(self) -> int:
        return sum(f["withdrawn_before_randomization"] for f in self.flow.values())

    @property
    def awaiting_randomization(self) -> int:
        return self.enrolled - self.randomized - self.withdrawn_before_randomization

    @property
    def columns(self) -> list[tuple[str, dict[str, int]]]:
        """(arm code or "pooled", counts) for the boxes below randomization."""
        if not self.by_arm:
            return [(POOLED, self.flow[POOLED])]
        return [(arm.code, self.flow[arm.code]) for arm in TRIAL.arms]

    def analysed(self, counts: dict[str, int]) -> int:
        # Intention to treat: every randomized participant is analysed (docs/dashboards.md).
        return counts["randomized"]


def consort(scope: Scope) -> Consort:
    """The CONSORT flow from the screening log and the participants (two queries)."""
    return Consort(
        screening=screening_counts(scope), flow=participant_flow(scope), by_arm=scope.by_arm
    )


# --- enrollment ---------------------------------------------------------------------------


class StratumTarget(TypedDict):
    stratum: StratumConfig
    count: int
    target: int | None  # None: the phase fixes no number per stratum


class PhaseTarget(TypedDict):
    phase: PhaseConfig
    count: int
    target: int
    percent: int
    strata: list[StratumTarget]


@dataclass
class Enrollment:
    enrolled_by_day: tuple[tuple[date, int], ...]
    randomized_by_day: tuple[tuple[date, int], ...]
    # (phase code, stratum code) -> randomized; empty without the randomization app.
    by_phase_stratum: dict[tuple[str, str], int]
    enrolled: int
    randomized: int

    def targets(self) -> list[PhaseTarget]:
        """Each phase's target with its count, per stratum where the phase fixes one."""
        rows: list[PhaseTarget] = []
        for phase in TRIAL.phases:
            per_stratum: list[StratumTarget] = [
                {
                    "stratum": stratum,
                    "count": self.by_phase_stratum.get((phase.code, stratum.code), 0),
                    "target": phase.slots_per_stratum,
                }
                for stratum in TRIAL.strata
            ]
            count = sum(s["count"] for s in per_stratum)
            rows.append(
                {
                    "phase": phase,
                    "count": count,
                    "target": phase.target_total,
                    "percent": round(100 * count / phase.target_total) if phase.target_total else 0,
                    "strata": per_stratum,
                }
            )
        return rows


def enrollment(scope: Scope) -> Enrollment:
    """Enrolled and randomized per calendar day, and randomized per phase and stratum."""
    participants = _participants(scope)
    enrolled = tuple(
        (row["day"], row["n"])
        for row in participants.annotate(day=TruncDate("enrolled_at"))
        .values("day")
        .annotate(n=Count("pk"))
        .order_by("day")
    )
    randomized, by_phase_stratum = allocation.randomized_counts(scope.site_ids)
    return Enrollment(
        enrolled_by_day=enrolled,
        randomized_by_day=randomized,
        by_phase_stratum=by_phase_stratum,
        enrolled=sum(n for _, n in enrolled),
        randomized=sum(n for _, n in randomized),
    )


# --- visits -------------------------------------------------------------------------------


def _ended_before_target():
    return Exists(
        StudyEvent.objects.filter(
            participant=OuterRef("participant"),
            kind__in=ENDING_EVENTS,
            occurred_on__lte=OuterRef("target_date"),
        )
    )


class OverdueVisit(TypedDict):
    code: str
    target_date: date
    window_end: date
    study_id: str
    days_late: int


class OverdueVisits(TypedDict):
    total: int
    rows: list[OverdueVisit]
    limit: int


def overdue_visits(scope: Scope, *, limit: int = 50) -> OverdueVisits:
    """Visits whose window closed before today, neither done nor marked missed, and not after
    the participant's death, withdrawal or loss to follow-up (two queries)."""
    overdue = (
        Visit.objects.filter(
            participant__site__in=scope.site_ids,
            state=VisitState.SCHEDULED,
            window_end__lt=scope.today,
        )
        .exclude(_ended_before_target())
        .order_by("window_end", "participant__study_id", "day")
    )
    rows: list[OverdueVisit] = [
        {
            "code": row["code"],
            "target_date": row["target_date"],
            "window_end": row["window_end"],
            "study_id": row["study_id"],
            "days_late": (scope.today - row["window_end"]).days,
        }
        for row in overdue.values(
            "code", "target_date", "window_end", study_id=F("participant__study_id")
        )[:limit]
    ]
    return {"total": overdue.count(), "rows": rows, "limit": limit}


# The colour class, symbol and label of each visit status in the matrix (symbols so that colour
# is never the only cue).
STATUS_STYLE = {
    schedule.DONE: ("edc-st-done", "✓"),
    schedule.OPEN: ("edc-st-open", "○"),
    schedule.DUE: ("edc-st-due", "●"),
    schedule.OVERDUE: ("edc-st-overdue", "!"),
    schedule.MISSED: ("edc-st-missed", "×"),
    schedule.UPCOMING: ("edc-st-upcoming", "·"),
    schedule.NOT_APPLICABLE: ("edc-st-na", "–"),
}


@dataclass
class MatrixCell:
    code: str
    status: str
    complete: int
    expected: int
    css: str
    symbol: str


@dataclass
class MatrixRow:
    study_id: str
    status: str
    cells: list[MatrixCell | None] = field(default_factory=list)


@dataclass
class Matrix:
    visit_codes: list[str]
    rows: list[MatrixRow]
    total: int
    page: int
    pages: int
    status_counts: dict[str, int]


def completeness_matrix(scope: Scope, *, page: int = 1, per_page: int = 50) -> Matrix:
    """Participants × visits of one page, each cell the visit's status today and its CRFs
    complete out of expected (four queries whatever the page size or trial size)."""
    participants = _participants(scope).order_by("study_id")
    total = participants.count()
    pages = max(1, -(-total // per_page))
    page = min(max(page, 1), pages)
    chosen = list(
        participants.values("pk", "study_id", "status")[(page - 1) * per_page : page * per_page]
    )
    ids = [p["pk"] for p in chosen]
    crf_status = {
        code: F(f"{model._meta.model_name}__status") for code, model in CRF_MODELS.items()
    }
    visits = (
        Visit.objects.filter(participant__in=ids)
        .annotate(**{f"crf_{code}": expr for code, expr in crf_status.items()})
        .values(
            "participant_id",
            "code",
            "state",
            "target_date",
            "window_start",
            "window_end",
            *(f"crf_{code}" for code in crf_status),
        )
    )
    ended = dict(
        StudyEvent.objects.filter(participant__in=ids, kind__in=ENDING_EVENTS)
        .values("participant_id")
        .annotate(first=Min("occurred_on"))
        .values_list("participant_id", "first")
    )
    codes = [v.code for v in TRIAL.visits]
    cells: dict[int, dict[str, MatrixCell]] = defaultdict(dict)
    status_counts: dict[str, int] = dict.fromkeys(schedule.STATUSES, 0)
    for visit in visits:
        config = TRIAL.visit(visit["code"])
        status = schedule.visit_status(
            state=visit["state"],
            target_date=visit["target_date"],
            window_start=visit["window_start"],
            window_end=visit["window_end"],
            today=scope.today,
            ended_on=ended.get(visit["participant_id"]),
        )
        complete = sum(1 for c in config.crfs if visit[f"crf_{c}"] == CrfStatus.COMPLETE)
        css, symbol = STATUS_STYLE[status]
        cells[visit["participant_id"]][visit["code"]] = MatrixCell(
            visit["code"], status, complete, len(config.crfs), css, symbol
        )
        status_counts[status] += 1
    rows = [
        MatrixRow(
            study_id=p["study_id"],
            status=str(ParticipantStatus(p["status"]).label),
            cells=[cells[p["pk"]].get(code) for code in codes],
        )
        for p in chosen
    ]
    return Matrix(codes, rows, total, page, pages, status_counts)


# --- safety -------------------------------------------------------------------------------


def adverse_event_counts(scope: Scope) -> dict:
    """AEs by CTCAE grade and seriousness, pooled: events and participants (two queries)."""
    events = AdverseEvent.objects.filter(participant__site__in=scope.site_ids)
    grid = {
        (row["ctcae_grade"], row["serious"]): row
        for row in events.values("ctcae_grade", "serious")
        .annotate(events=Count("pk"), participants=Count("participant", distinct=True))
        .order_by("ctcae_grade", "serious")
    }
    totals = events.aggregate(
        events=Count("pk"),
        participants=Count("participant", distinct=True),
        serious_events=Count("pk", filter=Q(serious=True)),
        serious_participants=Count("participant", distinct=True, filter=Q(serious=True)),
        grade3plus=Count("pk", filter=Q(ctcae_grade__gte=3)),
    )
    rows = []
    for grade in range(1, 6):
        non_serious = grid.get((grade, False), {"events": 0, "participants": 0})
        serious = grid.get((grade, True), {"events": 0, "participants": 0})
        rows.append(
            {
                "grade": grade,
                "non_serious": non_serious["events"],
                "serious": serious["events"],
                "events": non_serious["events"] + serious["events"],
            }
        )
    return {"rows": rows, "totals": totals}


def adverse_events_by_soc(scope: Scope, *, arm_code: str | None = None) -> list[dict]:
    """AEs by system organ class (as coded; events not yet coded under "not yet coded") and
    CTCAE grade: per class, the events of each grade 1–5, all events, and the participants with
    at least one (one query). Pooled; `arm_code` narrows to one arm, for the closed DSMB report
    only (a by-arm scope)."""
    events = AdverseEvent.objects.filter(participant__site__in=scope.site_ids)
    if arm_code is not None:
        if not scope.by_arm:
            raise ValueError("adverse_events_by_soc by arm needs a by-arm scope")
        events = events.filter(**{allocation.arm_path("participant__"): arm_code})
    classes: dict[str, dict] = {}
    for row in (
        events.values("system_organ_class", "ctcae_grade")
        .annotate(events=Count("pk"))
        .order_by("system_organ_class", "ctcae_grade")
    ):
        soc = row["system_organ_class"] or ""
        entry = classes.setdefault(soc, {"soc": soc, "grades": [0] * 5, "events": 0})
        entry["grades"][row["ctcae_grade"] - 1] += row["events"]
        entry["events"] += row["events"]
    participants = {
        (row["system_organ_class"] or ""): row["n"]
        for row in events.values("system_organ_class")
        .annotate(n=Count("participant", distinct=True))
        .order_by()
    }
    rows = sorted(classes.values(), key=lambda e: (e["soc"] == "", -e["events"], e["soc"]))
    for entry in rows:
        entry["participants"] = participants.get(entry["soc"], 0)
    return rows


def adverse_events_by_arm(scope: Scope) -> list[dict]:
    """For the closed DSMB report only: per arm, AEs by grade and seriousness (one query)."""
    if not scope.by_arm:
        raise ValueError("adverse_events_by_arm needs a by-arm scope")
    arm = allocation.arm_path("participant__")
    events: defaultdict[str, dict[tuple[int, bool], int]] = defaultdict(dict)
    for row in (
        AdverseEvent.objects.filter(participant__site__in=scope.site_ids)
        .values("ctcae_grade", "serious", arm_code=F(arm))
        .annotate(events=Count("pk"), participants=Count("participant", distinct=True))
        .order_by("arm_code", "ctcae_grade", "serious")
    ):
        events[row["arm_code"] or ""][(row["ctcae_grade"], row["serious"])] = row["events"]
    result = []
    for arm_config in TRIAL.arms:
        cells = events.get(arm_config.code, {})
        rows = []
        for grade in range(1, 6):
            non_serious = cells.get((grade, False), 0)
            serious = cells.get((grade, True), 0)
            rows.append({"grade": grade, "non_serious": non_serious, "serious": serious})
        result.append({"arm": arm_config, "rows": rows})
    return result


# The grades a laboratory shift table counts: CTCAE v5.0 grades 0-4 of a value (outcomes.ctcae;
# grade 5, death, is never a value's).
LAB_GRADES = tuple(range(5))


def _by_arm(queryset, scope: Scope, arm_code: str | None, prefix: str, what: str):
    """`queryset` narrowed to one arm, for the closed DSMB report only (a by-arm scope)."""
    if arm_code is None:
        return queryset
    if not scope.by_arm:
        raise ValueError(f"{what} by arm needs a by-arm scope")
    return queryset.filter(**{allocation.arm_path(prefix): arm_code})


def lab_shifts(scope: Scope, *, arm_code: str | None = None) -> list[dict]:
    """Laboratory shift tables (ICH E3 12.4.2.2): per CTCAE-graded analyte, participants by
    their baseline grade (TRIAL.lab_baseline_visit) × their worst grade after it, from complete
    safety-lab CRFs (one query). A participant counts for an analyte when both grades are
    known. Per analyte: "shifts" (shifts[baseline][worst], grades 0-4), "n", "worsened"
    (worst above baseline) and "new_grade3" (worst >= 3 from a baseline below 3). Pooled;
    `arm_code` narrows to one arm, for the closed DSMB report only (a by-arm scope)."""
    graded = [a for a in TRIAL.lab_analytes if a.ctcae_term]
    labs = CRF_MODELS[trial_codes.SAFETY_LAB].objects.filter(
        visit__participant__site__in=scope.site_ids, status=CrfStatus.COMPLETE
    )
    labs = _by_arm(labs, scope, arm_code, "visit__participant__", "lab_shifts")
    at_baseline = Q(visit__code=TRIAL.lab_baseline_visit)
    aggregates = {}
    for analyte in graded:
        aggregates[f"b_{analyte.code}"] = Max(f"{analyte.code}_grade", filter=at_baseline)
        aggregates[f"w_{analyte.code}"] = Max(f"{analyte.code}_grade", filter=~at_baseline)
    rows = labs.values("visit__participant_id").annotate(**aggregates).order_by()
    shifts = {a.code: [[0] * len(LAB_GRADES) for _ in LAB_GRADES] for a in graded}
    for row in rows:
        for code, grid in shifts.items():
            baseline, worst = row[f"b_{code}"], row[f"w_{code}"]
            if baseline is not None and worst is not None:
                grid[baseline][worst] += 1
    return [
        {
            "analyte": a,
            "shifts": shifts[a.code],
            "n": sum(map(sum, shifts[a.code])),
            "worsened": sum(
                n for b, counts in enumerate(shifts[a.code]) for w, n in enumerate(counts) if w > b
            ),
            "new_grade3": sum(
                n
                for b, counts in enumerate(shifts[a.code])
                for w, n in enumerate(counts)
                if w >= 3 > b
            ),
        }
        for a in graded
    ]


# The vital signs of the infusion-reaction tables: the CRF's measures, in its order.
INFUSION_VITAL_SIGNS = VITAL_SIGN_MEASURES


def _median(values: list) -> Decimal:
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return Decimal(ordered[middle])
    return (Decimal(ordered[middle - 1]) + Decimal(ordered[middle])) / 2


def infusion_vital_changes(scope: Scope, *, arm_code: str | None = None) -> dict:
    """Infusion-reaction vital signs: per time point after the infusion's start
    (TRIAL.infusion_vital_timepoints) and per vital sign, the change from the pre-infusion
    value of the same participant, from complete CRFs with both values: n, median, minimum,
    maximum, and the number of changes that warned of an infusion reaction (the CRF's own rule,
    outcomes.checks.suggests_infusion_reaction; None for a sign without such a rule). Also the
    participants with at least one such warning. One query per time point (five). Pooled;
    `arm_code` narrows to one arm, for the closed DSMB report only (a by-arm scope).

    {"rows": [{"crf", "minutes", "sign", "label", "unit", "n", "median", "minimum",
    "maximum", "warnings"}], "participants_warned": int, "participants": int}"""

    def values_of(crf_code: str) -> dict[int, dict]:
        crfs = CRF_MODELS[crf_code].objects.filter(
            visit__participant__site__in=scope.site_ids, status=CrfStatus.COMPLETE
        )
        crfs = _by_arm(crfs, scope, arm_code, "visit__participant__", "infusion_vital_changes")
        return {
            row["visit__participant_id"]: row
            for row in crfs.values("visit__participant_id", *INFUSION_VITAL_SIGNS)
        }

    before = values_of(trial_codes.VITALS_PRE_INFUSION)
    rows = []
    warned: set[int] = set()
    measured: set[int] = set()
    for crf_code, minutes in sorted(
        TRIAL.infusion_vital_timepoints.items(), key=lambda item: item[1]
    ):
        after = values_of(crf_code)
        for sign in INFUSION_VITAL_SIGNS:
            changes = []
            warnings = 0
            for participant_id, now in after.items():
                pre = before.get(participant_id)
                if pre is None or now[sign] is None or pre[sign] is None:
                    continue
                measured.add(participant_id)
                changes.append(Decimal(now[sign]) - Decimal(pre[sign]))
                if checks.suggests_infusion_reaction(sign, now=now[sign], before=pre[sign]):
                    warnings += 1
                    warned.add(participant_id)
            limit = TRIAL.hard_limits[sign]
            rows.append(
                {
                    "crf": crf_code,
                    "minutes": minutes,
                    "sign": sign,
                    "label": limit.label,
                    "unit": limit.unit,
                    "n": len(changes),
                    "median": _median(changes) if changes else None,
                    "minimum": min(changes) if changes else None,
                    "maximum": max(changes) if changes else None,
                    "warnings": warnings if sign in TRIAL.infusion_reaction_changes else None,
                }
            )
    return {"rows": rows, "participants_warned": len(warned), "participants": len(measured)}


def open_safety_clocks(user, scope: Scope) -> list:
    """The safety app's open SUSAR clocks and SAE follow-ups, narrowed to the scope's sites."""

    sites = set(scope.site_ids)
    return [c for c in open_clocks(user=user) if c.ae.participant.site_id in sites]


# --- pooled trends ------------------------------------------------------------------------

TREND_MEASURES = ("pf_ratio", "murray_score", "crp")


def _complete(crf: str, value: str):
    return When(**{f"{crf}__status": CrfStatus.COMPLETE, f"{value}__isnull": False}, then=F(value))


def pooled_trends(scope: Scope) -> dict[str, list[tuple[int, float, float, float, int]]]:
    """P/F, Murray score and CRP by visit, all randomized participants pooled: (study day,
    first quartile, median, third quartile, n) from complete CRFs (one query).

    P/F is the blood-gas CRF's, or the Murray CRF's where the visit has no blood gas.
    """
    values = {
        "v_pf_ratio": Case(
            _complete("bloodgas", "bloodgas__pf_ratio"),
            _complete("murray", "murray__pf_ratio"),
            output_field=FloatField(),
        ),
        "v_murray_score": Case(_complete("murray", "murray__score"), output_field=FloatField()),
        "v_crp": Case(_complete("crp", "crp__crp_mg_l"), output_field=FloatField()),
    }
    aggregates: dict[str, Aggregate] = {}
    for name in TREND_MEASURES:
        aggregates[f"{name}_q1"] = Percentile(f"v_{name}", 0.25)
        aggregates[f"{name}_median"] = Percentile(f"v_{name}", 0.5)
        aggregates[f"{name}_q3"] = Percentile(f"v_{name}", 0.75)
        aggregates[f"{name}_n"] = Count(f"v_{name}")
    rows = (
        Visit.objects.filter(participant__site__in=scope.site_ids)
        .annotate(**values)
        .values("day")
        .annotate(**aggregates)
        .order_by("day")
    )
    trends: dict[str, list] = {name: [] for name in TREND_MEASURES}
    for row in rows:
        for name in TREND_MEASURES:
            n = row[f"{name}_n"]
            if n:
                trends[name].append(
                    (
                        row["day"],
                        round(row[f"{name}_q1"], 2),
                        round(row[f"{name}_median"], 2),
                        round(row[f"{name}_q3"], 2),
                        n,
                    )
                )
    return trends


# --- open queries (the data-management app's) -----------------------------------------------


@dataclass
class OpenQueries:
    total: int = 0
    rows: list = field(default_factory=list)


def open_queries(user, scope: Scope, *, limit: int = 20) -> OpenQueries:
    """Open data queries at the scope's sites, oldest first."""
    queries = open_queries_for(user).filter(participant__site__in=scope.site_ids)
    return OpenQueries(
        total=queries.count(),
        rows=list(queries.select_related("participant")[:limit]),
    )


# -- prepared reports (PDFs built by a Celery task) -------------------------------------------


def report_access_error(user, *, kind: str, participant=None, site_code: str = "") -> str | None:
    """Why `user` may not have this report, or None if they may: asked when the report is
    requested, when it is built and again at every look and download."""

    from .models import KIND_PERMISSIONS, ReportKind

    if kind not in KIND_PERMISSIONS or not user.has_perms(KIND_PERMISSIONS[kind]):
        return _("Your role does not allow this report.")
    if kind == ReportKind.DSMB_CLOSED and is_blinded(user):
        # Second gate: the permission alone is not enough for the allocation.
        return _("The closed DSMB report is for the unblinded statistician and DSMB only.")
    if kind == ReportKind.CASEBOOK:
        if participant is None:
            return _("Choose the participant whose casebook to print.")
        in_scope = scope_to_sites(Participant.objects.filter(pk=participant.pk), user)
        if not in_scope.exists():
            return _("This record belongs to a site you are not assigned to.")
    if site_code and not sites_for(user).filter(code=site_code).exists():
        return _("No such site among yours.")
    return None


def prepared_report_in_scope(user, report) -> bool:
    """Every site the report covers (and its participant's) is one of the user's."""
    mine = set(sites_for(user).values_list("code", flat=True))
    if report.participant is not None and report.participant.site.code not in mine:
        return False
    return set(report.sites) <= mine


def prepared_report_access_error(user, report) -> str | None:
    """`report_access_error` for a report already made, plus: every site it covers must be
    one of the user's, and a report that shows the allocation never goes to a blinded user."""

    if report.unblinded and is_blinded(user):
        return _("The closed DSMB report is for the unblinded statistician and DSMB only.")
    error = report_access_error(
        user, kind=report.kind, participant=report.participant, site_code=report.site_code
    )
    if error:
        return error
    mine = set(sites_for(user).values_list("code", flat=True))
    if not set(report.sites) <= mine:
        return _("This report covers a site you are not assigned to.")
    return None


def prepared_reports_of(user, *, limit: int = 20):
    """The user's own recent reports, newest first (the allocation-bearing ones only for an
    unblinded user, though a blinded user cannot ask for one)."""

    from .models import PreparedReport

    reports = (
        PreparedReport.objects.filter(requested_by=user)
        .select_related("participant")
        .defer("content")
    )
    if is_blinded(user):
        reports = reports.filter(unblinded=False)
    return list(reports[:limit])
