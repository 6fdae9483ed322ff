"""Where a user's permissions come from (issue 20, finding 1; docs/security.md).

Trial permissions (kernel.roles.is_trial_permission: a data app's, or one a role is given) come
only from the trial's role groups: not from `is_superuser`, not from a user's own permissions,
not from any other group. An IT administrator is a superuser for accounts, sites and the admin,
and sees no trial data unless they also hold a trial role, which the security log records.
Other permissions (accounts, groups, the admin) follow Django's ModelBackend.
`kernel.models.User.has_perm` skips Django's superuser short-cut for trial permissions, so
every check goes through here.
"""

from __future__ import annotations

from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission
from django.db.models import CharField, QuerySet, Value

from .models import User
from .prepared import PreparedRows
from .roles import Role, is_trial_permission

_ROLE_CACHE = "_trial_role_perm_cache"
_GROUP_CACHE = "_trial_group_perm_cache"
_ROLE_NAMES = frozenset(role.value for role in Role)
# ModelBackend's cache of a user's own permissions, and kernel.roles.roles_of's of their groups.
_USER_CACHE = "_user_perm_cache"
_ROLE_NAMES_CACHE = "_trial_role_names"


def _permissions(_key, user_id) -> QuerySet:
    own = (
        Permission.objects.filter(user=user_id)
        .annotate(group_name=Value(None, output_field=CharField()))
        .values_list("content_type__app_label", "codename", "group_name")
        .order_by()
    )
    groups = (
        Group.objects.filter(user=user_id)
        .values_list("permissions__content_type__app_label", "permissions__codename", "name")
        .order_by()
    )
    return own.union(groups, all=True)


# Compiled once (issue 24): every request of a signed-in user runs it, only the user varies.
_PERMISSIONS = PreparedRows(Permission, _permissions, ("int",))


def _load(user_obj) -> None:
    """A user's own permissions, their groups' names and each group's permissions, in one query
    (a UNION ALL), into the three caches that would otherwise each take a query of every
    request: ModelBackend's `_user_perm_cache` (filtered by get_user_permissions as before),
    this backend's group permissions, and roles_of's group names. A group without permissions
    still gives its name (LEFT JOIN). For an active user who is not a superuser."""
    user_perms: set[str] = set()
    group_perms: set[str] = set()
    names: set[str] = set()
    for app_label, codename, group in _PERMISSIONS.rows(None, user_obj.pk):
        if group is None:
            user_perms.add(f"{app_label}.{codename}")
            continue
        names.add(group)
        if codename is None:
            continue  # a group without permissions
        name = f"{app_label}.{codename}"
        if not is_trial_permission(name) or group in _ROLE_NAMES:
            group_perms.add(name)
    setattr(user_obj, _USER_CACHE, user_perms)
    setattr(user_obj, _GROUP_CACHE, group_perms)
    if getattr(user_obj, _ROLE_NAMES_CACHE, None) is None:
        setattr(user_obj, _ROLE_NAMES_CACHE, names)


def _loadable(user_obj) -> bool:
    return user_obj.is_active and not user_obj.is_anonymous and not user_obj.is_superuser


def _user(_key, user_id) -> QuerySet:
    return User._default_manager.filter(pk=user_id)


# The signed-in user, read on every request (issue 24): compiled once.
_USER = PreparedRows(User, _user, ("int",))


class TrialRoleBackend(ModelBackend):
    def get_user(self, user_id):
        """ModelBackend's: the session's user if they may still sign in, else None; its
        statement compiled once (`_USER`)."""
        found = _USER.objects(None, User._meta.pk.to_python(user_id))
        if not found:
            return None
        return found[0] if self.user_can_authenticate(found[0]) else None

    def get_user_permissions(self, user_obj, obj=None) -> set[str]:
        if obj is None and _loadable(user_obj) and not hasattr(user_obj, _USER_CACHE):
            _load(user_obj)
        perms = super().get_user_permissions(user_obj, obj)
        return {p for p in perms if not is_trial_permission(p)}

    def get_group_permissions(self, user_obj, obj=None) -> set[str]:
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if user_obj.is_superuser:
            # Every permission but the trial's (ModelBackend's superuser rule), and the trial
            # permissions of the role groups the IT administrator may also be in.
            perms = super().get_group_permissions(user_obj, obj)
            other = {p for p in perms if not is_trial_permission(p)}
            return other | self._role_permissions(user_obj)
        if not hasattr(user_obj, _GROUP_CACHE):
            _load(user_obj)
        return getattr(user_obj, _GROUP_CACHE)

    @staticmethod
    def _role_permissions(user_obj) -> set[str]:
        """The trial permissions of the role groups the user is in."""
        if not hasattr(user_obj, _ROLE_CACHE):
            rows = (
                Permission.objects.filter(group__user=user_obj, group__name__in=_ROLE_NAMES)
                .values_list("content_type__app_label", "codename")
                .order_by()
            )
            perms = {f"{app_label}.{codename}" for app_label, codename in rows}
            setattr(user_obj, _ROLE_CACHE, {p for p in perms if is_trial_permission(p)})
        return getattr(user_obj, _ROLE_CACHE)
