"""CRF forms: units beside every field, hard limits that refuse, soft limits that ask.

Edit checks (SPEC §4) run here so the coordinator sees them beside the field; the database's
check constraints are the backstop. A form that fails keeps every value typed (bound forms
re-render their data), so nothing is lost on an error.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from crispy_forms.bootstrap import AppendedText, InlineRadios
from crispy_forms.helper import FormHelper
from crispy_forms.layout import HTML, Field, Layout
from django import forms
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kernel.physiology import pf_display
from trialedc import calendars, concurrency
from trialedc.forms import EdcDateField, EdcDateTimeField, EditVersionMixin, ReasonForChangeMixin
from trialedc.trial import TRIAL

from . import schedule
from .models import (
    AeAssessment,
    Baseline,
    BloodGas,
    ClinicalStatus,
    Crp,
    CrpUnit,
    Day60FollowUp,
    EventKind,
    IcuStay,
    Infusion,
    Murray,
    StudyEvent,
    VitalStatus,
)

FRACTION, PERCENT = "fraction", "percent"

# Units shown beside the fields (an input group on the right of the box).
UNITS = {
    "age_years": gettext_lazy("years"),
    "weight_kg": "kg",
    "height_cm": "cm",
    "volume_ml": "ml",
    "pao2_mmhg": "mmHg",
    "peep_cmh2o": "cmH₂O",
    "compliance_ml_cmh2o": "ml/cmH₂O",
    "cxr_quadrants": gettext_lazy("quadrants (0–4)"),
}
# Form field -> hard-limit key in TRIAL.hard_limits.
HARD_LIMITED = {
    "weight_kg": "weight_kg",
    "pao2_mmhg": "pao2_mmhg",
    "peep_cmh2o": "peep_cmh2o",
    "compliance_ml_cmh2o": "compliance_ml_cmh2o",
}
DECIMAL_ATTRS = {"inputmode": "decimal", "autocomplete": "off"}
QUERY_WIDGET = '{%% load datamanagement_tags %%}{%% field_queries "%s" %%}'


def fio2_fraction(value: Decimal, unit: str) -> Decimal:
    """FiO₂ as a fraction: a % entry is divided by 100, explicitly (SPEC §4: never guessed)."""
    return value / Decimal(100) if unit == PERCENT else value


def crp_mg_l(value: Decimal, unit: str) -> Decimal:
    """CRP in mg/L, the stored unit: mg/dL × 10 (TRIAL.crp_unit_factors)."""
    return value * TRIAL.crp_unit_factors[unit]


def hard_limit_error(key: str, value: Decimal, *, entered: str = "") -> str | None:
    """The message for a value outside its hard limit, naming the field and the limit."""
    limit = TRIAL.hard_limits[key]
    if limit.minimum <= value <= limit.maximum:
        return None
    return _(
        "%(field)s must be between %(min)s and %(max)s %(unit)s; %(value)s is outside this "
        "hard limit and cannot be saved."
    ) % {
        "field": limit.label,
        "min": limit.minimum,
        "max": limit.maximum,
        "unit": limit.unit,
        "value": entered or f"{value} {limit.unit}",
    }


def _yes_no(label) -> forms.TypedChoiceField:
    return forms.TypedChoiceField(
        label=label,
        choices=[(True, gettext_lazy("Yes")), (False, gettext_lazy("No"))],
        coerce=lambda v: v in (True, "True"),
        empty_value=None,
        required=False,
        widget=forms.RadioSelect,
    )


class CrfForm(EditVersionMixin, ReasonForChangeMixin, forms.ModelForm):
    """What every CRF form does: the assessment date and its checks, draft or complete, the
    soft-limit warnings and their confirmation, the crispy layout with units, and the version
    it was opened on (EditVersionMixin: a save on a version changed since is refused)."""

    # The choices after an edit conflict replace values once the units are converted.
    edit_choices_in_clean = False

    confirm_warnings = forms.BooleanField(
        label=gettext_lazy("I have checked these values and confirm them"), required=False
    )
    warning_reason = forms.CharField(
        label=gettext_lazy("Reason for confirming"),
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )

    def __init__(
        self, *args, visit, previous=None, today: date, day0: date | None = None, **kwargs
    ):
        super().__init__(*args, **kwargs)
        self.visit = visit
        self.previous = previous or {}
        self.today = today
        # Day 0 as the view read it with the visit (selectors.with_day0), or read here.
        self.day0 = day0 or visit.participant.visits.get(day=0).target_date
        self.warnings: list[str] = []
        for field in self.fields.values():
            if isinstance(field, forms.DecimalField | forms.IntegerField):
                field.widget = forms.TextInput(attrs=DECIMAL_ATTRS)
        # The date in the reader's calendar (Jalali entry at the Tehran site), stored Gregorian.
        self.fields["assessed_on"] = EdcDateField(
            label=gettext_lazy("Date of assessment"),
            required=self.fields["assessed_on"].required,
            help_text=self.fields["assessed_on"].help_text,
        )
        if not self.instance.pk and self.initial.get("assessed_on") is None:
            self.initial["assessed_on"] = min(visit.target_date, today)
        # Keyboard-first: the date is prefilled, so the cursor starts in the first measurement.
        names = [n for n in self.data_field_names() if n != "assessed_on"]
        if names:
            self.fields[names[0]].widget.attrs["autofocus"] = True
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.layout = Layout(*self.with_query_widgets(self.layout_fields()))

    # -- layout ------------------------------------------------------------------------------
    def with_query_widgets(self, items: list) -> list:
        """Each field followed by its queries: the data-management app's one widget."""
        out = []
        for item in items:
            out.append(item)
            name = item.fields[0] if getattr(item, "fields", None) else None
            if isinstance(name, str) and name in self.fields:
                out.append(HTML(QUERY_WIDGET % name))
        return out

    def data_field_names(self) -> list[str]:
        extra = {"confirm_warnings", "warning_reason", self.reason_field_name}
        return [n for n in self.fields if n not in extra]

    def layout_fields(self) -> list:
        items = []
        for name in self.data_field_names():
            if name in UNITS:
                items.append(AppendedText(name, UNITS[name]))
            elif isinstance(self.fields[name].widget, forms.RadioSelect):
                items.append(InlineRadios(name))
            else:
                items.append(Field(name))
        return items

    # -- checks ------------------------------------------------------------------------------
    def clean_assessed_on(self):
        on = self.cleaned_data.get("assessed_on")
        if on is None:
            return on
        if on > self.today:
            raise forms.ValidationError(
                _("Date of assessment cannot be in the future (today is %(today)s).")
                % {"today": calendars.shown(self.today)}
            )
        if on < self.day0:
            raise forms.ValidationError(
                _("Date of assessment cannot be before Day 0 (%(day0)s).")
                % {"day0": calendars.shown(self.day0)}
            )
        return on

    def clean(self):
        cleaned = super().clean()
        for name, key in HARD_LIMITED.items():
            value = cleaned.get(name)
            if name in self.fields and value is not None:
                error = hard_limit_error(key, value)
                if error:
                    self.add_error(name, error)
        self.clean_units(cleaned)
        self.apply_edit_choices(cleaned)
        if not self.errors:
            self.warnings = self.soft_warnings(cleaned)
            confirmed = (
                cleaned.get("confirm_warnings") and (cleaned.get("warning_reason") or "").strip()
            )
            if self.warnings and not confirmed:
                self.add_error(
                    "confirm_warnings",
                    _(
                        "Check the warnings above; correct the values, or confirm them and "
                        "give a reason."
                    ),
                )
        return cleaned

    def clean_units(self, cleaned) -> None:
        """Unit conversions of the CRF (FiO₂ %, CRP mg/dL), before the soft checks."""

    def soft_warnings(self, cleaned) -> list[str]:
        warnings = []
        on = cleaned.get("assessed_on")
        visit = self.visit
        if on and schedule.outside_window(
            on=on, window_start=visit.window_start, window_end=visit.window_end
        ):
            warnings.append(
                _(
                    "The date %(on)s is outside the %(visit)s window (%(start)s to %(end)s): "
                    "an out-of-window visit is a protocol deviation."
                )
                % {
                    "on": calendars.shown(on),
                    "visit": visit.code,
                    "start": calendars.shown(visit.window_start),
                    "end": calendars.shown(visit.window_end),
                }
            )
        warnings += self.delta_warnings(cleaned)
        return warnings

    def current_values(self, cleaned) -> dict[str, Decimal]:
        """The values of this CRF that have a configured 'moved more than' soft limit."""
        return {}

    def delta_warnings(self, cleaned) -> list[str]:
        warnings = []
        labels = {
            "pf_ratio": _("P/F ratio"),
            "crp_mg_l": _("CRP (mg/L)"),
            "murray_total": _("Murray sum"),
            "clinical_status": _("Clinical status"),
        }
        for key, value in self.current_values(cleaned).items():
            if value is None or key not in self.previous:
                continue
            code, before = self.previous[key]
            limit = TRIAL.soft_limit_deltas[key]
            if abs(Decimal(value) - before) > limit:
                warnings.append(
                    _(
                        "%(field)s moved from %(before)s at %(visit)s to %(now)s, more than "
                        "%(limit)s since the previous visit."
                    )
                    % {
                        "field": labels[key],
                        "before": before,
                        "visit": code,
                        "now": Decimal(value).quantize(Decimal("0.1")),
                        "limit": limit,
                    }
                )
        return warnings

    def validate_constraints(self) -> None:
        """Not here: the service that saves the CRF (outcomes.services.crf_save) evaluates the
        check constraints in the database once per save, under the visit lock, and the view
        shows its error on this form. Each constraint also has its check in this form, with a
        message that names the field and the limit (HARD_LIMITED, clean_fio2_entry, ...)."""

    def crf_values(self) -> dict:
        """The model fields to save, from the cleaned data."""
        model_fields = {f.name for f in self._meta.model._meta.fields}
        return {n: v for n, v in self.cleaned_data.items() if n in model_fields}


