"""The trial's role groups change only from code (issue 20, finding 2; docs/security.md).

What each role may do is in the apps' permissions.py, reviewed like any code, and is written to
the groups by `kernel.services.roles_sync` (after every `migrate`, or `manage.py roles_sync`).
Any other change to a role group's permissions, its name or its existence (the admin, a shell)
is refused: giving the coordinator group `randomization.view_allocation` by hand would let
coordinators see arms without a trace.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.contrib.auth.models import Group
from django.db.models.signals import m2m_changed, pre_delete, pre_save
from django.utils.translation import gettext as _

from .exceptions import TrialEdcError
from .roles import Role

_SYNCING: ContextVar[bool] = ContextVar("trialedc_roles_syncing", default=False)
ROLE_NAMES = frozenset(role.value for role in Role)


class RoleGroupChangeRefused(TrialEdcError):
    """A trial role group was to be changed outside `roles_sync`."""


@contextmanager
def syncing() -> Iterator[None]:
    """The one way role groups are written: kernel.services.roles_sync."""
    token = _SYNCING.set(True)
    try:
        yield
    finally:
        _SYNCING.reset(token)


def _refuse(name: str) -> None:
    raise RoleGroupChangeRefused(
        _(
            "The role group %(group)s changes only through the trial's permissions.py and "
            "roles_sync (docs/security.md), not by hand."
        )
        % {"group": name}
    )


def on_group_permissions_changed(sender, instance, action, reverse, pk_set, **kwargs) -> None:
    if _SYNCING.get() or action not in ("pre_add", "pre_remove", "pre_clear"):
        return
    if reverse:  # permission.group_set.add(group): the groups are in pk_set
        groups = Group.objects.all() if pk_set is None else Group.objects.filter(pk__in=pk_set)
        if action == "pre_clear":
            groups = instance.group_set.all()
        names = sorted(set(groups.values_list("name", flat=True)) & ROLE_NAMES)
        if names:
            _refuse(names[0])
    elif instance.name in ROLE_NAMES:
        _refuse(instance.name)


def on_group_saved(sender, instance, raw=False, **kwargs) -> None:
    if _SYNCING.get() or raw or instance.pk is None:
        return
    before = Group.objects.filter(pk=instance.pk).values_list("name", flat=True).first()
    if before in ROLE_NAMES and before != instance.name:
        _refuse(before)
    if instance.name in ROLE_NAMES and before != instance.name:
        _refuse(instance.name)


def on_group_deleted(sender, instance, **kwargs) -> None:
    if not _SYNCING.get() and instance.name in ROLE_NAMES:
        _refuse(instance.name)


def connect() -> None:
    m2m_changed.connect(
        on_group_permissions_changed,
        sender=Group.permissions.through,
        dispatch_uid="trialedc_role_group_permissions",
    )
    pre_save.connect(on_group_saved, sender=Group, dispatch_uid="trialedc_role_group_saved")
    pre_delete.connect(on_group_deleted, sender=Group, dispatch_uid="trialedc_role_group_deleted")
