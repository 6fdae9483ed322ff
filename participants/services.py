"""Every write the participants app does. One transaction each; reasons go to the audit trail.

Screening → eligibility → consent → enrollment (SPEC §2). Numbers (screening numbers, study
IDs) are taken under a row lock on the site, so two coordinators at one site never get the same
one, and from a per-site counter, so a number is never reused.
"""

from __future__ import annotations

import uuid
import zoneinfo
from datetime import date, datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kernel import audit, calendars, concurrency
from kernel.access import sites_for
from kernel.limits import (
    VITAL_SIGN_MEASURES,
    fio2_error,
    fio2_fraction,
    vital_sign_errors,
    vital_sign_warnings,
)
from kernel.models import Site
from kernel.physiology import pf_display
from kernel.trial import TRIAL

from . import rules, selectors, signals
from .exceptions import (
    AlreadyEnrolled,
    AlreadyRecorded,
    ConsentMissing,
    NotEligible,
    PossibleRescreen,
    ScreeningError,
    SiteNotAllowed,
    UnconfirmedVitalSigns,
)
from .models import (
    Consent,
    ConsentSigner,
    ConsentWithdrawal,
    Eligibility,
    IdentifyingData,
    NotEnrolledReason,
    Participant,
    ParticipantStatus,
    Screening,
    ScreeningVitalSigns,
    SiteSequence,
)


def _check_site(user, site: Site) -> None:
    if not sites_for(user).filter(pk=site.pk).exists():
        raise SiteNotAllowed(_("You are not assigned to site %(site)s.") % {"site": site.code})


def _next_number(site: Site, kind: str) -> int:
    # The caller holds a row lock on the site: no one else at this site is between this read
    # and the commit, so get_or_create cannot race and the number cannot be taken twice.
    counter, _created = SiteSequence.objects.get_or_create(site=site, kind=kind)
    counter.last_value += 1
    counter.save(update_fields=["last_value"])
    return counter.last_value


def _site_today(site: Site) -> date:
    return timezone.now().astimezone(zoneinfo.ZoneInfo(site.time_zone)).date()


def _identity_errors(identity: dict, *, screened_on: date) -> dict[str | None, str]:
    """The identifying data's edit checks: a plausible age on the screening date, a valid
    national code (its check digit)."""
    errors: dict[str | None, str] = {}
    dob = identity.get("date_of_birth")
    if dob is not None:
        age = rules.age_in_years(dob, screened_on)
        if dob > screened_on or age > TRIAL.age_plausible_max_years:
            errors["date_of_birth"] = _(
                "Date of birth gives an age of %(age)s years on the screening date "
                "(%(day)s); it must be between 0 and %(max)s."
            ) % {
                "age": age,
                "day": calendars.shown(screened_on),
                "max": TRIAL.age_plausible_max_years,
            }
    national_id = (identity.get("national_id") or "").strip()
    if national_id and not rules.national_id_is_valid(national_id):
        errors["national_id"] = _(
            "National ID: %(code)s is not a valid 10-digit Iranian national code."
        ) % {"code": national_id}
    return errors


def _refuse(errors: dict[str | None, str]) -> None:
    if errors:
        raise ScreeningError.of(errors)


