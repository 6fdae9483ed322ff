"""The trial's roles (Django groups), what each may do, and how far each sees.

SPEC.md §1 is the contract. Groups are created by migration `trialedc.0002_roles`; their
permissions are (re)synchronised after every `migrate` (kernel.apps), so a permission that a
later app adds joins its roles without a hand-written migration. docs/roles.md is the table.
"""

from __future__ import annotations

from functools import cache
from importlib import import_module

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    COORDINATOR = "site_coordinator", _("Site coordinator")
    INVESTIGATOR = "investigator", _("Investigator")
    PHARMACIST = "unblinded_pharmacist", _("Unblinded pharmacist")
    MONITOR = "monitor", _("Monitor")
    DATA_MANAGER = "data_manager", _("Data manager")
    STATISTICIAN = "unblinded_statistician", _("Unblinded statistician / DSMB")
    SPONSOR = "sponsor", _("Sponsor")
    # ICH E2A III.C: the sponsor's designated physician who unblinds one suspected SUSAR at a
    # time, before expedited reporting. Unblinded, sponsor-side, no site data beyond the case.
    SAFETY_PHYSICIAN = "safety_physician", _("Safety physician (sponsor, unblinded)")


# Roles that must never learn a participant's arm (SPEC §1). The blinded crawl logs in as each.
BLINDED_ROLES: frozenset[Role] = frozenset(
    {Role.COORDINATOR, Role.INVESTIGATOR, Role.MONITOR, Role.DATA_MANAGER, Role.SPONSOR}
)
UNBLINDED_ROLES: frozenset[Role] = frozenset(set(Role) - BLINDED_ROLES)

# Roles whose participant data is limited to the sites they belong to; the others work
# trial-wide (and none of those sees identifying data).
SITE_SCOPED_ROLES: frozenset[Role] = frozenset(
    {Role.COORDINATOR, Role.INVESTIGATOR, Role.PHARMACIST, Role.MONITOR}
)

# Permissions per role come from each app's `permissions.py` (ROLE_PERMISSIONS there, as
# "app_label.codename"), so that an app adds its permissions without touching this file.
PERMISSION_MODULES = (
    "kernel.permissions",
    "participants.permissions",
    "randomization.permissions",
    "outcomes.permissions",
    "safety.permissions",
    "exports.permissions",
    "dashboards.permissions",
    "datamanagement.permissions",
    "api.permissions",
)


def role_permissions() -> dict[Role, tuple[str, ...]]:
    """Every role's permissions, merged from the apps' permission modules."""
    merged: dict[Role, list[str]] = {role: [] for role in Role}
    for module_name in PERMISSION_MODULES:
        module = import_module(module_name)
        for role, perms in module.ROLE_PERMISSIONS.items():
            merged[role].extend(p for p in perms if p not in merged[role])
    return {role: tuple(perms) for role, perms in merged.items()}


# The apps that hold trial data: every permission of theirs is a trial permission.
TRIAL_DATA_APPS: frozenset[str] = frozenset(
    {
        "participants",
        "randomization",
        "outcomes",
        "safety",
        "exports",
        "dashboards",
        "datamanagement",
    }
)


@cache
def _granted_to_a_role() -> frozenset[str]:
    return frozenset(p for perms in role_permissions().values() for p in perms)


def is_trial_permission(perm: str) -> bool:
    """A permission on trial data: one of a data app's, or one any role is given (the kernel's
    audit trail, security log and alerts). Held only through a role group (kernel.backends):
    never by being a superuser, never as a user's own permission (issue 20, finding 1)."""
    return perm.split(".", 1)[0] in TRIAL_DATA_APPS or perm in _granted_to_a_role()


# The permission that marks a user as allowed to see identifying data at all.
PHI_PERMISSION = "participants.view_identifyingdata"


def roles_of(user) -> set[Role]:
    """The trial roles a user holds (by group membership)."""
    if not user.is_authenticated:
        return set()
    names = getattr(user, "_trial_role_names", None)
    if names is None:
        names = set(user.groups.values_list("name", flat=True))
        user._trial_role_names = names  # once per request
    return {role for role in Role if role.value in names}


def is_blinded(user) -> bool:
    """True unless every role the user holds is an unblinded one (fail closed)."""
    roles = roles_of(user)
    return not roles or not roles <= UNBLINDED_ROLES
