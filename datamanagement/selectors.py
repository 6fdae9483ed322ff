"""Reads of the data-management app that pages, exports, other apps and tasks share.

`database_is_locked()` is the gate trial-level unblinding asks (SPEC §1, §6): the randomization
app refuses to unblind the trial while it returns False.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import cached_property
from typing import Any

from django.apps import apps
from django.db.models import (
    Count,
    DateField,
    DateTimeField,
    Exists,
    F,
    Model,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    TimeField,
    Value,
    prefetch_related_objects,
)
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kernel import audit, calendars, concurrency
from kernel.access import scope_to_sites, sites_for
from kernel.models import User
from kernel.prepared import PreparedRows, Read
from kernel.roles import Role
from kernel.templatetags.edc import edc_datetime
from kernel.trial import TRIAL
from outcomes.models import (
    CRF_MODELS,
    ConcomitantMedication,
    DailyStatus,
    Disposition,
    IcuStay,
    StudyEvent,
    Visit,
)
from outcomes.selectors import crfs_of_visits
from participants.models import Participant, ScreeningVitalSigns

from .models import (
    Lock,
    LockLevel,
    Notification,
    Query,
    QueryOrigin,
    QueryState,
    SdvMark,
    Signature,
    SignatureLevel,
)

# -- the casebook's records of no visit --------------------------------------------------------
# A CRF is named by its visit and its code (outcomes.models.CRF_MODELS). A record of the
# casebook that belongs to no visit is named by its participant and its code: the vital signs at
# screening (issue 19), recorded before the person was enrolled. Queries, SDV marks, signatures
# and locks name it with `visit` empty and `crf_code` its code; every helper below that takes a
# CRF code takes these codes too.


@dataclass(frozen=True)
class VisitlessRecord:
    code: str
    model: type[Model]
    participant_path: str  # the lookup from the record to its participant
    date_field: str  # the record's own date, shown and sorted on in the worklists

    @property
    def name(self) -> str:
        return str(self.model._meta.verbose_name).capitalize()

    def of(self, participant) -> Model | None:
        return self.model._default_manager.filter(**{self.participant_path: participant}).first()


VISITLESS_RECORDS: dict[str, VisitlessRecord] = {
    ScreeningVitalSigns.crf_code: VisitlessRecord(
        code=ScreeningVitalSigns.crf_code,
        model=ScreeningVitalSigns,
        participant_path="screening__participant",
        date_field="measured_on",
    ),
}
SCREENING_VITALS = ScreeningVitalSigns.crf_code


def record_model(crf_code: str) -> type[Model] | None:
    """The model of a CRF code or of a casebook record of no visit."""
    if crf_code in CRF_MODELS:
        return CRF_MODELS[crf_code]
    record = VISITLESS_RECORDS.get(crf_code)
    return record.model if record is not None else None


def record_name(crf_code: str) -> str:
    if crf_code in VISITLESS_RECORDS:
        return VISITLESS_RECORDS[crf_code].name
    return str(TRIAL.crfs.get(crf_code, ""))


def visitless_record(participant, crf_code: str) -> Model | None:
    """The participant's record of no visit with this code (None if not recorded)."""
    return VISITLESS_RECORDS[crf_code].of(participant)


def participant_of_record(record) -> Participant | None:
    """The participant a casebook record of no visit belongs to (None before enrollment)."""
    if isinstance(record, ScreeningVitalSigns):
        return Participant.objects.filter(screening_id=record.screening_id).first()
    return None


# -- locks ---------------------------------------------------------------------------------


def database_is_locked() -> bool:
    """True while the database lock is active: the condition for trial-level unblinding."""
    return Lock.objects.filter(level=LockLevel.DATABASE, unlocked_at__isnull=True).exists()


@dataclass(frozen=True)
class ReadinessItem:
    """One line of the database-lock checklist: what is not finished, and how many."""

    key: str
    label: str
    count: int

    @property
    def cleared(self) -> bool:
        return self.count == 0


def database_lock_readiness() -> list[ReadinessItem]:
    """What must be finished (or waived with a reason) before the database is locked (issue 20):
    open or answered queries, voided signatures not signed again, CRFs not fully source-verified,
    CRFs missing after their window, SAEs still followed up."""
    from safety.models import AdverseEvent
    from safety.rules import FINAL_OUTCOMES

    queries = Query.objects.filter(state__in=[QueryState.OPEN, QueryState.ANSWERED]).count()
    # The visit compared with NULL equal to NULL: a casebook signature and a record of no
    # visit's have none, and signing them again must clear them too.
    signed_again = Signature.objects.annotate(visit_key=Coalesce("visit", Value(0))).filter(
        voided_at__isnull=True,
        participant=OuterRef("participant"),
        level=OuterRef("level"),
        visit_key=Coalesce(OuterRef("visit"), Value(0)),
        crf_code=OuterRef("crf_code"),
    )
    voided = (
        Signature.objects.filter(voided_at__isnull=False)
        .exclude(Exists(signed_again))
        .values("participant", "level", "visit", "crf_code")
        .distinct()
        .count()
    )
    sdv_incomplete = sdv_incomplete_count()
    missing = Query.objects.filter(
        origin=QueryOrigin.MISSING_CRF, state__in=[QueryState.OPEN, QueryState.ANSWERED]
    ).count()
    sae_open = AdverseEvent.objects.filter(serious=True).exclude(outcome__in=FINAL_OUTCOMES).count()
    return [
        ReadinessItem("queries", str(_("Open or answered queries")), queries),
        ReadinessItem("voided_signatures", str(_("Voided signatures not signed again")), voided),
        ReadinessItem(
            "sdv", str(_("CRFs with source-data verification incomplete")), sdv_incomplete
        ),
        ReadinessItem("missing_crfs", str(_("CRFs missing after their window")), missing),
        ReadinessItem("sae_follow_ups", str(_("SAE follow-ups still open")), sae_open),
    ]


def sdv_incomplete_count() -> int:
    """The saved CRFs (and casebook records of no visit of the enrolled) the monitoring plan asks
    to verify and not verified: a field of `sdv_required_fields` without a mark in force
    (`SdvCrf.is_verified`, and the record status grid's SDV state). Counted in SQL, one
    statement per CRF table and per kind of record of no visit whatever the number of
    participants (issue 24: a statement for each CRF of each visit and another for its marks)."""
    count = 0
    for code, model in CRF_MODELS.items():
        required = sdv_required_fields(code)
        # A CRF of its visit's schedule only (`Visit.crf_codes`), as the casebook shows them.
        visit_codes = [v.code for v in TRIAL.visits_with_crf(code)]
        if not required or not visit_codes:
            continue
        marked = _marked_in_force(code, required, visit=OuterRef("visit"))
        count += _unverified(model.objects.filter(visit__code__in=visit_codes), marked, required)
    for code, kind in VISITLESS_RECORDS.items():
        required = sdv_required_fields(code)
        if not required:
            continue
        marked = _marked_in_force(
            code, required, visit=None, participant=OuterRef(kind.participant_path)
        )
        records = kind.model._default_manager.filter(**{f"{kind.participant_path}__isnull": False})
        count += _unverified(records, marked, required)
    return count


def _marked_in_force(code: str, required: list[str], **of_record) -> QuerySet:
    """How many of the `required` fields of one record have a mark in force (a subquery)."""
    return (
        SdvMark.objects.filter(
            **of_record, crf_code=code, field_name__in=required, cleared_at__isnull=True
        )
        .order_by()
        .values("crf_code")
        .annotate(fields=Count("field_name", distinct=True))
        .values("fields")
    )


