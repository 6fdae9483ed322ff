"""Permissions of the participants app, per role (SPEC §1; docs/roles.md)."""

from trialedc.roles import Role

_READ = ("participants.view_participant",)
# Identifying data: own site only, and never the pharmacist (study ID and weight only),
# the data manager, the statistician or the sponsor.
_PHI = ("participants.view_identifyingdata",)
_SITE_WORK = ("participants.add_participant", "participants.change_identifyingdata")

ROLE_PERMISSIONS = {
    Role.COORDINATOR: (*_READ, *_PHI, *_SITE_WORK),
    Role.INVESTIGATOR: (*_READ, *_PHI, *_SITE_WORK),
    Role.PHARMACIST: _READ,
    Role.MONITOR: (*_READ, *_PHI),
    Role.DATA_MANAGER: _READ,
}
