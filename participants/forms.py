from django import forms
from django.utils.translation import gettext_lazy as _

from trialedc.forms import ReasonForChangeMixin
from trialedc.models import Site

from .models import IdentifyingData

IDENTITY_FIELDS = [
    "full_name",
    "national_id",
    "hospital_record_number",
    "date_of_birth",
    "phone",
    "address",
]


class IdentifyingDataForm(ReasonForChangeMixin, forms.ModelForm):
    class Meta:
        model = IdentifyingData
        fields = IDENTITY_FIELDS
        widgets = {
            "date_of_birth": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "address": forms.Textarea(attrs={"rows": 2}),
        }


class ParticipantRegisterForm(IdentifyingDataForm):
    site = forms.ModelChoiceField(queryset=Site.objects.none(), label=_("Site"), empty_label=None)

    def __init__(self, *args, sites, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["site"].queryset = sites
        self.order_fields(["site", *IDENTITY_FIELDS])