def _unverified(records: QuerySet, marked: QuerySet, required: list[str]) -> int:
    """How many of `records` have fewer of their `required` fields marked than required."""
    return (
        records.order_by()
        .annotate(marked=Coalesce(Subquery(marked), Value(0)))
        .filter(marked__lt=len(set(required)))
        .count()
    )


def trial_is_unblinded() -> bool:
    """Both trial-level unblinding confirmations are recorded (randomization.TrialUnblinding).

    Randomization sits above this app: its model is named by string, not imported."""
    unblinding = apps.get_model("randomization", "TrialUnblinding")
    return unblinding.objects.filter(
        data_manager_confirmed_at__isnull=False, statistician_confirmed_at__isnull=False
    ).exists()


def active_locks() -> QuerySet[Lock]:
    return Lock.objects.filter(unlocked_at__isnull=True).select_related(
        "participant", "visit", "locked_by"
    )


def lock_covering(
    *, participant_id: int | None = None, visit_id: int | None = None, crf_code: str = ""
) -> Lock | None:
    """The active lock that covers a record, the widest first (database, participant, CRF;
    for a casebook record of no visit, its own CRF-level lock by participant and code).

    Asked on every CRF page and save: one statement, compiled once per process for each of its
    shapes (`_COVERING_LOCKS`, issue 24)."""
    read = lock_covering_read(participant_id=participant_id, visit_id=visit_id, crf_code=crf_code)
    return lock_covering_of(read.run())


def lock_covering_read(
    *, participant_id: int | None = None, visit_id: int | None = None, crf_code: str = ""
) -> Read:
    """lock_covering's statement, for kernel.prepared.read_together (its instances:
    lock_covering_of)."""
    by_participant, by_crf = participant_id is not None, visit_id is not None and bool(crf_code)
    visitless = not by_crf and by_participant and crf_code in VISITLESS_RECORDS
    return Read(
        _COVERING_LOCKS,
        (by_participant, by_crf, visitless),
        (participant_id or 0, visit_id or 0, crf_code or ""),
    )


def lock_covering_of(locks: list[Lock]) -> Lock | None:
    """lock_covering from the instances of its statement (lock_covering_read)."""
    return _widest(locks)


_LOCK_ORDER = {LockLevel.DATABASE.value: 0, LockLevel.PARTICIPANT.value: 1, LockLevel.CRF.value: 2}


def _widest(locks: list[Lock]) -> Lock | None:
    """The widest of `locks` (database, participant, CRF); the first of its level in the
    locks' order."""
    return min(locks, key=lambda lock: _LOCK_ORDER[lock.level]) if locks else None


def _covering_locks(shape: tuple[bool, bool, bool], participant_id, visit_id, crf_code) -> QuerySet:
    by_participant, by_crf, visitless = shape
    covering = Q(level=LockLevel.DATABASE)
    if by_participant:
        covering |= Q(level=LockLevel.PARTICIPANT, participant_id=participant_id)
    if by_crf:
        covering |= Q(level=LockLevel.CRF, visit_id=visit_id, crf_code=crf_code)
    elif visitless:
        covering |= Q(
            level=LockLevel.CRF,
            participant_id=participant_id,
            visit__isnull=True,
            crf_code=crf_code,
        )
    return active_locks().filter(covering)


_COVERING_LOCKS = PreparedRows(Lock, _covering_locks, ("int", "int", "text"))


def lock_for_crf(
    visit: Visit, crf_code: str, *, of_visit: VisitRecords | None = None
) -> Lock | None:
    """`of_visit`: the visit's rows read once for a page that shows several of its CRFs (the
    same lock as the CRF's own statement finds: those of its visit that cover this CRF)."""
    if of_visit is not None:
        return _widest(
            [
                lock
                for lock in of_visit.locks
                if lock.level != LockLevel.CRF or lock.crf_code == crf_code
            ]
        )
    return lock_covering(participant_id=visit.participant_id, visit_id=visit.pk, crf_code=crf_code)


class VisitRecords:
    """The active locks, signatures and SDV marks of a visit (and the database's and the
    participant's locks, the casebook's signatures), each read with one statement, when first
    asked, for a page that shows several of the visit's CRFs (the visit page):
    `lock_for_crf`, `signatures_shown_with` and `sdv_of_crf` take from them, for each CRF,
    exactly the rows their own statement for that CRF reads, in the same order (issue 24:
    up to four statements a CRF before)."""

    def __init__(self, visit: Visit, *, sdv_marks: list[SdvMark] | None = None) -> None:
        self.visit = visit
        if sdv_marks is not None:  # read with other visits' (sdv_of_participant)
            self.sdv_marks = sdv_marks

    @cached_property
    def locks(self) -> list[Lock]:
        return _VISIT_LOCKS.objects(None, self.visit.participant_id, self.visit.pk)

    @cached_property
    def signatures(self) -> list[Signature]:
        return _VISIT_SIGNATURES.objects(None, self.visit.participant_id, self.visit.pk)

    @cached_property
    def sdv_marks(self) -> list[SdvMark]:
        return _VISIT_SDV_MARKS.objects(None, self.visit.pk)


def _visit_locks(_key, participant_id, visit_id) -> QuerySet:
    return active_locks().filter(
        Q(level=LockLevel.DATABASE)
        | Q(level=LockLevel.PARTICIPANT, participant_id=participant_id)
        | Q(level=LockLevel.CRF, visit_id=visit_id)
    )


def _visit_signatures(_key, participant_id, visit_id) -> QuerySet:
    return (
        Signature.objects.filter(participant_id=participant_id)
        .filter(
            Q(level=SignatureLevel.CASEBOOK)
            | Q(level=SignatureLevel.VISIT, visit_id=visit_id)
            | Q(level=SignatureLevel.CRF, visit_id=visit_id)
        )
        .select_related("signed_by", "visit", "participant")
    )


def _visit_sdv_marks(_key, visit_id) -> QuerySet:
    return SdvMark.objects.filter(visit_id=visit_id).select_related("verified_by")


# Compiled once (issue 24): every visit page reads them.
_VISIT_LOCKS = PreparedRows(Lock, _visit_locks, ("int", "int"))
_VISIT_SIGNATURES = PreparedRows(Signature, _visit_signatures, ("int", "int"))
_VISIT_SDV_MARKS = PreparedRows(SdvMark, _visit_sdv_marks, ("int",))


def lock_for_participant(participant) -> Lock | None:
    return lock_covering(participant_id=participant.pk)


def lock_for_record(participant, crf_code: str) -> Lock | None:
    """The lock covering a casebook record of no visit (database, participant, or its own)."""
    return lock_covering(participant_id=participant.pk, crf_code=crf_code)


# -- queries -------------------------------------------------------------------------------


def field_label(crf_code: str, field_name: str) -> str:
    if not field_name:
        return ""
    model = record_model(crf_code)
    if model is None:
        return field_name
    try:
        return str(getattr(model._meta.get_field(field_name), "verbose_name", field_name))
    except Exception:  # noqa: BLE001 — a field renamed since the query was raised
        return field_name


def queries_in_scope(user) -> QuerySet[Query]:
    return scope_to_sites(
        Query.objects.select_related("participant__site", "visit", "raised_by"),
        user,
        site_path="participant__site",
    )


