"""Pages of the participants app (see tests/pages_trialedc.py for the format)."""

from .roles_short import C, D, I, M, P

PAGES = {
    "participant list": ("participants:list", lambda w: "/participants/", {C, I, P, M, D}),
    "register": ("participants:register", lambda w: "/participants/register/", {C, I}),
    "participant": (
        "participants:detail",
        lambda w: f"/participants/{w.participant.study_id}/",
        {C, I, P, M, D},
    ),
    "identity edit": (
        "participants:identity_edit",
        lambda w: f"/participants/{w.participant.study_id}/identity/edit/",
        {C, I},
    ),
}
