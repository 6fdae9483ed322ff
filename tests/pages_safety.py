"""Pages of the safety app (see tests/pages_trialedc.py for the format)."""

from kernel.roles import Role

from .roles_short import SP, SPH, C, D, I, M, S

_READ = {C, I, M, D, S, SP}


def prepare(world) -> None:
    """A SUSAR (serious, open, with its initial report) for the world's participant."""
    from kernel.models import User
    from safety.models import AdverseEvent

    from .factories import UserFactory
    from .safety_factories import report_susar

    ae = AdverseEvent.objects.filter(participant=world.participant, serious=True).first()
    if ae is None:
        reporter = (
            User.objects.filter(groups__name=Role.COORDINATOR.value, sites=world.participant.site)
            .order_by("username")
            .first()
        ) or UserFactory(
            username="safety-reporter", role=Role.COORDINATOR, sites=[world.participant.site]
        )
        ae = report_susar(world.participant, reporter)
    world.ae = ae
    # The safety physician's case of that SUSAR, unblinded as reportable (made directly: the
    # world's participant need not be randomized), so its expedited CIOMS exists.
    from django.utils import timezone

    from safety.models import SusarCase, SusarOutcome

    if not SusarCase.objects.filter(adverse_event=ae).exists():
        physician = User.objects.filter(groups__name=Role.SAFETY_PHYSICIAN.value).first()
        physician = physician or UserFactory(
            username="pages-safety-physician", role=Role.SAFETY_PHYSICIAN, sites=[]
        )
        SusarCase.objects.create(
            adverse_event=ae,
            outcome=SusarOutcome.REPORTABLE,
            assessed_at=timezone.now(),
            assessed_by=physician,
            second_factor="app",
        )


PAGES = {
    "safety overview": ("safety:overview", lambda w: "/safety/", _READ),
    "participant AEs": (
        "safety:participant_aes",
        lambda w: f"/safety/participants/{w.participant.study_id}/ae/",
        _READ,
    ),
    "AE report": (
        "safety:ae_report",
        lambda w: f"/safety/participants/{w.participant.study_id}/ae/new/",
        {C, I},
    ),
    "AE detail": ("safety:ae_detail", lambda w: f"/safety/ae/{w.ae.pk}/", _READ),
    "AE edit": ("safety:ae_edit", lambda w: f"/safety/ae/{w.ae.pk}/edit/", {C, I}),
    "SAE follow-up": ("safety:sae_follow_up", lambda w: f"/safety/ae/{w.ae.pk}/follow-up/", {C, I}),
    "AE sign": ("safety:ae_sign", lambda w: f"/safety/ae/{w.ae.pk}/sign/", {I}),
    # The sponsor's safety physician's pages (issue 19): nobody else, blinded or not.
    "SUSAR cases": ("safety:susar_cases", lambda w: "/safety/susar/", {SPH}),
    "SUSAR case": ("safety:susar_case", lambda w: f"/safety/susar/{w.ae.pk}/", {SPH}),
    "SUSAR expedited": (
        "safety:susar_expedited",
        lambda w: f"/safety/susar/{w.ae.pk}/expedited-report/",
        {SPH},
    ),
    "SUSAR completing report": (
        "safety:susar_completion",
        lambda w: f"/safety/susar/{w.ae.pk}/completing-report/",
        {SPH},
    ),
    "SUSAR expedited CIOMS": (
        "safety:susar_cioms_pdf",
        lambda w: f"/safety/susar/{w.ae.pk}/cioms.pdf",
        {SPH},
    ),
    "CIOMS PDF": ("safety:cioms_pdf", lambda w: f"/safety/ae/{w.ae.pk}/reports/0/cioms.pdf", _READ),
    "AE listing PDF": ("safety:ae_listing_pdf", lambda w: "/safety/listing.pdf", _READ),
    "alert outbox": ("safety:alerts", lambda w: "/safety/alerts/", {D}),
    "AE audit": (
        "audit_history",
        lambda w: f"/audit/safety.adverseevent/{w.ae.pk}/",
        {C, I, M, D},
    ),
}