def open_queries_for(user) -> QuerySet[Query]:
    """Queries not yet closed (open, or answered and waiting for the data manager) at the
    user's sites, oldest first: the dashboard's "open queries" (docs/dashboards.md)."""
    return queries_in_scope(user).exclude(state=QueryState.CLOSED).order_by("raised_at", "pk")


@dataclass(frozen=True)
class QueryFilters:
    state: str = ""
    site: str = ""
    participant: str = ""
    origin: str = ""
    older_than_days: int | None = None


def query_list(user, filters: QueryFilters) -> QuerySet[Query]:
    queries = queries_in_scope(user)
    if filters.state == "waiting":
        queries = queries.exclude(state=QueryState.CLOSED)
    elif filters.state:
        queries = queries.filter(state=filters.state)
    if filters.site:
        queries = queries.filter(participant__site__code=filters.site)
    if filters.participant:
        queries = queries.filter(participant__study_id=filters.participant)
    if filters.origin:
        queries = queries.filter(origin=filters.origin)
    if filters.older_than_days:
        cutoff = timezone.now() - timedelta(days=filters.older_than_days)
        queries = queries.filter(raised_at__lte=cutoff)
    return queries


def days_open(query: Query, *, now: datetime | None = None) -> int:
    """Ageing: whole days from raising to closing (or to now while not closed)."""
    end = query.closed_at or now or timezone.now()
    return (end - query.raised_at).days


def ageing_band(days: int) -> str:
    """'0–6', '7–13', '14–29', '30+' with TRIAL.query_ageing_days = (7, 14, 30)."""
    bounds = (0, *TRIAL.query_ageing_days)
    for low, high in zip(bounds, bounds[1:], strict=False):
        if low <= days < high:
            return f"{low}–{high - 1}"
    return f"{bounds[-1]}+"


def queries_waiting_count(user) -> int:
    """Queries waiting for this user's role: answers for the site, close-outs for the DM."""
    queries = queries_in_scope(user)
    if user.has_perm("datamanagement.close_query"):
        return queries.filter(state=QueryState.ANSWERED).count()
    if user.has_perm("datamanagement.answer_query"):
        return queries.filter(state=QueryState.OPEN).count()
    return queries.exclude(state=QueryState.CLOSED).count()


def queries_on_crf(visit: Visit, crf_code: str) -> dict[str, list[Query]]:
    """The queries on one CRF of a visit, by field name ('' for the whole CRF)."""
    by_field: dict[str, list[Query]] = {}
    # One statement compiled once (issue 24: every CRF page asks); the steps only when there
    # are queries, as prefetch_related would read them.
    queries = _QUERIES_ON_CRF.objects(None, visit.pk, crf_code)
    prefetch_related_objects(queries, "steps__by")
    for query in queries:
        by_field.setdefault(query.field_name, []).append(query)
    return by_field


def queries_on_record(participant, crf_code: str) -> dict[str, list[Query]]:
    """The queries on a casebook record of no visit, by field name ('' for the whole record)."""
    by_field: dict[str, list[Query]] = {}
    for query in (
        concurrency.with_versions(
            Query.objects.filter(participant=participant, visit__isnull=True, crf_code=crf_code)
        )
        .select_related("raised_by")
        .prefetch_related("steps__by")
        .order_by("raised_at", "pk")
    ):
        by_field.setdefault(query.field_name, []).append(query)
    return by_field


def _queries_on_crf(_key, visit_id, crf_code) -> QuerySet:
    return (
        concurrency.with_versions(Query.objects.filter(visit_id=visit_id, crf_code=crf_code))
        .select_related("raised_by")
        .order_by("raised_at", "pk")
    )


_QUERIES_ON_CRF = PreparedRows(Query, _queries_on_crf, ("int", "text"))


def unread_notifications_count(user) -> int:
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()


# -- source-data verification ----------------------------------------------------------------


def crf_data_fields(crf_code: str) -> list[str]:
    """The fields a person enters on a CRF or a casebook record of no visit (not the computed
    or bookkeeping ones)."""
    model = record_model(crf_code)
    if model is None:
        raise KeyError(crf_code)
    skip = {
        "id",
        "visit",
        "screening",
        "status",
        "warnings_confirmed",
        "warning_reason",
        "entered_by",
        "recorded_by",
    }
    return [
        f.name
        for f in model._meta.concrete_fields
        if f.editable
        and f.name not in skip
        and not f.auto_created
        and not getattr(f, "auto_now", False)
        and not getattr(f, "auto_now_add", False)
    ]


def sdv_required_fields(crf_code: str) -> list[str]:
    requirement = TRIAL.sdv_requirements.get(crf_code, "all")
    if requirement == "none":
        return []
    if requirement == "all":
        return crf_data_fields(crf_code)
    return list(requirement)


def shown_value(crf, field_name: str) -> str:
    """A field's value as the monitor compares it with the source."""
    model_field = crf._meta.get_field(field_name)
    value = getattr(crf, field_name)
    if value is None or value == "":
        return ""
    if model_field.choices:
        return str(dict(model_field.flatchoices).get(value, value))
    if isinstance(value, bool):
        return str(_yes_no(value))
    if isinstance(value, datetime):
        return timezone.localtime(value).isoformat(timespec="minutes")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.strftime("%H:%M")  # as entered and exported (HH:MM), not 09:00:00
    return str(value)


def reader_value(crf, field_name: str) -> str:
    """A field's value as the reader reads it (a review or SDV page): `shown_value` with dates
    in the reader's calendar (Jalali 1399/12/15 for a Jalali reader; Persian digits on a Persian
    page). What an SDV mark stores stays `shown_value` (ISO, one form for every reader)."""
    return in_reader_calendar(crf._meta.get_field(field_name), shown_value(crf, field_name))


def in_reader_calendar(model_field, shown: str) -> str:
    """`shown` (a `shown_value` of `model_field`: the live value or an SDV mark's stored one) in
    the reader's calendar. Only a date, date-time or time field is converted: its shown value is
    ISO by construction, so nothing is guessed from the text."""
    if not shown or model_field.choices:
        return shown
    try:
        if isinstance(model_field, DateTimeField):  # as every date-time of a page shows it
            return edc_datetime(datetime.fromisoformat(shown))
        if isinstance(model_field, DateField):
            return calendars.shown(date.fromisoformat(shown))
    except ValueError:  # a stored value of another form: shown as stored
        return shown
    if isinstance(model_field, TimeField):
        return calendars.digits_for_page(shown)
    return shown


def _yes_no(value: bool):
    from django.utils.translation import gettext

    return gettext("Yes") if value else gettext("No")


@dataclass
class SdvField:
    name: str
    label: str
    value: str  # as the reader reads it (`reader_value`)
    mark: SdvMark | None = None
    cleared: SdvMark | None = None  # the last mark cleared by a change, if not verified since
    cleared_value: str = ""  # the cleared mark's stored value, as the reader reads it


@dataclass
class SdvCrf:
    visit: Visit | None  # None: a casebook record of no visit (VISITLESS_RECORDS)
    crf_code: str
    crf: object
    requirement: str
    fields: list[SdvField] = field(default_factory=list)

    @property
    def name(self) -> str:
        return record_name(self.crf_code)

    @property
    def key(self) -> str:
        """Its name in the SDV page's ticks: "<visit code>:<CRF code>" (no visit: ":<code>")."""
        return f"{self.visit.code if self.visit is not None else ''}:{self.crf_code}"

    @property
    def verified_count(self) -> int:
        return sum(1 for f in self.fields if f.mark is not None)

    @property
    def is_verified(self) -> bool:
        return bool(self.fields) and self.verified_count == len(self.fields)


