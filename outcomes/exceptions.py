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


class HardLimitExceeded(OutcomesError):
    """Values that cannot be saved (outcomes.checks.hard_errors): `errors` maps each field to
    its message, naming the field, the value as entered and the limit."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = dict(errors)


class PreDoseRefused(HardLimitExceeded):
    """A Day-0 baseline assessment timed after the infusion's start, from either save
    (outcomes.checks.PRE_DOSE_CRFS). Besides the field errors it names the record it disagrees
    with, on which crf_save raises a query (`query_crf`, `query_field`, `query_text`)."""

    def __init__(
        self, errors: dict[str, str], *, visit, query_crf: str, query_field: str, query_text: str
    ) -> None:
        super().__init__(errors)
        self.visit = visit
        self.query_crf = query_crf
        self.query_field = query_field
        self.query_text = query_text


class UnconfirmedWarnings(OutcomesError):
    """Soft warnings (outcomes.checks.soft_warnings) not confirmed with a reason: nothing was
    saved. `warnings` are every warning of the values, to show and confirm; `ae_suggested`
    says that they include a possible infusion reaction (checks.infusion_reaction_suspected),
    whose next step is reporting the adverse event."""

    def __init__(self, warnings: list[str], *, ae_suggested: bool = False) -> None:
        super().__init__("; ".join(warnings))
        self.warnings = list(warnings)
        self.ae_suggested = ae_suggested


class DuplicateEvent(OutcomesError):
    """An event of that kind is already recorded for the participant (one of each)."""


class DataEntryRefused(OutcomesError):
    """Consent was withdrawn: no study data dated on or after the withdrawal may be entered."""


class DailyStatusRefused(OutcomesError):
    """A daily status that cannot be saved (a day not yet come, after the end of follow-up,
    off the scale, or a correction without its reason)."""