class BaselineForm(CrfForm):
    class Meta:
        model = Baseline
        fields = [
            "assessed_on",
            "sex",
            "age_years",
            "weight_kg",
            "height_cm",
            "respiratory_support",
            "hypertension",
            "cardiovascular_disease",
            "chronic_lung_disease",
            "obesity",
            "other_comorbidities",
        ]
        widgets = {"sex": forms.RadioSelect}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["sex"].choices = [c for c in self.fields["sex"].choices if c[0]]

    def clean_age_years(self):
        age = self.cleaned_data.get("age_years")
        if age is not None and not 0 < age < 120:
            raise forms.ValidationError(_("Age must be between 1 and 119 years."))
        return age

    def clean_height_cm(self):
        height = self.cleaned_data.get("height_cm")
        if height is not None and not 100 <= height <= 230:
            raise forms.ValidationError(_("Height must be between 100 and 230 cm."))
        return height

    def soft_warnings(self, cleaned) -> list[str]:
        warnings = super().soft_warnings(cleaned)
        age = cleaned.get("age_years")
        if age is not None and not TRIAL.age_min_years <= age <= TRIAL.age_max_years:
            warnings.append(
                _("Age %(age)s is outside the eligible %(min)s–%(max)s years.")
                % {"age": age, "min": TRIAL.age_min_years, "max": TRIAL.age_max_years}
            )
        return warnings


