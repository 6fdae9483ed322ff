"""Domain errors of the dashboards app; views turn them into a 403 or a message."""

from kernel.exceptions import TrialEdcError


class DashboardError(TrialEdcError):
    """Base of the dashboards app's errors."""


class BlindedViewerRefused(DashboardError):
    """A by-arm page or report was asked for by a user who is blinded to the allocation."""


class UnknownSite(DashboardError):
    """A site filter names a site the user may not see."""


class ReportRefused(DashboardError):
    """The user may not ask for, or no longer may have, this report."""
