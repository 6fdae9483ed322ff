"""Domain errors of the participants app; views turn them into form errors or messages."""

from __future__ import annotations

from kernel.exceptions import TrialEdcError


class SiteNotAllowed(TrialEdcError):
    """The user tried to act for a site they are not assigned to."""


class ScreeningError(TrialEdcError):
    """A screening step was refused: the message says which field and why. `errors` maps each
    field refused to its message, every one the service found (the form shows them all);
    `field` is the first of them."""

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.field = field
        self.errors: dict[str | None, str] = {field: message}

    @classmethod
    def of(cls, errors: dict[str | None, str]) -> ScreeningError:
        """One error for several fields (at least one)."""
        field, message = next(iter(errors.items()))
        error = cls("; ".join(errors.values()), field=field)
        error.errors = dict(errors)
        return error


class PossibleRescreen(ScreeningError):
    """Earlier screenings look like the same person: the screening is made only once the
    coordinator confirms it is the same person screened again. `screenings` are those."""

    def __init__(self, message: str, *, screenings: list) -> None:
        super().__init__(message, field="confirm_rescreen")
        self.screenings = list(screenings)


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


class UnconfirmedVitalSigns(ScreeningError):
    """Vital signs at screening outside their soft range (kernel.limits.vital_sign_warnings),
    not confirmed with a reason: nothing was saved. `warnings` are every warning of the values,
    to show and confirm."""

    def __init__(self, warnings: list[str]) -> None:
        super().__init__("; ".join(warnings), field="confirm_warnings")
        self.warnings = list(warnings)