def screening_create(
    *,
    site: Site,
    user,
    screened_on: date,
    identity: dict,
    submission_token: uuid.UUID | None = None,
    confirm_rescreen: bool = False,
) -> Screening:
    """Give a screened patient the site's next screening number and store their PHI apart.

    A repeated `submission_token` (a double submit) returns the screening it already made.
    Earlier screenings that look like the same person (selectors.possible_duplicates) refuse
    it with PossibleRescreen until `confirm_rescreen`; the new screening then links the latest.
    """
    _check_site(user, site)
    today = _site_today(site)
    errors: dict[str | None, str] = {}
    if screened_on > today:
        errors["screened_on"] = _(
            "Screening date %(day)s is in the future; it must be today (%(today)s) or earlier."
        ) % {"day": calendars.shown(screened_on), "today": calendars.shown(today)}
    errors |= _identity_errors(identity, screened_on=min(screened_on, today))
    _refuse(errors)
    if submission_token is not None:
        existing = Screening.objects.filter(submission_token=submission_token).first()
        if existing is not None:  # a double submit: the screening it already made
            return existing
    earlier = list(
        selectors.possible_duplicates(
            national_id=identity.get("national_id") or "",
            hospital_record_number=identity.get("hospital_record_number") or "",
            full_name=identity.get("full_name") or "",
            date_of_birth=identity.get("date_of_birth"),
            site=site,
        )
    )
    if earlier and not confirm_rescreen:
        raise PossibleRescreen(
            _("This person may have been screened before; check and tick to go on."),
            screenings=earlier,
        )
    previous_screening = earlier[-1] if earlier else None
    with transaction.atomic():
        site = Site.objects.select_for_update().get(pk=site.pk)
        if submission_token is not None:
            existing = Screening.objects.filter(submission_token=submission_token).first()
            if existing is not None:
                return existing
        sequence = _next_number(site, SiteSequence.SCREENING)
        screening = Screening(
            site=site,
            sequence=sequence,
            screening_number=f"{TRIAL.screening_number_prefix}{site.code}-{sequence:04d}",
            screened_on=screened_on,
            screened_by=user,
            previous_screening=previous_screening,
            submission_token=submission_token,
        )
        screening.full_clean()
        audit.save_with_reason(screening, user=user)
        identifying = IdentifyingData(screening=screening, **identity)
        identifying.full_clean()
        audit.save_with_reason(identifying, user=user)
    return screening


def _assess(
    screening: Screening,
    identity: IdentifyingData,
    answers: dict,
    *,
    pao2,
    fio2,
    childbearing_potential: bool | None = None,
    pregnancy_test: str = "",
):
    return rules.assess(
        answers={name.upper(): value for name, value in answers.items()},
        sex=identity.sex,
        date_of_birth=identity.date_of_birth,
        screening_date=screening.screened_on,
        pao2_mmhg=pao2,
        fio2=fio2,
        childbearing_potential=childbearing_potential,
        pregnancy_test=pregnancy_test,
    )


def _blood_gas_errors(
    *, pao2_mmhg: Decimal, fio2_entered: Decimal, fio2_unit: str
) -> dict[str | None, str]:
    """The screening blood gas's hard limits (TRIAL.hard_limits), FiO2 after its unit's
    conversion, each message naming the limit in the unit as typed."""
    errors: dict[str | None, str] = {}
    pao2 = TRIAL.hard_limits["pao2_mmhg"]
    if pao2_mmhg < pao2.minimum:
        errors["pao2_mmhg"] = _("PaO2 must be at least %(limit_value)s mmHg.") % {
            "limit_value": pao2.minimum
        }
    elif pao2_mmhg > pao2.maximum:
        errors["pao2_mmhg"] = _("PaO2 must be at most %(limit_value)s mmHg.") % {
            "limit_value": pao2.maximum
        }
    if fio2_unit not in (rules.FRACTION, rules.PERCENT):
        errors["fio2_unit"] = _("Say whether FiO2 is a fraction or a percentage.")
        return errors
    limit = TRIAL.hard_limits["fio2"]
    if not limit.minimum <= rules.fio2_fraction(fio2_entered, fio2_unit) <= limit.maximum:
        if fio2_unit == rules.PERCENT:
            errors["fio2_entered"] = _("FiO2 %(value)s %% is outside 21–100 %%.") % {
                "value": fio2_entered
            }
        else:
            errors["fio2_entered"] = _(
                "FiO2 %(value)s is outside %(min)s–%(max)s (a fraction; for a "
                "percentage choose “percentage”)."
            ) % {"value": fio2_entered, "min": limit.minimum, "max": limit.maximum}
    return errors


# The verdict and P/F are computed from every answer together: a change to one answer merged
# silently with someone else's change to another would give a verdict neither saw.
ELIGIBILITY_INPUTS = (
    *Eligibility.ANSWER_FIELDS,
    *Eligibility.PREGNANCY_FIELDS,
    "pao2_mmhg",
    "fio2_entered",
    "fio2_unit",
)


