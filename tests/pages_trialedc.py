"""Pages of the kernel, accounts and the project for the role × URL matrix and the blinded crawl.

Each tests/pages_<app>.py has PAGES = {key: (url name, path builder, roles allowed)} where the
builder takes the `world` (a namespace with at least `participant`, a site-01 participant with
identifying data) and may define prepare(world) to add the objects its pages need.
"""

from kernel.roles import Role

from .roles_short import C, D, I, M

PAGES = {
    "home": ("home", lambda w: "/", set(Role)),
    "preferences": ("preferences", lambda w: "/preferences/", set(Role)),
    "date picker": ("date_picker", lambda w: "/calendar/month/?y=1399&m=12", set(Role)),
    "date echo": ("date_echo", lambda w: "/calendar/echo/?d=1399/12/15", set(Role)),
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
    "security log": ("security_log", lambda w: "/security-log/", {D}),
    "security log CSV": ("security_log", lambda w: "/security-log/?format=csv", {D}),
    "password change": ("password_change", lambda w: "/password/", set(Role)),
    "sign out everywhere": ("sign_out_everywhere", lambda w: "/sign-out-everywhere/", set(Role)),
    "two-factor sign-in": ("two_factor", lambda w: "/account/two-factor/", set(Role)),
    "sessions": ("sessions", lambda w: "/account/sessions/", set(Role)),
}
