"""Endpoints of the REST API (issue 22), in the role × URL matrix, the blinded crawl and the
differential blinding test like every page. Reached here with the session (DRF's session
authentication); tests/test_api_*.py reach them with tokens."""

from kernel.roles import Role

from .pages_exports import _run
from .roles_short import SP, C, D, I, M, P, S

_ALL = set(Role)
_PARTICIPANTS = {C, I, P, M, D}
_VISITS = {C, I, M, D}


def _crf(world) -> str:
    return f"/api/v1/participants/{world.participant.study_id}/visits/D0/crfs/murray/"


def _record(world) -> str:
    from participants.models import ScreeningVitalSigns

    if not ScreeningVitalSigns.objects.filter(screening_id=world.participant.screening_id):
        raise AttributeError("this world's participant has no vital signs at screening")
    return f"/api/v1/participants/{world.participant.study_id}/records/screening_vitals/"


PAGES = {
    "api sites": ("api:sites", lambda w: "/api/v1/sites/", _ALL),
    "api participants": ("api:participants", lambda w: "/api/v1/participants/", _PARTICIPANTS),
    "api participant": (
        "api:participant",
        lambda w: f"/api/v1/participants/{w.participant.study_id}/",
        _PARTICIPANTS,
    ),
    "api visits": (
        "api:visits",
        lambda w: f"/api/v1/participants/{w.participant.study_id}/visits/",
        _VISITS,
    ),
    "api crf": ("api:crf", _crf, _VISITS),
    "api screening vitals": ("api:record", _record, _VISITS),
    "api adverse events": (
        "api:adverse_events",
        lambda w: "/api/v1/adverse-events/",
        _VISITS | {S, SP},
    ),
    "api queries": ("api:queries", lambda w: "/api/v1/queries/", _VISITS),
    "api exports": ("api:exports", lambda w: "/api/v1/exports/", {SP, D}),
    "api export": ("api:export", lambda w: f"/api/v1/exports/{_run(w).pk}/", {SP, D}),
    "api export download": (
        "api:export_download",
        lambda w: f"/api/v1/exports/{_run(w).pk}/download/",
        {SP, D},
    ),
    "api schema": ("api:schema", lambda w: "/api/schema/", _ALL),
    "api docs": ("api:docs", lambda w: "/api/docs/", _ALL),
    "api tokens": ("api:tokens", lambda w: "/account/api-tokens/", _ALL),
}

# Paths a visitor (no session, no token) is refused with 401, not sent to the login page.
API_PREFIXES = ("/api/v1/", "/api/schema/")
