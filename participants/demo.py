"""Demo data of the participants app, for `manage.py load_demo` (plausible, never real).

Goes through the services, as a coordinator would: every patient is screened; most are
eligible, consent and are enrolled; some fail a criterion, some decline. `participants` is the
number of enrolled participants to have; the screen failures come on top, as in a real log.
"""

from __future__ import annotations

import random
import uuid
import zoneinfo
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.utils import timezone

from kernel import concurrency
from kernel.bulk import insert_with_history
from kernel.models import Site, User
from kernel.physiology import pf_display, pf_ratio
from kernel.roles import Role
from kernel.trial import TRIAL

from . import services
from .models import (
    Consent,
    ConsentSigner,
    Eligibility,
    IdentifyingData,
    NotEnrolledReason,
    Participant,
    Screening,
    ScreeningVitalSigns,
    Sex,
    SiteSequence,
    WithdrawalScope,
)

FIRST_NAMES = {
    Sex.FEMALE: ["Maryam", "Fatemeh", "Zahra", "Narges", "Leila", "Shirin", "Parvaneh", "Roya"],
    Sex.MALE: ["Ali", "Hossein", "Mohammad", "Reza", "Mehdi", "Hamid", "Saeed", "Behrouz"],
}
LAST_NAMES = ["Ahmadi", "Hosseini", "Karimi", "Moradi", "Rahimi", "Jafari", "Sadeghi", "Rostami"]
NO = dict.fromkeys(["e1", "e3", "e4", "e5", "e6", "e7", "e8", "e9", "e10", "e11", "e12"], False)
ELIGIBLE_ANSWERS = {"i1": True, "i3": True, "i5": True, **NO, "e13": False, "e2": False}
# Screen failures, each with its reason (I2: P/F 250; E7: diabetes; I4: age 70).
FAILURES = [
    ("pf", {"pao2_mmhg": Decimal("100"), "fio2": Decimal("0.40")}),
    ("diabetes", {"answers": {**ELIGIBLE_ANSWERS, "e7": True}}),
    ("age", {"age": 70}),
]


def national_id(rng: random.Random) -> str:
    digits = [rng.randrange(10) for _ in range(9)]
    remainder = sum(d * (10 - i) for i, d in enumerate(digits)) % 11
    check = remainder if remainder < 2 else 11 - remainder
    return "".join(map(str, digits)) + str(check)


def _user(site: Site, role: Role) -> User | None:
    return User.objects.filter(sites=site, groups__name=role.value).order_by("username").first()


def load(*, participants: int, seed: int, stdout) -> str:
    """Top the enrolled demo participants up to `participants`, spread over the sites."""
    existing = Participant.objects.count()
    missing = participants - existing
    if missing <= 0:
        return f"{existing} participants (0 new)"
    rng = random.Random(seed + existing)
    sites = [s for s in Site.objects.order_by("code") if _user(s, Role.COORDINATOR)]
    enrolled = []
    for i in range(missing):
        site = sites[i % len(sites)]
        # Screened 31–65 days ago, spread, so that randomization (the next day: randomization.
        # demo) leaves visits to fill and show, and nothing is dated before its screening.
        days_ago = 31 + ((existing + i) * 9) % 35
        enrolled.append(_screen(rng, site, days_ago=days_ago, enroll=True))
        if i % 3 == 1:
            _kind, override = FAILURES[(existing + i) % len(FAILURES)]
            _screen(rng, site, days_ago=days_ago, enroll=False, **override)
        if i % 4 == 2:
            _screen(rng, site, days_ago=days_ago, enroll=False, decline=True)
    if participants >= 8 and existing == 0:
        # One of the first eight withdraws consent, as happens in every trial.
        withdrawn = enrolled[3]
        services.consent_withdraw(
            participant=withdrawn,
            user=_user(withdrawn.site, Role.COORDINATOR),
            withdrawn_on=timezone.localdate(),
            scope=WithdrawalScope.FOLLOW_UP_ONLY,
            reason="Family asked to stop study visits",
        )
    return f"{Participant.objects.count()} participants ({len(enrolled)} new)"


