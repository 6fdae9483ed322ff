"""The shared kernel: what every app of the trial builds on (decision 0019).

Sites and users, roles and access scope, the trial configuration, the audit trail and the security
log, calendars, the PDF base, CSV cells. It imports no other app of ours. Its Django app label is
`trialedc` (kernel/apps.py), so its tables, permissions and migrations keep the names they had.
"""