class InfusionForm(CrfForm):
    completed = _yes_no(gettext_lazy("Full dose given"))
    reaction = _yes_no(gettext_lazy("Infusion reaction"))

    class Meta:
        model = Infusion
        fields = [
            "assessed_on",
            "started_at",
            "ended_at",
            "volume_ml",
            "completed",
            "reaction",
            "reaction_details",
        ]
        field_classes = dict.fromkeys(("started_at", "ended_at"), EdcDateTimeField)
        widgets = {
            "reaction_details": forms.Textarea(attrs={"rows": 2}),
        }

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("started_at"), cleaned.get("ended_at")
        for name, moment in (("started_at", start), ("ended_at", end)):
            if moment and moment > timezone.now():
                self.add_error(name, _("The infusion time cannot be in the future."))
        if start and end and end < start:
            self.add_error("ended_at", _("The infusion cannot end before it started."))
        volume = cleaned.get("volume_ml")
        if volume is not None and not Decimal("0") < volume <= Decimal("50"):
            self.add_error("volume_ml", _("Volume given must be between 0 and 50 ml."))
        if cleaned.get("reaction") and not (cleaned.get("reaction_details") or "").strip():
            self.add_error("reaction_details", _("Describe the infusion reaction."))
        return cleaned

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["volume_ml"].help_text = gettext_lazy("Protocol: %(ml)s ml.") % {
            "ml": TRIAL.dose_volume_ml
        }

    def soft_warnings(self, cleaned) -> list[str]:
        warnings = super().soft_warnings(cleaned)
        volume = cleaned.get("volume_ml")
        if volume is not None and volume != TRIAL.dose_volume_ml:
            warnings.append(
                _("Volume %(volume)s ml differs from the protocol's %(dose)s ml.")
                % {"volume": volume, "dose": TRIAL.dose_volume_ml}
            )
        return warnings


