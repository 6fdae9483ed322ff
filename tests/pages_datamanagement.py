"""Pages of the data-management app (see tests/pages_trialedc.py for the format)."""

from decimal import Decimal

from datamanagement import services
from datamanagement.models import Query
from outcomes.models import Murray

from . import outcomes_factories as of
from .roles_short import C, D, I, M, P

READ = {C, I, M, D}


def prepare(world):
    """A visit schedule with the D0 Murray CRF (as tests/pages_outcomes.py makes it) and a
    query on its FiO₂."""
    p = world.participant
    of.schedule(p)
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
    query = Query.objects.filter(participant=p).first()
    if query is None:
        query = services.query_raise(
            participant=p,
            visit=murray.visit,
            crf_code="murray",
            field_name="fio2",
            text="Please confirm FiO2 against the ventilator chart.",
            origin="edit_check",
            auto_key=f"pages:{p.pk}",
        )
    world.query = query


def _p(w):
    return f"/data/participants/{w.participant.study_id}"


def _vitals(w) -> str:
    """The participant's vital signs at screening (pages_participants.prepare records them)."""
    from participants.models import ScreeningVitalSigns

    if not ScreeningVitalSigns.objects.filter(screening_id=w.participant.screening_id):
        raise AttributeError("this world's participant has no vital signs at screening")
    return _p(w)


PAGES = {
    "record status": ("datamanagement:record_status", lambda w: "/data/status/", READ),
    "record status filtered": (
        "datamanagement:record_status",
        lambda w: f"/data/status/?site={w.participant.site.code}&state=query",
        READ,
    ),
    "query list": ("datamanagement:queries", lambda w: "/data/queries/", READ),
    "query list filtered": (
        "datamanagement:queries",
        lambda w: f"/data/queries/?state=open&participant={w.participant.study_id}",
        READ,
    ),
    "query detail": ("datamanagement:query_detail", lambda w: f"/data/queries/{w.query.pk}/", READ),
    "query new": (
        "datamanagement:query_new",
        lambda w: f"{_p(w)}/queries/new/?visit=D0&crf=murray&field=fio2",
        {M, D},
    ),
    "casebook": ("datamanagement:casebook", lambda w: f"{_p(w)}/", READ),
    "CRF review": ("datamanagement:crf_review", lambda w: f"{_p(w)}/visits/D0/murray/", READ),
    "screening vitals review": (
        "datamanagement:visitless_review",
        lambda w: f"{_vitals(w)}/records/screening_vitals/",
        READ,
    ),
    "query new on screening vitals": (
        "datamanagement:query_new",
        lambda w: f"{_vitals(w)}/queries/new/?crf=screening_vitals&field=spo2_percent",
        {M, D},
    ),
    "sign screening vitals": (
        "datamanagement:sign",
        lambda w: f"{_vitals(w)}/sign/?level=crf&crf=screening_vitals",
        {I},
    ),
    "SDV": ("datamanagement:sdv", lambda w: f"{_p(w)}/sdv/", {M}),
    "sign casebook": ("datamanagement:sign", lambda w: f"{_p(w)}/sign/?level=casebook", {I}),
    "sign CRF": (
        "datamanagement:sign",
        lambda w: f"{_p(w)}/sign/?level=crf&visit=D0&crf=murray",
        {I},
    ),
    "locks": ("datamanagement:locks", lambda w: "/data/locks/", {D}),
    "audit log": ("datamanagement:audit_log", lambda w: "/data/audit/", {M, D}),
    "audit log CSV": ("datamanagement:audit_log", lambda w: "/data/audit/?format=csv", {M, D}),
    # The pharmacist reads the notice of each randomization at the site (a dose to prepare).
    "notifications": (
        "datamanagement:notifications",
        lambda w: "/data/notifications/",
        READ | {P},
    ),
    "worklist signatures": (
        "datamanagement:worklist_signatures",
        lambda w: "/data/worklists/signatures/",
        {I},
    ),
    "worklist SDV": ("datamanagement:worklist_sdv", lambda w: "/data/worklists/sdv/", {M}),
    "worklist SDV filtered": (
        "datamanagement:worklist_sdv",
        lambda w: f"/data/worklists/sdv/?site={w.participant.site.code}",
        {M},
    ),
    "worklist queries": (
        "datamanagement:worklist_queries",
        lambda w: "/data/worklists/queries/",
        READ,
    ),
    "worklist queries filtered": (
        "datamanagement:worklist_queries",
        lambda w: "/data/worklists/queries/?state=open&band=0%E2%80%936",
        READ,
    ),
}