def eligibility_save(
    *,
    screening: Screening,
    user,
    answers: dict[str, bool | None],
    pao2_mmhg: Decimal,
    fio2_entered: Decimal,
    fio2_unit: str,
    opened_version: int | None,
    reason: str = "",
    childbearing_potential: bool | None = None,
    pregnancy_test: str = "",
) -> Eligibility:
    """Record (or correct, with a reason) the eligibility answers; compute I2, I4 and the verdict.

    For a woman, whether she is of childbearing potential and her screening pregnancy test
    (issue 19) decide E2 with its answer (participants.rules.pregnancy_met); for a man they
    are not recorded.

    `opened_version` is the version of the eligibility form the user opened (None: not filled
    in yet); a save on a version changed since is refused or merged (kernel.concurrency).
    A correction voids an investigator's earlier confirmation: it confirmed other answers.
    """
    _check_site(user, screening.site)
    _refuse(_blood_gas_errors(pao2_mmhg=pao2_mmhg, fio2_entered=fio2_entered, fio2_unit=fio2_unit))
    with transaction.atomic():
        screening = Screening.objects.select_for_update().get(pk=screening.pk)
        eligibility = Eligibility.objects.select_for_update().filter(screening=screening).first()
        if eligibility is None:
            eligibility = Eligibility(screening=screening)
        identity = IdentifyingData.objects.get(screening=screening)
        if identity.sex != "female":
            answers = {**answers, "e2": None}
            childbearing_potential, pregnancy_test = None, ""
        typed = {name: answers.get(name) for name in Eligibility.ANSWER_FIELDS} | {
            "childbearing_potential": childbearing_potential,
            "pregnancy_test": pregnancy_test or "",
            "pao2_mmhg": pao2_mmhg,
            "fio2_entered": fio2_entered,
            "fio2_unit": fio2_unit,
        }
        written = concurrency.refuse_stale_edit(
            record=eligibility,
            opened_version=opened_version,
            values=typed,
            linked=(frozenset(ELIGIBILITY_INPUTS),),
        )
        if eligibility.pk is not None and not reason:
            raise AlreadyRecorded(
                _("The eligibility form of %(number)s is recorded already.")
                % {"number": screening.screening_number}
            )
        if eligibility.pk is not None:
            # A correction voids the investigator's confirmation: not one given after the form
            # was opened, which the person correcting has not seen.
            concurrency.refuse_if_changed_since(
                record=eligibility,
                opened_version=opened_version,
                names=("confirmed_by", "confirmed_at"),
                action=_(
                    "nothing was saved: your correction would void the confirmation given since"
                ),
            )
        for name, value in written.items():
            setattr(eligibility, name, value)
        eligibility.fio2 = rules.fio2_fraction(eligibility.fio2_entered, eligibility.fio2_unit)
        _apply_assessment(eligibility, screening, identity)
        eligibility.assessed_by = user
        if eligibility.pk is not None:
            eligibility.confirmed_by = eligibility.confirmed_at = None
        eligibility.full_clean()
        audit.save_with_reason(eligibility, user=user, reason=reason)
    return eligibility


def _apply_assessment(
    eligibility: Eligibility, screening: Screening, identity, *, allow_missing: bool = False
) -> None:
    answers = {name: getattr(eligibility, name) for name in Eligibility.ANSWER_FIELDS}
    assessment = _assess(
        screening,
        identity,
        answers,
        pao2=eligibility.pao2_mmhg,
        fio2=eligibility.fio2,
        childbearing_potential=eligibility.childbearing_potential,
        pregnancy_test=eligibility.pregnancy_test,
    )
    if assessment.missing and not allow_missing:
        raise ScreeningError(
            _("Answer every question; missing: %(codes)s.")
            % {"codes": ", ".join(assessment.missing)}
        )
    eligibility.pf_ratio = pf_display(assessment.pf_ratio)
    eligibility.age_years = assessment.age_years
    # An unanswered question (E2 after a corrected sex) counts as not met until answered.
    eligibility.eligible = bool(assessment.eligible) and not assessment.missing
    eligibility.failed_criteria = ",".join(assessment.failed + assessment.missing)


