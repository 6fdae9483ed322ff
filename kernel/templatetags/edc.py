"""Template filters of the product: dates in the reader's calendar."""

from datetime import date, datetime

from django import template
from django.utils import timezone
from django.utils.html import conditional_escape
from django.utils.safestring import mark_safe

from .. import calendars

register = template.Library()


@register.filter
def edc_date(value):
    """A date (or the local date of a datetime) in the active calendar.

    Gregorian: 2021-03-05. Jalali: 1399/12/15, in Persian digits when the page is in Persian.
    """
    if value in (None, ""):
        return ""
    if isinstance(value, datetime):
        value = timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    if not isinstance(value, date):
        return value
    return calendars.shown(value)


@register.filter
def edc_datetime(value, zone=""):
    """A datetime as date (active calendar) and local time; `|edc_datetime:"tz"` adds the time
    zone's abbreviation or offset (UTC, +0330), as the `T` of Django's date filter does;
    `|edc_datetime:"s"` the seconds (audit trails), `|edc_datetime:"s,tz"` both."""
    if value in (None, ""):
        return ""
    local = timezone.localtime(value) if timezone.is_aware(value) else value
    options = set(str(zone).split(","))  # "tz", "s" (seconds, for audit trails), or both
    time_part = local.strftime("%H:%M:%S" if "s" in options else "%H:%M")
    if "tz" in options and local.tzinfo is not None:
        time_part = f"{time_part} {local.tzname()}"
    return f"{edc_date(local)} {calendars.digits_for_page(time_part)}"


@register.filter(needs_autoescape=True)
def bdi(value, autoescape=True):
    """Isolate a left-to-right token (study ID, screening number, date, number) from the text
    around it, so that a right-to-left page keeps its order: "01-0031", never "0031-01"."""
    if value in (None, ""):
        return ""
    text = conditional_escape(value) if autoescape else value
    return mark_safe(f'<bdi dir="ltr">{text}</bdi>')  # noqa: S308 - the value is escaped


@register.filter
def get_item(mapping, key):
    """`mapping|get_item:key`: a dictionary entry by a key held in a variable."""
    return mapping.get(key) if mapping else None


@register.simple_tag(takes_context=True)
def crispy_layout(context, form):
    """`{% crispy form %}`, the same HTML, rendered in Python for the layouts our CRF forms use
    (kernel.form_html; crispy renders any other)."""
    from crispy_forms.templatetags.crispy_forms_tags import CrispyFormNode

    from ..form_html import NotTranscribed, render_crispy_layout

    try:
        return render_crispy_layout(form, context)
    except NotTranscribed:
        with context.push(crispy_layout_form=form):
            return CrispyFormNode("crispy_layout_form", None).render(context)


@register.filter
def crispy_field_html(field):
    """`{{ field|as_crispy_field }}`, the same HTML, rendered in Python for a labelled text box,
    text area or check box (kernel.form_html; crispy renders any other field)."""
    from crispy_forms.templatetags.crispy_forms_filters import as_crispy_field

    from ..form_html import NotTranscribed, render_crispy_field

    try:
        return render_crispy_field(field)
    except NotTranscribed:
        return as_crispy_field(field)
