"""Pages of the outcomes app (see tests/pages_trialedc.py for the format)."""

from decimal import Decimal

from kernel.trial import TRIAL
from outcomes import services
from outcomes.models import ConcomitantMedication, IcuStay, Murray, StudyEvent

from . import outcomes_factories as of
from .roles_short import C, D, I, M

READ = {C, I, M, D}
ENTER = {C, I}


def prepare(world):
    """A visit schedule (D3 due today), a few CRFs, an ICU stay and a discharge event."""
    p = world.participant
    day0 = of.schedule(p)
    if not p.icu_stays.exists():
        of.icu_stay(p, admitted_on=day0)
    world.icu_stay = IcuStay.objects.filter(participant=p).first()
    if not StudyEvent.objects.filter(participant=p).exists():
        of.event(p, "hospital_discharge", of.selectors.site_today(p.site))
    world.event = StudyEvent.objects.filter(participant=p).first()
    murray = Murray.objects.filter(visit__participant=p, visit__code="D0").first()
    if murray is None:
        murray = of.crf(
            p,
            "D0",
            "murray",
            pao2_mmhg=Decimal("70"),
            fio2=Decimal("0.6"),
            peep_cmh2o=Decimal("10"),
            cxr_quadrants=3,
        )
    world.murray = murray
    # A line of the medications log (issue 19).
    medication = ConcomitantMedication.objects.filter(participant=p).first()
    if medication is None:
        medication = services.conmed_save(
            participant=p,
            values={
                "category": "corticosteroid",
                "drug": "Dexamethasone",
                "indication": "COVID-19 ARDS",
                "dose": Decimal("6"),
                "dose_unit": "mg",
                "route": "iv",
                "frequency": "qd",
                "started_on": day0,
                "ongoing": True,
            },
            user=of._entry_user(p),
        )
    world.medication = medication


def _crf_page(code, crf):
    return (
        "outcomes:crf",
        lambda w: f"/outcomes/participants/{w.participant.study_id}/visits/{code}/{crf}/",
        ENTER,
    )


PAGES = {
    "visit worklist": ("outcomes:worklist", lambda w: "/outcomes/visits/", READ),
    "live computation": ("outcomes:compute", lambda w: "/outcomes/compute/", ENTER),
    "visit timeline": (
        "outcomes:visits",
        lambda w: f"/outcomes/participants/{w.participant.study_id}/visits/",
        READ,
    ),
    "visit calendar": (
        "outcomes:calendar",
        lambda w: f"/outcomes/participants/{w.participant.study_id}/calendar/",
        READ,
    ),
    "visit D3": (
        "outcomes:visit",
        lambda w: f"/outcomes/participants/{w.participant.study_id}/visits/D3/",
        READ,
    ),
    "visit missed": (
        "outcomes:visit_missed",
        lambda w: f"/outcomes/participants/{w.participant.study_id}/visits/D4/missed/",
        ENTER,
    ),
    **{f"CRF D0 {crf}": _crf_page("D0", crf) for crf in TRIAL.visit("D0").crfs},
    "CRF D60 follow-up": _crf_page("D60", "day60_follow_up"),
    "CRF D3 vital signs": _crf_page("D3", "vital_signs"),
    "CRF D3 safety laboratory": _crf_page("D3", "safety_lab"),
    "medication new": (
        "outcomes:conmed_new",
        lambda w: f"/outcomes/participants/{w.participant.study_id}/medications/new/",
        ENTER,
    ),
    "medication edit": (
        "outcomes:conmed_edit",
        lambda w: f"/outcomes/participants/{w.participant.study_id}/medications/{w.medication.pk}/",
        ENTER,
    ),
    "medication audit": (
        "audit_history",
        lambda w: f"/audit/outcomes.concomitantmedication/{w.medication.pk}/",
        READ,
    ),
    "ICU stay new": (
        "outcomes:icu_stay_new",
        lambda w: f"/outcomes/participants/{w.participant.study_id}/icu-stays/new/",
        ENTER,
    ),
    "ICU stay edit": (
        "outcomes:icu_stay_edit",
        lambda w: f"/outcomes/participants/{w.participant.study_id}/icu-stays/{w.icu_stay.pk}/",
        ENTER,
    ),
    "event new": (
        "outcomes:event_new",
        lambda w: f"/outcomes/participants/{w.participant.study_id}/events/new/",
        ENTER,
    ),
    "event edit": (
        "outcomes:event_edit",
        lambda w: f"/outcomes/participants/{w.participant.study_id}/events/{w.event.pk}/",
        ENTER,
    ),
    "daily status": (
        "outcomes:daily_status",
        lambda w: f"/outcomes/participants/{w.participant.study_id}/daily-status/",
        ENTER,
    ),
    "end-of-study disposition": (
        "outcomes:disposition",
        lambda w: f"/outcomes/participants/{w.participant.study_id}/disposition/",
        ENTER,
    ),
    "Murray CRF audit": (
        "audit_history",
        lambda w: f"/audit/outcomes.murray/{w.murray.pk}/",
        READ,
    ),
}
