"""Domain errors of the randomization app; views turn them into messages or form errors."""

from django.utils.translation import gettext

from kernel.exceptions import TrialEdcError


class RandomizationError(TrialEdcError):
    """Base of every refusal of the randomization app."""


class NotRandomizable(RandomizationError):
    """The participant is not enrolled (eligible, consented, not withdrawn)."""


class AlreadyRandomized(RandomizationError):
    """The participant already holds a slot."""


class NoList(RandomizationError):
    """No list exists for the (phase, stratum) the participant needs."""


class ListExhausted(RandomizationError):
    """Every slot of the (phase, stratum) list is taken."""


class PhaseClosed(RandomizationError):
    """The phase is full, or not opened yet by its safety review."""


class ListTampered(RandomizationError):
    """The stored list no longer matches the checksum recorded at its creation (the verifier)."""


class InvalidList(RandomizationError):
    """A generated or imported list breaks a rule; `errors` names each line."""

    def __init__(self, message: str, errors=()):
        super().__init__(message)
        # blocks.ListError carries an English template; render it in the user's language.
        self.errors = [e.render(gettext) if hasattr(e, "render") else str(e) for e in errors]


class ListInUse(RandomizationError):
    """A list that already holds assignments cannot be replaced."""


class PasswordMismatch(RandomizationError):
    """The password re-entered to confirm an unblinding is wrong."""


class PreparationError(RandomizationError):
    """A dose that cannot be prepared as asked (e.g. more than 2 ml of product)."""


class UnblindingNotAllowed(RandomizationError):
    """Trial-level unblinding before database lock, or by the wrong person."""


class PhaseGateRefused(RandomizationError):
    """The DSMB decision cannot be recorded (or cannot open the gate); `errors` lists each
    reason: a slot of the reviewed phase unused, a safety window still open, no minutes
    reference, the wrong role."""

    def __init__(self, message: str, errors=()):
        super().__init__(message)
        self.errors = list(errors)


class SecondFactorRefused(RandomizationError):
    """The second factor asked with the password is missing, not set up, or not right."""