def _sdv_marks(_key, visit_id, crf_code) -> QuerySet:
    return SdvMark.objects.filter(visit_id=visit_id, crf_code=crf_code).select_related(
        "verified_by"
    )


# Compiled once (issue 24): every CRF page asks.
_SDV_MARKS = PreparedRows(SdvMark, _sdv_marks, ("int", "text"))


def sdv_of_crf(
    visit: Visit | None,
    crf_code: str,
    crf=None,
    *,
    participant=None,
    crf_read: bool = False,
    of_visit: VisitRecords | None = None,
) -> SdvCrf:
    """The SDV state of one CRF of `visit`, or (visit None) of the `participant`'s casebook
    record of no visit with this code. `crf`: the record if the caller read it; `crf_read`:
    the caller read it and `crf` None means none is saved. `of_visit`: the visit's rows, read
    once for the page (`visit_records`)."""
    if crf is None and not crf_read:
        if visit is None:
            crf = visitless_record(participant, crf_code)
        else:
            crf = CRF_MODELS[crf_code].objects.filter(visit=visit).first()
    requirement = TRIAL.sdv_requirements.get(crf_code, "all")
    label = requirement if isinstance(requirement, str) else "partial"
    result = SdvCrf(visit=visit, crf_code=crf_code, crf=crf, requirement=label)
    if crf is None:
        return result
    marks: dict[str, SdvMark] = {}
    cleared: dict[str, tuple[datetime, SdvMark]] = {}  # the latest cleared mark of each field
    marks_of = (
        [mark for mark in of_visit.sdv_marks if mark.crf_code == crf_code]
        if visit is not None and of_visit is not None
        else _SDV_MARKS.objects(None, visit.pk, crf_code)
        if visit is not None
        else SdvMark.objects.filter(
            participant=participant, visit__isnull=True, crf_code=crf_code
        ).select_related("verified_by")
    )
    for mark in marks_of:
        if mark.cleared_at is None:
            marks[mark.field_name] = mark
        elif mark.field_name not in cleared or mark.cleared_at > cleared[mark.field_name][0]:
            cleared[mark.field_name] = (mark.cleared_at, mark)
    for name in sdv_required_fields(crf_code):
        last_cleared = None if name in marks or name not in cleared else cleared[name][1]
        result.fields.append(
            SdvField(
                name=name,
                label=field_label(crf_code, name),
                value=reader_value(crf, name),
                mark=marks.get(name),
                cleared=last_cleared,
                cleared_value=(
                    in_reader_calendar(crf._meta.get_field(name), last_cleared.value)
                    if last_cleared is not None
                    else ""
                ),
            )
        )
    return result


def sdv_of_participant(participant) -> list[SdvCrf]:
    """Every saved CRF of the participant that needs verification: first the records of no
    visit (the vital signs at screening), then visit by visit."""
    rows = []
    for code in VISITLESS_RECORDS:
        record = visitless_record(participant, code)
        if record is not None and sdv_required_fields(code):
            rows.append(sdv_of_crf(None, code, record, participant=participant))
    visits = list(Visit.objects.filter(participant=participant).order_by("day"))
    # Each CRF table and the SDV marks read once for all the visits (issue 24: a statement for
    # each CRF of each visit and another for its marks); a CRF is its visit's one (one-to-one).
    crfs = crfs_of_visits(visits, only=sdv_required_fields)
    marks: dict[int | None, list[SdvMark]] = {visit.pk: [] for visit in visits}
    for mark in SdvMark.objects.filter(visit__in=visits).select_related("verified_by"):
        marks[mark.visit_id].append(mark)
    for visit in visits:
        records = VisitRecords(visit, sdv_marks=marks[visit.pk])
        for code in visit.crf_codes:
            if not sdv_required_fields(code):
                continue
            crf = crfs.get((visit.pk, code))
            if crf is not None:
                rows.append(sdv_of_crf(visit, code, crf, of_visit=records))
    return rows


# -- signatures ----------------------------------------------------------------------------


def _latest_history_id(obj: Model) -> int | None:
    return (
        audit.history_rows(obj)
        .order_by("-history_date", "-history_id")
        .values_list("history_id", flat=True)
        .first()
    )


def _values(obj: Model) -> dict:
    return {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields}


def signed_records(level: str, *, participant, visit: Visit | None, crf_code: str) -> list[Model]:
    """The records a signature covers: one CRF (or one record of no visit, `visit` None); a
    visit and its CRFs; or the casebook (the vital signs at screening, every visit, CRF, ICU
    stay, study event, daily status, medication and the disposition of the participant)."""
    if level == SignatureLevel.CRF:
        if visit is None:
            record = visitless_record(participant, crf_code)
            return [record] if record is not None else []
        crf = CRF_MODELS[crf_code].objects.filter(visit=visit).first()
        return [crf] if crf is not None else []
    if level == SignatureLevel.VISIT:
        if visit is None:
            raise ValueError("A visit signature needs its visit.")
        return [visit, *(c for c in _crfs(visit) if c is not None)]
    records: list[Model] = []
    for code in VISITLESS_RECORDS:
        record = visitless_record(participant, code)
        if record is not None:
            records.append(record)
    for v in Visit.objects.filter(participant=participant).order_by("day"):
        records += [v, *(c for c in _crfs(v) if c is not None)]
    records += list(IcuStay.objects.filter(participant=participant).order_by("pk"))
    records += list(StudyEvent.objects.filter(participant=participant).order_by("pk"))
    records += list(DailyStatus.objects.filter(participant=participant).order_by("day"))
    records += list(Disposition.objects.filter(participant=participant))
    records += list(ConcomitantMedication.objects.filter(participant=participant).order_by("pk"))
    return records


def signed_versions(level: str, *, participant, visit: Visit | None, crf_code: str) -> dict:
    """The versions a signature at `level` would cover now: (label, pk) -> version."""
    records = signed_records(level, participant=participant, visit=visit, crf_code=crf_code)
    return concurrency.versions_of(records)


def _crfs(visit: Visit) -> list:
    return [CRF_MODELS[code].objects.filter(visit=visit).first() for code in visit.crf_codes]


def manifest_and_hash(records: list[Model]) -> tuple[list, str]:
    """[[label, pk, history_id], ...] and the SHA-256 of that manifest with the values."""
    manifest = [[r._meta.label_lower, r.pk, _latest_history_id(r)] for r in records]
    payload = json.dumps(
        {"manifest": manifest, "values": [_values(r) for r in records]},
        sort_keys=True,
        default=str,
    )
    return manifest, hashlib.sha256(payload.encode()).hexdigest()


def signature_is_intact(signature: Signature) -> bool:
    """True if what the signature covers is still, version for version, what was signed."""
    records = signed_records(
        signature.level,
        participant=signature.participant,
        visit=signature.visit,
        crf_code=signature.crf_code,
    )
    return manifest_and_hash(records)[1] == signature.content_hash


@dataclass
class ShownSignature:
    signature: Signature
    valid: bool

    @property
    def level_label(self) -> str:
        return self.signature.get_level_display()


