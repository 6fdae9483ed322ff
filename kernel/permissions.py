"""Permissions of the kernel (label trialedc), per role (merged by roles.role_permissions)."""

from .roles import Role

ROLE_PERMISSIONS = {
    Role.COORDINATOR: ("trialedc.view_audit_trail",),
    Role.INVESTIGATOR: ("trialedc.view_audit_trail",),
    Role.MONITOR: ("trialedc.view_audit_trail",),
    # The security log (sign-ins, lock-outs, unblinding, exports, access changes): the data
    # manager reviews it and exports it for inspectors.
    Role.DATA_MANAGER: ("trialedc.view_audit_trail", "trialedc.view_securityevent"),
}