def eligibility_confirm(
    *, eligibility: Eligibility, user, opened_version: int | None
) -> Eligibility:
    """An investigator confirms that an eligible patient is eligible (who and when recorded).

    The confirmation is of the answers the investigator was shown (`opened_version`): if they
    changed since, nothing is confirmed (kernel.concurrency)."""
    _check_site(user, eligibility.screening.site)
    with transaction.atomic():
        eligibility = Eligibility.objects.select_for_update().get(pk=eligibility.pk)
        concurrency.refuse_changed_since(
            record=eligibility,
            opened_version=opened_version,
            action=_("nothing was confirmed"),
        )
        if not eligibility.eligible:
            raise NotEligible(_("Only an eligible patient's eligibility can be confirmed."))
        if eligibility.confirmed_at is not None:
            raise AlreadyRecorded(_("Eligibility was confirmed already."))
        eligibility.confirmed_by = user
        eligibility.confirmed_at = timezone.now()
        eligibility.full_clean()
        audit.save_with_reason(
            eligibility, user=user, reason=_("Eligibility confirmed by the investigator")
        )
    return eligibility


def consent_record(
    *,
    screening: Screening,
    user,
    consented_at: datetime,
    form_version: str,
    signer: str,
    obtained_by,
    witness_name: str,
    scanned_form_reference: str,
    representative_name: str = "",
    representative_relationship: str = "",
) -> Consent:
    """Record written informed consent (I6) of an eligible screened patient."""
    _check_site(user, screening.site)
    site_tz = zoneinfo.ZoneInfo(screening.site.time_zone)
    consent_day = consented_at.astimezone(site_tz).date()
    errors: dict[str | None, str] = {}
    if consented_at > timezone.now():
        errors["consented_at"] = _(
            "Date and time of consent is in the future; it must be now or earlier."
        )
    elif consent_day < screening.screened_on:
        errors["consented_at"] = _(
            "Date of consent %(day)s is before the screening date %(screened)s."
        ) % {
            "day": calendars.shown(consent_day),
            "screened": calendars.shown(screening.screened_on),
        }
    try:
        version = TRIAL.consent_form_version(form_version)
    except KeyError:
        errors["form_version"] = _("Unknown consent-form version.")
    else:
        if not version.valid_on(consent_day):
            errors["form_version"] = _(
                "Consent-form version %(version)s is not valid on %(day)s (valid %(span)s)."
            ) % {
                "version": version.code,
                "day": calendars.shown(consent_day),
                "span": _span(version),
            }
    if signer == ConsentSigner.REPRESENTATIVE:
        if not representative_name.strip():
            errors["representative_name"] = _("Name the legal representative who signed.")
        if not representative_relationship:
            errors["representative_relationship"] = _(
                "Give the representative's relationship to the patient."
            )
    _refuse(errors)
    if signer == ConsentSigner.PARTICIPANT:
        representative_name = representative_relationship = ""
    with transaction.atomic():
        screening = Screening.objects.select_for_update().get(pk=screening.pk)
        if Consent.objects.filter(screening=screening).exists():
            raise AlreadyRecorded(_("Consent of this patient is recorded already."))
        eligibility = Eligibility.objects.filter(screening=screening).first()
        if eligibility is None or not eligibility.eligible:
            raise NotEligible(_("Consent is recorded for eligible patients only."))
        if screening.not_enrolled_reason:
            raise ScreeningError(_("This screening is closed: the patient was not enrolled."))
        consent = Consent(
            screening=screening,
            consented_at=consented_at,
            form_version=version.code,
            signer=signer,
            representative_name=representative_name.strip(),
            representative_relationship=representative_relationship,
            obtained_by=obtained_by,
            witness_name=witness_name.strip(),
            scanned_form_reference=scanned_form_reference.strip(),
            recorded_by=user,
        )
        consent.full_clean()
        audit.save_with_reason(consent, user=user)
    return consent