def _signatures_covering(shape: tuple[bool, bool, bool], participant_id, visit_id, crf_code):
    by_visit, by_crf, visitless = shape
    covering = Q(level=SignatureLevel.CASEBOOK)
    if by_visit:
        covering |= Q(level=SignatureLevel.VISIT, visit_id=visit_id)
    if by_crf:
        covering |= Q(level=SignatureLevel.CRF, visit_id=visit_id, crf_code=crf_code)
    elif visitless:
        covering |= Q(level=SignatureLevel.CRF, visit__isnull=True, crf_code=crf_code)
    return (
        Signature.objects.filter(participant_id=participant_id)
        .filter(covering)
        .select_related("signed_by", "visit", "participant")
    )


_SIGNATURES_COVERING = PreparedRows(Signature, _signatures_covering, ("int", "int", "text"))


def signatures_shown_with(
    participant,
    *,
    visit=None,
    crf_code: str = "",
    intact: dict | None = None,
    of_visit: VisitRecords | None = None,
) -> list[ShownSignature]:
    """The signatures to show with a record: its own, its visit's and the casebook's, newest
    first; each valid only if not voided and its content unchanged. `intact` memoises the hash
    check per signature within one page (a visit page shows the casebook signature per CRF).
    `of_visit`: the rows of `visit` read once for the page, for one of its CRFs (`crf_code`)."""
    intact = {} if intact is None else intact
    shown = []
    if of_visit is not None and visit is not None and crf_code:
        signatures = [
            s
            for s in of_visit.signatures
            if s.level != SignatureLevel.CRF or s.crf_code == crf_code
        ]
    else:
        # One statement compiled once per shape (issue 24): every CRF page and save asks.
        signatures = _SIGNATURES_COVERING.objects(
            (
                visit is not None,
                visit is not None and bool(crf_code),
                visit is None and crf_code in VISITLESS_RECORDS,
            ),
            participant.pk,
            visit.pk if visit is not None else 0,
            crf_code or "",
        )
    for signature in signatures:
        if not signature.is_void and signature.pk not in intact:
            intact[signature.pk] = signature_is_intact(signature)
        valid = not signature.is_void and intact[signature.pk]
        shown.append(ShownSignature(signature, valid))
    return shown


def signatures_of_casebook(participant) -> list[ShownSignature]:
    """Every signature given on a participant's data (casebook, visits, CRFs), oldest first,
    each with its validity: what the printed casebook lists (21 CFR 11.50(b))."""
    intact: dict[int, bool] = {}
    shown = []
    for signature in (
        Signature.objects.filter(participant=participant)
        .select_related("signed_by", "visit", "participant")
        .order_by("signed_at", "pk")
    ):
        valid = not signature.is_void and intact.setdefault(
            signature.pk, signature_is_intact(signature)
        )
        shown.append(ShownSignature(signature, valid))
    return shown


def signature_failures_since_last_success(user) -> int:
    from .models import SignatureFailure

    last = Signature.objects.filter(signed_by=user).order_by("-signed_at").first()
    failures = SignatureFailure.objects.filter(user=user)
    if last is not None:
        failures = failures.filter(at__gt=last.signed_at)
    return failures.count()


def unblinded_unlock_recipients() -> list[str]:
    """Who is told of an unlock after unblinding: the sponsor's contact, sponsor users and the
    statisticians (issue 20)."""
    users = User.objects.filter(
        is_active=True, groups__name__in=[Role.SPONSOR.value, Role.STATISTICIAN.value]
    )
    emails = users.exclude(email="").values_list("email", flat=True)
    return sorted({TRIAL.sponsor_safety_contact_email, *emails} - {""})


def security_alert_recipients() -> list[str]:
    """Who hears of repeated failed signatures at once (21 CFR 11.300(d)): the configured
    security contacts (the "system security unit") and every active data manager."""

    managers = User.objects.filter(is_active=True, groups__name=Role.DATA_MANAGER.value)
    emails = managers.exclude(email="").values_list("email", flat=True)
    return sorted({*TRIAL.security_contacts, *emails} - {""})


# -- the trial-wide audit log ----------------------------------------------------------------


@dataclass(frozen=True)
class AuditSource:
    label: str
    view_permission: str
    site_path: str
    participant_path: str | None  # lookup to the participant's study ID, if any


_OWN_SOURCES = (
    AuditSource(
        "datamanagement.query",
        "datamanagement.view_query",
        "participant__site",
        "participant__study_id",
    ),
    AuditSource(
        "datamanagement.querystep",
        "datamanagement.view_query",
        "query__participant__site",
        "query__participant__study_id",
    ),
    AuditSource(
        "datamanagement.sdvmark",
        "datamanagement.view_sdvmark",
        "visit__participant__site",
        "visit__participant__study_id",
    ),
    AuditSource(
        "datamanagement.signature",
        "datamanagement.view_signature",
        "participant__site",
        "participant__study_id",
    ),
    AuditSource(
        "datamanagement.lock",
        "datamanagement.view_lock",
        "participant__site",
        "participant__study_id",
    ),
)


def audit_sources(user) -> list[AuditSource]:
    """The audited models whose history `user` may read (the registry, plus this app's)."""
    sources = []
    for label in sorted(audit._REGISTRY):
        spec = audit._REGISTRY[label]
        if label == "participants.participant":
            path = "study_id"
        elif spec.site_path.endswith("__site"):
            path = spec.site_path.removesuffix("__site") + "__study_id"
        else:
            path = None
        if path is not None and not _lookup_exists(audit.history_model(spec.model), path):
            path = None  # e.g. a screening record: no participant yet
        sources.append(AuditSource(label, spec.view_permission, spec.site_path, path))
    sources += _OWN_SOURCES
    return [s for s in sources if user.has_perm(s.view_permission)]


def _lookup_exists(model, path: str) -> bool:
    """True if `path` ("visit__participant__study_id") resolves from `model` forwards."""
    from django.core.exceptions import FieldDoesNotExist

    for part in path.split("__"):
        try:
            field = model._meta.get_field(part)
        except FieldDoesNotExist:
            return False
        if field.is_relation:
            model = field.related_model
    return True


@dataclass(frozen=True)
class AuditFilters:
    user: str = ""
    model: str = ""
    participant: str = ""
    date_from: date | None = None
    date_to: date | None = None


@dataclass
class AuditRow:
    when: datetime
    who: str
    model: str
    record_id: int
    study_id: str
    action: str
    reason: str
    history: Any = None  # the simple-history row (its class is made at run time)
    # The related records the listing's rows name, shared by its rows: each read once for the
    # page or the CSV, not once per row and field (kernel.audit._shown).
    related: dict = field(default_factory=dict)

    def changes(self) -> list[tuple[str, object, object]]:
        """Field, old value, new value (every field set, for a creation)."""
        record = self.history
        fields = {
            f.attname: f
            for f in record.instance_type._meta.concrete_fields
            if f.name not in ("id", "updated_at")
        }
        previous = record.prev_record if record.history_type != "+" else None
        out = []
        for attname, model_field in fields.items():
            new = getattr(record, attname, None)
            old = getattr(previous, attname, None) if previous is not None else None
            if previous is None and new in (None, ""):
                continue
            if previous is not None and old == new:
                continue
            out.append(
                (
                    str(model_field.verbose_name),
                    audit._shown(model_field, old, self.related),
                    audit._shown(model_field, new, self.related),
                )
            )
        return out


