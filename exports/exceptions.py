"""Domain errors of the exports app; views and commands turn them into messages."""

from kernel.exceptions import TrialEdcError


class ExportError(TrialEdcError):
    """Base of the exports app's errors."""


class ExportNotReady(ExportError):
    """The export's ZIP was asked for before it was built (or after it failed)."""


class ExportDirectoryError(ExportError):
    """The command line's output folder cannot be used; nothing was started or written."""


class ExportFailed(ExportError):
    """An export stopped; its run is recorded failed with the same short reason."""

    def __init__(self, reason: str, *, run_id: int):
        super().__init__(reason)
        self.run_id = run_id
