from django import forms
from django.utils.translation import gettext_lazy as _


class ReasonForChangeMixin(forms.Form):
    """Adds a required 'reason for change' field once the record exists (21 CFR 11.10(e)).

    On a new record the field is absent; on a saved one it is required and its text goes into
    the audit trail beside the old and new values.
    """

    reason_field_name = "reason_for_change"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        instance = getattr(self, "instance", None)
        if instance is not None and instance.pk is not None:
            self.fields[self.reason_field_name] = forms.CharField(
                label=_("Reason for change"),
                help_text=_(
                    "Required for every change to a saved record; kept in the audit trail."
                ),
                widget=forms.Textarea(attrs={"rows": 2}),
                required=True,
                error_messages={
                    "required": _("Give a reason for this change; nothing was saved without one.")
                },
            )

    def changed_values(self) -> dict:
        """The data fields the user changed, with their new values (the reason excluded)."""
        return {
            name: self.cleaned_data[name]
            for name in self.changed_data
            if name != self.reason_field_name
        }

    @property
    def reason_for_change(self) -> str:
        return self.cleaned_data.get(self.reason_field_name, "")


class PreferencesForm(forms.Form):
    language = forms.ChoiceField(label=_("Language"), required=False)
    calendar = forms.ChoiceField(label=_("Calendar for dates"), required=False)

    def __init__(self, *args, **kwargs):
        from django.conf import settings

        from .models import Calendar

        super().__init__(*args, **kwargs)
        self.fields["language"].choices = [("", _("As my browser asks")), *settings.LANGUAGES]
        self.fields["calendar"].choices = [("", _("As my site shows them")), *Calendar.choices]