def _vital_signs_errors(
    values: dict, *, screening: Screening, today: date, fio2_unit: str
) -> dict[str | None, str]:
    """The screening's vital signs as typed: the same hard limits as the visits' vital signs
    (kernel.limits, TRIAL.hard_limits), a date from the screening's to today, and at least one
    measure."""
    errors: dict[str | None, str] = {}
    measured_on = values.get("measured_on")
    if measured_on is not None and measured_on > today:
        errors["measured_on"] = _(
            "Date measured %(day)s is in the future; it must be today (%(today)s) or earlier."
        ) % {"day": calendars.shown(measured_on), "today": calendars.shown(today)}
    elif measured_on is not None and measured_on < screening.screened_on:
        errors["measured_on"] = _(
            "Date measured %(day)s is before the screening date %(screened)s."
        ) % {
            "day": calendars.shown(measured_on),
            "screened": calendars.shown(screening.screened_on),
        }
    errors.update(dict(vital_sign_errors(values)))
    if values.get("fio2") is not None:
        if fio2_unit not in (rules.FRACTION, rules.PERCENT):
            errors["fio2_unit"] = _("Say whether FiO2 is a fraction or a percentage.")
        else:
            message = fio2_error(Decimal(values["fio2"]), fio2_unit)
            if message:
                errors["fio2"] = message
    if all(values.get(name) is None for name in VITAL_SIGN_MEASURES):
        errors[None] = _("Give at least one vital sign; leave empty only those not measured.")
    return errors


def screening_vital_signs_save(
    *,
    screening: Screening,
    user,
    values: dict,
    fio2_unit: str = rules.FRACTION,
    opened_version: int | None,
    reason: str = "",
    confirm_warnings: bool = False,
    warning_reason: str = "",
) -> ScreeningVitalSigns:
    """Record (or correct, with a reason) the vital signs at screening (issue 19).

    `values` are ScreeningVitalSigns.VALUE_FIELDS as typed, FiO2 in `fio2_unit` (stored as a
    fraction, converted explicitly). A value beyond its hard limit is refused (ScreeningError,
    every field named); values outside their soft range are saved only when
    `confirm_warnings` with a `warning_reason` (else UnconfirmedVitalSigns): the checks are
    kernel.limits', the visits' vital-signs CRFs' own. `opened_version` is the version the form
    showed (kernel.concurrency): every value is read with the others by the checks, so a
    change made meanwhile is never merged silently.
    """
    _check_site(user, screening.site)
    typed = {name: values.get(name) for name in ScreeningVitalSigns.VALUE_FIELDS}
    typed["respiratory_support"] = typed["respiratory_support"] or ""
    errors = _vital_signs_errors(
        typed, screening=screening, today=_site_today(screening.site), fio2_unit=fio2_unit
    )
    if typed["measured_on"] is None and "measured_on" not in errors:
        errors["measured_on"] = _("Give the date the vital signs were measured.")
    _refuse(errors)
    if typed["fio2"] is not None:
        typed["fio2"] = fio2_fraction(Decimal(typed["fio2"]), fio2_unit)
    warnings = vital_sign_warnings(typed)
    warning_reason = (warning_reason or "").strip()
    if warnings and not (confirm_warnings and warning_reason):
        raise UnconfirmedVitalSigns(warnings)
    with transaction.atomic():
        screening = Screening.objects.select_for_update().get(pk=screening.pk)
        # A lock covering the record refuses here, before anything is written.
        signals.record_changing.send(
            sender=ScreeningVitalSigns, screening=screening, crf_code=ScreeningVitalSigns.crf_code
        )
        record = ScreeningVitalSigns.objects.select_for_update().filter(screening=screening).first()
        if record is None:
            record = ScreeningVitalSigns(screening=screening)
        written = concurrency.refuse_stale_edit(
            record=record,
            opened_version=opened_version,
            values=typed,
            linked=(frozenset(ScreeningVitalSigns.VALUE_FIELDS),),
        )
        if record.pk is not None and not reason:
            raise AlreadyRecorded(
                _("The vital signs at screening of %(number)s are recorded already.")
                % {"number": screening.screening_number}
            )
        for name, value in written.items():
            setattr(record, name, value)
        record.warnings_confirmed = "\n".join(warnings)
        record.warning_reason = warning_reason if warnings else ""
        record.recorded_by = user
        record.full_clean()
        audit.save_with_reason(record, user=user, reason=reason)
        # SDV marks cleared, signatures voided, confirmed warnings queried (data management).
        signals.record_saved.send(
            sender=ScreeningVitalSigns,
            record=record,
            user=user,
            warnings=warnings,
            warning_reason=record.warning_reason,
        )
    return record


