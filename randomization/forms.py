from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from accounts.forms import SecondFactorMixin
from kernel.forms import EdcDateField, EditVersionMixin

from .models import PHASE_CHOICES, STRATUM_CHOICES, SUPPORT_CHOICES, ReviewDecision


class RandomizeForm(forms.Form):
    respiratory_support = forms.ChoiceField(
        label=_("Respiratory support now"),
        choices=[("", _("— choose —")), *SUPPORT_CHOICES],
        help_text=_("Decides the stratum; record what the patient is receiving at this moment."),
        error_messages={"required": _("Choose the respiratory support at randomization.")},
    )


class ConfirmRandomizeForm(RandomizeForm):
    """The confirmation step: the same choice, carried in a hidden field, plus a tick."""

    respiratory_support = forms.ChoiceField(choices=SUPPORT_CHOICES, widget=forms.HiddenInput)
    confirm = forms.BooleanField(
        label=_(
            "I confirm this participant is eligible, has consented, and should be "
            "randomized now. This cannot be undone."
        ),
        error_messages={"required": _("Tick the box to confirm the randomization.")},
    )


class ListGenerateForm(forms.Form):
    phase = forms.ChoiceField(label=_("Phase"), choices=PHASE_CHOICES)
    stratum = forms.ChoiceField(label=_("Stratum"), choices=STRATUM_CHOICES)
    seed = forms.IntegerField(
        label=_("Seed"),
        min_value=1,
        max_value=2**62,
        help_text=_("A whole number you record; the same seed gives the same list."),
    )


class ListImportForm(forms.Form):
    phase = forms.ChoiceField(label=_("Phase"), choices=PHASE_CHOICES)
    stratum = forms.ChoiceField(label=_("Stratum"), choices=STRATUM_CHOICES)
    file = forms.FileField(
        label=_("CSV file"),
        help_text=_("Columns: sequence,block,block_size,arm,envelope_code"),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > 1_000_000:
            raise ValidationError(_("The file is larger than 1 MB; a list is much smaller."))
        try:
            return upload.read().decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise ValidationError(_("The file is not UTF-8 text.")) from error


class PhaseReviewForm(SecondFactorMixin, forms.Form):
    """The DSMB's decision, signed with the password and a current code (SPEC §10)."""

    review_date = EdcDateField(label=_("Review date"))
    decision = forms.ChoiceField(label=_("Decision"), choices=ReviewDecision.choices)
    document_reference = forms.CharField(
        label=_("DSMB minutes reference"),
        max_length=200,
        help_text=_("The number and date of the DSMB minutes that record this decision."),
    )
    password = forms.CharField(
        label=_("Your password"),
        widget=forms.PasswordInput,
        help_text=_("Re-enter your password to sign this decision."),
    )


class PreparationForm(forms.Form):
    """The lot and the second checker; the weight is the Baseline CRF's, not typed here."""

    lot_number = forms.CharField(label=_("Lot number"), max_length=40, required=False)
    concentration_million_per_ml = forms.DecimalField(
        label=_("Lot concentration (million exosomes per ml)"),
        min_value=1,
        max_digits=10,
        decimal_places=1,
        required=False,
    )
    lot_expiry = EdcDateField(label=_("Lot expiry date"), required=False)
    checked_by = forms.CharField(label=_("Checked by (second person)"), max_length=120)


class HandoverForm(EditVersionMixin, forms.Form):
    """The hand-over, of the preparation shown (`versioned=[preparation]`)."""

    handed_over_to = forms.CharField(label=_("Handed over to (blinded nurse)"), max_length=120)


NO_EVENT = "none"


class EmergencyUnblindingForm(SecondFactorMixin, forms.Form):
    """`events`: the participant's adverse events as (pk, label); the triggering one is chosen
    from them, or "no event recorded yet" with a justification (SPEC §10)."""

    adverse_event = forms.ChoiceField(
        label=_("Triggering adverse event"),
        help_text=_("The AE/SAE that makes the arm necessary, from this participant's events."),
        error_messages={"required": _("Choose the triggering event, or “no event recorded yet”.")},
    )
    no_event_justification = forms.CharField(
        label=_("If no event is recorded yet: why unblind now"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("The medical monitor is alerted at once. Report the event as soon as you can."),
    )
    reason = forms.CharField(
        label=_("Reason: the severe complication that needs the arm"),
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    password = forms.CharField(
        label=_("Your password"),
        widget=forms.PasswordInput,
        help_text=_("Re-enter your password to sign this request."),
    )

    field_order = ["adverse_event", "no_event_justification", "reason", "password", "otp_code"]

    def __init__(self, *args, events=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["adverse_event"].choices = [
            ("", _("— choose —")),
            *[(str(pk), label) for pk, label in events],
            (NO_EVENT, _("No event recorded yet (give the justification)")),
        ]
        self.order_fields(self.field_order)

    def clean(self):
        data = super().clean()
        if (
            data.get("adverse_event") == NO_EVENT
            and not (data.get("no_event_justification") or "").strip()
        ):
            self.add_error(
                "no_event_justification",
                _("No event is recorded yet: say why the arm is needed now."),
            )
        return data

    def chosen_event_pk(self) -> int | None:
        value = self.cleaned_data.get("adverse_event")
        return None if value in (None, "", NO_EVENT) else int(value)


class PasswordConfirmForm(SecondFactorMixin, forms.Form):
    password = forms.CharField(label=_("Your password"), widget=forms.PasswordInput)
