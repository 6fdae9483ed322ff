"""Hostile input to every form (issue 12): hypothesis posts random and hostile values — overlong
strings, control characters, HTML/script, SQL-looking text, huge numbers, NaN/inf, wrong types,
missing fields — to each form of the product. Validation must never raise (a 500) and every
error message must stay escaped when rendered.

At the Form level (no HTTP), so it is cheap: FUZZ_EXAMPLES per form (1,000 in `make test`;
`make fuzz` runs many more). Writes, sites and pages are covered by the services' and views'
own tests and the role × URL matrix; an HTTP-level sample is at the end of this file.
"""

from __future__ import annotations

import inspect
import os
from importlib import import_module

import pytest
from django import forms
from django.utils import timezone
from django.utils.datastructures import MultiValueDict
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kernel.models import Site, User
from kernel.roles import Role

from .factories import ParticipantFactory, UserFactory

pytestmark = pytest.mark.django_db

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "1000"))
# `make test` replays the same examples every run (reproducible CI); `make fuzz` explores anew.
DERANDOMIZE = os.environ.get("FUZZ_RANDOM") != "1"
APPS = [
    "kernel",
    "accounts",
    "participants",
    "randomization",
    "outcomes",
    "safety",
    "exports",
    "dashboards",
    "datamanagement",
]
SCRIPT = "<script>alert('x')</script>"
HOSTILE = [
    "",
    " ",
    SCRIPT,
    '"><img src=x onerror=alert(1)>',
    "' OR '1'='1' --",
    "1; DROP TABLE participants_participant;--",
    "NaN",
    "nan",
    "inf",
    "-inf",
    "1e309",
    "-0",
    "9" * 400,
    "-" + "9" * 40,
    "0x1F",
    "1,5",
    "١٢٣",  # Arabic-Indic digits
    "۱۴۰۲/۱۲/۳۰",  # a Jalali date in Persian digits
    "2026-02-30",
    "0000-00-00",
    "9999-12-31T23:59",
    "\x00",
    "a\u202eb",  # right-to-left override
    "\u200b",
    "x" * 10_000,
    '=HYPERLINK("http://evil")',
    "true",
    "[]",
    "{}",
    "None",
]
VALUE = st.one_of(
    st.sampled_from(HOSTILE),
    st.text(max_size=300),
    st.integers().map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.dates().map(str),
)


def _forms_of(app: str) -> list[type[forms.BaseForm]]:
    try:
        module = import_module(f"{app}.forms")
    except ModuleNotFoundError:
        return []
    return [
        obj
        for name, obj in vars(module).items()
        if inspect.isclass(obj)
        and issubclass(obj, forms.BaseForm)
        and obj.__module__ == module.__name__
        and not name.startswith("_")
    ]


def _crf_form(form_class):
    def build(data, world):
        from outcomes.forms import CRF_FORMS
        from outcomes.models import CRF_MODELS

        code = next(c for c, f in CRF_FORMS.items() if f is form_class)
        return form_class(
            data,
            instance=CRF_MODELS[code](visit=world["visit"]),
            visit=world["visit"],
            today=timezone.localdate(),
            edited_by=world["user"],
        )

    return build


def _plain(form_class):
    from kernel.forms import EditVersionMixin

    if issubclass(form_class, EditVersionMixin):
        # A form that carries the versions of what it shows (issue 26): here, of nothing.
        return lambda data, world: form_class(data, edited_by=world["user"], versioned=[])
    return lambda data, world: form_class(data)


def builders() -> dict[str, callable]:
    """How to build each form of the product, with the context its view gives it."""
    from accounts import forms as te
    from datamanagement import forms as dm
    from datamanagement.selectors import ReadinessItem
    from kernel import forms as kf
    from outcomes import forms as oc
    from participants import forms as pa
    from safety import forms as sa
    from safety.models import AdverseEvent

    special = {
        dm.QueryFilterForm: lambda d, w: dm.QueryFilterForm(d, sites=Site.objects.all()),
        dm.AuditFilterForm: lambda d, w: dm.AuditFilterForm(
            d, models=[("outcomes.bloodgas", "Blood gas")]
        ),
        # The dates' checks are the service's (issue 23): these forms only parse.
        oc.IcuStayForm: lambda d, w: oc.IcuStayForm(d, edited_by=w["user"]),
        oc.StudyEventForm: lambda d, w: oc.StudyEventForm(d, edited_by=w["user"]),
        dm.DatabaseLockForm: lambda d, w: dm.DatabaseLockForm(
            d,
            user=w["user"],
            readiness=[
                ReadinessItem("open_queries", "Open queries", 2),
                ReadinessItem("sdv", "SDV incomplete", 0),
            ],
        ),
        pa.ScreeningForm: lambda d, w: pa.ScreeningForm(
            d, sites=Site.objects.all(), today=timezone.localdate()
        ),
        pa.IdentifyingDataForm: lambda d, w: pa.IdentifyingDataForm(d, edited_by=w["user"]),
        pa.EligibilityForm: lambda d, w: pa.EligibilityForm(d, sex="female", edited_by=w["user"]),
        pa.ConsentForm: lambda d, w: pa.ConsentForm(
            d,
            staff=User.objects.all(),
            screened_on=timezone.localdate(),
            edited_by=w["user"],
            versioned=[],
        ),
        sa.AdverseEventForm: lambda d, w: sa.AdverseEventForm(
            d, instance=AdverseEvent(participant=w["participant"]), edited_by=w["user"]
        ),
        sa.SAEFollowUpForm: lambda d, w: sa.SAEFollowUpForm(
            d, instance=AdverseEvent(participant=w["participant"]), edited_by=w["user"]
        ),
        sa.CausalitySignForm: lambda d, w: sa.CausalitySignForm(
            d, current_relationship="not_related", edited_by=w["user"], versioned=[]
        ),
        dm.SignatureForm: lambda d, w: dm.SignatureForm(
            d, user=w["user"], edited_by=w["user"], versioned=[]
        ),
        te.NewPasswordForm: lambda d, w: te.NewPasswordForm(w["user"], d),
    }
    table = {}
    for app in APPS:
        for form_class in _forms_of(app):
            if form_class in (
                kf.ReasonForChangeMixin,
                kf.EditVersionMixin,
                kf.ServiceValidatedMixin,
                oc.CrfForm,
            ):
                continue  # mixins and the CRFs' base class: no page uses them alone
            if form_class in special:
                table[form_class.__qualname__] = special[form_class]
            elif issubclass(form_class, oc.CrfForm):
                table[form_class.__qualname__] = _crf_form(form_class)
            else:
                table[form_class.__qualname__] = _plain(form_class)
    return table


