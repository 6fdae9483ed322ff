class TrialEdcError(Exception):
    """Base of the domain errors that views turn into form errors or messages."""


class ReasonForChangeRequired(TrialEdcError):
    """A saved record was changed without the reason 21 CFR 11.10(e) asks for."""


class BackupError(TrialEdcError):
    """A backup, restore or verification that cannot go on; the message names what and why."""
