"""Permissions of the API app, per role (merged by kernel.roles.role_permissions).

Everyone makes and revokes their own tokens (no permission needed); the data manager, who
reviews the security log, sees and revokes anyone's (issue 22).
"""

from kernel.roles import Role

ROLE_PERMISSIONS = {
    Role.DATA_MANAGER: ("api.revoke_any_apitoken",),
}