def _screen(
    rng,
    site,
    *,
    days_ago: int,
    enroll: bool,
    decline: bool = False,
    answers=None,
    pao2_mmhg=None,
    fio2=None,
    age=None,
):
    coordinator = _user(site, Role.COORDINATOR)
    investigator = _user(site, Role.INVESTIGATOR)
    tz = zoneinfo.ZoneInfo(site.time_zone)
    screened_on = timezone.now().astimezone(tz).date() - timedelta(days=days_ago)
    sex = rng.choice([Sex.FEMALE, Sex.MALE])
    age = age or rng.randint(25, 64)
    # Born `age` years and 1–300 days before the screening date: exactly `age` years old.
    born = date(screened_on.year - age, screened_on.month, min(screened_on.day, 28))
    born -= timedelta(days=rng.randint(1, 300))
    taken = set(IdentifyingData.objects.values_list("full_name", flat=True))
    names = [f"{first} {last}" for first in FIRST_NAMES[sex] for last in LAST_NAMES]
    free = [n for n in names if n not in taken] or [f"{n} {rng.randint(2, 99)}" for n in names]
    screening = services.screening_create(
        site=site,
        user=coordinator,
        screened_on=screened_on,
        submission_token=uuid.uuid4(),
        identity={
            "full_name": rng.choice(free),
            "national_id": national_id(rng),
            "hospital_record_number": f"IKHC-{rng.randrange(100000, 999999)}",
            "date_of_birth": born,
            "sex": sex,
            "phone": f"+98 912 {rng.randrange(1000000, 9999999)}",
            "address": f"No. {rng.randint(1, 200)}, Tehran",
        },
    )
    services.screening_vital_signs_save(
        screening=screening,
        user=coordinator,
        values=_screening_vitals(screening),
        opened_version=None,  # a new form
    )
    eligibility = services.eligibility_save(
        screening=screening,
        user=coordinator,
        answers=answers or ELIGIBLE_ANSWERS,
        pao2_mmhg=pao2_mmhg or Decimal(rng.randint(55, 75)),
        fio2_entered=fio2 or Decimal("0.60"),
        fio2_unit="fraction",
        opened_version=None,  # a new form
        # A woman: of childbearing potential with a negative test, or not of childbearing
        # potential (issue 19).
        **(
            {"childbearing_potential": True, "pregnancy_test": "negative"}
            if sex == "female" and born.year > 1975
            else {"childbearing_potential": False}
            if sex == "female"
            else {}
        ),
    )
    if not eligibility.eligible:
        return None
    # Enrollment needs the investigator's confirmation; some of those not enrolled wait for it.
    if (rng.random() < 0.7 or enroll) and investigator is not None:
        services.eligibility_confirm(
            eligibility=eligibility,
            user=investigator,
            opened_version=concurrency.version_of(eligibility),
        )
    if decline:
        return services.screening_close(
            screening=screening, user=coordinator, reason=NotEnrolledReason.DECLINED
        )
    representative = rng.random() < 0.4  # ARDS patients are often too ill to sign
    services.consent_record(
        screening=screening,
        user=coordinator,
        consented_at=datetime.combine(screened_on, time(14, 0), tzinfo=tz),
        form_version="1.1",
        signer=ConsentSigner.REPRESENTATIVE if representative else ConsentSigner.PARTICIPANT,
        representative_name="Demo Representative" if representative else "",
        representative_relationship="spouse" if representative else "",
        obtained_by=investigator or coordinator,
        witness_name="Demo Witness (ward nurse)",
        scanned_form_reference=f"ISF/ICF/{screening.screening_number}.pdf",
    )
    return services.participant_enroll(screening=screening, user=coordinator) if enroll else None