def _span(version) -> str:
    end = calendars.shown(version.valid_until) if version.valid_until else "…"
    return f"{calendars.shown(version.valid_from)} – {end}"


def screening_close(*, screening: Screening, user, reason: str, detail: str = "") -> Screening:
    """Close an eligible screening without enrollment: declined consent, or another reason."""
    _check_site(user, screening.site)
    if reason not in (NotEnrolledReason.DECLINED, NotEnrolledReason.OTHER):
        raise ScreeningError(_("Choose why the patient is not enrolled."), field="reason")
    if reason == NotEnrolledReason.OTHER and not detail.strip():
        raise ScreeningError(_("Details: say what the other reason is."), field="detail")
    with transaction.atomic():
        screening = Screening.objects.select_for_update().get(pk=screening.pk)
        if Participant.objects.filter(screening=screening).exists():
            raise AlreadyEnrolled(_("This patient is enrolled already."))
        if screening.not_enrolled_reason:
            raise AlreadyRecorded(_("This screening is closed already."))
        screening.not_enrolled_reason = reason
        screening.not_enrolled_detail = detail.strip()
        screening.full_clean()
        audit.save_with_reason(screening, user=user, reason=_("Screening closed: not enrolled"))
    return screening


def participant_enroll(*, screening: Screening, user) -> Participant:
    """Enroll an eligible, consented patient whose eligibility the investigator confirmed: the
    site's next study ID, atomically (issue 18: never on the coordinator's form alone)."""
    _check_site(user, screening.site)
    with transaction.atomic():
        # Lock order: site, then screening (every writer here takes them in this order).
        site = Site.objects.select_for_update().get(pk=screening.site_id)
        screening = Screening.objects.select_for_update().get(pk=screening.pk)
        existing = Participant.objects.filter(screening=screening).first()
        if existing is not None:
            raise AlreadyEnrolled(
                _("%(number)s is enrolled already as %(study_id)s.")
                % {"number": screening.screening_number, "study_id": existing.study_id}
            )
        eligibility = Eligibility.objects.filter(screening=screening).first()
        if eligibility is None or not eligibility.eligible:
            raise NotEligible(_("Only an eligible patient can be enrolled."))
        if eligibility.confirmed_at is None:
            raise NotEligible(
                _(
                    "The investigator has not confirmed this patient's eligibility yet: "
                    "enrollment waits for that confirmation."
                )
            )
        if not Consent.objects.filter(screening=screening).exists():
            raise ConsentMissing(_("Record the written informed consent (I6) before enrolling."))
        if screening.not_enrolled_reason:
            raise ScreeningError(_("This screening is closed: the patient was not enrolled."))
        number = _next_number(site, SiteSequence.STUDY_ID)
        participant = Participant(
            site=site,
            study_id=f"{site.code}-{number:04d}",
            status=ParticipantStatus.ENROLLED,
            screening=screening,
            identity=IdentifyingData.objects.get(screening=screening),
            enrolled_by=user,
        )
        participant.full_clean()
        audit.save_with_reason(participant, user=user)
        # The queries on the screening's records confirmed before enrollment (data management).
        signals.participant_enrolled.send(sender=Participant, participant=participant, user=user)
    return participant


def consent_withdraw(
    *, participant: Participant, user, withdrawn_on: date, scope: str, reason: str = ""
) -> ConsentWithdrawal:
    """Record a withdrawal of consent; the participant shows as withdrawn everywhere."""
    _check_site(user, participant.site)
    with transaction.atomic():
        participant = Participant.objects.select_for_update().get(pk=participant.pk)
        if ConsentWithdrawal.objects.filter(participant=participant).exists():
            raise AlreadyRecorded(_("The withdrawal of consent is recorded already."))
        consent = Consent.objects.get(screening_id=participant.screening_id)
        tz = zoneinfo.ZoneInfo(participant.site.time_zone)
        consent_day = consent.consented_at.astimezone(tz).date()
        if withdrawn_on > _site_today(participant.site):
            raise ScreeningError(
                _("Date of withdrawal %(day)s is in the future; it must be today or earlier.")
                % {"day": calendars.shown(withdrawn_on)},
                field="withdrawn_on",
            )
        if withdrawn_on < consent_day:
            raise ScreeningError(
                _("Date of withdrawal %(day)s is before the consent (%(consent)s).")
                % {"day": calendars.shown(withdrawn_on), "consent": calendars.shown(consent_day)},
                field="withdrawn_on",
            )
        withdrawal = ConsentWithdrawal(
            participant=participant,
            withdrawn_on=withdrawn_on,
            scope=scope,
            reason=reason.strip(),
            status_before=participant.status,
            recorded_by=user,
        )
        withdrawal.full_clean()
        audit.save_with_reason(withdrawal, user=user)
        participant.status = ParticipantStatus.WITHDRAWN
        participant.full_clean()
        audit.save_with_reason(participant, user=user, reason=_("Consent withdrawn"))
    return withdrawal


