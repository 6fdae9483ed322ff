"""Permissions of the participants app, per role (SPEC §1; docs/roles.md)."""

from kernel.roles import Role

_READ = ("participants.view_participant",)
# The screening log, eligibility and consent records (no identifying data in them).
_SCREENING_READ = ("participants.view_screening",)
# Identifying data: own site only, and never the pharmacist (study ID and weight only),
# the data manager, the statistician or the sponsor.
_PHI = ("participants.view_identifyingdata",)
_SITE_WORK = (
    "participants.add_screening",
    "participants.change_screening",
    "participants.add_eligibility",
    "participants.change_eligibility",
    "participants.add_consent",
    "participants.add_screeningvitalsigns",
    "participants.change_screeningvitalsigns",
    "participants.enroll_participant",
    "participants.add_consentwithdrawal",
    "participants.change_identifyingdata",
)

ROLE_PERMISSIONS = {
    Role.COORDINATOR: (*_READ, *_SCREENING_READ, *_PHI, *_SITE_WORK),
    Role.INVESTIGATOR: (
        *_READ,
        *_SCREENING_READ,
        *_PHI,
        *_SITE_WORK,
        "participants.confirm_eligibility",
    ),
    Role.PHARMACIST: _READ,
    Role.MONITOR: (*_READ, *_SCREENING_READ, *_PHI),
    Role.DATA_MANAGER: (*_READ, *_SCREENING_READ),
}
