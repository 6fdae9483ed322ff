"""Pages of the randomization app (see tests/pages_trialedc.py for the format).

`prepare` adds `world.randomized` (a randomized site-01 participant) and `world.rlist` (a list),
reusing what the database holds (the demo) and creating them only when absent.
"""

from decimal import Decimal

from randomization.models import Randomization, RandomizationList

from .roles_short import C, D, I, M, P, S

BLINDED_STATUS = {C, I, P, M, D}


def prepare(world):
    from .randomization_factories import all_lists, randomized_participant

    site = world.participant.site
    if not RandomizationList.objects.exists():
        all_lists()
    existing = (
        Randomization.objects.filter(participant__site=site)
        .select_related("participant")
        .order_by("participant__study_id")
        .first()
    )
    if existing is None:
        existing = randomized_participant(site=site)
    world.randomized = existing.participant
    # The weight the pharmacy doses from: the Baseline CRF's (issue 18).
    from outcomes.models import Baseline

    from . import outcomes_factories as of

    if not Baseline.objects.filter(visit__participant=existing.participant).exists():
        of.crf(existing.participant, "D0", "baseline", complete=False, weight_kg=Decimal("70"))
    world.rlist = RandomizationList.objects.order_by("pk").first()


PAGES = {
    "randomization overview": (
        "randomization:overview",
        lambda w: "/randomization/",
        BLINDED_STATUS,
    ),
    "randomization status": (
        "randomization:status",
        lambda w: f"/randomization/participant/{w.randomized.study_id}/",
        BLINDED_STATUS,
    ),
    "randomize": (
        "randomization:randomize",
        lambda w: f"/randomization/participant/{w.participant.study_id}/randomize/",
        {C, I},
    ),
    "emergency unblinding": (
        "randomization:emergency_unblind",
        lambda w: f"/randomization/participant/{w.randomized.study_id}/unblind/",
        {I},
    ),
    "randomization lists": ("randomization:list_index", lambda w: "/randomization/lists/", {S}),
    "list generate": (
        "randomization:list_generate",
        lambda w: "/randomization/lists/generate/",
        {S},
    ),
    "list import": ("randomization:list_import", lambda w: "/randomization/lists/import/", {S}),
    "list detail": (
        "randomization:list_detail",
        lambda w: f"/randomization/lists/{w.rlist.pk}/",
        {S},
    ),
    "list csv": (
        "randomization:list_csv",
        lambda w: f"/randomization/lists/{w.rlist.pk}/csv/",
        {S},
    ),
    "phase gate": ("randomization:phase_gate", lambda w: "/randomization/phase-gate/", {S}),
    "pharmacy": ("randomization:pharmacy", lambda w: "/randomization/pharmacy/", {P}),
    "pharmacy queue": (
        "randomization:pharmacy_queue",
        lambda w: "/randomization/pharmacy/to-prepare/",
        {P},
    ),
    "pharmacy pdf": (
        "randomization:pharmacy_pdf",
        lambda w: "/randomization/pharmacy/list.pdf",
        {P},
    ),
    "pharmacy prepare": (
        "randomization:pharmacy_prepare",
        lambda w: f"/randomization/pharmacy/{w.randomized.study_id}/",
        {P},
    ),
    "pharmacy label": (
        "randomization:pharmacy_label",
        lambda w: f"/randomization/pharmacy/{w.randomized.study_id}/label/",
        {P},
    ),
    "trial unblinding": (
        "randomization:trial_unblinding",
        lambda w: "/randomization/trial-unblinding/",
        {D, S},
    ),
}