def identifying_data_update(
    *,
    identifying: IdentifyingData,
    user,
    reason: str,
    values: dict,
    opened_version: int | None,
) -> IdentifyingData:
    """Change identifying data; the reason is required and kept with old and new values.

    `values` are the form's fields as typed, `opened_version` the version the form was opened
    on: a change of a version changed since is refused or merged (kernel.concurrency; each
    field stands alone: no derived value reads two of them). A corrected date of birth or sex
    changes I4/E2, so the eligibility verdict is recomputed.
    """
    _check_site(user, identifying.screening.site)
    with transaction.atomic():
        identifying = IdentifyingData.objects.select_for_update().get(pk=identifying.pk)
        screening = identifying.screening
        written = concurrency.refuse_stale_edit(
            record=identifying, opened_version=opened_version, values=values
        )
        changes = concurrency.changed_values(identifying, written)
        if not changes:  # someone else made the same correction meanwhile: nothing to write
            return identifying
        for name, value in changes.items():
            setattr(identifying, name, value)
        identity = {
            "date_of_birth": identifying.date_of_birth,
            "national_id": identifying.national_id,
        }
        _refuse(_identity_errors(identity, screened_on=screening.screened_on))
        identifying.full_clean()
        audit.save_with_reason(identifying, user=user, reason=reason)
        eligibility = Eligibility.objects.filter(screening=screening).first()
        if eligibility is not None and {"date_of_birth", "sex"} & set(changes):
            if identifying.sex != "female":
                eligibility.e2 = None
                eligibility.childbearing_potential, eligibility.pregnancy_test = None, ""
            before = (eligibility.eligible, eligibility.failed_criteria, eligibility.age_years)
            # A woman's E2 was never asked if she was recorded as a man: it stays unanswered,
            # and so not met, until the eligibility form is corrected.
            _apply_assessment(eligibility, screening, identifying, allow_missing=True)
            if (eligibility.eligible, eligibility.failed_criteria, eligibility.age_years) != before:
                eligibility.confirmed_by = eligibility.confirmed_at = None
                eligibility.full_clean()
                audit.save_with_reason(
                    eligibility,
                    user=user,
                    reason=_("Recomputed after a change to identifying data: %(reason)s")
                    % {"reason": reason},
                )
    return identifying


def participant_death_sync(*, participant: Participant, user, died: bool) -> Participant:
    """Keep the participant's status in step with the death record (outcomes' study events).

    A recorded death makes the participant `died` (whatever the status was, a withdrawal
    included: the vital status is known from hospital records). When that record is corrected
    to another event, the status goes back to what it was before the death, read from the
    audit trail. Called inside the caller's transaction.
    """
    participant = Participant.objects.select_for_update().get(pk=participant.pk)
    if died and participant.status != ParticipantStatus.DIED:
        participant.status = ParticipantStatus.DIED
        reason = _("Death recorded")
    elif not died and participant.status == ParticipantStatus.DIED:
        before = (
            participant.history.exclude(status=ParticipantStatus.DIED)
            .order_by("-history_date", "-history_id")
            .values_list("status", flat=True)
            .first()
        )
        participant.status = before or ParticipantStatus.RANDOMIZED
        reason = _("Death record corrected")
    else:
        return participant
    participant.full_clean()
    audit.save_with_reason(participant, user=user, reason=reason)
    return participant
