"""The CRF forms' HTML rendered in Python (kernel.form_html, `{% crispy_layout form %}`) is
crispy's (`{% crispy form %}`) byte for byte: every CRF form, new and saved, unbound, bound with
errors on every field, with the service's hard-limit errors and soft-limit warnings, in each
language, with the data-management query widgets shown."""

import re
from decimal import Decimal

import pytest
from django.conf import settings
from django.template import RequestContext, Template
from django.test import RequestFactory
from django.utils import translation

from kernel import form_html
from kernel.roles import Role
from outcomes import selectors
from outcomes.forms import CRF_FORMS
from outcomes.models import CRF_MODELS, Visit

from . import outcomes_factories as of

pytestmark = pytest.mark.django_db

CRISPY = Template("{% load crispy_forms_tags %}<form>{% crispy form %}</form>")
OURS = Template("{% load edc %}<form>{% crispy_layout form %}</form>")
CSRF = re.compile(r'(name="csrfmiddlewaretoken" value=")[^"]+')
LANGUAGES = [code for code, _name in settings.LANGUAGES]


@pytest.fixture
def visits(participant):
    of.crf(
        participant, "D0", "murray", pao2_mmhg=Decimal("70"), fio2=Decimal("0.6"), cxr_quadrants=2
    )
    of.crf(participant, "D3", "blood_gas", pao2_mmhg=Decimal("80"), fio2=Decimal("0.4"))
    return list(Visit.objects.filter(participant=participant).order_by("day"))


def junk(form) -> dict:
    """A value no field takes (a number, a date, a choice), and the empty ones it refuses."""
    return {name: "x<b>'\"" for name in form.fields} | {"edit_version": "x"}


def forms_of(visit, crf, user):
    """(what, a function making the form afresh): crispy changes the widgets it renders."""
    model = CRF_MODELS[crf]
    instance = selectors.crf_with_version(visit, crf) or model(visit=visit)
    today = selectors.site_today(visit.participant.site)

    def make(data=None):
        return CRF_FORMS[crf](data, instance=instance, visit=visit, today=today, edited_by=user)

    def unbound():
        return make()

    def with_errors():
        form = make(junk(make()))
        form.is_valid()
        form.add_error(None, "A refusal of the whole CRF <b>")
        for name in ("warning_reason", "reason_for_change"):
            if name in form.fields:
                form.add_error(name, f"A refusal of the {name} <b>")
        return form

    def with_service_refusals():
        form = make(junk(make()))
        form.is_valid()
        names = [n for n in form.data_field_names() if n != "assessed_on"]
        form.show_hard_errors({names[-1]: "Above the hard limit"})
        form.show_warnings(["PaO₂ high"], ae_suggested=True)
        return form

    return [("unbound", unbound), ("errors", with_errors), ("refusals", with_service_refusals)]


def where_they_differ(a: str, b: str) -> tuple[str, str]:
    at = next(
        (i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b))
    )
    return a[max(0, at - 150) : at + 150], b[max(0, at - 150) : at + 150]


def rendered(template, form, request, visit, crf):
    context = RequestContext(request, {"form": form, "visit": visit, "crf_code": crf})
    # The CSRF token is masked afresh for each context: the only part not compared.
    return CSRF.sub(r"\1…", template.render(context))


def test_every_crf_form_renders_as_crispy_renders_it(visits, make_user):
    user = make_user(Role.DATA_MANAGER)
    request = RequestFactory().get("/")
    request.user = user
    compared = compared_fields = 0
    assert {crf for visit in visits for crf in visit.crf_codes} == set(CRF_FORMS)
    for language in LANGUAGES:
        with translation.override(language):
            for visit in visits:
                for crf in visit.crf_codes:
                    for what, make in forms_of(visit, crf, user):
                        form = make()
                        # Ours, not crispy's fallback for what kernel.form_html does not know.
                        assert form_html.helper_is_transcribed(form.helper), crf
                        form_html._check(form.helper.layout, form)
                        crispy_html = rendered(CRISPY, make(), request, visit, crf)
                        ours = rendered(OURS, make(), request, visit, crf)
                        assert ours == crispy_html, (
                            (language, visit.code, crf, what),
                            *where_they_differ(ours, crispy_html),
                        )
                        compared += 1
                        if what != "unbound":
                            assert "is-invalid" in ours
                        compared_fields += compare_boxes_below(make, request, visit, crf)
    assert compared >= 3 * len(LANGUAGES) * len(CRF_FORMS)
    # The reason for a change is asked on the saved CRFs (the D0 Murray, the D3 blood gas).
    assert compared_fields >= 3 * len(LANGUAGES) * (2 * 2 * 3 + 2)


