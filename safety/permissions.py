"""Permissions of the safety app, per role (SPEC §1; merged by kernel.roles.role_permissions).

Site staff report and follow up; only the investigator signs causality. The sponsor's safety
physician (ICH E2A III.C) unblinds each suspected SUSAR and records its expedited report: whether
a case is reported follows its arm, so no blinded role records (or sees) that. Safety pages carry
no identifying data and, but for the safety physician's, no arm.
"""

from kernel.roles import Role

_READ = (
    "safety.view_safety_overview",
    "safety.view_adverseevent",
    "safety.view_saereport",
)
_REPORT = ("safety.add_adverseevent", "safety.change_adverseevent", "safety.add_saereport")

ROLE_PERMISSIONS = {
    Role.COORDINATOR: (*_READ, *_REPORT),
    Role.INVESTIGATOR: (
        *_READ,
        *_REPORT,
        "safety.sign_causality",
    ),
    Role.MONITOR: _READ,
    Role.DATA_MANAGER: (*_READ, "trialedc.view_alert"),
    Role.STATISTICIAN: _READ,
    Role.SPONSOR: _READ,
    # The case pages only: no safety page, no AE list, no CRF (SPEC §10).
    Role.SAFETY_PHYSICIAN: (
        "safety.assess_susar",
        "safety.view_susarcase",
        "safety.record_expedited_report",
    ),
}
