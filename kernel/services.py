"""Writes of the kernel: sites from the trial configuration, roles and users, the security log,
the worker's heartbeat."""

from __future__ import annotations

import logging
from datetime import UTC
from typing import TYPE_CHECKING

from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.utils.translation import gettext, gettext_lazy

from .models import Heartbeat, HeartbeatProcess, SecurityEvent, SecurityEventKind, Site, User
from .request_context import current_request
from .roles import Role, role_permissions
from .trial import TRIAL

if TYPE_CHECKING:  # a lazy string's type, from django-stubs (a dev dependency: type checker only)
    from django_stubs_ext import StrPromise

logger = logging.getLogger(__name__)


def sites_sync() -> list[Site]:
    """Create or update one Site row per site in the trial configuration."""
    sites = []
    with transaction.atomic():
        for config in TRIAL.sites:
            site, _ = Site.objects.update_or_create(
                code=config.code,
                defaults={"name": config.name, "time_zone": config.time_zone},
            )
            sites.append(site)
    return sites


def roles_sync() -> None:
    """Make each role group hold exactly the permissions the apps' permissions.py list.

    Permissions that do not exist yet (an app not migrated) are skipped; the next migrate's
    post_migrate signal runs this again. The only writer of the role groups (kernel.role_guard
    refuses every other change to them).
    """
    from . import role_guard

    wanted_by_role = role_permissions()
    names = {_app_label_and_codename(name) for perms in wanted_by_role.values() for name in perms}
    # Every listed permission in one query (not one per name: this runs after every migrate and
    # after every flush of a transactional test). Permission's own ordering, first one kept, as
    # `.filter(...).first()` per name chose before.
    found: dict[tuple[str, str], Permission] = {}
    candidates = Permission.objects.filter(
        content_type__app_label__in={app_label for app_label, _ in names},
        codename__in={codename for _, codename in names},
    ).select_related("content_type")
    for perm in candidates:
        found.setdefault((perm.content_type.app_label, perm.codename), perm)
    with transaction.atomic(), role_guard.syncing():
        for role, perm_names in wanted_by_role.items():
            group, _ = Group.objects.get_or_create(name=role.value)
            listed = (_app_label_and_codename(name) for name in perm_names)
            group.permissions.set([found[key] for key in listed if key in found])


def _app_label_and_codename(name: str) -> tuple[str, str]:
    app_label, codename = name.split(".", 1)
    return app_label, codename


def roles_sync_on_migrate(sender, **kwargs) -> None:
    # post_migrate is sent once per app (every app, whichever were migrated; a transactional
    # test's flush sends it too). The last app's signal comes after every app's permissions were
    # created (django.contrib.auth's handler is connected before this one), so one run there is
    # enough: tests/test_administrators.py proves the groups complete after a flush.
    if sender is not _last_app_with_models():
        return
    roles_sync()


def _last_app_with_models():
    from django.apps import apps

    return [config for config in apps.get_app_configs() if config.models_module is not None][-1]


def user_set_up(
    *, username: str, password: str, role: Role, site_codes: list[str], full_name: str = ""
) -> User:
    """Create or reset a user with exactly one role and the given sites (idempotent).

    The password is an initial one: the user must replace it at the next sign-in (where
    PASSWORD_CHANGE_ENFORCED, i.e. outside DEBUG)."""
    first, _, last = full_name.partition(" ")
    with transaction.atomic():
        user, _ = User.objects.get_or_create(username=username)
        user.first_name, user.last_name = first, last
        user.email = f"{username}@example.org"
        user.is_active = True
        user.set_password(password)
        user.must_change_password = True
        user.save()
        user.groups.set([Group.objects.get(name=role.value)])
        user.sites.set(Site.objects.filter(code__in=site_codes))
    return user


# The events that are a read of the allocation or of identifying data: the security log page's
# "reads" filter shows them together to the data manager (issue 20, 21 CFR 11.10(e)).
SENSITIVE_READ_KINDS = (
    SecurityEventKind.SENSITIVE_READ,
    SecurityEventKind.LIST_DOWNLOADED,
    SecurityEventKind.EXPORT_DOWNLOADED,
    SecurityEventKind.EMERGENCY_UNBLINDING,
)


