"""Domain errors of the safety app; views turn them into form errors or messages."""

from kernel.exceptions import TrialEdcError


class SafetyError(TrialEdcError):
    """Base of the safety app's errors."""


class NotSerious(SafetyError):
    """A follow-up report or SUSAR step was asked for an event that is not serious."""


class FollowUpClosed(SafetyError):
    """The SAE's outcome is final: no further follow-up report is expected."""


class AlreadySigned(SafetyError):
    """The causality is signed and nothing changed since."""


class NotASusar(SafetyError):
    """An expedited report was recorded for an event that is not a SUSAR."""


class ReasonRequired(SafetyError):
    """A change that needs a reason (a changed relationship at signing) came without one."""


class SignatureRefused(SafetyError):
    """The password re-entered for an e-signature was wrong, or the user may not sign."""


class CaseUnblindingRefused(SafetyError):
    """The safety physician's case unblinding was refused (role, password, second factor, or
    the event is not a suspected SUSAR, or is unblinded already)."""
