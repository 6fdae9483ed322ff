"""Demo data of the outcomes app, for `manage.py load_demo` (plausible trajectories, never real).

Runs after randomization has created visit schedules: for each participant with visits and no
CRF yet, it fills the visits whose target date has passed, along one of four courses: P/F
improving, worsening to death, slowly improving with a second ICU stay, or follow-up ended early
alive — every other such participant withdraws consent (day 8), the others are lost to
follow-up (day 6). The daily 6-point status is filled on the days between visits (one day left
out in the slow course, for the missing-status query), and those whose follow-up has ended get
their end-of-study disposition, so that the export and the dashboards show the censoring (issue
18). With no visits at all it does nothing.
"""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from kernel import calendars
from kernel.bulk import insert_with_history
from kernel.models import User
from kernel.trial import (
    AE_ASSESSMENT,
    BASELINE,
    BLOOD_GAS,
    CLINICAL_STATUS,
    CRP,
    DAY60_FOLLOW_UP,
    INFUSION,
    MURRAY,
    SAFETY_LAB,
    TRIAL,
    VITAL_SIGNS,
    VITALS_PRE_INFUSION,
)
from participants.demo import BULK_REASON
from participants.models import Participant

from . import checks, followup, schedule, selectors, services, signals
from .models import (
    CRF_MODELS,
    DailyStatus,
    Disposition,
    DispositionOutcome,
    EventKind,
    IcuStay,
    StudyEvent,
    Visit,
    VisitState,
)

COURSES = ("improving", "worsening", "slow", "withdrawal")
# Minutes after the infusion start each D0 vital-signs time point is measured (-10: before).
VITALS_MINUTES = {VITALS_PRE_INFUSION: -10, **TRIAL.infusion_vital_timepoints}
# Why the demo's coordinator confirms a value that warns (stored with it, and in its query).
WARNING_REASON = "Demo data: checked against the chart"
# The time of the Day-0 baseline assessments: before the infusion, started at 10:30.
PRE_DOSE_TIME = time(9, 0)


def load(*, participants: int, seed: int, stdout, before_infusion=None) -> str:
    """The demo participants' visits filled through the services. `before_infusion(participant)`
    is called between the Day-0 Baseline and infusion CRFs: load_demo passes the pharmacy's
    preparation and hand-over (randomization.demo.dose_handover), which outcomes cannot call."""
    filled = 0
    ended_early = 0
    for participant in (
        Participant.objects.filter(visits__isnull=False).distinct().order_by("study_id")
    ):
        visits = list(Visit.objects.filter(participant=participant).order_by("day"))
        course = COURSES[int(participant.study_id[-4:]) % len(COURSES)]
        if course == "withdrawal":
            # Every other participant of this course is lost to follow-up instead.
            course = ("withdrawal", "lost")[ended_early % 2]
            ended_early += 1
        if any(any(selectors.crfs_of(v).values()) for v in visits):
            continue  # already filled: load_demo is idempotent
        rng = random.Random(f"{seed}-{participant.study_id}")
        user = (
            User.objects.filter(sites=participant.site, groups__name="site_coordinator").first()
            or User.objects.filter(sites=participant.site).first()
        )
        with transaction.atomic():
            filled += _fill(
                participant,
                visits,
                course=course,
                rng=rng,
                user=user,
                before_infusion=before_infusion,
            )
    return f"{filled} visits with outcome CRFs"


