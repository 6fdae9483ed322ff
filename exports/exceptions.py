"""Domain errors of the exports app; views turn them into messages."""

from trialedc.exceptions import TrialEdcError


class ExportError(TrialEdcError):
    """Base of the exports app's errors."""


class ExportNotReady(ExportError):
    """The export's ZIP was asked for before it was built (or after it failed)."""


class ExportAlreadyBuilt(ExportError):
    """A finished export was asked to build again; start a new one instead."""
