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

from collections.abc import Callable

from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission
from django.contrib.postgres.expressions import ArraySubquery
from django.db.models import (
    CharField,
    Expression,
    F,
    Func,
    OuterRef,
    QuerySet,
    Subquery,
    Value,
)

from .models import Site, User
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


def _permission_rows(user_obj) -> list[tuple]:
    """_PERMISSIONS' rows: read with the session's user (`_own_permissions` and
    `_group_permissions`, below) when the user came from the session, else read now."""
    own = getattr(user_obj, "sign_in_own_permissions", None)
    groups = getattr(user_obj, "sign_in_group_permissions", None)
    if own is None or groups is None:
        return _PERMISSIONS.rows(None, user_obj.pk)
    rows = [tuple(row.split(_SEP)) for row in [*own, *groups]]
    return [(app or None, codename or None, group or None) for app, codename, group in rows]


def _load(user_obj) -> None:
    """A user's own permissions, their groups' names and each group's permissions, in one query
    (a UNION ALL; since issue 24's fourth pass, as an array in the session user's own read),
    into the three caches that would otherwise each take a query of every request:
    ModelBackend's `_user_perm_cache` (filtered by get_user_permissions as before), this
    backend's group permissions, and roles_of's group names. A group without permissions still
    gives its name (LEFT JOIN). For an active user who is not a superuser."""
    user_perms: set[str] = set()
    group_perms: set[str] = set()
    names: set[str] = set()
    for app_label, codename, group in _permission_rows(user_obj):
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


# What every signed-in request asks of its user besides the user row, read in the same
# statement (issue 24, fourth pass): name -> a function giving the annotation's expression over
# the user row. The kernel's own: the time zone and default calendar of the user's first site
# (kernel.middleware.UserPreferencesMiddleware); the apps above add theirs in their ready()
# (accounts: whether the user has a second factor, for its TwoFactorMiddleware). A value read
# here is the one of this request's start, as a read in the middleware was: code that changes
# it during the request reads it again (accounts.twofactor.is_set_up).
_SIGN_IN_ANNOTATIONS: dict[str, Callable[[], Expression]] = {}
_SIGN_IN_COMPILED: list[bool] = []  # not empty once _USER was built: too late to add one


def sign_in_annotation(name: str, expression: Callable[[], Expression]) -> None:
    """Read `expression()` with the session's user, as the attribute `name` of the user (absent
    on a user that did not come from the session: read it then as before). Before the first
    request (an AppConfig.ready)."""
    if _SIGN_IN_COMPILED:
        raise RuntimeError("sign_in_annotation() after the first request")
    _SIGN_IN_ANNOTATIONS[name] = expression


def _first_site(column: str) -> Subquery:
    return Subquery(Site.objects.filter(users=OuterRef("pk")).order_by("code").values(column)[:1])


sign_in_annotation("sign_in_site_time_zone", lambda: _first_site("time_zone"))
sign_in_annotation("sign_in_site_calendar", lambda: _first_site("default_calendar"))

# A row of _PERMISSIONS as one text: its three columns (app label, codename, group name; NULL
# as empty) joined by a separator that no app label, codename or group name holds.
_SEP = "\x1f"


def _joined(app_label: str, codename: str, group_name: Expression) -> Func:
    """PostgreSQL's CONCAT, which takes a NULL as empty (a group without permissions)."""
    return Func(
        F(app_label),
        Value(_SEP),
        F(codename),
        Value(_SEP),
        group_name,
        function="CONCAT",
        output_field=CharField(),
    )


def _own_permissions() -> ArraySubquery:
    """The first part of _PERMISSIONS' rows for the outer user, as an array of texts."""
    return ArraySubquery(
        Permission.objects.filter(user=OuterRef("pk"))
        .order_by()
        .values(row=_joined("content_type__app_label", "codename", Value("")))
    )


def _group_permissions() -> ArraySubquery:
    """The second part (each group's name with each of its permissions, or alone)."""
    return ArraySubquery(
        Group.objects.filter(user=OuterRef("pk"))
        .order_by()
        .values(
            row=_joined("permissions__content_type__app_label", "permissions__codename", F("name"))
        )
    )


# The user's permissions and role names read with the session's user: one statement of every
# request fewer (_load reads them from here, else runs _PERMISSIONS).
sign_in_annotation("sign_in_own_permissions", _own_permissions)
sign_in_annotation("sign_in_group_permissions", _group_permissions)


def _user(_key, user_id) -> QuerySet:
    _SIGN_IN_COMPILED.append(True)
    annotations = {name: build() for name, build in _SIGN_IN_ANNOTATIONS.items()}
    return User._default_manager.filter(pk=user_id).annotate(**annotations)


# The signed-in user, read on every request (issue 24): compiled once.
_USER = PreparedRows(User, _user, ("int",))


_NOT_READ = object()


def first_site_preferences(user) -> tuple[str, str] | None:
    """(time zone, default calendar) of the user's first site by code, None without a site:
    from the session's user read when it came with it, else read now."""
    time_zone = getattr(user, "sign_in_site_time_zone", _NOT_READ)
    if time_zone is _NOT_READ:
        site = user.sites.order_by("code").first()
        return (site.time_zone, site.default_calendar) if site is not None else None
    if time_zone is None:
        return None
    return time_zone, user.sign_in_site_calendar


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
