"""Derived endpoints (TTIC, ICU-free days) for the export, computed while streaming.

`outcomes.selectors.participant_endpoints` answers for one participant with a handful of
queries; an export of thousands would pay that per participant. Here the clinical statuses,
events and ICU stays are three more streams sorted by export ID, followed alongside the
participants, and the same pure rules (`outcomes.scores`) are applied to them. A test compares
the two for every participant, so the numbers cannot drift apart.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import date
from operator import itemgetter

from kernel.trial import TRIAL
from outcomes import followup, scores
from outcomes.models import (
    ClinicalStatus,
    DailyStatus,
    Disposition,
    EventKind,
    IcuStay,
    StudyEvent,
)
from participants.models import ConsentWithdrawal


class Aligned:
    """A stream of (export ID, rows) followed alongside the participants, both sorted."""

    def __init__(self, values_queryset):
        records = values_queryset.iterator(chunk_size=TRIAL.export_chunk_size)
        self._groups: Iterator = (
            (key, list(group))
            for key, group in itertools.groupby(records, key=itemgetter("x_export_id"))
        )
        self._head = next(self._groups, None)

    def take(self, export_id: str) -> list[dict]:
        while self._head is not None and self._head[0] < export_id:
            self._head = next(self._groups, None)
        if self._head is not None and self._head[0] == export_id:
            rows = self._head[1]
            self._head = next(self._groups, None)
            return rows
        return []


def streams(by_export_id, export_id) -> tuple[Aligned, ...]:
    """The statuses, events, ICU stays, daily statuses, dispositions and withdrawals of consent,
    each sorted by export ID (see services)."""
    statuses = by_export_id(
        ClinicalStatus.objects.filter(status_score__isnull=False).annotate(
            x_export_id=export_id("visit__participant")
        ),
        "visit__day",
    ).values("x_export_id", "visit__day", "assessed_on", "status_score")
    events = by_export_id(
        StudyEvent.objects.annotate(x_export_id=export_id("participant")),
        "occurred_on",
    ).values("x_export_id", "kind", "occurred_on")
    stays = by_export_id(
        IcuStay.objects.annotate(x_export_id=export_id("participant")), "admitted_on"
    ).values("x_export_id", "admitted_on", "discharged_on")
    daily = by_export_id(
        DailyStatus.objects.annotate(x_export_id=export_id("participant")), "day"
    ).values("x_export_id", "day", "status_score")
    dispositions = by_export_id(
        Disposition.objects.annotate(x_export_id=export_id("participant"))
    ).values("x_export_id", "outcome", "last_contact_on", "vital_status_d28", "vital_status_d60")
    withdrawals = by_export_id(
        ConsentWithdrawal.objects.annotate(x_export_id=export_id("participant"))
    ).values("x_export_id", "withdrawn_on")
    return (
        Aligned(statuses),
        Aligned(events),
        Aligned(stays),
        Aligned(daily),
        Aligned(dispositions),
        Aligned(withdrawals),
    )


def endpoints(
    *,
    day0: date | None,
    statuses,
    events,
    stays,
    daily=(),
    dispositions=(),
    withdrawals=(),
) -> dict:
    """death_day, discharge_day, last_contact_day, ttic_day, ttic_event, ttic_censored,
    icu_free_days of one participant, as outcomes.selectors.participant_endpoints computes
    them (the same rules: followup.merged_statuses, followup.last_contact_day)."""
    if day0 is None:
        return {}

    def day(on: date) -> int:
        return (on - day0).days

    first = {}
    for event in events:
        first.setdefault(event["kind"], day(event["occurred_on"]))
    death_day = first.get(EventKind.DEATH)
    discharge_day = first.get(EventKind.HOSPITAL_DISCHARGE)
    # The last contact of a follow-up ended early alive: the disposition's, or until it is
    # entered, the earliest withdrawal or loss (outcomes.selectors.last_contact_day_of).
    disposition = dispositions[0] if dispositions else None
    if disposition is not None:
        last_contact = followup.last_contact_day(
            outcome=disposition["outcome"],
            last_contact=disposition["last_contact_on"],
            day0=day0,
        )
    else:
        ended = [
            e["occurred_on"]
            for e in events
            if e["kind"] in (EventKind.WITHDRAWAL, EventKind.LOST_TO_FOLLOW_UP)
        ] + [w["withdrawn_on"] for w in withdrawals]
        last_contact = (
            followup.last_contact_day(
                outcome=followup.ENDED_EARLY_ALIVE[0], last_contact=min(ended), day0=day0
            )
            if ended
            else None
        )
    result = {
        "death_day": death_day,
        "discharge_day": discharge_day,
        "last_contact_day": last_contact,
        "disposition": disposition["outcome"] if disposition else None,
        "vital_status_d28": disposition["vital_status_d28"] if disposition else None,
        "vital_status_d60": disposition["vital_status_d60"] if disposition else None,
    }
    baseline, later = None, {}
    for row in statuses:
        if row["visit__day"] == 0:
            baseline = row["status_score"]
        elif row["assessed_on"] is not None:
            later[day(row["assessed_on"])] = row["status_score"]
    merged = followup.merged_statuses(
        daily={row["day"]: row["status_score"] for row in daily}, visits=later
    )
    if baseline is not None:
        horizon = TRIAL.ttic_horizon_day
        result["ttic_day"], event = scores.time_to_clinical_improvement(
            baseline_status=baseline,
            statuses=merged,
            discharged_alive_day=discharge_day,
            death_day=death_day,
            horizon=horizon,
            last_contact_day=last_contact,
        )
        result["ttic_event"] = int(bool(event))
        result["ttic_censored"] = (
            None if event else 2 if result["ttic_day"] == last_contact and last_contact < horizon
            else 3 if death_day is not None and death_day <= horizon
            else 1
        )  # fmt: skip
    value = scores.icu_free_days(
        stays=[
            (day(s["admitted_on"]), None if s["discharged_on"] is None else day(s["discharged_on"]))
            for s in stays
        ],
        death_day=death_day,
        horizon=TRIAL.icu_free_days_horizon_day,
        last_contact_day=last_contact,
    )
    result["icu_free_days"] = value
    result["icu_free_days_unknown"] = int(value is None)
    return result
