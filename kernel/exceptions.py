class TrialEdcError(Exception):
    """Base of the domain errors that views turn into form errors or messages."""


class ReasonForChangeRequired(TrialEdcError):
    """A saved record was changed without the reason 21 CFR 11.10(e) asks for."""


class BackupError(TrialEdcError):
    """A backup, restore or verification that cannot go on; the message names what and why."""


class EditConflict(TrialEdcError):
    """The record changed after the form was opened; nothing was saved (kernel.concurrency).

    `versions`: (label, pk, version) of each record as it is now, for the form's new token;
    `first`: the version each was first opened on; `fields`: the rows of the conflict panel;
    `edits`: the other people's saves; `ask`: the fields the user must choose for.
    """

    def __init__(self, message: str, *, versions, fields, edits, ask=(), first=None):
        super().__init__(message)
        self.versions = list(versions)
        self.first = dict(first or {})
        self.fields = list(fields)
        self.edits = list(edits)
        self.ask = tuple(ask)