def test_each_crf_forms_layout_lays_out_the_fields_its_init_left_in_their_order(visits, make_user):
    """The layout is built when the form is first rendered (issue 24: a save that succeeds
    renders none), from the fields as each form's __init__ left them: every data field once,
    in the form's order, the ones added and reordered after CrfForm's (FiO₂'s unit) included."""
    user = make_user(Role.DATA_MANAGER)
    layouts = {}
    for visit in visits:
        for crf in visit.crf_codes:
            for _what, make in forms_of(visit, crf, user):
                form = make()
                assert "helper" not in vars(form), crf  # not built by the form's __init__
                laid_out = [pointer.name for pointer in form.helper.layout.get_field_names()]
                assert laid_out == form.data_field_names(), crf
                layouts[crf] = laid_out
    assert set(layouts) == set(CRF_FORMS)
    # Added by the blood gas's and Murray's own __init__, after CrfForm's.
    assert "fio2_unit" in layouts["blood_gas"]
    assert "fio2_unit" in layouts["murray"]


BOXES = ["confirm_warnings", "warning_reason", "reason_for_change"]


def compare_boxes_below(make, request, visit, crf) -> int:
    """The boxes the page renders below the layout (`|as_crispy_field`): the confirmation of
    soft warnings, its reason and the reason for a change."""
    compared = 0
    for name in BOXES:
        if name not in make().fields:
            continue
        crispy_html = rendered(
            Template(f"{{% load crispy_forms_tags %}}<p>{{{{ form.{name}|as_crispy_field }}}}"),
            make(),
            request,
            visit,
            crf,
        )
        form = make()
        form_html.render_crispy_field(form[name])  # ours, not crispy's fallback
        ours = rendered(
            Template(f"{{% load edc %}}<p>{{{{ form.{name}|crispy_field_html }}}}"),
            make(),
            request,
            visit,
            crf,
        )
        assert ours == crispy_html, (crf, name, *where_they_differ(ours, crispy_html))
        compared += 1
    return compared


def test_a_layout_it_does_not_know_is_rendered_by_crispy_itself():
    from crispy_forms.helper import FormHelper
    from crispy_forms.layout import Fieldset, Layout
    from django import forms
    from django.template import Context

    class WithAFieldset(forms.Form):
        note = forms.CharField(label="Note", widget=forms.HiddenInput)
        size = forms.ChoiceField(label="Size", choices=[("s", "S")], required=False)

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.helper = FormHelper()
            self.helper.form_tag = False
            self.helper.layout = Layout(Fieldset("Legend", "size"), "note")

    with pytest.raises(form_html.NotTranscribed):
        form_html.render_crispy_layout(WithAFieldset(), Context())
    with pytest.raises(form_html.NotTranscribed):
        form_html.render_crispy_field(WithAFieldset()["note"])
    context = {"form": WithAFieldset()}
    assert OURS.render(Context(context)) == CRISPY.render(Context(context))
    field = Template(
        "{% load edc %}{{ form.size|crispy_field_html }}{{ form.note|crispy_field_html }}"
    )
    crispy_field = Template(
        "{% load crispy_forms_tags %}{{ form.size|as_crispy_field }}{{ form.note|as_crispy_field }}"
    )
    assert field.render(Context(context)) == crispy_field.render(Context(context))
