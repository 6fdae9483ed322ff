"""Domain errors of the outcomes app; views turn them into form errors."""

from kernel.exceptions import TrialEdcError


class OutcomesError(TrialEdcError):
    """Base of the outcomes app's domain errors."""


class NotRandomized(OutcomesError):
    """The participant has no visit schedule (randomization creates it)."""


class CrfNotExpected(OutcomesError):
    """The CRF is not one the visit's configuration lists."""


class CrfIncomplete(OutcomesError):
    """A CRF was marked complete while fields it needs are empty."""


class VisitNotOpen(OutcomesError):
    """The visit cannot take data (marked missed, or no longer applicable)."""


class EditCheckFailed(OutcomesError):
    """A value broke a hard limit (the form reports it before the service is reached)."""


class DuplicateEvent(OutcomesError):
    """An event of that kind is already recorded for the participant (one of each)."""


class DataEntryRefused(OutcomesError):
    """Consent was withdrawn: no study data dated on or after the withdrawal may be entered."""