def _history_rows(source: AuditSource, user, filters: AuditFilters) -> QuerySet:
    model = apps.get_model(source.label)
    rows = model.history.model.objects.select_related("history_user")
    site_filter = Q(**{f"{source.site_path}__in": sites_for(user)})
    if source.label == "datamanagement.lock":
        site_filter |= Q(participant__isnull=True)  # the database lock belongs to no site
    rows = rows.filter(site_filter)
    if filters.user:
        rows = rows.filter(history_user__username=filters.user)
    if filters.date_from:
        rows = rows.filter(history_date__date__gte=filters.date_from)
    if filters.date_to:
        rows = rows.filter(history_date__date__lte=filters.date_to)
    if filters.participant:
        if source.participant_path is None:
            return rows.none()
        rows = rows.filter(**{source.participant_path: filters.participant})
    if source.participant_path:
        rows = rows.annotate(trial_study_id=F(source.participant_path))
    return rows.order_by("-history_date", "-history_id")


_ACTIONS = {"+": "created", "~": "changed", "-": "deleted"}


def audit_log(user, filters: AuditFilters, *, limit: int | None = 200) -> list[AuditRow]:
    """Audit rows of every model `user` may read, in their sites, newest first."""
    rows: list[AuditRow] = []
    related: dict = {}  # shared by the rows (AuditRow.related)
    for source in audit_sources(user):
        if filters.model and source.label != filters.model:
            continue
        history = _history_rows(source, user, filters)
        if limit is not None:
            history = history[:limit]
        for record in history:
            rows.append(
                AuditRow(
                    when=record.history_date,
                    who=record.history_user.username if record.history_user else "",
                    model=source.label,
                    record_id=record.id,
                    study_id=getattr(record, "trial_study_id", "") or "",
                    action=str(audit._ACTIONS[record.history_type]),
                    reason=audit.reason_shown(record.history_change_reason),
                    history=record,
                    related=related,
                )
            )
    rows.sort(key=lambda r: (r.when, r.history.history_id), reverse=True)
    return rows[:limit] if limit is not None else rows


def query_actions(query: Query, user) -> list[tuple[str, str]]:
    """The steps `user` may take on `query` now: (action, button label)."""
    from django.utils.translation import gettext

    from .models import ACTION_PERMISSIONS, TRANSITIONS, QueryAction

    labels = {
        QueryAction.ANSWER: gettext("Answer"),
        QueryAction.CLOSE: gettext("Close"),
        QueryAction.REOPEN: gettext("Re-open"),
    }
    return [
        (action.value, label)
        for action, label in labels.items()
        if (query.state, action) in TRANSITIONS and user.has_perm(ACTION_PERMISSIONS[action])
    ]


# -- the record status grid (REDCap's record status dashboard) -------------------------------


class CrfState:
    """The states a CRF shows in the grid and the casebook, strongest first: a cell shows the
    first that applies (a locked CRF shows the lock even when it is signed and verified)."""

    LOCKED = "locked"
    SIGNED = "signed"
    QUERY = "query"
    SDV = "sdv"
    COMPLETE = "complete"
    DRAFT = "draft"
    EMPTY = "empty"
    ORDER = (LOCKED, SIGNED, QUERY, SDV, COMPLETE, DRAFT, EMPTY)
    LABELS = {
        LOCKED: gettext_lazy("locked"),
        SIGNED: gettext_lazy("signed"),
        QUERY: gettext_lazy("open query"),
        SDV: gettext_lazy("source data verified"),
        COMPLETE: gettext_lazy("complete"),
        DRAFT: gettext_lazy("draft"),
        EMPTY: gettext_lazy("not entered"),
    }


@dataclass
class CrfCell:
    visit: Visit
    crf_code: str
    states: set[str]  # every state that applies; `state` is the strongest

    @property
    def state(self) -> str:
        return next(s for s in CrfState.ORDER if s in self.states)

    @property
    def name(self) -> str:
        return TRIAL.crfs[self.crf_code]

    @property
    def label(self) -> str:
        """The text alternative of the icon: the CRF and every state that applies."""
        shown = ", ".join(str(CrfState.LABELS[s]) for s in CrfState.ORDER if s in self.states)
        return f"{self.visit.code} · {self.name}: {shown}"


@dataclass
class VisitCells:
    visit: Visit
    cells: list[CrfCell]
    signed: Signature | None  # the visit's own signature, not voided

    @property
    def entered(self) -> bool:
        return any(CrfState.EMPTY not in c.states for c in self.cells)


@dataclass
class RecordCell:
    """The state of a casebook record of no visit (the vital signs at screening) in the grid."""

    crf_code: str
    states: set[str]

    @property
    def state(self) -> str:
        return next(s for s in CrfState.ORDER if s in self.states)

    @property
    def name(self) -> str:
        return record_name(self.crf_code)

    @property
    def label(self) -> str:
        shown = ", ".join(str(CrfState.LABELS[s]) for s in CrfState.ORDER if s in self.states)
        # As a CRF's "<visit> · <CRF>: <states>", the column's name standing for the visit.
        return f"{_('Screening')} · {self.name}: {shown}"


@dataclass
class ParticipantRow:
    participant: Any
    visits: dict[str, VisitCells]  # by visit code
    records: list[RecordCell] = field(default_factory=list)  # of no visit, VISITLESS_RECORDS order

    def states(self) -> set[str]:
        return {c.state for v in self.visits.values() for c in v.cells} | {
            c.state for c in self.records
        }


@dataclass
class StatusGrid:
    visit_codes: list[str]
    rows: list[ParticipantRow]


def record_status(participants: QuerySet) -> StatusGrid:
    """Participants × visits × CRFs with the state of each CRF (empty, draft, complete, open
    query, SDV done, signed, locked), read in a number of queries that does not grow with the
    number of participants: the participants, their visits, one per CRF table, then the open
    queries, SDV marks, signatures and locks of all of them at once.

    A signature counts while it is not voided: a change to a signed record voids it (services);
    the hash check of every version is left to the pages of one record."""
    participant_list = list(participants.select_related("site").order_by("study_id"))
    ids = [p.pk for p in participant_list]
    visits = list(Visit.objects.filter(participant_id__in=ids).order_by("participant_id", "day"))
    visit_ids = [v.pk for v in visits]
    saved: dict[tuple[int, str], str] = {}  # (visit id, CRF code) -> draft / complete
    for code, model in CRF_MODELS.items():
        for visit_id, crf_status in model.objects.filter(visit_id__in=visit_ids).values_list(
            "visit_id", "status"
        ):
            saved[(visit_id, code)] = crf_status
    queried = set(
        Query.objects.filter(
            visit_id__in=visit_ids, state__in=(QueryState.OPEN, QueryState.ANSWERED)
        ).values_list("visit_id", "crf_code")
    )
    marked: dict[tuple[int, str], set[str]] = {}
    for visit_id, code, field_name in SdvMark.objects.filter(
        visit_id__in=visit_ids, cleared_at__isnull=True
    ).values_list("visit_id", "crf_code", "field_name"):
        marked.setdefault((visit_id, code), set()).add(field_name)
    required = {code: set(sdv_required_fields(code)) for code in CRF_MODELS}
    casebook_signed: set[int] = set()
    visit_signature: dict[int | None, Signature] = {}
    crf_signed: set[tuple[int | None, str]] = set()
    for signature in Signature.objects.filter(participant_id__in=ids, voided_at__isnull=True):
        if signature.level == SignatureLevel.CASEBOOK:
            casebook_signed.add(signature.participant_id)
        elif signature.level == SignatureLevel.VISIT:
            visit_signature.setdefault(signature.visit_id, signature)
        else:
            crf_signed.add((signature.visit_id, signature.crf_code))
    locks = list(
        Lock.objects.filter(unlocked_at__isnull=True).filter(
            Q(level=LockLevel.DATABASE) | Q(participant_id__in=ids)
        )
    )
    database_locked = any(lock.level == LockLevel.DATABASE for lock in locks)
    participant_locked = {
        lock.participant_id for lock in locks if lock.level == LockLevel.PARTICIPANT
    }
    crf_locked = {(lock.visit_id, lock.crf_code) for lock in locks if lock.level == LockLevel.CRF}

    rows = {p.pk: ParticipantRow(participant=p, visits={}) for p in participant_list}
    _record_cells(rows, locks=locks, casebook_signed=casebook_signed)
    for visit in visits:
        visit.participant = rows[visit.participant_id].participant  # no query per visit
        cells = []
        for code in visit.crf_codes:
            key = (visit.pk, code)
            status = saved.get(key)
            states: set[str] = {CrfState.EMPTY if status is None else status}
            if status is not None:
                if key in queried:
                    states.add(CrfState.QUERY)
                if required[code] and required[code] <= marked.get(key, set()):
                    states.add(CrfState.SDV)
                if (
                    visit.participant_id in casebook_signed
                    or visit.pk in visit_signature
                    or key in crf_signed
                ):
                    states.add(CrfState.SIGNED)
            if database_locked or visit.participant_id in participant_locked or key in crf_locked:
                states.add(CrfState.LOCKED)
            cells.append(CrfCell(visit=visit, crf_code=code, states=states))
        rows[visit.participant_id].visits[visit.code] = VisitCells(
            visit=visit, cells=cells, signed=visit_signature.get(visit.pk)
        )
    return StatusGrid(visit_codes=[v.code for v in TRIAL.visits], rows=list(rows.values()))


