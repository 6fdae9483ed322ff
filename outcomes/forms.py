"""CRF forms: units beside every field, and what the edit checks say shown beside the field.

The forms parse what is typed (numbers, dates, choices) and lay it out; they check nothing
about the trial. The edit checks (SPEC §4: hard limits that refuse, soft limits that ask, unit
conversions) are `outcomes.checks`, run by the service on every save (outcomes.services.
crf_save); the form shows its refusals: a hard limit as the field's error, soft warnings as the
confirmation box. A form that fails keeps every value typed (bound forms re-render their data),
so nothing is lost on an error.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from crispy_forms.bootstrap import AppendedText, InlineRadios
from crispy_forms.helper import FormHelper
from crispy_forms.layout import HTML, Div, Field, Layout
from django import forms
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kernel import concurrency
from kernel.forms import (
    EdcDateField,
    EdcDateTimeField,
    EditVersionMixin,
    ReasonForChangeMixin,
    ServiceValidatedMixin,
)
from kernel.limits import VITAL_SIGN_MEASURES
from kernel.trial import TRIAL

from . import selectors
from .checks import FRACTION, PERCENT
from .models import (
    DISPOSITION_FIELDS,
    AeAssessment,
    Baseline,
    BloodGas,
    ClinicalStatus,
    ConcomitantMedication,
    Crp,
    CrpUnit,
    Day60FollowUp,
    Disposition,
    IcuStay,
    Infusion,
    Murray,
    SafetyLab,
    StudyEvent,
    VitalSigns,
    VitalSigns4H,
    VitalSigns15Min,
    VitalSigns30Min,
    VitalSigns60Min,
    VitalSignsPreInfusion,
    VitalStatus,
)

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
    # Vital signs (issue 19): the units of TRIAL.hard_limits.
    "temperature_c": "°C",
    "heart_rate_bpm": gettext_lazy("/min"),
    "systolic_mmhg": "mmHg",
    "diastolic_mmhg": "mmHg",
    "respiratory_rate": gettext_lazy("/min"),
    "spo2_percent": "%",
}
DECIMAL_ATTRS = {"inputmode": "decimal", "autocomplete": "off"}
QUERY_WIDGET = '{%% load datamanagement_tags %%}{%% field_queries "%s" %%}'


def _yes_no(label) -> forms.TypedChoiceField:
    return forms.TypedChoiceField(
        label=label,
        choices=[(True, gettext_lazy("Yes")), (False, gettext_lazy("No"))],
        coerce=lambda v: v in (True, "True"),
        empty_value=None,
        required=False,
        widget=forms.RadioSelect,
    )


class CrfForm(ServiceValidatedMixin, EditVersionMixin, ReasonForChangeMixin, forms.ModelForm):
    """What every CRF form does: the assessment date, draft or complete, the crispy layout with
    units, the edit checks' refusals shown (hard limits on their fields, soft warnings with
    their confirmation), and the version it was opened on (EditVersionMixin: a save on a
    version changed since is refused)."""

    # The choices after an edit conflict replace values once the typed ones are mapped to the
    # model's fields (clean_units: the CRP value and unit).
    edit_choices_in_clean = False
    # A hard-limit error on a stored field shown on the form's field that holds it as typed.
    error_fields: dict[str, str] = {}

    confirm_warnings = forms.BooleanField(
        label=gettext_lazy("I have checked these values and confirm them"), required=False
    )
    warning_reason = forms.CharField(
        label=gettext_lazy("Reason for confirming"),
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )

    def __init__(self, *args, visit, today: date, **kwargs):
        super().__init__(*args, **kwargs)
        self.visit = visit
        self.today = today
        # The soft warnings the service refused to save without a confirmation (show_warnings).
        self.warnings: list[str] = []
        self.ae_suggested = False
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
        if "assessed_time" in self.fields:
            # Day 0: the baseline assessments are timed, and must precede the infusion.
            self.fields["assessed_time"].widget = forms.TimeInput(
                attrs={"type": "time", "autocomplete": "off"}, format="%H:%M"
            )
            if visit.day == 0:
                self.fields["assessed_time"].help_text = gettext_lazy(
                    "Day 0: when it was assessed (sample drawn, film taken); before the infusion."
                )
        # Keyboard-first: the date is prefilled, so the cursor starts in the first measurement.
        names = [n for n in self.data_field_names() if n != "assessed_on"]
        if names:
            self.fields[names[0]].widget.attrs["autofocus"] = True

    # -- layout ------------------------------------------------------------------------------
    @cached_property
    def helper(self) -> FormHelper:
        """crispy's helper with the layout of the fields as the form's __init__ left them
        (each form's own added and reordered): built once, when the form is rendered, so a save
        that succeeds and redirects builds none (issue 24)."""
        helper = FormHelper()
        helper.form_tag = False
        helper.layout = Layout(*self.with_query_widgets(self.layout_fields()))
        return helper

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

    # -- parsing -----------------------------------------------------------------------------
    def clean(self):
        cleaned = super().clean()
        self.clean_units(cleaned)
        self.apply_edit_choices(cleaned)
        return cleaned

    def clean_units(self, cleaned) -> None:
        """The fields typed with a unit, as the service takes them (the CRP value and unit)."""

    # ServiceValidatedMixin: outcomes.services.crf_save runs the edit checks (outcomes.checks)
    # on the values as typed, converts the units, then validates the model and evaluates the
    # constraints in the database once per save, under the visit lock; the view shows its
    # refusals here.

    def crf_values(self) -> dict:
        """The values to save as typed (with their units), from the cleaned data."""
        model_fields = {f.name for f in self._meta.model._meta.fields}
        return {n: v for n, v in self.cleaned_data.items() if n in model_fields}

    def warnings_confirmed(self) -> bool:
        return bool(self.cleaned_data.get("confirm_warnings"))

    # -- what the service refused ----------------------------------------------------------------
    def show_hard_errors(self, errors: dict[str, str]) -> None:
        """outcomes.exceptions.HardLimitExceeded: each message on its field."""
        for name, message in errors.items():
            name = self.error_fields.get(name, name)
            self.add_error(name if name in self.fields else None, message)

    def show_warnings(self, warnings: list[str], *, ae_suggested: bool = False) -> None:
        """outcomes.exceptions.UnconfirmedWarnings: the confirmation box, with the warnings
        (and, for a possible infusion reaction, the next step: report the AE)."""
        self.warnings = list(warnings)
        self.ae_suggested = ae_suggested
        self.add_error(
            "confirm_warnings",
            _("Check the warnings above; correct the values, or confirm them and give a reason."),
        )


class BaselineForm(CrfForm):
    class Meta:
        model = Baseline
        fields = [
            "assessed_on",
            "assessed_time",
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

    # Where the values not typed again come from (outcomes.selectors.baseline_from_sources).
    SOURCES = {
        "sex": gettext_lazy("From screening (identifying data)."),
        "age_years": gettext_lazy("From screening: age on the screening date."),
        "respiratory_support": gettext_lazy("From randomization: the support randomized with."),
    }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["sex"].choices = [c for c in self.fields["sex"].choices if c[0]]
        # Sex, age and the respiratory support have one source each: shown, not typed again
        # (issue 18); the service stores the source's value whatever is posted.
        for name, value in selectors.baseline_from_sources(self.visit.participant).items():
            if name in self.fields:
                self.initial[name] = value
                self.fields[name].disabled = True
                self.fields[name].help_text = self.SOURCES.get(name, "")


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

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["volume_ml"].help_text = gettext_lazy("Protocol: %(ml)s ml.") % {
            "ml": TRIAL.dose_volume_ml
        }


class AeAssessmentForm(CrfForm):
    new_ae = _yes_no(gettext_lazy("Any new adverse event since the last assessment?"))

    class Meta:
        model = AeAssessment
        fields = ["assessed_on", "new_ae", "notes"]
        widgets = {"notes": forms.Textarea(attrs={"rows": 2})}


class _Fio2Mixin:
    """FiO₂ typed as a fraction or a percentage, with the unit chosen explicitly; the service
    converts it (outcomes.checks.fio2_fraction)."""

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
        self.order_fields(
            [
                "assessed_on",
                "assessed_time",
                "respiratory_support",
                "pao2_mmhg",
                "fio2",
                "fio2_unit",
            ]
        )

    def take_theirs(self, cleaned, name, value) -> None:
        super().take_theirs(cleaned, name, value)
        if name == "fio2":
            cleaned["fio2_unit"] = FRACTION  # stored as a fraction

    def crf_values(self) -> dict:
        return {
            **super().crf_values(),
            "fio2_unit": self.cleaned_data.get("fio2_unit") or FRACTION,
        }


class BloodGasForm(_Fio2Mixin, CrfForm):
    class Meta:
        model = BloodGas
        fields = ["assessed_on", "assessed_time", "pao2_mmhg", "fio2"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.add_fio2_unit()


class MurrayForm(_Fio2Mixin, CrfForm):
    class Meta:
        model = Murray
        fields = [
            "assessed_on",
            "assessed_time",
            "respiratory_support",
            "pao2_mmhg",
            "fio2",
            "peep_cmh2o",
            "compliance_ml_cmh2o",
            "cxr_quadrants",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.add_fio2_unit()
        # The support starts from the same day's record where there is one (issue 18).
        support = self.fields["respiratory_support"]
        support.choices = [c for c in support.choices if c[0]]
        support.widget = forms.RadioSelect(choices=support.choices)
        found = selectors.same_day_respiratory_support(self.visit)
        if found is not None and not self.instance.respiratory_support and not self.is_bound:
            self.initial["respiratory_support"] = found[0]
            support.help_text = gettext_lazy(
                "Pre-filled from %(source)s; correct it if needed."
            ) % {"source": found[1]}
        self.fields["peep_cmh2o"].help_text = gettext_lazy(
            "Invasive mechanical ventilation only; leave empty otherwise."
        )
        self.fields["compliance_ml_cmh2o"].help_text = gettext_lazy("When available.")


def crp_shown(value: Decimal | None) -> Decimal | None:
    """A stored CRP as the form shows it again: without the trailing zeros of its storage (two
    places, for mg/dL), so "42.6" mg/L, stored 42.60, is shown "42.6" and accepted when saved
    again (mg/L keeps one decimal; issue 20). Never rounded."""
    if value is None:
        return None
    text = format(value, "f")
    return Decimal(text.rstrip("0").rstrip(".") if "." in text else text)


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
    error_fields = {"crp_mg_l": "crp_value"}

    class Meta:
        model = Crp
        fields = ["assessed_on", "assessed_time"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and not self.is_bound:
            self.initial["crp_value"] = crp_shown(self.instance.entered_value)
            self.initial["crp_unit"] = self.instance.entered_unit

    def clean_units(self, cleaned) -> None:
        cleaned["entered_value"] = cleaned.get("crp_value")
        cleaned["entered_unit"] = cleaned.get("crp_unit") or CrpUnit.MG_L

    def take_theirs(self, cleaned, name, value) -> None:
        # The value saved since, with the unit it was typed in.
        record = self.versioned[0]
        entered = concurrency.values_at(
            record, self.opened.version(record), ["entered_value", "entered_unit"]
        )
        cleaned.update(**entered)

    def crf_values(self) -> dict:
        return {
            "assessed_on": self.cleaned_data.get("assessed_on"),
            "assessed_time": self.cleaned_data.get("assessed_time"),
            "entered_value": self.cleaned_data.get("entered_value"),
            "entered_unit": self.cleaned_data.get("entered_unit") or CrpUnit.MG_L,
        }


class ClinicalStatusForm(CrfForm):
    class Meta:
        model = ClinicalStatus
        fields = ["assessed_on", "assessed_time", "status_score"]
        widgets = {"status_score": forms.RadioSelect}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["status_score"].choices = [
            (value, f"{value} · {label}") for value, label in TRIAL.clinical_status_scale.items()
        ]

    def layout_fields(self) -> list:
        # The six statuses read top to bottom, like the paper scale.
        return [Field(n) for n in self.data_field_names()]


class Day60FollowUpForm(CrfForm):
    icu_stays_confirmed = _yes_no(gettext_lazy("Every ICU stay up to day 60 is recorded"))

    class Meta:
        model = Day60FollowUp
        fields = ["assessed_on", "vital_status", "icu_stays_confirmed", "notes"]
        widgets = {"vital_status": forms.RadioSelect, "notes": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["vital_status"].choices = VitalStatus.choices


VITALS_FIELDS = [
    "assessed_on",
    "measured_at",
    *VITAL_SIGN_MEASURES,
    "fio2",
    "fio2_unit",
    "respiratory_support",
]


class VitalSignsForm(_Fio2Mixin, CrfForm):
    """Vital signs at one time point; FiO₂ (fraction or %) and the support the SpO₂ was
    measured on. The same form for each time point (the model says which)."""

    class Meta:
        model = VitalSigns
        fields = [n for n in VITALS_FIELDS if n != "fio2_unit"]
        widgets = {"measured_at": forms.TimeInput(attrs={"type": "time"}, format="%H:%M")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.add_fio2_unit()
        self.fields["fio2"].label = gettext_lazy("FiO₂ at the SpO₂")
        self.fields["fio2"].help_text = gettext_lazy("0.21 (21 %) on room air.")
        self.order_fields(VITALS_FIELDS)


def _vitals_form(model_class) -> type[VitalSignsForm]:
    meta = type("Meta", (VitalSignsForm.Meta,), {"model": model_class})
    return type(f"{model_class.__name__}Form", (VitalSignsForm,), {"Meta": meta})


LAB_FIELDS = [
    name
    for analyte in TRIAL.lab_analytes
    for name in (f"{analyte.code}_entered", f"{analyte.code}_unit")
]


class SafetyLabForm(CrfForm):
    """Each result with the unit the laboratory reported it in; the service converts it to the
    canonical unit, takes the site's normal range and computes the CTCAE grade (shown once
    saved)."""

    class Meta:
        model = SafetyLab
        fields = ["assessed_on", *LAB_FIELDS]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for analyte in TRIAL.lab_analytes:
            value = self.fields[f"{analyte.code}_entered"]
            value.label = _(analyte.label)  # noqa: INT001 (configured text)
            unit = self.fields[f"{analyte.code}_unit"]
            unit.label = gettext_lazy("Unit")
            unit.choices = [(u, u) for u in analyte.units]
            unit.required = False
            if not self.is_bound and not self.initial.get(f"{analyte.code}_unit"):
                self.initial[f"{analyte.code}_unit"] = analyte.unit
            lln, uln = TRIAL.lab_normal_range(visit_site_code(self.visit), analyte.code)
            value.help_text = _("Site normal range %(lln)s–%(uln)s %(unit)s.") % {
                "lln": lln.normalize(),
                "uln": uln.normalize(),
                "unit": analyte.unit,
            }

    def layout_fields(self) -> list:
        items: list = [Field("assessed_on")]
        for analyte in TRIAL.lab_analytes:
            items.append(
                Div(
                    Div(Field(f"{analyte.code}_entered"), css_class="col-md-8"),
                    Div(Field(f"{analyte.code}_unit"), css_class="col-md-4"),
                    css_class="row",
                )
            )
        return items

    def with_query_widgets(self, items: list) -> list:
        out = []
        for item in items:
            out.append(item)
            if isinstance(item, Div):
                out.append(HTML(QUERY_WIDGET % item.fields[0].fields[0].fields[0]))
            elif getattr(item, "fields", None) and item.fields[0] in self.fields:
                out.append(HTML(QUERY_WIDGET % item.fields[0]))
        return out


def visit_site_code(visit) -> str:
    return visit.participant.site.code


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
        VitalSignsForm,
        SafetyLabForm,
    )
}
for _model in (
    VitalSignsPreInfusion,
    VitalSigns15Min,
    VitalSigns30Min,
    VitalSigns60Min,
    VitalSigns4H,
):
    CRF_FORMS[_model.crf_code] = _vitals_form(_model)


class VisitMissedForm(EditVersionMixin, forms.Form):
    """Why a visit was missed, on the version of the visit shown (`versioned=[visit]`)."""

    reason = forms.CharField(
        label=gettext_lazy("Why was the visit missed?"),
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=500,
    )


class IcuStayForm(ServiceValidatedMixin, EditVersionMixin, ReasonForChangeMixin, forms.ModelForm):
    class Meta:
        model = IcuStay
        fields = ["admitted_on", "discharged_on"]
        field_classes = dict.fromkeys(("admitted_on", "discharged_on"), EdcDateField)
        help_texts = {"discharged_on": gettext_lazy("Leave empty while the stay is ongoing.")}


class StudyEventForm(
    ServiceValidatedMixin, EditVersionMixin, ReasonForChangeMixin, forms.ModelForm
):
    class Meta:
        model = StudyEvent
        fields = ["kind", "occurred_on", "details"]
        field_classes = {"occurred_on": EdcDateField}
        widgets = {
            "details": forms.Textarea(attrs={"rows": 2}),
        }


class DispositionForm(
    ServiceValidatedMixin, EditVersionMixin, ReasonForChangeMixin, forms.ModelForm
):
    """The end-of-study CRF. It parses what is typed; the edit checks (a death consistent with
    the status, the last contact not before randomization nor in the future...) are the
    service's (outcomes.followup.disposition_errors), shown beside their fields."""

    class Meta:
        model = Disposition
        fields = list(DISPOSITION_FIELDS)
        field_classes = dict.fromkeys(
            ("last_contact_on", "vital_status_d28_on", "vital_status_d60_on"), EdcDateField
        )
        widgets = {"notes": forms.Textarea(attrs={"rows": 2})}
        help_texts = {
            "last_contact_on": gettext_lazy(
                "The last day the participant (or the hospital) was in contact with the study."
            ),
            "vital_status_d28_on": gettext_lazy(
                "The date the vital status was known (on or after day 28 for “alive”)."
            ),
            "vital_status_d60_on": gettext_lazy(
                "The date the vital status was known (on or after day 60 for “alive”)."
            ),
        }

    def show_errors(self, errors: dict[str, str]) -> None:
        """The service's edit checks, beside their fields."""
        for name, message in errors.items():
            self.add_error(name if name in self.fields else None, message)