def _screening_vitals(screening: Screening) -> dict:
    """Vital signs at screening of a patient with COVID-19 ARDS on oxygen, within every usual
    range (TRIAL.vital_sign_soft_ranges). Drawn from the screening number, not the demo's
    random stream, so adding them changed no other demo value."""
    rng = random.Random(screening.screening_number)
    systolic = rng.randint(100, 150)
    return {
        "measured_on": screening.screened_on,
        "measured_at": time(rng.randint(8, 12), rng.choice((0, 15, 30, 45))),
        "temperature_c": Decimal(rng.randint(366, 388)) / 10,
        "heart_rate_bpm": rng.randint(80, 120),
        "systolic_mmhg": systolic,
        "diastolic_mmhg": rng.randint(55, min(95, systolic - 30)),
        "respiratory_rate": rng.randint(22, 34),
        "spo2_percent": rng.randint(88, 95),
        "fio2": Decimal("0.60"),
        "respiratory_support": rng.choice(("face_mask", "high_flow_nasal_oxygen")),
    }


# -- the large demo: bulk inserts (load_demo --participants 10000) ---------------------------

BULK_CHUNK = 2000
BULK_REASON = "Demo data (bulk load)"


def load_bulk(*, participants: int, seed: int, stdout) -> str:
    """Top the participants up to `participants` in bulk: screened, eligible, consented and
    enrolled, with the screen failures (one in four) and refusals (one in six) of a real log.

    The same rows, and first history rows, as the services write (kernel/bulk.py); the numbers
    continue each site's SiteSequence. Screening days spread over the past 14 months.
    """
    existing = Participant.objects.count()
    missing = participants - existing
    if missing <= 0:
        return f"{existing} participants (0 new)"
    rng = random.Random(seed + existing)
    sites = [s for s in Site.objects.order_by("code") if _user(s, Role.COORDINATOR)]
    staff = {
        s.pk: (
            _user(s, Role.COORDINATOR),
            _user(s, Role.INVESTIGATOR) or _user(s, Role.COORDINATOR),
        )
        for s in sites
    }
    counters = {
        (s.pk, kind): SiteSequence.objects.get_or_create(site=s, kind=kind)[0]
        for s in sites
        for kind in (SiteSequence.SCREENING, SiteSequence.STUDY_ID)
    }
    made = 0
    for start in range(0, missing, BULK_CHUNK):
        indexes = range(start, min(start + BULK_CHUNK, missing))
        made += _bulk_chunk(
            indexes, total=missing, rng=rng, sites=sites, staff=staff, counters=counters
        )
        stdout.write(f"  participants: {existing + made} of {participants}")
    SiteSequence.objects.bulk_update(counters.values(), ["last_value"])
    return f"{Participant.objects.count()} participants ({made} new, bulk)"


def _screenings_of(index: int) -> list[str]:
    """What happens to the patients screened alongside the index-th enrolled participant."""
    outcomes = ["enrolled"]
    if index % 4 == 1:
        outcomes.append("ineligible")  # I4: older than 65
    if index % 6 == 2:
        outcomes.append("declined")
    return outcomes