def _record_cells(rows: dict[int, ParticipantRow], *, locks, casebook_signed: set[int]) -> None:
    """Each participant's cells for the casebook records of no visit, in a number of queries
    that does not grow with the participants (five per kind of record)."""
    ids = list(rows)
    database_locked = any(lock.level == LockLevel.DATABASE for lock in locks)
    participant_locked = {
        lock.participant_id for lock in locks if lock.level == LockLevel.PARTICIPANT
    }
    for code, kind in VISITLESS_RECORDS.items():
        saved = set(
            kind.model._default_manager.filter(**{f"{kind.participant_path}__in": ids}).values_list(
                kind.participant_path, flat=True
            )
        )
        of_record = {"participant_id__in": ids, "visit__isnull": True, "crf_code": code}
        queried = set(
            Query.objects.filter(
                **of_record, state__in=(QueryState.OPEN, QueryState.ANSWERED)
            ).values_list("participant_id", flat=True)
        )
        marked: dict[int, set[str]] = {}
        for participant_id, field_name in SdvMark.objects.filter(
            **of_record, cleared_at__isnull=True
        ).values_list("participant_id", "field_name"):
            marked.setdefault(participant_id, set()).add(field_name)
        signed = set(
            Signature.objects.filter(
                **of_record, level=SignatureLevel.CRF, voided_at__isnull=True
            ).values_list("participant_id", flat=True)
        )
        locked = {
            lock.participant_id
            for lock in locks
            if lock.level == LockLevel.CRF and lock.visit_id is None and lock.crf_code == code
        }
        required = set(sdv_required_fields(code))
        for participant_id, row in rows.items():
            states: set[str] = {CrfState.COMPLETE if participant_id in saved else CrfState.EMPTY}
            if participant_id in saved:
                if participant_id in queried:
                    states.add(CrfState.QUERY)
                if required and required <= marked.get(participant_id, set()):
                    states.add(CrfState.SDV)
                if participant_id in casebook_signed or participant_id in signed:
                    states.add(CrfState.SIGNED)
            if database_locked or participant_id in participant_locked or participant_id in locked:
                states.add(CrfState.LOCKED)
            row.records.append(RecordCell(crf_code=code, states=states))


def record_status_for(user, *, site_code: str = "", state: str = "") -> StatusGrid:
    """The grid of the participants `user` may see (site scope), of one site and with at least
    one CRF in `state` when asked."""
    participants = scope_to_sites(Participant.objects.all(), user)
    if site_code:
        participants = participants.filter(site__code=site_code)
    grid = record_status(participants)
    if state:
        grid.rows = [row for row in grid.rows if state in row.states()]
    return grid


# -- worklists: what each person has to do next (issue 21) -----------------------------------


def _grid_of(user) -> StatusGrid:
    return record_status(scope_to_sites(Participant.objects.all(), user))


@dataclass
class SignatureTask:
    """A visit whose entered CRFs are all complete and not all signed, or a casebook record of
    no visit (the vital signs at screening) entered and not signed; `voided` is the signature a
    later change voided, when that is why it waits again."""

    visit: Visit | None  # None: a record of no visit (`record`)
    cells: list[CrfCell]
    voided: Signature | None = None
    record: RecordCell | None = None
    of_participant: Participant | None = None  # a record of no visit's participant
    on: date | None = None  # a record of no visit's date (the visit's target date otherwise)

    @property
    def participant(self):
        return self.visit.participant if self.visit is not None else self.of_participant

    @property
    def day(self) -> date:
        return self.visit.target_date if self.visit is not None else (self.on or date.min)

    @property
    def place(self) -> str:
        """The visit's code, or the column of the record status grid a record of no visit is
        in."""
        return self.visit.code if self.visit is not None else str(_("Screening"))


def awaiting_signature(user) -> list[SignatureTask]:
    """The investigator's "awaiting my signature" list, at the user's sites: every visit with
    at least one CRF entered, none left in draft, and a CRF not covered by a signature in
    force; and every record of no visit entered and not covered by one. Those whose signature a
    change voided come first (they were signed once and the change is what to review), then the
    others by date (a visit's target date, a record's own), oldest first."""
    grid = _grid_of(user)
    ids = [row.participant.pk for row in grid.rows]
    voided_of_visit: dict[int, Signature] = {}
    voided_of_casebook: dict[int, Signature] = {}
    voided_of_record: dict[tuple[int, str], Signature] = {}
    for signature in Signature.objects.filter(
        participant_id__in=ids, voided_at__isnull=False
    ).order_by("voided_at"):
        if signature.level == SignatureLevel.CASEBOOK:
            voided_of_casebook[signature.participant_id] = signature
        elif signature.visit_id is not None:
            voided_of_visit[signature.visit_id] = signature
        elif signature.crf_code in VISITLESS_RECORDS:
            voided_of_record[signature.participant_id, signature.crf_code] = signature
    tasks = []
    for row in grid.rows:
        for visit_cells in row.visits.values():
            entered = [c for c in visit_cells.cells if CrfState.EMPTY not in c.states]
            if not entered or any(CrfState.DRAFT in c.states for c in entered):
                continue
            if all(CrfState.SIGNED in c.states for c in entered):
                continue
            visit = visit_cells.visit
            voided = voided_of_visit.get(visit.pk) or voided_of_casebook.get(visit.participant_id)
            tasks.append(SignatureTask(visit=visit, cells=entered, voided=voided))
        for record in row.records:
            if CrfState.EMPTY in record.states or CrfState.SIGNED in record.states:
                continue
            pk = row.participant.pk
            tasks.append(
                SignatureTask(
                    visit=None,
                    cells=[],
                    record=record,
                    of_participant=row.participant,
                    voided=voided_of_record.get((pk, record.crf_code))
                    or voided_of_casebook.get(pk),
                )
            )
    _visitless_dates([t for t in tasks if t.record is not None])
    tasks.sort(key=lambda t: (t.voided is None, t.day, t.participant.study_id, t.place))
    return tasks


