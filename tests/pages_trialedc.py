"""Pages of the trialedc app for the role × URL matrix and the blinded crawl.

Each tests/pages_<app>.py has PAGES = {key: (url name, path builder, roles allowed)} where the
builder takes the `world` (a namespace with at least `participant`, a site-01 participant with
identifying data) and may define prepare(world) to add the objects its pages need.
"""

from trialedc.roles import Role

from .roles_short import C, D, I, M

PAGES = {
    "home": ("home", lambda w: "/", set(Role)),
    "preferences": ("preferences", lambda w: "/preferences/", set(Role)),
    "participant audit": (
        "audit_history",
        lambda w: f"/audit/participants.participant/{w.participant.pk}/",
        {C, I, M, D},
    ),
    "identity audit": (
        "audit_history",
        lambda w: f"/audit/participants.identifyingdata/{w.participant.identity.pk}/",
        {C, I, M},
    ),
}
