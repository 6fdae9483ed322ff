import time
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from kernel.models import SecurityEventKind
from kernel.services import security_event_record

# The session key holding when this session signed in (ISO 8601, UTC); set at sign-in.
SIGNED_IN_AT = "edc_signed_in_at"
# When the idle expiry was last pushed forward (seconds since the epoch), and how often it is.
IDLE_TOUCHED_AT = "edc_idle_touched_at"
IDLE_TOUCH_EVERY_SECONDS = 60


def _always_open() -> tuple[str, ...]:
    """Pages a signed-in session may open whatever it still owes (a new password, a second
    factor): signing in and out, static files, the language switch, the health probe."""
    return (reverse("logout"), reverse("login"), "/static/", "/i18n/", reverse("health"))


def _is_exempt(path: str) -> bool:
    # The second factor is set up first, then the password (two_factor covers its sub-pages).
    return path.startswith((reverse("password_change"), reverse("two_factor"), *_always_open()))


class SessionPolicyMiddleware:
    """End a session that is older than SESSION_ABSOLUTE_HOURS (however active: the idle limit
    is the session cookie's age) or that began before the user's 'sign out everywhere'."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        self._touch(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            signed_in_at = request.session.get(SIGNED_IN_AT)
            if signed_in_at is None:  # a session from before this rule: it starts counting now
                request.session[SIGNED_IN_AT] = timezone.now().isoformat()
            else:
                started = datetime.fromisoformat(signed_in_at)
                too_old = timezone.now() - started > timedelta(
                    hours=settings.SESSION_ABSOLUTE_HOURS
                )
                ended = (
                    user.sessions_valid_after is not None and started < user.sessions_valid_after
                )
                if too_old or ended:
                    return self._end(request, user, too_old=too_old)
            self._seen(request)
        return self.get_response(request)

    @staticmethod
    def _touch(request):
        """The idle timeout (SESSION_COOKIE_AGE): a session is saved, which pushes its expiry
        SESSION_COOKIE_AGE forward, when a request comes IDLE_TOUCH_EVERY_SECONDS or more after
        the last push, not on every request (issue 24: three statements a request). So a
        session ends at most that much *earlier* than SESSION_COOKIE_AGE after its last request,
        never later. Sessions with nothing in them (no cookie) are not created by this."""
        session = request.session
        if session.is_empty():
            return
        now = time.time()
        touched = session.get(IDLE_TOUCHED_AT)
        if touched is None or not 0 <= now - touched < IDLE_TOUCH_EVERY_SECONDS:
            session[IDLE_TOUCHED_AT] = now  # modified: saved, with a new expiry, at response

    @staticmethod
    def _seen(request):
        """Keep the list of the user's sessions current: once a minute, or at a new key."""
        from .services import SEEN_AT, SEEN_EVERY_SECONDS, SEEN_KEY, user_session_seen

        seen_at = request.session.get(SEEN_AT)
        stale = seen_at is None or (timezone.now() - datetime.fromisoformat(seen_at)) > timedelta(
            seconds=SEEN_EVERY_SECONDS
        )
        if stale or request.session.get(SEEN_KEY) != request.session.session_key:
            signed_in_at = request.session.get(SIGNED_IN_AT)
            user_session_seen(
                request=request,
                user=request.user,
                signed_in_at=datetime.fromisoformat(signed_in_at) if signed_in_at else None,
            )

    def _end(self, request, user, *, too_old: bool):

        if too_old:
            security_event_record(
                kind=SecurityEventKind.SESSION_EXPIRED, request=request, user=user
            )
        logout(request)
        messages.info(
            request,
            _("Your session has ended after %(hours)s hours; sign in again.")
            % {"hours": settings.SESSION_ABSOLUTE_HOURS}
            if too_old
            else _("You were signed out on every device; sign in again."),
        )
        return redirect_to_login(request.get_full_path())


def _two_factor_exempt(path: str) -> bool:
    """Pages an unverified session may open: the second-factor pages (verify too)."""
    return path.startswith((reverse("two_factor"), *_always_open()))


class TwoFactorMiddleware:
    """A signed-in session that has not given its second factor sees nothing but the pages that
    take one: users who set one up are asked their code; users whose role needs one and who have
    none are sent to set it up (accounts.twofactor). After django-otp's OTPMiddleware."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from . import twofactor

        request.edc_two_factor_pending = False
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and not twofactor.is_verified(request):
            if twofactor.was_set_up_at_sign_in_read(user):
                request.edc_two_factor_pending = True
                if not _two_factor_exempt(request.path):
                    return redirect_to_login(
                        request.get_full_path(), login_url=reverse("two_factor_verify")
                    )
            elif twofactor.required(user):
                request.edc_two_factor_pending = True
                if not _two_factor_exempt(request.path):
                    return redirect("two_factor")  # the page says why
        return self.get_response(request)


class PasswordPolicyMiddleware:
    """A user with an initial (demo) password, or one older than PASSWORD_MAX_AGE_DAYS, is sent
    to the password change page and can open nothing else until it is changed."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            # The reason first: it compares two of the user's fields, where the pages that stay
            # open are five URLs reversed (about 0.07 ms a request, issue 24), and most requests
            # owe nothing. The same answer for every page.
            reason = password_change_reason(user)
            if reason and not _is_exempt(request.path):
                messages.warning(request, reason)
                return redirect("password_change")
        return self.get_response(request)


def password_change_reason(user) -> str:
    """Why `user` must change their password now, or '' when they need not."""
    if user.must_change_password and settings.PASSWORD_CHANGE_ENFORCED:
        return _("This is an initial password: choose your own before you go on.")
    max_age = settings.PASSWORD_MAX_AGE_DAYS
    if max_age and timezone.now() - user.password_changed_at > timedelta(days=max_age):
        return _("Your password is more than %(days)s days old: choose a new one.") % {
            "days": max_age
        }
    return ""
