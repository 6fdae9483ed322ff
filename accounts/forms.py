"""Forms of sign-in security: one-time codes, re-authentication, preferences, passwords, the
security log's filters."""

from django import forms
from django.contrib.auth.forms import PasswordChangeForm
from django.utils.translation import gettext_lazy as _

from kernel.models import Calendar, SecurityEventKind


def _code_input() -> forms.TextInput:
    return forms.TextInput(
        attrs={"autocomplete": "one-time-code", "autocapitalize": "none", "spellcheck": "false"}
    )


class OneTimeCodeForm(forms.Form):
    """A code from the authenticator app (six digits) or a backup code."""

    code = forms.CharField(
        label=_("Code"),
        max_length=32,
        widget=forms.TextInput(
            attrs={**_code_input().attrs, "autofocus": True, "class": "form-control-lg"}
        ),
        help_text=_("The six digits your authenticator app shows now, or a backup code."),
        error_messages={"required": _("Type the code your authenticator app shows.")},
    )


class SecondFactorMixin(forms.Form):
    """Re-authentication: beside the password, the current code of a user who has two-factor
    sign-in (emergency unblinding, trial-level unblinding, e-signatures). Checked by the view
    with `twofactor.confirm`, after the form is valid."""

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        from . import twofactor

        if user is not None and twofactor.is_set_up(user):
            self.fields["otp_code"] = forms.CharField(
                label=_("Code from your authenticator app"),
                max_length=32,
                widget=_code_input(),
                help_text=_("Or one of your backup codes."),
                error_messages={"required": _("Type the code your authenticator app shows.")},
            )


class PreferencesForm(forms.Form):
    language = forms.ChoiceField(label=_("Language"), required=False)
    calendar = forms.ChoiceField(label=_("Calendar for dates"), required=False)

    def __init__(self, *args, **kwargs):
        from django.conf import settings

        super().__init__(*args, **kwargs)
        self.fields["language"].choices = [("", _("As my browser asks")), *settings.LANGUAGES]
        self.fields["calendar"].choices = [("", _("As my site shows them")), *Calendar.choices]


class SecurityLogFilterForm(forms.Form):
    """Filters of the security log page (all optional)."""

    kind = forms.ChoiceField(label=_("Event"), required=False)
    reads = forms.BooleanField(
        label=_("Reads of the allocation or identifying data only"),
        required=False,
        widget=forms.CheckboxInput(attrs={"class": "form-check-input d-block"}),
    )
    username = forms.CharField(label=_("User name"), required=False, max_length=150)
    ip_address = forms.GenericIPAddressField(label=_("IP address"), required=False)
    date_from = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, **kwargs):

        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [("", _("Any")), *SecurityEventKind.choices]
        for field in self.fields.values():
            css = "form-select" if isinstance(field, forms.ChoiceField) else "form-control"
            field.widget.attrs.setdefault("class", css)

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", _("The end date is before the start date."))
        return cleaned


class NewPasswordForm(PasswordChangeForm):
    """Django's password change (old password, new one twice, the validators), refusing to keep
    the same password: a forced or expired change must really change it."""

    def clean_new_password1(self):
        new = self.cleaned_data.get("new_password1")
        if new and self.user.check_password(new):
            raise forms.ValidationError(
                _("The new password must differ from the current one."), code="password_unchanged"
            )
        return new
