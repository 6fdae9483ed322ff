"""Permissions of the exports app, per role (SPEC §1, §8; merged by kernel.roles).

The sponsor exports the de-identified IPD; the data manager may too, and reviews the log of
every export. No other role exports: site staff see identifying data, and the unblinded roles'
exports are the statisticians' own business (the randomization app).
"""

from kernel.roles import Role

_EXPORT = ("exports.view_exportrun", "exports.add_exportrun")

ROLE_PERMISSIONS = {
    Role.SPONSOR: _EXPORT,
    Role.DATA_MANAGER: _EXPORT,
}
