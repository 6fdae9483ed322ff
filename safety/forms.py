from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.forms import SecondFactorMixin
from kernel.forms import EdcDateField, EdcDateTimeField, EditVersionMixin, ReasonForChangeMixin

from .models import AdverseEvent, CtcaeGrade, Relationship
from .services import CLINICAL_FIELDS

# The form in the order a reporter thinks: what, when, how bad, how serious, why, how it ended.
FIELDSETS = (
    (_("The event"), ("verbatim_term", "preferred_term", "description")),
    (_("Dates"), ("onset_date", "ongoing", "end_date")),
    (_("Severity"), ("ctcae_grade",)),
    (
        _("Seriousness"),
        (
            "serious",
            "aware_at",
            "criterion_death",
            "criterion_life_threatening",
            "criterion_hospitalization",
            "criterion_disability",
            "criterion_congenital_anomaly",
            "criterion_important_medical_event",
        ),
    ),
    (_("Relationship and action"), ("relationship", "action_taken")),
    (_("Outcome"), ("outcome", "death_date", "death_cause")),
    (_("For the CIOMS form"), ("concomitant_medications", "relevant_history")),
)


class _AdverseEventFields(forms.ModelForm):
    class Meta:
        model = AdverseEvent
        fields = CLINICAL_FIELDS
        field_classes = {
            **dict.fromkeys(("onset_date", "end_date", "death_date"), EdcDateField),
            "aware_at": EdcDateTimeField,
        }
        widgets = {
            "preferred_term": forms.TextInput(
                attrs={"list": "preferred-terms", "autocomplete": "off"}
            ),
            "ctcae_grade": forms.RadioSelect,
            "relationship": forms.RadioSelect,
            "description": forms.Textarea(attrs={"rows": 3}),
            "concomitant_medications": forms.Textarea(attrs={"rows": 2}),
            "relevant_history": forms.Textarea(attrs={"rows": 2}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Radio lists without the empty "-------" choice: the reporter must pick one.
        self.fields["ctcae_grade"].choices = CtcaeGrade.choices
        self.fields["relationship"].choices = Relationship.choices
        self.fields["serious"].label = _("Serious (meets at least one criterion below)")
        self.fields["ongoing"].label = _("Ongoing (no end date yet)")

    def fieldsets(self):
        return [
            (legend, [self[name] for name in names if name in self.fields])
            for legend, names in FIELDSETS
        ]


class AdverseEventForm(EditVersionMixin, ReasonForChangeMixin, _AdverseEventFields):
    """Report a new AE, or correct one (then with a reason for change, on the version the form
    was opened on: EditVersionMixin)."""

    def fieldsets(self):
        sets = super().fieldsets()
        if self.reason_field_name in self.fields:
            sets.append((_("Reason for change"), [self[self.reason_field_name]]))
        return sets


class SAEFollowUpForm(EditVersionMixin, _AdverseEventFields):
    """A follow-up report: the new information, and the event as it now stands."""

    narrative = forms.CharField(
        label=_("New information since the last report"),
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={"required": _("Describe what is new since the last report.")},
    )
    final = forms.BooleanField(
        label=_("This is the final report (the outcome is final)"), required=False
    )

    def fieldsets(self):
        return [
            (_("Follow-up"), [self["narrative"], self["final"]]),
            *super().fieldsets(),
        ]


class CausalitySignForm(EditVersionMixin, forms.Form):
    """The causality signature, on the version of the event shown (`versioned=[ae]`)."""

    relationship = forms.ChoiceField(
        label=_("Relationship to the study product"),
        choices=Relationship.choices,
        widget=forms.RadioSelect,
    )
    reason = forms.CharField(
        label=_("Reason (required if you change the relationship)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    password = forms.CharField(
        label=_("Your password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        help_text=_("Re-enter your password to sign (21 CFR Part 11 §11.200)."),
    )

    def __init__(self, *args, current_relationship: str, **kwargs):
        super().__init__(*args, **kwargs)
        # A changed relationship needs a reason: the service's rule (ReasonRequired).
        self.fields["relationship"].initial = current_relationship


class ExpeditedReportForm(EditVersionMixin, forms.Form):
    submitted_at = EdcDateTimeField(label=_("Submitted to the regulator and ethics committee at"))
    reference = forms.CharField(label=_("Reference of the report"), max_length=100)


class SusarCaseUnblindForm(SecondFactorMixin, forms.Form):
    """The safety physician's re-authentication before the case is unblinded."""

    password = forms.CharField(
        label=_("Your password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        help_text=_("Re-enter your password; the unblinding of this case is kept forever."),
    )