def _visitless_dates(tasks: list[SignatureTask]) -> None:
    """Each record-of-no-visit task's date (its `measured_on`), one query per kind of record."""
    for code, kind in VISITLESS_RECORDS.items():
        of_kind = [t for t in tasks if t.record is not None and t.record.crf_code == code]
        if not of_kind:
            continue
        dates = dict(
            kind.model._default_manager.filter(
                **{f"{kind.participant_path}__in": [t.participant.pk for t in of_kind]}
            ).values_list(kind.participant_path, kind.date_field)
        )
        for task in of_kind:
            task.on = dates.get(task.participant.pk)


def awaiting_signature_count(user) -> int:
    return len(awaiting_signature(user))


@dataclass
class SdvTask:
    """A complete CRF (or a record of no visit) the monitoring plan asks to verify, not
    verified yet."""

    visit: Visit | None  # None: a casebook record of no visit (VISITLESS_RECORDS)
    crf_code: str
    required: int  # fields the plan asks for
    verified: int  # of those, marked and in force
    whole: bool  # the plan asks for every field of this CRF
    reverify: bool  # a mark was cleared by a change since it was verified
    of_participant: Participant | None = None  # a record of no visit's participant
    on: date | None = None  # a record of no visit's date (the visit's target date otherwise)

    @property
    def participant(self):
        return self.visit.participant if self.visit is not None else self.of_participant

    @property
    def name(self) -> str:
        return record_name(self.crf_code)

    @property
    def day(self) -> date:
        return self.visit.target_date if self.visit is not None else (self.on or date.min)


def _visitless_sdv_tasks(participants: QuerySet) -> list[SdvTask]:
    """The records of no visit of `participants` the plan asks to verify, not verified yet."""
    tasks = []
    for code, kind in VISITLESS_RECORDS.items():
        required = set(sdv_required_fields(code))
        if not required:
            continue
        marked: dict[int, set[str]] = {}
        cleared: set[int] = set()
        for participant_id, field_name, cleared_at in SdvMark.objects.filter(
            visit__isnull=True, crf_code=code, participant__in=participants
        ).values_list("participant_id", "field_name", "cleared_at"):
            if cleared_at is None:
                marked.setdefault(participant_id, set()).add(field_name)
            else:
                cleared.add(participant_id)
        records = (
            kind.model._default_manager.filter(**{f"{kind.participant_path}__in": participants})
            .select_related(kind.participant_path)
            .order_by("pk")
        )
        for record in records:
            participant: Any = record
            for step in kind.participant_path.split("__"):
                participant = getattr(participant, step)
            verified = len(required & marked.get(participant.pk, set()))
            if verified == len(required):
                continue
            tasks.append(
                SdvTask(
                    visit=None,
                    crf_code=code,
                    required=len(required),
                    verified=verified,
                    whole=TRIAL.sdv_requirements.get(code, "all") == "all",
                    reverify=participant.pk in cleared,
                    of_participant=participant,
                    on=getattr(record, kind.date_field),
                )
            )
    return tasks


def sdv_queue(user, *, site_code: str = "") -> list[SdvTask]:
    """The monitor's SDV queue across the participants of the user's sites, in the order the
    monitoring plan sets (`TRIAL.sdv_requirements`): first the CRFs it asks to verify in full,
    in the order the plan lists them (eligibility and infusion before the endpoints), then the
    partial ones; within a CRF, marks cleared by a change first, then the oldest visit. Only
    complete CRFs: a draft is still being entered."""
    participants = scope_to_sites(Participant.objects.all(), user)
    if site_code:
        participants = participants.filter(site__code=site_code)
    grid = record_status(participants)
    plan = list(TRIAL.sdv_requirements)
    visit_ids = [v.visit.pk for row in grid.rows for v in row.visits.values()]
    marked: dict[tuple[int, str], set[str]] = {}
    cleared: set[tuple[int, str]] = set()
    for visit_id, code, field_name, cleared_at in SdvMark.objects.filter(
        visit_id__in=visit_ids
    ).values_list("visit_id", "crf_code", "field_name", "cleared_at"):
        if cleared_at is None:
            marked.setdefault((visit_id, code), set()).add(field_name)
        else:
            cleared.add((visit_id, code))
    tasks = []
    for row in grid.rows:
        for visit_cells in row.visits.values():
            for cell in visit_cells.cells:
                required = set(sdv_required_fields(cell.crf_code))
                if not required or CrfState.COMPLETE not in cell.states:
                    continue
                if CrfState.SDV in cell.states:
                    continue
                key = (visit_cells.visit.pk, cell.crf_code)
                tasks.append(
                    SdvTask(
                        visit=visit_cells.visit,
                        crf_code=cell.crf_code,
                        required=len(required),
                        verified=len(required & marked.get(key, set())),
                        whole=TRIAL.sdv_requirements.get(cell.crf_code, "all") == "all",
                        reverify=key in cleared,
                    )
                )
    tasks += _visitless_sdv_tasks(participants)
    tasks.sort(
        key=lambda t: (
            not t.whole,
            plan.index(t.crf_code) if t.crf_code in plan else len(plan),
            not t.reverify,
            t.day,
            t.participant.study_id,
        )
    )
    return tasks


def sdv_queue_count(user) -> int:
    return len(sdv_queue(user))


def query_worklist(user, *, state: str = "", band: str = "") -> list[dict]:
    """The queries waiting at the user's sites, oldest first, each with its days open and
    ageing band; `state` narrows to open or answered, `band` to one ageing band."""
    queries = concurrency.with_versions(queries_in_scope(user).exclude(state=QueryState.CLOSED))
    if state in (QueryState.OPEN, QueryState.ANSWERED):
        queries = queries.filter(state=state)
    now = timezone.now()
    rows = []
    for query in queries.order_by("raised_at", "pk")[:500]:
        days = days_open(query, now=now)
        rows.append({"query": query, "days": days, "band": ageing_band(days)})
    if band:
        rows = [r for r in rows if r["band"] == band]
    return rows


def ageing_bands() -> list[str]:
    bounds = (0, *TRIAL.query_ageing_days)
    return [ageing_band(low) for low in bounds]


def query_worklist_state_for(user) -> str:
    """The queries waiting for this user's role: answered ones to close for the data manager,
    open ones to answer for the site, all not closed for the others."""
    if user.has_perm("datamanagement.close_query"):
        return QueryState.ANSWERED
    if user.has_perm("datamanagement.answer_query"):
        return QueryState.OPEN
    return ""


def visit_records(request, visit) -> VisitRecords | None:
    """The visit's locks, signatures and SDV marks, read once per request (a visit page shows
    every CRF's status box: four statements a CRF before, issue 24); a view that reads them
    too (the CRF review page's SDV column) takes them from here."""
    if request is None:
        return None
    cache = getattr(request, "_dm_visit_records", None)
    if cache is None:
        cache = request._dm_visit_records = {}
    if visit.pk not in cache:
        cache[visit.pk] = VisitRecords(visit)
    return cache[visit.pk]
