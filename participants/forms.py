"""Forms of the participants app. Field checks name the field and the limit; nothing typed is
lost on an error (the view re-renders the bound form)."""

from __future__ import annotations

import uuid
from decimal import Decimal

from django import forms
from django.utils.text import capfirst
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from kernel import calendars
from kernel.forms import (
    EdcDateField,
    EdcDateTimeField,
    EditVersionMixin,
    ReasonForChangeMixin,
    ServiceValidatedMixin,
)
from kernel.models import Site
from kernel.trial import TRIAL

from . import rules
from .models import (
    ConsentSigner,
    Eligibility,
    IdentifyingData,
    NotEnrolledReason,
    ScreeningVitalSigns,
    Sex,
    WithdrawalScope,
)

IDENTITY_FIELDS = [
    "full_name",
    "national_id",
    "hospital_record_number",
    "date_of_birth",
    "sex",
    "phone",
    "address",
]
YES_NO = [(True, _("Yes")), (False, _("No"))]


def _to_bool(value):
    return {"True": True, "False": False, True: True, False: False}.get(value)


class IdentifyingDataFields(ServiceValidatedMixin, ReasonForChangeMixin, forms.ModelForm):
    """Identifying data (PHI). Its edit checks (a plausible age on the screening date, the
    national code's check digit) are the service's (services._identity_errors)."""

    class Meta:
        model = IdentifyingData
        fields = IDENTITY_FIELDS
        field_classes = {"date_of_birth": EdcDateField}
        widgets = {
            "sex": forms.RadioSelect,
            "address": forms.Textarea(attrs={"rows": 2}),
            "national_id": forms.TextInput(attrs={"inputmode": "numeric", "maxlength": 10}),
        }
        help_texts = {
            "national_id": _("10 digits (Iranian national code); checked for its check digit."),
        }

    def __init__(self, *args, screened_on=None, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            screened_on = self.instance.screening.screened_on
        self.screened_on = screened_on
        self.fields["sex"].choices = Sex.choices


class IdentifyingDataForm(EditVersionMixin, IdentifyingDataFields):
    """A correction of identifying data, on the version the form was opened on."""


class ScreeningForm(IdentifyingDataFields):
    """A new screening: where, when, and the patient's identifying data."""

    site = forms.ModelChoiceField(queryset=Site.objects.none(), label=_("Site"), empty_label=None)
    screened_on = EdcDateField(label=_("Screening date"))
    submission_token = forms.UUIDField(widget=forms.HiddenInput)
    confirm_rescreen = forms.BooleanField(
        required=False,
        label=_("I have checked: this is the same person, screened again."),
    )

    def __init__(self, *args, sites, today, **kwargs):
        kwargs.setdefault("initial", {})
        kwargs["initial"].setdefault("screened_on", today)
        kwargs["initial"].setdefault("submission_token", uuid.uuid4())
        super().__init__(*args, **kwargs)
        self.today = today
        self.fields["site"].queryset = sites
        self.order_fields(["site", "screened_on", *IDENTITY_FIELDS])

    def identity(self) -> dict:
        return {name: self.cleaned_data[name] for name in IDENTITY_FIELDS}


class EligibilityForm(
    ServiceValidatedMixin, EditVersionMixin, ReasonForChangeMixin, forms.ModelForm
):
    """I1–I5 and E1–E13 as yes/no, in the trial's words; I2 and I4 computed, never typed. On
    the version it was opened on (EditVersionMixin)."""

    class Meta:
        model = Eligibility
        fields = [
            *Eligibility.ANSWER_FIELDS,
            *Eligibility.PREGNANCY_FIELDS,
            "pao2_mmhg",
            "fio2_entered",
            "fio2_unit",
        ]
        widgets = {"fio2_unit": forms.RadioSelect}

    def __init__(self, *args, sex: str, **kwargs):
        super().__init__(*args, **kwargs)
        for name in Eligibility.ANSWER_FIELDS:
            criterion = TRIAL.criterion(name.upper())
            self.fields[name] = forms.TypedChoiceField(
                label=f"{criterion.code} · {gettext(criterion.question)}",
                help_text=_("Registry: “%(wording)s”") % {"wording": criterion.wording},
                choices=YES_NO,
                coerce=_to_bool,
                widget=forms.RadioSelect(attrs={"class": "form-check-inline"}),
                error_messages={
                    "required": _("%(code)s: answer yes or no.") % {"code": criterion.code}
                },
            )
        if sex != Sex.FEMALE:
            # E2 is asked of women only (SPEC §2), and so is the pregnancy test (issue 19).
            del self.fields["e2"]
            del self.fields["childbearing_potential"]
            del self.fields["pregnancy_test"]
        else:
            self.fields["childbearing_potential"] = forms.TypedChoiceField(
                label=_("Is she a woman of childbearing potential?"),
                help_text=_(
                    "Not post-menopausal (12 months without menses) nor surgically sterile."
                ),
                choices=YES_NO,
                coerce=_to_bool,
                widget=forms.RadioSelect(attrs={"class": "form-check-inline"}),
                error_messages={"required": _("Answer whether she is of childbearing potential.")},
            )
            self.fields["pregnancy_test"] = forms.ChoiceField(
                label=_("Pregnancy test at screening (serum or urine β-hCG)"),
                help_text=_(
                    "Required for a woman of childbearing potential: a positive test excludes "
                    "her (E2); without a negative test she cannot be enrolled."
                ),
                choices=[
                    ("negative", _("Negative")),
                    ("positive", _("Positive")),
                    ("not_done", _("Not done")),
                ],
                required=False,
                widget=forms.RadioSelect(attrs={"class": "form-check-inline"}),
            )
            self.order_fields([*Eligibility.ANSWER_FIELDS[:4], *Eligibility.PREGNANCY_FIELDS])
        pao2 = TRIAL.hard_limits["pao2_mmhg"]
        self.fields["pao2_mmhg"] = forms.DecimalField(
            label=_("PaO2 (mmHg)"),
            max_digits=4,
            decimal_places=1,
            help_text=_("Arterial blood gas at screening; %(min)s–%(max)s mmHg.")
            % {"min": pao2.minimum, "max": pao2.maximum},
            widget=forms.NumberInput(attrs={"step": "0.1", "inputmode": "decimal"}),
        )
        self.fields["fio2_entered"] = forms.DecimalField(
            label=_("FiO2"),
            max_digits=5,
            decimal_places=2,
            help_text=_("As a fraction (0.21–1.00) or a percentage (21–100 %): say which below."),
            widget=forms.NumberInput(attrs={"step": "0.01", "inputmode": "decimal"}),
        )
        self.fields["fio2_unit"].label = _("FiO2 entered as")
        self.fields["fio2_unit"].choices = [
            (rules.FRACTION, _("fraction (0.21–1.00)")),
            (rules.PERCENT, _("percentage (21–100 %)")),
        ]
        if not self.is_bound and self.instance.pk is None:
            self.initial.setdefault("fio2_unit", rules.FRACTION)

    def answers(self) -> dict:
        return {name: self.cleaned_data.get(name) for name in Eligibility.ANSWER_FIELDS}

    def pregnancy(self) -> dict:
        """Childbearing potential and the pregnancy test (a woman's; empty for a man)."""
        return {
            "childbearing_potential": self.cleaned_data.get("childbearing_potential"),
            "pregnancy_test": self.cleaned_data.get("pregnancy_test") or "",
        }


def eligibility_typed(data) -> dict:
    """The raw values of a (possibly incomplete) eligibility form, parsed for the live verdict
    (participants.selectors.eligibility_preview): answers as yes/no/None, numbers as Decimal
    or None, the FiO2 unit as typed."""

    def decimal(name):
        try:
            return Decimal(str(data.get(name, "")).strip())
        except ArithmeticError:
            return None

    return {
        "answers": {name.upper(): _to_bool(data.get(name)) for name in Eligibility.ANSWER_FIELDS},
        "pao2_mmhg": decimal("pao2_mmhg"),
        "fio2_entered": decimal("fio2_entered"),
        "fio2_unit": data.get("fio2_unit") or rules.FRACTION,
        "childbearing_potential": _to_bool(data.get("childbearing_potential")),
        "pregnancy_test": data.get("pregnancy_test") or "",
    }


class EligibilityConfirmForm(EditVersionMixin, forms.Form):
    """The investigator's confirmation: no field, only the version of the answers shown."""


class ConsentForm(EditVersionMixin, forms.Form):
    """Written consent, entered once: nothing to version (`versioned=[]`); the mixin shows the
    consent someone else recorded meanwhile, with what this user typed kept."""

    consented_at = EdcDateTimeField(
        label=_("Date and time of consent"), help_text=_("In the site's time zone.")
    )
    form_version = forms.ChoiceField(label=_("Consent-form version"))
    signer = forms.ChoiceField(
        label=_("Signed by"), choices=ConsentSigner.choices, widget=forms.RadioSelect
    )
    representative_name = forms.CharField(
        label=_("Representative's name"), required=False, max_length=200
    )
    representative_relationship = forms.ChoiceField(
        label=_("Representative's relationship to the patient"), required=False
    )
    obtained_by = forms.ModelChoiceField(
        queryset=None, label=_("Person obtaining consent"), empty_label=None
    )
    witness_name = forms.CharField(label=_("Witness"), max_length=200)
    scanned_form_reference = forms.CharField(
        label=_("Scanned-form reference"),
        max_length=200,
        help_text=_("Where the signed form's scan is filed, e.g. ISF/ICF/S01-0003.pdf"),
    )

    def __init__(self, *args, staff, screened_on, **kwargs):
        super().__init__(*args, **kwargs)
        self.screened_on = screened_on
        self.fields["obtained_by"].queryset = staff
        self.fields["form_version"].choices = [
            (v.code, _("%(label)s — valid %(span)s") % {"label": v.label, "span": _span(v)})
            for v in TRIAL.consent_form_versions
        ]
        self.fields["representative_relationship"].choices = [
            ("", "—"),
            *((k, gettext(v)) for k, v in TRIAL.consent_representative_relationships.items()),
        ]


def _span(version) -> str:
    end = calendars.shown(version.valid_until) if version.valid_until else _("until further notice")
    return f"{calendars.shown(version.valid_from)} – {end}"


class ScreeningCloseForm(forms.Form):
    reason = forms.ChoiceField(
        label=_("Why is the patient not enrolled?"),
        choices=[
            (NotEnrolledReason.DECLINED, NotEnrolledReason.DECLINED.label),
            (NotEnrolledReason.OTHER, NotEnrolledReason.OTHER.label),
        ],
        widget=forms.RadioSelect,
    )
    detail = forms.CharField(label=_("Details"), required=False, max_length=300)


class WithdrawalForm(EditVersionMixin, forms.Form):
    """A withdrawal, entered once (`versioned=[]`), like ConsentForm."""

    withdrawn_on = EdcDateField(label=_("Date of withdrawal"))
    scope = forms.ChoiceField(
        label=_("Scope"), choices=WithdrawalScope.choices, widget=forms.RadioSelect
    )
    reason = forms.CharField(label=_("Reason (optional)"), required=False, max_length=300)


class ScreeningVitalSignsForm(
    ServiceValidatedMixin, EditVersionMixin, ReasonForChangeMixin, forms.ModelForm
):
    """The vital signs at screening (issue 19), as typed: the service checks them with the
    visits' own rules (kernel.limits) and the form shows its refusals and warnings. FiO2 is
    typed as a fraction or a percentage, the unit chosen explicitly."""

    fio2_unit = forms.ChoiceField(
        label=_("FiO₂ entered as"),
        choices=[
            (rules.FRACTION, _("fraction (0.21–1.00)")),
            (rules.PERCENT, _("percent (21–100 %)")),
        ],
        initial=rules.FRACTION,
        widget=forms.RadioSelect,
    )
    confirm_warnings = forms.BooleanField(
        label=_("I have checked these values and confirm them"), required=False
    )
    warning_reason = forms.CharField(
        label=_("Reason for confirming"),
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )

    class Meta:
        model = ScreeningVitalSigns
        fields = list(ScreeningVitalSigns.VALUE_FIELDS)
        field_classes = {"measured_on": EdcDateField}
        widgets = {"measured_at": forms.TimeInput(attrs={"type": "time"}, format="%H:%M")}

    def __init__(self, *args, today=None, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk is None and today is not None:
            self.initial.setdefault("measured_on", today)
        for name in (*ScreeningVitalSigns.MEASURES, "fio2"):
            self.fields[name].widget = forms.TextInput(
                attrs={"inputmode": "decimal", "autocomplete": "off"}
            )
        for name in ScreeningVitalSigns.MEASURES:
            # The unit of the trial configuration, the visits' vital signs' own.
            field = self.fields[name]
            field.label = f"{capfirst(field.label)} ({TRIAL.hard_limits[name].unit})"
        # Typed as a fraction or a percentage (40): the model field's 0.000 format would refuse
        # a percentage before the service converts it.
        self.fields["fio2"] = forms.DecimalField(
            label=_("FiO₂ at the SpO₂"),
            required=False,
            help_text=_("0.21 (21 %) on room air."),
            widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
        )
        self.fields["respiratory_support"].help_text = _(
            "The support the patient was on when the SpO₂ was measured."
        )
        # The warnings the service refused to save without a confirmation.
        self.warnings: list[str] = []
        self.order_fields([*ScreeningVitalSigns.VALUE_FIELDS[:-2], "fio2", "fio2_unit"])

    def take_theirs(self, cleaned, name, value) -> None:
        super().take_theirs(cleaned, name, value)
        if name == "fio2":
            cleaned["fio2_unit"] = rules.FRACTION  # stored as a fraction

    def typed_values(self) -> dict:
        return {name: self.cleaned_data.get(name) for name in ScreeningVitalSigns.VALUE_FIELDS}

    def show_warnings(self, warnings: list[str]) -> None:
        """The soft warnings to confirm, with the reason asked for; every value typed stays."""
        self.warnings = list(warnings)
        if not self.cleaned_data.get("confirm_warnings"):
            self.add_error("confirm_warnings", _("Confirm the values, or correct them."))
        elif not (self.cleaned_data.get("warning_reason") or "").strip():
            self.add_error("warning_reason", _("Give the reason for confirming the values."))
