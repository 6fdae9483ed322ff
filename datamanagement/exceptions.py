"""Domain errors of the data-management app; views turn them into form errors or messages."""

from kernel.exceptions import TrialEdcError


class DataManagementError(TrialEdcError):
    """Base of the data-management app's domain errors."""


class QueryTransitionRefused(DataManagementError):
    """The query is not in a state that allows this step (or the user's role does not)."""


class RecordLocked(DataManagementError):
    """The data are locked (CRF, participant or database lock): nobody may change them."""


class AlreadyLocked(DataManagementError):
    """There is already an active lock on this target."""


class NotLocked(DataManagementError):
    """Unlocking what is not locked."""


class SignatureRefused(DataManagementError):
    """The password did not match, the meaning is unknown, or there is nothing to sign."""


class SignatureAttemptsExhausted(SignatureRefused):
    """Too many wrong passwords at signing: the user is signed out (21 CFR 11.300(d))."""


class SdvNotRequired(DataManagementError):
    """The field is not one the configuration asks to verify."""
