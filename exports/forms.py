from django import forms
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _


class ExportStartForm(forms.Form):
    new_release = forms.BooleanField(
        label=_("Start a new release"),
        required=False,
        help_text=format_lazy(
            "{} {}",
            _(
                "A new release gives every participant a new export ID. Leave it unticked to "
                "re-run the current release with the same export IDs."
            ),
            _(
                "Start one when the data go to a new recipient (a journal, a data-sharing "
                "request): their files then cannot be linked by export ID to the files anyone "
                "received before."
            ),
        ),
    )
