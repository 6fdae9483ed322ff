from django.conf import settings
from django.utils import timezone

from .home import nav_for
from .roles import is_blinded, roles_of
from .trial import TRIAL


def trial(request):
    user = getattr(request, "user", None)
    roles = sorted(roles_of(user), key=lambda r: r.label) if user is not None else []
    # Before the second factor is given, the menu shows nothing (accounts.middleware).
    pending = getattr(request, "edc_two_factor_pending", False)
    return {
        "two_factor_pending": pending,
        "TRIAL": TRIAL,
        "user_roles": roles,
        "user_is_blinded": is_blinded(user) if user is not None else True,
        "nav_items": nav_for(user) if user is not None and not pending else [],
        "session_idle_minutes": settings.SESSION_IDLE_MINUTES,
        "today_date": timezone.localdate(),
        "lockout_limit": settings.AXES_FAILURE_LIMIT,
    }
