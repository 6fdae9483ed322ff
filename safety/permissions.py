"""Permissions of the safety app, per role (SPEC §1; merged by kernel.roles.role_permissions).

Site staff report and follow up; only the investigator signs causality. The sponsor's
pharmacovigilance (and the investigator, in an investigator-initiated trial) records the
expedited SUSAR report. Safety pages carry no identifying data and no arm.
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
        "safety.record_expedited_report",
    ),
    Role.MONITOR: _READ,
    Role.DATA_MANAGER: (*_READ, "trialedc.view_alert"),
    Role.STATISTICIAN: _READ,
    Role.SPONSOR: (*_READ, "safety.record_expedited_report"),
}