def sensitive_read_record(*, request, what: str, **detail) -> SecurityEvent:
    """Log one read of the allocation or of identifying data: who (the signed-in user), what
    (`what` and `detail`), when, and from where (address and browser of `request`)."""
    return security_event_record(
        kind=SecurityEventKind.SENSITIVE_READ,
        request=request,
        detail={"what": what, "path": request.get_full_path()[:300], **detail},
    )


def security_event_record(
    *,
    kind: SecurityEventKind | str,
    request=None,
    user: User | None = None,
    username: str = "",
    actor: User | None = None,
    detail: dict | None = None,
) -> SecurityEvent:
    """Append one line to the security log (in the caller's transaction, if there is one).

    `request` defaults to the current request: its client address and browser are recorded, and
    its signed-in user is the account when `user` is not given.
    """
    from axes.helpers import get_client_ip_address

    request = request if request is not None else current_request()
    request_user = getattr(request, "user", None) if request is not None else None
    if request_user is not None and not request_user.is_authenticated:
        request_user = None
    if user is None and not username:
        user = request_user
    if actor is None and request_user is not None and user is not None and request_user != user:
        actor = request_user
    ip_address = None
    user_agent = ""
    if request is not None:
        ip_address = get_client_ip_address(request) or None
        user_agent = str(request.META.get("HTTP_USER_AGENT", ""))[:300]
    event = SecurityEvent(
        kind=kind,
        user=user,
        username=(username or (user.get_username() if user is not None else ""))[:150],
        actor=actor,
        ip_address=ip_address,
        user_agent=user_agent,
        detail=detail or {},
    )
    event.save()
    if event.kind in ACCOUNT_CHANGE_NOTICES and user is not None:
        account_change_notify(event=event, user=user)
    return event


# Changes to how a user signs in that the user is told of by e-mail (ASVS 2.2.3, 2.5.x): if it
# was not them, they hear of it at once. The security log has every one of them either way.
# Keyed by the stored kind (a SecurityEventKind is its str value).
ACCOUNT_CHANGE_NOTICES: dict[str, StrPromise] = {
    SecurityEventKind.PASSWORD_CHANGED: gettext_lazy("Your password was changed"),
    SecurityEventKind.PASSWORD_SET_BY_ADMIN: gettext_lazy(
        "Your password was set by an administrator"
    ),
    SecurityEventKind.TWO_FACTOR_ENROLLED: gettext_lazy("Two-factor sign-in was set up"),
    SecurityEventKind.BACKUP_CODES_CREATED: gettext_lazy("New backup codes were made"),
    SecurityEventKind.TWO_FACTOR_REMOVED: gettext_lazy("Two-factor sign-in was turned off"),
    SecurityEventKind.TWO_FACTOR_RESET: gettext_lazy(
        "Your two-factor sign-in was reset by an administrator"
    ),
}


def account_change_notify(*, event: SecurityEvent, user: User) -> None:
    """E-mail `user`, after the commit, that their sign-in details changed (in their language).

    A mail server that is down loses this notice (it is logged); the change itself and its
    security-log line are not affected."""
    if not user.email:
        return
    from django.conf import settings
    from django.core.mail import send_mail
    from django.utils import translation

    def send():
        with translation.override(user.language or settings.LANGUAGE_CODE):
            what = str(ACCOUNT_CHANGE_NOTICES[event.kind])
            facts = {
                "what": what,
                "user": user.get_username(),
                "trial": TRIAL.acronym,
                "at": event.at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC"),
                "address": event.ip_address or "?",
            }
            body = "\n\n".join(
                [
                    gettext(
                        "%(what)s for your %(trial)s EDC account %(user)s, at %(at)s from "
                        "the address %(address)s."
                    )
                    % facts,
                    gettext(
                        "If this was you, there is nothing to do. If it was not, tell the data "
                        "manager or the EDC administrator at once: someone may be using your "
                        "account."
                    ),
                ]
            )
            subject = gettext("[%(trial)s EDC] %(what)s") % facts
        try:
            send_mail(subject, body, None, [user.email])
        except Exception:  # noqa: BLE001 - a notice lost is logged; the change stands
            logger.exception("account notice to user %s could not be sent", user.pk)

    transaction.on_commit(send)


def worker_heartbeat_record() -> Heartbeat:
    """A worker ran the heartbeat task beat sent: record when, for /health/ (trialedc.health)."""
    from django.utils import timezone

    heartbeat, _ = Heartbeat.objects.update_or_create(
        process=HeartbeatProcess.WORKER, defaults={"at": timezone.now()}
    )
    return heartbeat
