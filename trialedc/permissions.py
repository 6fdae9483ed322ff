"""Permissions of the trialedc app, per role (merged by trialedc.roles.role_permissions)."""

from .roles import Role

ROLE_PERMISSIONS = {
    Role.COORDINATOR: ("trialedc.view_audit_trail",),
    Role.INVESTIGATOR: ("trialedc.view_audit_trail",),
    Role.MONITOR: ("trialedc.view_audit_trail",),
    Role.DATA_MANAGER: ("trialedc.view_audit_trail",),
}
