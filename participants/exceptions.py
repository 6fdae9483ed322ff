from trialedc.exceptions import TrialEdcError


class SiteNotAllowed(TrialEdcError):
    """The user tried to act for a site they are not assigned to."""