class AeAssessmentForm(CrfForm):
    new_ae = _yes_no(gettext_lazy("Any new adverse event since the last assessment?"))

    class Meta:
        model = AeAssessment
        fields = ["assessed_on", "new_ae", "notes"]
        widgets = {"notes": forms.Textarea(attrs={"rows": 2})}


class _Fio2Mixin:
    """FiO₂ typed as a fraction or a percentage, with the unit chosen explicitly."""

    def add_fio2_unit(self):
        self.fields["fio2"] = forms.DecimalField(
            label=gettext_lazy("FiO₂"), required=False, widget=forms.TextInput(attrs=DECIMAL_ATTRS)
        )
        self.fields["fio2_unit"] = forms.ChoiceField(
            label=gettext_lazy("FiO₂ entered as"),
            choices=[
                (FRACTION, gettext_lazy("fraction (0.21–1.00)")),
                (PERCENT, gettext_lazy("percent (21–100 %)")),
            ],
            initial=FRACTION,
            widget=forms.RadioSelect,
        )
        self.order_fields(["assessed_on", "pao2_mmhg", "fio2", "fio2_unit"])

    def clean_fio2_entry(self, cleaned) -> None:
        value = cleaned.get("fio2")
        if value is None:
            return
        unit = cleaned.get("fio2_unit") or FRACTION
        fraction = fio2_fraction(value, unit)
        entered = f"{value} %" if unit == PERCENT else f"{value}"
        error = hard_limit_error("fio2", fraction, entered=entered)
        if error:
            self.add_error("fio2", error)
        elif fraction != fraction.quantize(Decimal("0.001")):
            self.add_error("fio2", _("FiO₂ has at most three decimals as a fraction."))
        else:
            cleaned["fio2"] = fraction

    def pf_value(self, cleaned):
        from . import scores

        pao2, fio2 = cleaned.get("pao2_mmhg"), cleaned.get("fio2")
        if pao2 is None or fio2 is None:
            return None
        # As stored (kernel.physiology.pf_display): its points are those of the exact ratio.
        return pf_display(scores.pf_ratio(pao2_mmhg=pao2, fio2=fio2))


