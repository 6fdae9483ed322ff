"""Permissions of the outcomes app, per role (merged by trialedc.roles.role_permissions)."""

from trialedc.roles import Role  # noqa: F401

ROLE_PERMISSIONS: dict = {}
