from django import forms
from django.utils.translation import gettext_lazy as _


class ExportStartForm(forms.Form):
    new_release = forms.BooleanField(
        label=_("Start a new release"),
        required=False,
        help_text=_(
            "A new release gives every participant a new export ID. Leave it unticked to "
            "re-run the current release with the same export IDs."
        ),
    )