def _fill(
    participant, visits, *, course: str, rng: random.Random, user, before_infusion=None
) -> int:
    today = selectors.site_today(participant.site)
    day0 = visits[0].target_date
    end_day = {"worsening": rng.randint(9, 16), "withdrawal": 8, "lost": 6}.get(course)
    # ICU stays: everyone starts in the ICU; the slow course goes back for a second stay.
    stays = {
        "improving": [(-1, rng.randint(6, 10))],
        "worsening": [(-2, None)],
        "slow": [(-1, 12), (16, 22)],
        "withdrawal": [(0, None)],
        "lost": [(0, 4)],
    }[course]
    for admitted, discharged in stays:
        if day0 + timedelta(days=admitted) <= today:
            discharge_date = None if discharged is None else day0 + timedelta(days=discharged)
            if discharge_date is not None and discharge_date > today:
                discharge_date = None  # still in the ICU today
            services.icu_stay_save(
                participant=participant,
                admitted_on=day0 + timedelta(days=admitted),
                discharged_on=discharge_date
                if discharge_date and discharge_date <= today
                else None,
                user=user,
            )
    done = 0
    status = 5 if course in ("worsening", "slow") else rng.choice((4, 5))
    status_day0 = status
    pf = rng.uniform(90, 160)
    crp = rng.uniform(80, 180)
    for visit in visits:
        if visit.target_date >= today or (end_day is not None and visit.day >= end_day):
            break
        day = visit.day
        if course == "improving":
            pf = min(pf + rng.uniform(10, 35), 420)
            status = max(1, 5 - day // 5) if day else status
            crp = max(crp * rng.uniform(0.6, 0.85), 2)
        elif course == "worsening":
            pf = max(pf - rng.uniform(5, 20), 55)
            status = 5 if day else status
            crp = min(crp * rng.uniform(1.0, 1.25), 450)
        else:
            pf = min(pf + rng.uniform(0, 15), 380)
            status = max(2, status - (1 if day in (7, 14, 28) else 0))
            crp = max(crp * rng.uniform(0.7, 0.95), 3)
        fio2 = Decimal(rng.choice(("0.40", "0.50", "0.60", "0.70", "0.80")))
        pao2 = (Decimal(str(pf)) * fio2).quantize(Decimal("1"))
        pao2 = min(max(pao2, Decimal("40")), Decimal("600"))
        ventilated = status == 5
        values = {
            BASELINE: {
                "sex": rng.choice(("female", "male")),
                "age_years": rng.randint(28, 64),
                "weight_kg": Decimal(rng.randint(55, 110)),
                "height_cm": rng.randint(152, 188),
                "hypertension": rng.random() < 0.3,
                "respiratory_support": "invasive_ventilation" if status == 5 else "face_mask",
            },
            INFUSION: {
                "started_at": None,
                "ended_at": None,
                "volume_ml": Decimal("2.0"),
                "completed": True,
                "reaction": False,
            },
            AE_ASSESSMENT: {"new_ae": rng.random() < 0.15},
            BLOOD_GAS: {"pao2_mmhg": pao2, "fio2": fio2},
            MURRAY: {
                "pao2_mmhg": pao2,
                "fio2": fio2,
                "peep_cmh2o": Decimal(rng.randint(8, 14)) if ventilated else None,
                "compliance_ml_cmh2o": Decimal(rng.randint(22, 45)) if ventilated else None,
                "cxr_quadrants": 4 if pf < 100 else 3 if pf < 200 else 2 if pf < 300 else 1,
                "respiratory_support": "invasive_ventilation" if ventilated else "face_mask",
            },
            CRP: {"entered_value": Decimal(str(round(crp, 1))), "entered_unit": "mg/L"},
            CLINICAL_STATUS: {"status_score": status},
            DAY60_FOLLOW_UP: {"vital_status": "alive", "icu_stays_confirmed": True},
        }
        zone = ZoneInfo(participant.site.time_zone)
        start = datetime.combine(visit.target_date, time(10, 30), tzinfo=zone)
        values[INFUSION]["started_at"] = start
        values[INFUSION]["ended_at"] = start + timedelta(minutes=15)
        values.update(
            safety_values(rng, course=course, day=day, infusion_start=start, ventilated=ventilated)
        )
        for code in visit.crf_codes:
            if code == INFUSION and before_infusion is not None:
                before_infusion(participant)
            entered: dict[str, Any] = {"assessed_on": visit.target_date, **values[code]}
            if code in checks.PRE_DOSE_CRFS:
                entered["assessed_time"] = PRE_DOSE_TIME  # before the 10:30 infusion
            # Through the edit checks, as a coordinator saves: a value that warns is confirmed
            # with a reason, and becomes a query for the data manager.
            services.crf_save(
                visit=visit,
                crf_code=code,
                values=entered,
                # Without the pharmacy's hand-over (outcomes loaded alone) the infusion CRF
                # stays a draft: it is completed only after the hand-over (issue 18).
                complete=code != INFUSION or before_infusion is not None,
                user=user,
                opened_version=None,  # a new CRF
                confirm_warnings=True,
                warning_reason=WARNING_REASON,
            )
        done += 1
    if end_day is not None and day0 + timedelta(days=end_day) <= today:
        kind = {
            "worsening": EventKind.DEATH,
            "withdrawal": EventKind.WITHDRAWAL,
            "lost": EventKind.LOST_TO_FOLLOW_UP,
        }[course]
        if not StudyEvent.objects.filter(participant=participant, kind=kind).exists():
            services.study_event_save(
                participant=participant,
                kind=kind,
                occurred_on=day0 + timedelta(days=end_day),
                details="Demo data",
                user=user,
            )
    elif course == "improving":
        discharge = day0 + timedelta(days=rng.randint(14, 20))
        if discharge <= today:
            services.study_event_save(
                participant=participant,
                kind=EventKind.HOSPITAL_DISCHARGE,
                occurred_on=discharge,
                details="Demo data",
                user=user,
            )
    _daily(participant, day0=day0, course=course, first=status_day0, user=user)
    if end_day is not None and day0 + timedelta(days=end_day) <= today:
        _disposition(participant, day0=day0, course=course, end_day=end_day, user=user)
    return done


def _status_on(course: str, day: int, first: int) -> int:
    """The 6-point status of a study day along the course (as the visit CRFs above)."""
    if course == "improving":
        return max(1, 5 - day // 5)
    if course == "worsening":
        return 5
    return max(2, first - sum(1 for d in (7, 14, 28) if d <= day))  # slow, withdrawal, lost


def _daily(participant, *, day0: date, course: str, first: int, user) -> None:
    """The daily status of the days whose status is expected and has no visit CRF that day;
    the slow course leaves day 9 out (a missing-status query for the data manager)."""
    page = selectors.daily_rows(participant, today=selectors.site_today(participant.site))
    for row in page["rows"]:
        if not row.expected or row.visit_status is not None or row.record is not None:
            continue
        if course == "slow" and row.day == 9:
            continue
        services.daily_status_save(
            participant=participant,
            day=row.day,
            status=_status_on(course, row.day, first),
            user=user,
            opened_version=None,
        )


def _followup_ended(course: str, end) -> dict[str, Any]:
    """The end-of-study CRF of a participant who withdrew consent or was lost to follow-up on
    `end`: vital status unknown at day 28 and day 60."""
    return {
        "outcome": DispositionOutcome.WITHDREW_CONSENT
        if course == "withdrawal"
        else DispositionOutcome.LOST_TO_FOLLOW_UP,
        "last_contact_on": end,
        "vital_status_d28": "unknown",
        "vital_status_d60": "unknown",
        "notes": "Demo data",
    }


def _disposition(participant, *, day0: date, course: str, end_day: int, user) -> None:
    """The end-of-study CRF of a participant whose follow-up ended: died (known from the
    medical record), withdrew consent or lost to follow-up (vital status unknown)."""
    if Disposition.objects.filter(participant=participant).exists():
        return
    end = day0 + timedelta(days=end_day)
    if course == "worsening":
        values = {
            "outcome": DispositionOutcome.DIED,
            "last_contact_on": end,
            **{
                f"vital_status_d{day}{suffix}": value
                for day in followup.VITAL_DAYS
                for suffix, value in (("", "dead"), ("_on", end), ("_source", "medical_record"))
            },
        }
    else:
        values = _followup_ended(course, end)
    services.disposition_save(
        participant=participant, values=values, user=user, opened_version=None
    )


# -- the large demo: bulk inserts (load_demo --participants 10000) ---------------------------

BULK_CHUNK = 500  # participants per round: about 20,000 rows with their history


class Start(Protocol):
    """A participant's start on the schedule: randomization's row, as the project's load_demo
    hands it over (randomization.demo.visit_starts); outcomes does not read randomization."""

    participant: Participant
    participant_id: int
    randomized_by: User
    day0: date
    respiratory_support: str


def load_bulk(*, starts: list[Start], seed: int, stdout) -> str:
    """Visits, ICU stays and every CRF of the visits already due, in bulk, for the randomized
    participants without visits (`starts`): the schedule visit_schedule_create makes, the values
    of an improving or a slow course (as `load` above), computed scores stored as crf_save does."""
    waiting = list(starts)
    visits_made = crfs_made = 0
    for start in range(0, len(waiting), BULK_CHUNK):
        chunk = waiting[start : start + BULK_CHUNK]
        made = _bulk_chunk(chunk, seed=seed)
        visits_made += made[0]
        crfs_made += made[1]
        stdout.write(f"  outcomes: visits of {start + len(chunk)} of {len(waiting)} participants")
    return f"{visits_made} visits, {crfs_made} CRFs (bulk)"


# The bulk demo's follow-up ended early alive (issue 18), as in `load` above: one participant
# in ten withdraws consent on day 8, one in ten is lost to follow-up on day 6; the others
# improve or improve slowly and are followed to day 60.
BULK_ENDED_EARLY = {3: "withdrawal", 7: "lost"}
BULK_END_DAY = {"withdrawal": 8, "lost": 6}


def bulk_course(study_id: str) -> str:
    number = int(study_id[-4:])
    return BULK_ENDED_EARLY.get(number % 10) or ("improving", "slow")[number % 2]


def _bulk_chunk(randomizations: list[Start], *, seed: int) -> tuple[int, int]:
    reason = BULK_REASON
    visits, icu_stays, plans = [], [], []
    ended: list[tuple[Start, str, int]] = []  # (randomization, course, end day) ended by today
    for randomization in randomizations:
        participant = randomization.participant
        user = randomization.randomized_by
        today = selectors.site_today(participant.site)
        day0 = randomization.day0
        rng = random.Random(f"{seed}-{participant.study_id}")
        course = bulk_course(participant.study_id)
        end_day = BULK_END_DAY.get(course)
        if end_day is not None and day0 + timedelta(days=end_day) <= today:
            ended.append((randomization, course, end_day))
        for config in TRIAL.visits:
            target, start, end = schedule.visit_dates(
                day0=day0,
                day=config.day,
                window_before=config.window_before,
                window_after=config.window_after,
            )
            # No visit after follow-up ended (they stay scheduled, shown as ended).
            due = target < today and (end_day is None or config.day < end_day)
            visit = Visit(
                participant=participant,
                code=config.code,
                day=config.day,
                target_date=target,
                window_start=start,
                window_end=end,
                state=VisitState.DONE if due else VisitState.SCHEDULED,
            )
            visit._history_user = user
            visits.append(visit)
            if due:
                plans.append((visit, randomization, course, rng, user))
        discharged: date | None = day0 + timedelta(
            days={"improving": rng.randint(6, 12), "lost": 4}.get(course, 14)
        )
        if course == "withdrawal":
            discharged = None  # still in the ICU when consent was withdrawn
        stay = IcuStay(
            participant=participant,
            admitted_on=day0 - timedelta(days=1),
            discharged_on=discharged if discharged is not None and discharged <= today else None,
            entered_by=user,
        )
        stay._history_user = user
        icu_stays.append(stay)
    insert_with_history(Visit, visits, user=None, reason=reason)
    insert_with_history(IcuStay, icu_stays, user=None, reason=reason)
    _bulk_follow_up(randomizations, ended=ended, reason=reason)

    crfs: dict[str, list] = {code: [] for code in CRF_MODELS}
    warned: list = []  # the CRFs whose confirmed warnings become queries
    previous_of: dict[int, dict] = {}  # participant -> {delta key: (visit, value, day)}
    state: dict[int, dict] = {}
    for visit, randomization, course, rng, user in plans:
        now = state.setdefault(
            randomization.participant_id,
            {"pf": rng.uniform(90, 160), "crp": rng.uniform(80, 180), "status": 5},
        )
        day = visit.day
        if course == "improving":
            now["pf"] = min(now["pf"] + rng.uniform(10, 35), 420)
            now["status"] = max(1, 5 - day // 5)
            now["crp"] = max(now["crp"] * rng.uniform(0.6, 0.85), 2)
        else:
            now["pf"] = min(now["pf"] + rng.uniform(0, 15), 380)
            now["status"] = max(2, now["status"] - (1 if day in (7, 14, 28) else 0))
            now["crp"] = max(now["crp"] * rng.uniform(0.7, 0.95), 3)
        fio2 = Decimal(rng.choice(("0.40", "0.50", "0.60", "0.70", "0.80")))
        pao2 = min(max((Decimal(str(now["pf"])) * fio2).quantize(Decimal("1")), Decimal(40)), 600)
        ventilated = now["status"] == 5
        crp = Decimal(str(round(now["crp"], 1)))
        zone = ZoneInfo(randomization.participant.site.time_zone)
        start = datetime.combine(visit.target_date, time(10, 30), tzinfo=zone)
        values = {
            BASELINE: {
                "sex": randomization.participant.identity.sex,
                "age_years": rng.randint(28, 64),
                "weight_kg": Decimal(rng.randint(55, 110)),
                "height_cm": rng.randint(152, 188),
                "hypertension": rng.random() < 0.3,
                "respiratory_support": randomization.respiratory_support,
            },
            INFUSION: {
                "started_at": start,
                "ended_at": start + timedelta(minutes=15),
                "volume_ml": Decimal("2.0"),
                "completed": True,
                "reaction": False,
            },
            # One participant in three reports an AE on day 2 (safety.demo.load_bulk).
            AE_ASSESSMENT: {"new_ae": day == 2 and randomization.participant_id % 3 == 0},
            BLOOD_GAS: {"pao2_mmhg": pao2, "fio2": fio2},
            MURRAY: {
                "pao2_mmhg": pao2,
                "fio2": fio2,
                "peep_cmh2o": Decimal(rng.randint(8, 14)) if ventilated else None,
                "compliance_ml_cmh2o": Decimal(rng.randint(22, 45)) if ventilated else None,
                "cxr_quadrants": 4 if now["pf"] < 100 else 3 if now["pf"] < 200 else 2,
                "respiratory_support": "invasive_ventilation" if ventilated else "face_mask",
            },
            CRP: {"entered_value": crp, "entered_unit": "mg/L"},
            CLINICAL_STATUS: {"status_score": now["status"]},
            DAY60_FOLLOW_UP: {"vital_status": "alive", "icu_stays_confirmed": True},
            **safety_values(
                rng, course=course, day=day, infusion_start=start, ventilated=ventilated
            ),
        }
        participant = randomization.participant
        previous = previous_of.setdefault(participant.pk, {})
        for code in visit.crf_codes:
            entered: dict[str, Any] = {"assessed_on": visit.target_date, **values[code]}
            if code in checks.PRE_DOSE_CRFS:
                entered["assessed_time"] = PRE_DOSE_TIME  # before the 10:30 infusion
            crf = _checked_crf(
                code,
                entered,
                visit=visit,
                day0=randomization.day0,
                today=selectors.site_today(participant.site),
                previous=previous,
                user=user,
            )
            crf._history_user = user
            crfs[code].append(crf)
            if crf.warnings_confirmed:
                warned.append(crf)
        # What this visit holds is the "previous visit" of the next ones (selectors.
        # previous_values: for P/F the blood gas before the Murray CRF of the same day).
        for code in sorted(visit.crf_codes, key=lambda code: code != BLOOD_GAS):
            record = crfs[code][-1]
            for key, name in checks.DELTA_FIELDS.get(code, {}).items():
                value = getattr(record, name)
                if value is not None and (key not in previous or previous[key][2] < visit.day):
                    previous[key] = (visit.code, Decimal(value), visit.day)
    for code, rows in crfs.items():
        insert_with_history(CRF_MODELS[code], rows, user=None, reason=reason)
    for crf in warned:
        # Data management queries the confirmed warnings, as after crf_save (outcomes.signals).
        signals.crf_saved.send(
            sender=type(crf),
            crf=crf,
            user=crf.entered_by,
            warnings=crf.warnings_confirmed.split("\n"),
            warning_reason=crf.warning_reason,
        )
    return len(visits), sum(len(rows) for rows in crfs.values())


def _bulk_follow_up(
    randomizations: list[Start], *, ended: list[tuple[Start, str, int]], reason: str
) -> None:
    """The daily statuses, ending events and dispositions of a bulk chunk, as `load` records
    them through the services (issue 18): the 6-point status of each expected day (D1 to D28,
    the end of follow-up or yesterday, whichever is first; followup.expected_days) without a
    clinical-status visit CRF that day; for a participant who withdrew or was lost, the event
    and the disposition (vital status unknown: TTIC censored at the last contact, ICU-free days
    unknown); for one whose day-60 visit is done, the disposition "completed", alive at days 28
    and 60 as seen at those visits. Each disposition passes followup.disposition_errors."""
    end_of = {randomization.participant_id: end for randomization, _, end in ended}
    statuses, events, dispositions = [], [], []
    for randomization in randomizations:
        participant = randomization.participant
        user = randomization.randomized_by
        day0 = randomization.day0
        today = selectors.site_today(participant.site)
        course = bulk_course(participant.study_id)
        today_day = schedule.study_day(day0=day0, on=today)
        visit_days = {
            config.day
            for config in TRIAL.visits
            if CLINICAL_STATUS in config.crfs
            and (participant.pk not in end_of or config.day < end_of[participant.pk])
        }
        for day in followup.expected_days(
            today_day=today_day - 1,
            horizon=TRIAL.ttic_horizon_day,
            end_day=end_of.get(participant.pk),
        ):
            if day in visit_days:
                continue
            status = DailyStatus(
                participant=participant,
                day=day,
                status_score=_status_on(course, day, 5),
                entered_by=user,
            )
            status._history_user = user
            statuses.append(status)
        d28, d60 = (day0 + timedelta(days=TRIAL.visit(c).day) for c in ("D28", "D60"))
        values: dict[str, Any] | None = None
        if participant.pk in end_of:
            end = day0 + timedelta(days=end_of[participant.pk])
            kind = EventKind.WITHDRAWAL if course == "withdrawal" else EventKind.LOST_TO_FOLLOW_UP
            event = StudyEvent(
                participant=participant,
                kind=kind,
                occurred_on=end,
                details="Demo data",
                entered_by=user,
            )
            event._history_user = user
            events.append(event)
            values = _followup_ended(course, end)
        elif d60 < today:
            values = {
                "outcome": DispositionOutcome.COMPLETED,
                "last_contact_on": d60,
                **{
                    f"vital_status_d{day}{suffix}": value
                    for day, on in ((28, d28), (60, d60))
                    for suffix, value in (("", "alive"), ("_on", on), ("_source", "seen"))
                },
            }
        if values is None:
            continue
        values = {name: values.get(name) for name in services.DISPOSITION_FIELDS}
        for name in ("vital_status_d28_source", "vital_status_d60_source", "notes"):
            values[name] = values[name] or ""
        d60_config = TRIAL.visit("D60")
        errors = followup.disposition_errors(
            values,
            day0=day0,
            today=today,
            death_on=None,
            completed_from=day0 + timedelta(days=d60_config.day - d60_config.window_before),
            show_date=calendars.shown,
            last_data_on=None,
        )
        if errors:
            raise ValueError(f"Demo disposition of {participant.study_id}: {errors}")
        disposition = Disposition(participant=participant, entered_by=user, **values)
        disposition._history_user = user
        dispositions.append(disposition)
    insert_with_history(StudyEvent, events, user=None, reason=reason)
    insert_with_history(DailyStatus, statuses, user=None, reason=reason)
    insert_with_history(Disposition, dispositions, user=None, reason=reason)


def safety_values(
    rng: random.Random, *, course: str, day: int, infusion_start: datetime, ventilated: bool
) -> dict[str, dict]:
    """Vital signs and safety-lab values of one visit (issue 19), plausible for the course: a
    worsening course loses platelets and lymphocytes and gains creatinine and fever."""
    worse = course == "worsening"
    fio2 = Decimal(rng.choice(("0.40", "0.50", "0.60")))
    support = "invasive_ventilation" if ventilated else "face_mask"

    def vitals(measured: time, *, febrile: bool = False) -> dict:
        systolic = rng.randint(100, 135)
        return {
            "measured_at": measured,
            "temperature_c": Decimal(
                str(round(rng.uniform(38.2, 38.9) if febrile else rng.uniform(36.5, 37.6), 1))
            ),
            "heart_rate_bpm": rng.randint(70, 110),
            "systolic_mmhg": systolic,
            "diastolic_mmhg": systolic - rng.randint(35, 50),
            "respiratory_rate": rng.randint(16, 28),
            "spo2_percent": rng.randint(90, 97),
            "fio2": fio2,
            "respiratory_support": support,
        }

    values: dict[str, dict] = {VITAL_SIGNS: vitals(time(8, 0), febrile=worse and day >= 5)}
    for code, minutes in VITALS_MINUTES.items():
        moment = infusion_start + timedelta(minutes=minutes)
        values[code] = vitals(moment.timetz().replace(tzinfo=None, second=0, microsecond=0))
    platelets = 220 - (day * 20 if worse else rng.randint(-20, 20))
    values[SAFETY_LAB] = {
        "haemoglobin_entered": Decimal(
            str(round(rng.uniform(10.5, 14.0) - (0.2 * day if worse else 0), 1))
        ),
        "wbc_entered": Decimal(str(round(rng.uniform(6.0, 13.0), 1))),
        "lymphocytes_entered": Decimal(
            str(round(rng.uniform(0.45, 0.9) if worse else rng.uniform(0.7, 1.6), 2))
        ),
        "platelets_entered": Decimal(max(platelets, 30)),
        "creatinine_entered": Decimal(rng.randint(62, 106) + (day * 12 if worse else 0)),
        "creatinine_unit": "µmol/L",
        "alt_entered": Decimal(rng.randint(18, 70)),
        "ast_entered": Decimal(rng.randint(20, 80)),
        "bilirubin_entered": Decimal(str(round(rng.uniform(0.4, 1.1), 1))),
        "d_dimer_entered": Decimal(rng.randint(600, 3500)),
        "d_dimer_unit": "ng/mL FEU",
        "ferritin_entered": Decimal(rng.randint(400, 1800)),
        "ldh_entered": Decimal(rng.randint(250, 600)),
        "troponin_entered": Decimal(rng.randint(3, 40)),
        "fibrinogen_entered": Decimal(str(round(rng.uniform(3.5, 6.5), 1))),
        "fibrinogen_unit": "g/L",
    }
    return values


def _checked_crf(code: str, entered: dict, *, visit, day0, today, previous, user):
    """A new complete CRF with the values and the warnings crf_save would store: the same edit
    checks (outcomes.checks), called here because the bulk path inserts without crf_save."""
    errors = checks.hard_errors(
        code,
        entered,
        today=today,
        day0=day0,
        now=timezone.now(),
        complete=True,
        death_recorded=False,
        show_date=calendars.shown,
    )
    if errors:
        raise ValueError(f"demo values refused by the edit checks: {errors}")
    crf = CRF_MODELS[code](
        visit=visit, status="complete", entered_by=user, **checks.to_stored_units(entered)
    )
    services._derive(crf)  # the P/F and Murray scores, as crf_save stores them
    warnings = checks.soft_warnings(
        code,
        {f.name: getattr(crf, f.attname) for f in crf._meta.concrete_fields},
        visit_code=visit.code,
        window_start=visit.window_start,
        window_end=visit.window_end,
        previous={key: (visit_code, value) for key, (visit_code, value, _) in previous.items()},
        show_date=calendars.shown,
    )
    # Confirmed as a coordinator would, with a reason; a query each, raised after the insert.
    crf.warnings_confirmed = "\n".join(warnings)
    crf.warning_reason = WARNING_REASON if warnings else ""
    return crf
