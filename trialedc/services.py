"""Writes of the trialedc app: sites from the trial configuration, roles and demo users."""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission
from django.db import transaction

from .models import Site, User
from .roles import Role, role_permissions
from .trial import TRIAL


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
    post_migrate signal runs this again.
    """
    with transaction.atomic():
        for role, perm_names in role_permissions().items():
            group, _ = Group.objects.get_or_create(name=role.value)
            wanted = []
            for name in perm_names:
                app_label, codename = name.split(".", 1)
                perm = Permission.objects.filter(
                    content_type__app_label=app_label, codename=codename
                ).first()
                if perm is not None:
                    wanted.append(perm)
            group.permissions.set(wanted)


def roles_sync_on_migrate(sender, **kwargs) -> None:
    # Runs after each app's migrations: cheap, and the last run sees every permission.
    roles_sync()


def user_set_up(
    *, username: str, password: str, role: Role, site_codes: list[str], full_name: str = ""
) -> User:
    """Create or reset a user with exactly one role and the given sites (idempotent)."""
    first, _, last = full_name.partition(" ")
    with transaction.atomic():
        user, _ = User.objects.get_or_create(username=username)
        user.first_name, user.last_name = first, last
        user.email = f"{username}@example.org"
        user.is_active = True
        user.set_password(password)
        user.save()
        user.groups.set([Group.objects.get(name=role.value)])
        user.sites.set(Site.objects.filter(code__in=site_codes))
    return user


def user_preferences_update(*, user: User, language: str, calendar: str) -> User:
    """Save the user's own language and calendar ('' = browser language / site calendar)."""
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        user.language, user.calendar = language, calendar
        user.full_clean(exclude=["password", "username"])
        user.save(update_fields=["language", "calendar"])
    return user
