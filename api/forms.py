from django import forms
from django.conf import settings
from django.core.validators import MaxValueValidator
from django.utils.translation import gettext_lazy as _


class TokenCreateForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        max_length=100,
        help_text=_("What or where it is used, e.g. “R on my laptop”."),
    )
    days = forms.IntegerField(label=_("Valid for (days)"), min_value=1, initial=30)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        limit = settings.API_TOKEN_MAX_DAYS
        days = self.fields["days"]
        days.max_value = limit
        days.validators.append(MaxValueValidator(limit))
        days.widget.attrs["max"] = limit
        days.help_text = _("From 1 to %(limit)s days; you can revoke it at any time.") % {
            "limit": limit
        }
