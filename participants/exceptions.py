"""Domain errors of the participants app; views turn them into form errors or messages."""

from kernel.exceptions import TrialEdcError


class SiteNotAllowed(TrialEdcError):
    """The user tried to act for a site they are not assigned to."""


class ScreeningError(TrialEdcError):
    """A screening step was refused: the message says which field and why."""

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.field = field


class NotEligible(ScreeningError):
    """The step needs an eligible screening (all criteria met)."""


class ConsentMissing(ScreeningError):
    """The step needs a recorded consent (criterion I6)."""


class AlreadyRecorded(ScreeningError):
    """The record exists already (a double submit, or a second attempt)."""


class AlreadyEnrolled(AlreadyRecorded):
    """The screening has its participant already."""


class ConsentWithdrawn(TrialEdcError):
    """The participant withdrew consent: no study data after the withdrawal date."""