class ConcomitantMedicationForm(EditVersionMixin, ReasonForChangeMixin, forms.ModelForm):
    """One line of the medications log. The checks are the service's (checks.conmed_errors),
    shown on their fields; the form only parses."""

    class Meta:
        model = ConcomitantMedication
        fields = [
            "category",
            "drug",
            "indication",
            "dose",
            "dose_unit",
            "route",
            "frequency",
            "started_on",
            "stopped_on",
            "ongoing",
        ]
        field_classes = dict.fromkeys(("started_on", "stopped_on"), EdcDateField)
        widgets = {"category": forms.RadioSelect}
        help_texts = {
            "category": gettext_lazy(
                "A COVID-19 therapy of interest; its name is the drug name if none is typed."
            ),
            "stopped_on": gettext_lazy("Leave empty and tick 'ongoing' while it is given."),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = [
            ("", gettext_lazy("Other (type the drug name)")),
            *((code, _(label)) for code, label in TRIAL.conmed_quick_picks.items()),  # noqa: INT001
        ]
        self.fields["drug"].required = False
        self.fields["indication"].required = False
        self.fields["dose"].widget = forms.TextInput(attrs=DECIMAL_ATTRS)
        for name, labels in (
            ("route", TRIAL.conmed_routes),
            ("frequency", TRIAL.conmed_frequencies),
        ):
            self.fields[name].choices = [
                ("", "—"),
                *((code, _(label)) for code, label in labels.items()),  # noqa: INT001
            ]

    def _post_clean(self) -> None:
        """Not here: the service checks and validates (outcomes.services.conmed_save)."""

    def values(self) -> dict:
        names = list(self._meta.fields or ())
        return {n: self.cleaned_data.get(n) for n in names}

    def show_errors(self, errors: dict[str, str]) -> None:
        for name, message in errors.items():
            self.add_error(name if name in self.fields else None, message)


def daily_status_choices() -> list[tuple[str, str]]:
    """The 6 points of the scale, in the reader's language (Wang et al., Lancet 2020)."""
    return [("", "—")] + [
        (str(score), f"{score} · {TRIAL.clinical_status_scale[score]}")
        for score in sorted(TRIAL.clinical_status_scale)
    ]
