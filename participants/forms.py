"""Forms of the participants app. Field checks name the field and the limit; nothing typed is
lost on an error (the view re-renders the bound form)."""

from __future__ import annotations

import uuid
from decimal import Decimal

from django import forms
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from kernel import calendars
from kernel.forms import EdcDateField, EdcDateTimeField, EditVersionMixin, ReasonForChangeMixin
from kernel.models import Site
from kernel.trial import TRIAL

from . import rules
from .models import (
    ConsentSigner,
    Eligibility,
    IdentifyingData,
    NotEnrolledReason,
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


class IdentifyingDataFields(ReasonForChangeMixin, forms.ModelForm):
    """Identifying data (PHI). `screened_on` bounds the date of birth (age 0–120 on that day)."""

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

    def clean_national_id(self):
        code = (self.cleaned_data.get("national_id") or "").strip()
        if code and not rules.national_id_is_valid(code):
            raise forms.ValidationError(
                _("National ID: %(code)s is not a valid 10-digit Iranian national code."),
                params={"code": code},
            )
        return code

    def check_date_of_birth(self, screened_on):
        dob = self.cleaned_data.get("date_of_birth")
        if dob is None or screened_on is None:
            return
        age = rules.age_in_years(dob, screened_on)
        if dob > screened_on or age > TRIAL.age_plausible_max_years:
            self.add_error(
                "date_of_birth",
                _(
                    "Date of birth gives an age of %(age)s years on the screening date "
                    "(%(day)s); it must be between 0 and %(max)s."
                )
                % {
                    "age": age,
                    "day": calendars.shown(screened_on),
                    "max": TRIAL.age_plausible_max_years,
                },
            )

    def clean(self):
        cleaned = super().clean()
        self.check_date_of_birth(self.screened_on)
        return cleaned


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

    def clean_screened_on(self):
        day = self.cleaned_data["screened_on"]
        if day > self.today:
            raise forms.ValidationError(
                _(
                    "Screening date %(day)s is in the future; it must be today (%(today)s) or "
                    "earlier."
                ),
                params={"day": calendars.shown(day), "today": calendars.shown(self.today)},
            )
        return day

    def clean(self):
        self.screened_on = self.cleaned_data.get("screened_on")
        return super().clean()

    def identity(self) -> dict:
        return {name: self.cleaned_data[name] for name in IDENTITY_FIELDS}


class EligibilityForm(EditVersionMixin, ReasonForChangeMixin, forms.ModelForm):
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
            min_value=pao2.minimum,
            max_value=pao2.maximum,
            help_text=_("Arterial blood gas at screening; %(min)s–%(max)s mmHg.")
            % {"min": pao2.minimum, "max": pao2.maximum},
            error_messages={
                "min_value": _("PaO2 must be at least %(limit_value)s mmHg."),
                "max_value": _("PaO2 must be at most %(limit_value)s mmHg."),
            },
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

    def clean(self):
        cleaned = super().clean()
        value, unit = cleaned.get("fio2_entered"), cleaned.get("fio2_unit")
        if value is not None and unit:
            limit = TRIAL.hard_limits["fio2"]
            fraction = rules.fio2_fraction(value, unit)
            if not limit.minimum <= fraction <= limit.maximum:
                if unit == rules.PERCENT:
                    message = _("FiO2 %(value)s %% is outside 21–100 %%.") % {"value": value}
                else:
                    message = _(
                        "FiO2 %(value)s is outside %(min)s–%(max)s (a fraction; for a "
                        "percentage choose “percentage”)."
                    ) % {"value": value, "min": limit.minimum, "max": limit.maximum}
                self.add_error("fio2_entered", message)
        return cleaned

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

    def clean_consented_at(self):
        value = self.cleaned_data["consented_at"]
        if value > timezone.now():
            raise forms.ValidationError(
                _("Date and time of consent is in the future; it must be now or earlier.")
            )
        local_day = timezone.localtime(value).date()
        if local_day < self.screened_on:
            raise forms.ValidationError(
                _("Date of consent %(day)s is before the screening date %(screened)s."),
                params={
                    "day": calendars.shown(local_day),
                    "screened": calendars.shown(self.screened_on),
                },
            )
        return value

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("signer") == ConsentSigner.REPRESENTATIVE:
            if not (cleaned.get("representative_name") or "").strip():
                self.add_error(
                    "representative_name", _("Name the legal representative who signed.")
                )
            if not cleaned.get("representative_relationship"):
                self.add_error(
                    "representative_relationship",
                    _("Give the representative's relationship to the patient."),
                )
        version_code, when = cleaned.get("form_version"), cleaned.get("consented_at")
        if version_code and when:
            version = TRIAL.consent_form_version(version_code)
            day = timezone.localtime(when).date()
            if not version.valid_on(day):
                self.add_error(
                    "form_version",
                    _("Version %(version)s is not valid on %(day)s (valid %(span)s).")
                    % {
                        "version": version.code,
                        "day": calendars.shown(day),
                        "span": _span(version),
                    },
                )
        return cleaned


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

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("reason") == NotEnrolledReason.OTHER and not cleaned.get("detail"):
            self.add_error("detail", _("Details: say what the other reason is."))
        return cleaned


class WithdrawalForm(EditVersionMixin, forms.Form):
    """A withdrawal, entered once (`versioned=[]`), like ConsentForm."""

    withdrawn_on = EdcDateField(label=_("Date of withdrawal"))
    scope = forms.ChoiceField(
        label=_("Scope"), choices=WithdrawalScope.choices, widget=forms.RadioSelect
    )
    reason = forms.CharField(label=_("Reason (optional)"), required=False, max_length=300)
