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
from outcomes import scores
from outcomes.models import ClinicalStatus, EventKind, IcuStay, StudyEvent


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


def streams(by_export_id, export_id) -> tuple[Aligned, Aligned, Aligned]:
    """The statuses, events and ICU stays, each sorted by export ID (see services)."""
    statuses = by_export_id(
        ClinicalStatus.objects.filter(status_score__isnull=False).annotate(
            x_export_id=export_id("visit__participant")
        ),
        "visit__day",
    ).values("x_export_id", "visit__day", "assessed_on", "status_score")
    events = by_export_id(
        StudyEvent.objects.filter(
            kind__in=(EventKind.DEATH, EventKind.HOSPITAL_DISCHARGE)
        ).annotate(x_export_id=export_id("participant")),
        "occurred_on",
    ).values("x_export_id", "kind", "occurred_on")
    stays = by_export_id(
        IcuStay.objects.annotate(x_export_id=export_id("participant")), "admitted_on"
    ).values("x_export_id", "admitted_on", "discharged_on")
    return Aligned(statuses), Aligned(events), Aligned(stays)


def endpoints(*, day0: date | None, statuses, events, stays) -> dict:
    """death_day, discharge_day, ttic_day, ttic_event, icu_free_days of one participant, as
    outcomes.selectors.participant_endpoints computes them."""
    if day0 is None:
        return {}

    def day(on: date) -> int:
        return (on - day0).days

    first = {}
    for event in events:
        first.setdefault(event["kind"], day(event["occurred_on"]))
    death_day = first.get(EventKind.DEATH)
    discharge_day = first.get(EventKind.HOSPITAL_DISCHARGE)
    result = {"death_day": death_day, "discharge_day": discharge_day}
    baseline, later = None, {}
    for row in statuses:
        if row["visit__day"] == 0:
            baseline = row["status_score"]
        elif row["assessed_on"] is not None:
            later[day(row["assessed_on"])] = row["status_score"]
    if baseline is not None:
        result["ttic_day"], event = scores.time_to_clinical_improvement(
            baseline_status=baseline,
            statuses=later,
            discharged_alive_day=discharge_day,
            death_day=death_day,
            horizon=TRIAL.ttic_horizon_day,
        )
        result["ttic_event"] = int(bool(event))
    result["icu_free_days"] = scores.icu_free_days(
        stays=[
            (day(s["admitted_on"]), None if s["discharged_on"] is None else day(s["discharged_on"]))
            for s in stays
        ],
        death_day=death_day,
        horizon=TRIAL.icu_free_days_horizon_day,
    )
    return result
