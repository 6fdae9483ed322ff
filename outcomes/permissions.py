"""Permissions of the outcomes app, per role (SPEC §1; docs/roles.md).

Coordinators and investigators enter visit CRFs and events; monitors and data managers read
them. The pharmacist, the statistician and the sponsor have no CRF pages.
"""

from kernel.roles import Role

_READ = ("outcomes.view_visit",)
_ENTER = ("outcomes.enter_outcome_data",)

ROLE_PERMISSIONS = {
    Role.COORDINATOR: (*_READ, *_ENTER),
    Role.INVESTIGATOR: (*_READ, *_ENTER),
    Role.MONITOR: _READ,
    Role.DATA_MANAGER: _READ,
}