def _bulk_chunk(indexes, *, total, rng, sites, staff, counters) -> int:
    today = timezone.localdate()
    names = [f"{f} {last}" for sex in FIRST_NAMES for f in FIRST_NAMES[sex] for last in LAST_NAMES]
    screenings, identities, eligibilities = [], [], []
    for i in indexes:
        site = sites[i % len(sites)]
        coordinator, investigator = staff[site.pk]
        # Oldest first: the first participants were screened about 14 months ago.
        screened_on = today - timedelta(days=2 + (total - i) * 420 // total)
        for outcome in _screenings_of(i):
            counter = counters[(site.pk, SiteSequence.SCREENING)]
            counter.last_value += 1
            age = 70 if outcome == "ineligible" else rng.randint(25, 64)
            born = date(screened_on.year - age, screened_on.month, min(screened_on.day, 28))
            screening = Screening(
                site=site,
                screening_number=(
                    f"{TRIAL.screening_number_prefix}{site.code}-{counter.last_value:04d}"
                ),
                sequence=counter.last_value,
                screened_on=screened_on,
                screened_by=coordinator,
                not_enrolled_reason="" if outcome == "enrolled" else outcome,
            )
            screening._history_user = coordinator
            screenings.append(screening)
            identities.append(
                IdentifyingData(
                    screening=screening,
                    full_name=f"{rng.choice(names)} ({screening.screening_number})",
                    national_id=national_id(rng),
                    hospital_record_number=f"IKHC-{rng.randrange(100000, 999999)}",
                    date_of_birth=born - timedelta(days=rng.randint(1, 300)),
                    sex=rng.choice([Sex.FEMALE, Sex.MALE]),
                )
            )
            woman = identities[-1].sex == Sex.FEMALE
            pao2 = Decimal(rng.randint(55, 75))
            eligibilities.append(
                Eligibility(
                    screening=screening,
                    **ELIGIBLE_ANSWERS,
                    # A woman: of childbearing potential, with a negative test (issue 19).
                    childbearing_potential=True if woman else None,
                    pregnancy_test="negative" if woman else "",
                    pao2_mmhg=pao2,
                    fio2_entered=Decimal("0.60"),
                    fio2_unit="fraction",
                    fio2=Decimal("0.600"),
                    pf_ratio=pf_display(pf_ratio(pao2_mmhg=pao2, fio2=Decimal("0.6"))),
                    age_years=age,
                    eligible=outcome != "ineligible",
                    failed_criteria="I4" if outcome == "ineligible" else "",
                    assessed_by=coordinator,
                    # An enrolled patient's eligibility was confirmed by the investigator.
                    confirmed_by=investigator if outcome == "enrolled" else None,
                    confirmed_at=(
                        timezone.now() - timedelta(days=(today - screened_on).days)
                        if outcome == "enrolled"
                        else None
                    ),
                )
            )
    insert_with_history(Screening, screenings, user=None, reason=BULK_REASON)
    for row in identities + eligibilities:
        row.screening = row.screening  # the screening has its primary key now
        row._history_user = row.screening.screened_by
    insert_with_history(IdentifyingData, identities, user=None, reason=BULK_REASON)
    insert_with_history(Eligibility, eligibilities, user=None, reason=BULK_REASON)
    vital_signs = [
        ScreeningVitalSigns(
            screening=screening, recorded_by=screening.screened_by, **_screening_vitals(screening)
        )
        for screening in screenings
    ]
    for row in vital_signs:
        row._history_user = row.recorded_by
    insert_with_history(ScreeningVitalSigns, vital_signs, user=None, reason=BULK_REASON)

    consents, participants = [], []
    for screening, identity in zip(screenings, identities, strict=True):
        if screening.not_enrolled_reason:
            continue
        coordinator, investigator = staff[screening.site_id]
        tz = zoneinfo.ZoneInfo(screening.site.time_zone)
        representative = rng.random() < 0.4  # ARDS patients are often too ill to sign
        consent = Consent(
            screening=screening,
            consented_at=datetime.combine(screening.screened_on, time(14, 0), tzinfo=tz),
            form_version="1.1",
            signer=ConsentSigner.REPRESENTATIVE if representative else ConsentSigner.PARTICIPANT,
            representative_name="Demo Representative" if representative else "",
            representative_relationship="spouse" if representative else "",
            obtained_by=investigator,
            witness_name="Demo Witness (ward nurse)",
            scanned_form_reference=f"ISF/ICF/{screening.screening_number}.pdf",
            recorded_by=coordinator,
        )
        counter = counters[(screening.site_id, SiteSequence.STUDY_ID)]
        counter.last_value += 1
        participant = Participant(
            site=screening.site,
            study_id=f"{screening.site.code}-{counter.last_value:04d}",
            screening=screening,
            identity=identity,
            enrolled_by=coordinator,
        )
        consent._history_user = participant._history_user = coordinator
        consents.append(consent)
        participants.append(participant)
    insert_with_history(Consent, consents, user=None, reason=BULK_REASON)
    insert_with_history(Participant, participants, user=None, reason=BULK_REASON)
    return len(participants)
