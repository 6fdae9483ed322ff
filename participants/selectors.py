"""Reads of the participants app, shared by pages and other apps. Always site-scoped."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from kernel import calendars
from kernel.access import scope_to_sites
from kernel.calendars import ascii_digits
from kernel.physiology import pf_display
from kernel.trial import TRIAL

from . import rules
from .models import (
    Eligibility,
    IdentifyingData,
    NotEnrolledReason,
    Participant,
    ParticipantStatus,
    Screening,
    WithdrawalScope,
)


def participants_for(user) -> QuerySet[Participant]:
    """The enrolled participants `user` may see: their sites only, for site-bound roles."""
    return scope_to_sites(Participant.objects.select_related("site", "withdrawal"), user)


def screenings_for(user) -> QuerySet[Screening]:
    """The screening log rows `user` may see (no identifying data joined)."""
    return scope_to_sites(
        Screening.objects.select_related(
            "site", "screened_by", "eligibility", "consent", "participant"
        ),
        user,
    ).order_by("-screened_on", "-sequence")


@dataclass(frozen=True)
class ScreeningStage:
    status: str  # a ParticipantStatus value, or "not_enrolled"
    label: str
    reason: str  # why not enrolled; failed criteria for an ineligible patient
    closed: bool


def screening_stage(screening: Screening) -> ScreeningStage:
    """Where a screening stands, derived from its records (the screening log's status)."""
    participant = getattr(screening, "participant", None)
    if participant is not None:
        return ScreeningStage(participant.status, participant.get_status_display(), "", closed=True)
    if screening.not_enrolled_reason:
        reason = str(NotEnrolledReason(screening.not_enrolled_reason).label)
        if screening.not_enrolled_detail:
            reason = f"{reason}: {screening.not_enrolled_detail}"
        return ScreeningStage("not_enrolled", _("Not enrolled"), reason, closed=True)
    eligibility = getattr(screening, "eligibility", None)
    if eligibility is not None and not eligibility.eligible:
        reason = _("Criterion failed: %(codes)s") % {"codes": ", ".join(eligibility.failed_codes)}
        return ScreeningStage("not_enrolled", _("Not enrolled"), reason, closed=True)
    if getattr(screening, "consent", None) is not None:
        return ScreeningStage(
            ParticipantStatus.CONSENTED, str(ParticipantStatus.CONSENTED.label), "", closed=False
        )
    if eligibility is not None:
        return ScreeningStage(
            ParticipantStatus.ELIGIBLE, str(ParticipantStatus.ELIGIBLE.label), "", closed=False
        )
    return ScreeningStage(
        ParticipantStatus.SCREENED, str(ParticipantStatus.SCREENED.label), "", closed=False
    )


def possible_duplicates(
    *, national_id: str, hospital_record_number: str, full_name: str, date_of_birth, site
) -> QuerySet[Screening]:
    """Earlier screenings that look like the same person (warned about, never silently doubled).

    Matches trial-wide on the national ID, and at the site on the hospital record number or on
    name and date of birth together.
    """
    match = Q(pk__in=[])
    if national_id:
        match |= Q(identity__national_id=national_id)
    if hospital_record_number:
        match |= Q(site=site, identity__hospital_record_number__iexact=hospital_record_number)
    if full_name and date_of_birth:
        match |= Q(
            site=site,
            identity__full_name__iexact=full_name.strip(),
            identity__date_of_birth=date_of_birth,
        )
    return Screening.objects.filter(match).select_related("site").order_by("pk")


def data_entry_refusal(participant: Participant, on: date, *, routine_records: bool = False):
    """Why study data dated `on` may not be entered for `participant`, or None if it may.

    After a withdrawal of consent no study data dated on or after the withdrawal date are
    collected; with scope "follow-up only", data from routine records (e.g. vital status) still
    may be. Other apps call this before saving a CRF (outcomes, safety).
    """
    withdrawal = getattr(participant, "withdrawal", None)
    if withdrawal is None or on < withdrawal.withdrawn_on:
        return None
    if routine_records and withdrawal.scope == WithdrawalScope.FOLLOW_UP_ONLY:
        return None
    return _(
        "%(study_id)s withdrew consent on %(date)s (%(scope)s): no study data dated on or "
        "after that day can be entered."
    ) % {
        "study_id": participant.study_id,
        "date": calendars.shown(withdrawal.withdrawn_on),
        "scope": withdrawal.get_scope_display(),
    }


def open_screening_count(user) -> int:
    """Screenings at the user's sites still waiting for a step (eligibility, consent, enroll)."""
    return sum(1 for s in screenings_for(user) if not screening_stage(s).closed)


def unconfirmed_eligibility_for(user) -> QuerySet[Eligibility]:
    return scope_to_sites(
        Eligibility.objects.filter(
            eligible=True, confirmed_at__isnull=True, screening__not_enrolled_reason=""
        ),
        user,
        site_path="screening__site",
    )


# Letters a Persian name may be typed with from an Arabic keyboard layout, and the Persian
# letters they stand for; the zero-width non-joiner (U+200C) is dropped (محمدرضا = محمد‌رضا).
_ARABIC_FORMS, _PERSIAN_FORMS, _DROPPED = "يكى", "یکی", "\u200c"


def search_text(text: str) -> str:
    """A search as typed, in the form names are compared: Persian letters, ASCII digits."""

    return ascii_digits(text).translate(str.maketrans(_ARABIC_FORMS, _PERSIAN_FORMS, _DROPPED))


def with_search_name(queryset, field: str):
    """`queryset` with `search_name`: `field` folded as `search_text` folds a search, in SQL."""
    from django.db.models import F, Func, Value

    return queryset.annotate(
        search_name=Func(
            F(field),
            Value(_ARABIC_FORMS + _DROPPED),
            Value(_PERSIAN_FORMS),
            function="translate",
        )
    )


# --- eligibility ----------------------------------------------------------------------------


def _labelled(assessment: rules.Assessment) -> list[dict]:
    return [
        {"result": r, "criterion": TRIAL.criterion(r.code)}
        for r in assessment.results
        if r.applicable
    ]


def eligibility_preview(
    *,
    screening: Screening,
    identity: IdentifyingData | None = None,
    answers: dict[str, bool | None],
    pao2_mmhg: Decimal | None,
    fio2_entered: Decimal | None,
    fio2_unit: str,
    childbearing_potential: bool | None = None,
    pregnancy_test: str = "",
) -> dict:
    """The live verdict for what is typed so far (nothing saved): computed by the same rule
    the service applies when the form is saved (participants.rules.assess), with values beyond
    a hard limit left out and said to be out of range (rules.blood_gas_entry)."""
    if identity is None:
        identity = IdentifyingData.objects.get(screening=screening)
    entry = rules.blood_gas_entry(
        pao2_mmhg=pao2_mmhg, fio2_entered=fio2_entered, fio2_unit=fio2_unit
    )
    assessment = rules.assess(
        answers=answers,
        sex=identity.sex,
        date_of_birth=identity.date_of_birth,
        screening_date=screening.screened_on,
        pao2_mmhg=entry.pao2_mmhg,
        fio2=entry.fio2,
        childbearing_potential=childbearing_potential,
        pregnancy_test=pregnancy_test,
    )
    return {
        "assessment": assessment,
        "inputs": entry,
        "criteria": _labelled(assessment),
        "pf_display": (
            pf_display(assessment.pf_ratio) if assessment.pf_ratio is not None else None
        ),
    }


def eligibility_criteria(eligibility: Eligibility) -> list[dict]:
    """Each applicable criterion of a saved eligibility form, assessed from what is stored."""
    identity = IdentifyingData.objects.get(screening=eligibility.screening)
    assessment = rules.assess(
        answers={n.upper(): getattr(eligibility, n) for n in Eligibility.ANSWER_FIELDS},
        sex=identity.sex,
        date_of_birth=identity.date_of_birth,
        screening_date=eligibility.screening.screened_on,
        pao2_mmhg=eligibility.pao2_mmhg,
        fio2=eligibility.fio2,
        childbearing_potential=eligibility.childbearing_potential,
        pregnancy_test=eligibility.pregnancy_test,
    )
    return _labelled(assessment)
