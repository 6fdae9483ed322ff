"""Permissions of the randomization app, per role (SPEC §1 and §3; docs/randomization.md).

Anything that shows an arm needs `randomization.view_allocation`, held by the unblinded roles only
(tests/test_randomization_permissions.py proves no blinded role holds it).
"""

from kernel.roles import Role

# Arm-free: "Randomized: A-007 · envelope K7Q2MX · Day 0", and enrollment against target.
_STATUS = ("randomization.view_randomization",)

ROLE_PERMISSIONS = {
    Role.COORDINATOR: (*_STATUS, "randomization.randomize_participant"),
    Role.INVESTIGATOR: (
        *_STATUS,
        "randomization.randomize_participant",
        "randomization.add_emergencyunblinding",
    ),
    Role.MONITOR: _STATUS,
    Role.DATA_MANAGER: (
        *_STATUS,
        "randomization.confirm_trial_unblinding",
    ),
    Role.PHARMACIST: (
        *_STATUS,
        "randomization.view_allocation",
        "randomization.view_pharmacy",
        "randomization.add_preparation",
        # The in-product notice of each randomization at the site (a dose to prepare).
        "datamanagement.view_notification",
    ),
    Role.STATISTICIAN: (
        "randomization.view_allocation",
        "randomization.view_randomizationlist",
        "randomization.add_randomizationlist",
        "randomization.view_phasereview",
        "randomization.add_phasereview",
        "randomization.confirm_trial_unblinding",
    ),
}
