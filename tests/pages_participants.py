"""Pages of the participants app (see tests/pages_trialedc.py for the format).

`prepare` adds `world.screening`: a consented, not yet enrolled screening at site 01, so the
consent, enrollment and closing pages open on a record where the step is possible; and the
participant's vital signs at screening, so its record shows them to every role crawling it.
"""

from .roles_short import C, D, I, M, P

SITE_WORK = {C, I}

PAGES = {
    "participant list": ("participants:list", lambda w: "/participants/", {C, I, P, M, D}),
    "screening log": (
        "participants:screening_log",
        lambda w: "/participants/screening/",
        {C, I, M, D},
    ),
    "screen": ("participants:screen", lambda w: "/participants/screen/", SITE_WORK),
    "participant": (
        "participants:detail",
        lambda w: f"/participants/{w.participant.study_id}/",
        {C, I, P, M, D},
    ),
    "screening record": (
        "participants:detail",
        lambda w: f"/participants/{w.screening.screening_number}/",
        {C, I, M, D},
    ),
    "eligibility": (
        "participants:eligibility",
        lambda w: f"/participants/{w.participant.study_id}/eligibility/",
        SITE_WORK,
    ),
    "eligibility check": (
        "participants:eligibility_check",
        lambda w: f"/participants/{w.screening.screening_number}/eligibility/check/?pao2_mmhg=60",
        SITE_WORK,
    ),
    "eligibility confirm": (
        "participants:eligibility_confirm",
        lambda w: f"/participants/{w.screening.screening_number}/eligibility/confirm/",
        {I},
    ),
    "screening vital signs": (
        "participants:vital_signs",
        lambda w: f"/participants/{w.screening.screening_number}/vital-signs/",
        SITE_WORK,
    ),
    "screening vital signs audit": (
        "audit_history",
        lambda w: f"/audit/participants.screeningvitalsigns/{_vital_signs_pk(w)}/",
        {C, I, M, D},
    ),
    "consent": (
        "participants:consent",
        lambda w: f"/participants/{w.screening.screening_number}/consent/",
        SITE_WORK,
    ),
    "enroll": (
        "participants:enroll",
        lambda w: f"/participants/{w.screening.screening_number}/enroll/",
        SITE_WORK,
    ),
    "not enrolled": (
        "participants:close",
        lambda w: f"/participants/{w.screening.screening_number}/not-enrolled/",
        SITE_WORK,
    ),
    "withdraw": (
        "participants:withdraw",
        lambda w: f"/participants/{w.participant.study_id}/withdraw/",
        SITE_WORK,
    ),
    "identity edit": (
        "participants:identity_edit",
        lambda w: f"/participants/{w.participant.study_id}/identity/edit/",
        SITE_WORK,
    ),
}


def _vital_signs_pk(world) -> int:
    from participants.models import ScreeningVitalSigns

    pk = (
        ScreeningVitalSigns.objects.filter(screening_id=world.participant.screening_id)
        .values_list("pk", flat=True)
        .first()
    )
    if pk is None:  # a world made without prepare(): the page is not among its pages
        raise AttributeError("this world's participant has no vital signs at screening")
    return pk


def prepare(world) -> None:
    from participants.models import Screening, ScreeningVitalSigns

    from .participants_factories import (
        ConsentFactory,
        EligibilityFactory,
        ScreeningFactory,
        ScreeningVitalSignsFactory,
    )

    site = world.participant.site
    screening = (
        Screening.objects.filter(site=site, participant__isnull=True, consent__isnull=False)
        .order_by("pk")
        .first()
    )
    if screening is None:
        screening = ScreeningFactory(site=site, screened_by=world.participant.enrolled_by)
        EligibilityFactory(screening=screening, confirmed=True)
        ConsentFactory(screening=screening)
    world.screening = screening
    if not ScreeningVitalSigns.objects.filter(screening=world.participant.screening).exists():
        ScreeningVitalSignsFactory(screening=world.participant.screening)
