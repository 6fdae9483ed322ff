"""The trial's roles (Django groups), what each may do, and how far each sees.

SPEC.md §1 is the contract. Groups are created by migration `trialedc.0002_roles`; their
permissions are (re)synchronised after every `migrate` (trialedc.apps), so a permission that a
later app adds joins its roles without a hand-written migration. docs/roles.md is the table.
"""

from __future__ import annotations

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

# Permissions per role, as "app_label.codename". Later apps add theirs here.
_PARTICIPANT_READ = ("participants.view_participant",)
_PHI = ("participants.view_identifyingdata",)
_AUDIT = ("trialedc.view_audit_trail",)

ROLE_PERMISSIONS: dict[Role, tuple[str, ...]] = {
    Role.COORDINATOR: (
        *_PARTICIPANT_READ,
        *_PHI,
        *_AUDIT,
        "participants.add_participant",
        "participants.change_identifyingdata",
    ),
    Role.INVESTIGATOR: (
        *_PARTICIPANT_READ,
        *_PHI,
        *_AUDIT,
        "participants.add_participant",
        "participants.change_identifyingdata",
    ),
    # Study ID and weight only (SPEC §1): the participant list, no identifying data.
    Role.PHARMACIST: (*_PARTICIPANT_READ,),
    Role.MONITOR: (*_PARTICIPANT_READ, *_PHI, *_AUDIT),
    Role.DATA_MANAGER: (*_PARTICIPANT_READ, *_AUDIT),
    Role.STATISTICIAN: (),
    Role.SPONSOR: (),
}

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
