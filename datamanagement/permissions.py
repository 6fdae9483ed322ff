"""Permissions of the data-management app, per role (SPEC §1, §6; docs/roles.md).

Monitors and data managers raise queries; coordinators and investigators answer them; the data
manager closes and re-opens them and locks; the monitor marks source-data verification; the
investigator signs. Data managers and monitors read the trial-wide audit log. The pharmacist,
statistician and sponsor have no data-management pages (the pharmacist reads the notifications,
granted in randomization/permissions.py: each randomization's dose to prepare).
"""

from kernel.roles import Role

_READ = (
    "datamanagement.view_query",
    "datamanagement.view_sdvmark",
    "datamanagement.view_signature",
    "datamanagement.view_lock",
    "datamanagement.view_notification",
)

ROLE_PERMISSIONS = {
    Role.COORDINATOR: (*_READ, "datamanagement.answer_query"),
    Role.INVESTIGATOR: (*_READ, "datamanagement.answer_query", "datamanagement.sign_records"),
    Role.MONITOR: (
        *_READ,
        "datamanagement.raise_query",
        "datamanagement.verify_source_data",
        "datamanagement.view_trial_audit_log",
    ),
    Role.DATA_MANAGER: (
        *_READ,
        "datamanagement.raise_query",
        "datamanagement.close_query",
        "datamanagement.lock_data",
        "datamanagement.view_trial_audit_log",
    ),
}
