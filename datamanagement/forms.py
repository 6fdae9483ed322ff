"""Forms of the data-management pages. Each keeps what was typed when a step is refused."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.forms import SecondFactorMixin
from kernel.forms import EdcDateField, EditVersionMixin
from kernel.trial import TRIAL

from . import selectors
from .models import LockLevel, QueryOrigin, QueryState


class _BootstrapMixin:
    """Bootstrap classes on the plain widgets of the filter bars."""

    def style_widgets(self) -> None:
        for f in self.fields.values():
            css = "form-select" if isinstance(f.widget, forms.Select) else "form-control"
            f.widget.attrs.setdefault("class", css + " form-control-sm")


class QueryRaiseForm(forms.Form):
    text = forms.CharField(
        label=_("Question to the site"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
    )


class QueryStepForm(EditVersionMixin, forms.Form):
    """Answer, close or re-open; the text stays in the query's thread. On the version of the
    query shown (`versioned=[query]`)."""

    text = forms.CharField(
        label=_("Your text"),
        widget=forms.Textarea(attrs={"rows": 2, "class": "form-control"}),
        max_length=2000,
    )


class QueryBulkForm(EditVersionMixin, forms.Form):
    """One step with one text on the queries ticked in the worklist, on the versions of the
    queries listed (`versioned`)."""

    text = forms.CharField(
        label=_("Your text (it goes into each query's thread)"),
        widget=forms.Textarea(attrs={"rows": 2, "class": "form-control"}),
        max_length=2000,
    )


class QueryFilterForm(_BootstrapMixin, forms.Form):
    state = forms.ChoiceField(
        label=_("State"),
        required=False,
        choices=[("", _("Any")), ("waiting", _("Not closed")), *QueryState.choices],
    )
    origin = forms.ChoiceField(
        label=_("Origin"), required=False, choices=[("", _("Any")), *QueryOrigin.choices]
    )
    site = forms.ChoiceField(label=_("Site"), required=False)
    participant = forms.CharField(label=_("Study ID"), required=False, max_length=20)
    older_than_days = forms.IntegerField(
        label=_("Open at least (days)"), required=False, min_value=0, max_value=3650
    )

    def __init__(self, *args, sites, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["site"].choices = [("", _("Any")), *((s.code, str(s)) for s in sites)]
        self.style_widgets()


class SdvForm(EditVersionMixin, forms.Form):
    """The SDV page: its ticks are read by the view; the form carries the versions of the CRFs
    shown (`versioned`), so a CRF changed since is not marked verified."""


class SignatureForm(EditVersionMixin, SecondFactorMixin, forms.Form):
    """Meaning and password; the versions of the records shown (`versioned`) are signed or
    nothing is."""

    meaning = forms.ChoiceField(
        label=_("Meaning of your signature"),
        widget=forms.RadioSelect,
        choices=[],
    )
    password = forms.CharField(
        label=_("Your password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        help_text=_(
            "Re-enter your password: your signature is the legal equivalent of a "
            "handwritten one (21 CFR 11.100)."
        ),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["meaning"].choices = list(TRIAL.signature_meanings.items())
        self.fields["meaning"].initial = next(iter(TRIAL.signature_meanings))


class LockForm(forms.Form):
    # The database is locked with its own form (DatabaseLockForm): checklist and e-signature.
    level = forms.ChoiceField(
        label=_("Lock"), choices=[c for c in LockLevel.choices if c[0] != LockLevel.DATABASE]
    )
    study_id = forms.CharField(
        label=_("Study ID (participant or CRF lock)"), required=False, max_length=20
    )
    visit_code = forms.CharField(label=_("Visit (CRF lock)"), required=False, max_length=8)
    crf_code = forms.ChoiceField(
        label=_("CRF (CRF lock)"),
        required=False,
        # A callable: the CRF names are translated when the form is shown, not at import.
        # The casebook's records of no visit (the vital signs at screening) lock without one.
        choices=lambda: [
            ("", "—"),
            *((code, record.name) for code, record in selectors.VISITLESS_RECORDS.items()),
            *TRIAL.crfs.items(),
        ],
    )
    reason = forms.CharField(label=_("Reason for locking"), max_length=500)


class DatabaseLockForm(SecondFactorMixin, forms.Form):
    """The database lock: a waiver reason for each checklist item not cleared, the reason for
    locking, and the data manager's e-signature (password and second factor)."""

    reason = forms.CharField(label=_("Reason for locking the database"), max_length=500)
    password = forms.CharField(
        label=_("Your password (electronic signature)"), widget=forms.PasswordInput()
    )

    def __init__(self, *args, readiness, **kwargs):
        super().__init__(*args, **kwargs)
        self.readiness = readiness
        for item in readiness:
            if not item.cleared:
                self.fields[f"waive_{item.key}"] = forms.CharField(
                    label=_("Waive “%(item)s” (%(n)s): reason")
                    % {"item": item.label, "n": item.count},
                    required=False,
                    max_length=500,
                )
        for field in self.fields.values():
            field.widget.attrs.setdefault("class", "form-control")

    def waivers(self) -> dict[str, str]:
        return {
            item.key: self.cleaned_data.get(f"waive_{item.key}", "")
            for item in self.readiness
            if not item.cleared
        }


class UnlockRequestForm(SecondFactorMixin, forms.Form):
    """After unblinding: one data manager asks for the database unlock (re-authenticated)."""

    reason = forms.CharField(label=_("Reason for unlocking after unblinding"), max_length=500)
    password = forms.CharField(label=_("Your password"), widget=forms.PasswordInput())


class UnlockApproveForm(SecondFactorMixin, forms.Form):
    """After unblinding: another data manager approves the unlock (re-authenticated)."""

    password = forms.CharField(label=_("Your password"), widget=forms.PasswordInput())


class UnlockForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason for unlocking"), max_length=500, widget=forms.TextInput()
    )


class AuditFilterForm(_BootstrapMixin, forms.Form):
    user = forms.CharField(label=_("User name"), required=False, max_length=150)
    model = forms.ChoiceField(label=_("Record type"), required=False)
    participant = forms.CharField(label=_("Study ID"), required=False, max_length=20)
    date_from = EdcDateField(label=_("From"), required=False)
    date_to = EdcDateField(label=_("To"), required=False)

    def __init__(self, *args, models, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["model"].choices = [("", _("Any")), *models]
        self.style_widgets()