FORMS = builders()


@pytest.fixture
def world(roles, site01):
    from .outcomes_factories import schedule, visit

    user = UserFactory(username="fuzzer", role=Role.COORDINATOR, sites=[site01])
    participant = ParticipantFactory(site=site01)
    schedule(participant)
    return {"user": user, "participant": participant, "visit": visit(participant, "D0")}


def test_every_form_of_the_product_is_fuzzed():
    assert len(FORMS) >= 35, sorted(FORMS)
    for name in ("ScreeningForm", "BloodGasForm", "AdverseEventForm", "QueryRaiseForm"):
        assert name in FORMS


def _field_strategy(field) -> st.SearchStrategy:
    """What is posted for one field: None (the field missing, one time in ten) or its values."""
    value = VALUE
    if isinstance(field, forms.ChoiceField) and getattr(field, "choices", None):
        choices = [str(value) for value, _ in field.choices if not isinstance(_, list | tuple)]
        if choices:
            # Half the time a real choice, to reach the form's own clean() with hostile neighbours.
            value = st.one_of(st.sampled_from(choices), VALUE)
    if isinstance(field, forms.MultipleChoiceField | forms.ModelMultipleChoiceField):
        values = st.tuples(value, VALUE).map(list)
    else:
        values = value.map(lambda one: [one])
    return st.tuples(st.integers(0, 9), values).map(
        lambda drawn: None if drawn[0] == 0 else drawn[1]  # 0: the field missing
    )


@pytest.mark.parametrize("name", sorted(FORMS))
def test_a_form_never_fails_on_hostile_input_and_escapes_its_errors(world, name):
    build = FORMS[name]
    field_names = list(build(None, world).fields.items())
    # One strategy for the whole post, built once: drawing it costs a third of drawing field by
    # field through st.data() (issue 24), for the same fields, values and missing ones.
    post = st.tuples(*(_field_strategy(field) for _, field in field_names))

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        derandomize=DERANDOMIZE,
    )
    @given(post)
    def check(values):
        posted = MultiValueDict()
        for (field_name, _), value in zip(field_names, values, strict=True):
            if value is not None:
                posted.setlist(field_name, value)
        form = build(posted, world)
        form.is_valid()  # must not raise
        rendered = str(form.errors) + "".join(str(e) for e in form.non_field_errors())
        assert "<script>" not in rendered
        assert "<img src=x" not in rendered

    check()


def test_an_awareness_time_in_year_9999_is_refused_with_a_message_not_a_server_error(world):
    """Found by this fuzzing: shifting 9999-12-31 23:59 to Tehran time overflowed (a 500)."""
    from safety.forms import AdverseEventForm
    from safety.models import AdverseEvent

    form = AdverseEventForm(
        {"aware_at": "9999-12-31T23:59", "serious": "on"},
        instance=AdverseEvent(participant=world["participant"]),
        edited_by=world["user"],
    )
    assert not form.is_valid()
    assert "aware_at" in form.errors


def test_hostile_text_posted_to_the_screening_form_is_stored_or_refused_never_rendered_raw(
    client, world
):
    """HTTP-level sample: the screening page with script in every text field."""
    client.force_login(world["user"])
    page = client.get("/participants/screen/")
    assert page.status_code == 200
    token = page.context["form"].initial["submission_token"]
    response = client.post(
        "/participants/screen/",
        {
            "site": Site.objects.get(code="01").pk,
            "screened_on": timezone.localdate().isoformat(),
            "submission_token": token,
            "first_name": SCRIPT,
            "last_name": SCRIPT,
            "national_id": "' OR 1=1 --",
            "phone": "\x00" * 5,
            "date_of_birth": "1e309",
        },
    )
    assert response.status_code < 500
    assert SCRIPT not in response.content.decode()