class BloodGasForm(_Fio2Mixin, CrfForm):
    class Meta:
        model = BloodGas
        fields = ["assessed_on", "pao2_mmhg", "fio2"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.add_fio2_unit()
        self.helper.layout = Layout(*self.with_query_widgets(self.layout_fields()))

    def clean_units(self, cleaned) -> None:
        self.clean_fio2_entry(cleaned)

    def current_values(self, cleaned):
        return {"pf_ratio": self.pf_value(cleaned)}

    def soft_warnings(self, cleaned) -> list[str]:
        return super().soft_warnings(cleaned) + pf_soft_warnings(self.pf_value(cleaned))


def pf_soft_warnings(pf) -> list[str]:
    if pf is not None and pf > TRIAL.pf_ratio_soft_maximum:
        return [
            _(
                "P/F ratio %(pf)s is above %(max)s mmHg, unusual in ARDS: check PaO₂ and "
                "that FiO₂ is entered in the right unit."
            )
            % {"pf": pf, "max": TRIAL.pf_ratio_soft_maximum}
        ]
    return []


class MurrayForm(_Fio2Mixin, CrfForm):
    class Meta:
        model = Murray
        fields = [
            "assessed_on",
            "pao2_mmhg",
            "fio2",
            "peep_cmh2o",
            "compliance_ml_cmh2o",
            "cxr_quadrants",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.add_fio2_unit()
        self.fields["peep_cmh2o"].help_text = gettext_lazy(
            "Ventilated patients only; leave empty if not."
        )
        self.fields["compliance_ml_cmh2o"].help_text = gettext_lazy("When available.")
        self.helper.layout = Layout(*self.with_query_widgets(self.layout_fields()))

    def clean_cxr_quadrants(self):
        value = self.cleaned_data.get("cxr_quadrants")
        if value is not None and not 0 <= value <= 4:
            raise forms.ValidationError(
                _("Chest X-ray quadrants must be between 0 and 4; %(value)s is impossible.")
                % {"value": value}
            )
        return value

    def clean_units(self, cleaned) -> None:
        self.clean_fio2_entry(cleaned)

    def murray(self, cleaned):
        from . import scores

        inputs = {
            "pf_ratio": self.pf_value(cleaned),
            "peep_cmh2o": cleaned.get("peep_cmh2o"),
            "compliance_ml_cmh2o": cleaned.get("compliance_ml_cmh2o"),
            "cxr_quadrants": cleaned.get("cxr_quadrants"),
        }
        if all(v is None for v in inputs.values()):
            return None
        return scores.murray_score(**inputs)

    def current_values(self, cleaned):
        result = self.murray(cleaned)
        return {
            "pf_ratio": self.pf_value(cleaned),
            "murray_total": None if result is None else result.total,
        }

    def soft_warnings(self, cleaned) -> list[str]:
        return super().soft_warnings(cleaned) + pf_soft_warnings(self.pf_value(cleaned))


class CrpForm(CrfForm):
    crp_value = forms.DecimalField(
        label=gettext_lazy("CRP"), required=False, widget=forms.TextInput(attrs=DECIMAL_ATTRS)
    )
    crp_unit = forms.ChoiceField(
        label=gettext_lazy("Unit"),
        choices=CrpUnit.choices,
        initial=CrpUnit.MG_L,
        widget=forms.RadioSelect,
        help_text=gettext_lazy("Stored in mg/L; mg/dL is multiplied by 10."),
    )

    # After an edit conflict, the CRP value is chosen for on this form's CRP field.
    choosable_extra = ("crp_mg_l",)

    class Meta:
        model = Crp
        fields = ["assessed_on"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and not self.is_bound:
            self.initial["crp_value"] = self.instance.entered_value
            self.initial["crp_unit"] = self.instance.entered_unit
        self.helper.layout = Layout(*self.with_query_widgets(self.layout_fields()))

    def clean_units(self, cleaned) -> None:
        value, unit = cleaned.get("crp_value"), cleaned.get("crp_unit") or CrpUnit.MG_L
        cleaned["crp_mg_l"] = None
        cleaned["entered_value"], cleaned["entered_unit"] = value, unit
        if value is None:
            return
        converted = crp_mg_l(value, unit)
        entered = f"{converted} mg/L" + (f" ({value} mg/dL)" if unit == CrpUnit.MG_DL else "")
        error = hard_limit_error("crp_mg_l", converted, entered=entered)
        if error:
            self.add_error("crp_value", error)
        else:
            cleaned["crp_mg_l"] = converted

    def take_theirs(self, cleaned, name, value) -> None:
        # The value saved since, with the unit it was typed in.
        record = self.versioned[0]
        entered = concurrency.values_at(
            record, self.opened.version(record), ["entered_value", "entered_unit"]
        )
        cleaned.update(crp_mg_l=value, **entered)

    def current_values(self, cleaned):
        return {"crp_mg_l": cleaned.get("crp_mg_l")}

    def crf_values(self) -> dict:
        return {
            "assessed_on": self.cleaned_data.get("assessed_on"),
            "crp_mg_l": self.cleaned_data.get("crp_mg_l"),
            "entered_value": self.cleaned_data.get("entered_value"),
            "entered_unit": self.cleaned_data.get("entered_unit") or CrpUnit.MG_L,
        }


class ClinicalStatusForm(CrfForm):
    class Meta:
        model = ClinicalStatus
        fields = ["assessed_on", "status_score"]
        widgets = {"status_score": forms.RadioSelect}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["status_score"].choices = [
            (value, f"{value} · {label}") for value, label in TRIAL.clinical_status_scale.items()
        ]
        self.helper.layout = Layout(*self.with_query_widgets(self.layout_fields()))

    def layout_fields(self) -> list:
        # The six statuses read top to bottom, like the paper scale.
        return [Field(n) for n in self.data_field_names()]

    def current_values(self, cleaned):
        return {"clinical_status": cleaned.get("status_score")}


class Day60FollowUpForm(CrfForm):
    icu_stays_confirmed = _yes_no(gettext_lazy("Every ICU stay up to day 60 is recorded"))

    class Meta:
        model = Day60FollowUp
        fields = ["assessed_on", "vital_status", "icu_stays_confirmed", "notes"]
        widgets = {"vital_status": forms.RadioSelect, "notes": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["vital_status"].choices = VitalStatus.choices

    def clean(self):
        cleaned = super().clean()
        if (
            cleaned.get("vital_status") == VitalStatus.DEAD
            and not StudyEvent.objects.filter(
                participant=self.visit.participant, kind=EventKind.DEATH
            ).exists()
        ):
            self.add_error(
                "vital_status",
                _("Record the death under 'Events' first: its date feeds the endpoints."),
            )
        if cleaned.get("icu_stays_confirmed") is False and self.data.get("action") == "complete":
            self.add_error(
                "icu_stays_confirmed", _("Record the missing ICU stays before completing.")
            )
        return cleaned


CRF_FORMS: dict[str, type[CrfForm]] = {
    form._meta.model.crf_code: form
    for form in (
        BaselineForm,
        InfusionForm,
        AeAssessmentForm,
        BloodGasForm,
        MurrayForm,
        CrpForm,
        ClinicalStatusForm,
        Day60FollowUpForm,
    )
}


class VisitMissedForm(EditVersionMixin, forms.Form):
    """Why a visit was missed, on the version of the visit shown (`versioned=[visit]`)."""

    reason = forms.CharField(
        label=gettext_lazy("Why was the visit missed?"),
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=500,
    )


class _EventDatesMixin:
    def check_date(self, name: str, *, today: date, earliest: date | None = None):
        on = self.cleaned_data.get(name)
        if on is None:
            return on
        label = self.fields[name].label
        if on > today:
            raise forms.ValidationError(
                _("%(field)s cannot be in the future (today is %(today)s).")
                % {"field": label, "today": calendars.shown(today)}
            )
        if earliest is not None and on < earliest:
            raise forms.ValidationError(
                _("%(field)s cannot be before screening (%(earliest)s).")
                % {"field": label, "earliest": calendars.shown(earliest)}
            )
        return on


class IcuStayForm(EditVersionMixin, _EventDatesMixin, ReasonForChangeMixin, forms.ModelForm):
    class Meta:
        model = IcuStay
        fields = ["admitted_on", "discharged_on"]
        field_classes = dict.fromkeys(("admitted_on", "discharged_on"), EdcDateField)
        help_texts = {"discharged_on": gettext_lazy("Leave empty while the stay is ongoing.")}

    def __init__(self, *args, today: date, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today

    # An ICU admission may precede screening: the patients are screened in the ICU.
    def clean_admitted_on(self):
        return self.check_date("admitted_on", today=self.today)

    def clean_discharged_on(self):
        return self.check_date("discharged_on", today=self.today)

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("admitted_on"), cleaned.get("discharged_on")
        if start and end and end < start:
            self.add_error("discharged_on", _("Discharge cannot be before admission."))
        return cleaned


class StudyEventForm(EditVersionMixin, _EventDatesMixin, ReasonForChangeMixin, forms.ModelForm):
    class Meta:
        model = StudyEvent
        fields = ["kind", "occurred_on", "details"]
        field_classes = {"occurred_on": EdcDateField}
        widgets = {
            "details": forms.Textarea(attrs={"rows": 2}),
        }

    def __init__(self, *args, today: date, screened_on: date | None, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today
        self.screened_on = screened_on

    def clean_occurred_on(self):
        return self.check_date("occurred_on", today=self.today, earliest=self.screened_on)
