"""Template helpers of the outcomes app: visit status badges and the endpoint summary."""

from django import template
from django.utils.translation import gettext_lazy as _

from outcomes import schedule

register = template.Library()

_BADGES = {
    schedule.UPCOMING: ("text-bg-light border", _("Upcoming")),
    schedule.OPEN: ("text-bg-info", _("Open")),
    schedule.DUE: ("text-bg-warning", _("Due")),
    schedule.OVERDUE: ("text-bg-danger", _("Overdue")),
    schedule.DONE: ("text-bg-success", _("Done")),
    schedule.MISSED: ("text-bg-secondary", _("Missed")),
    schedule.NOT_APPLICABLE: ("text-bg-secondary", _("Not applicable")),
}


@register.inclusion_tag("outcomes/_status_badge.html")
def visit_status_badge(status: str) -> dict:
    css, label = _BADGES[status]
    return {"css": css, "label": label, "status": status}


@register.inclusion_tag("outcomes/_endpoints.html", takes_context=True)
def outcomes_summary(context, participant) -> dict:
    """The derived endpoints of a participant, for the participant page:
    {% load outcomes_tags %}{% outcomes_summary participant %}"""
    from outcomes import selectors

    user = context["request"].user
    if not user.has_perm("outcomes.view_visit"):
        return {"endpoints": None}
    today = selectors.site_today(participant.site)
    return {
        "endpoints": selectors.participant_endpoints(participant, today=today),
        "participant": participant,
        "TRIAL": context.get("TRIAL"),
    }


@register.filter
def model_label(obj) -> str:
    """'app_label.modelname' of a record, for the audit-trail URL."""
    return obj._meta.label_lower


@register.simple_tag
def lab_results(crf) -> list[dict]:
    """The results of a safety-lab CRF that have a value: canonical value and unit, the site's
    range it was judged against, its CTCAE v5.0 grade, and how it was entered if converted."""
    from django.utils.translation import gettext

    from kernel.trial import TRIAL

    rows = []
    for analyte in TRIAL.lab_analytes:
        value = getattr(crf, analyte.code, None)
        if value is None:
            continue
        unit = getattr(crf, f"{analyte.code}_unit", "") or analyte.unit
        rows.append(
            {
                "label": gettext(analyte.label),
                "value": value.normalize(),
                "unit": analyte.unit,
                "lln": getattr(crf, f"{analyte.code}_lln", None),
                "uln": getattr(crf, f"{analyte.code}_uln", None),
                "grade": getattr(crf, f"{analyte.code}_grade", None),
                "entered": (
                    f"{getattr(crf, f'{analyte.code}_entered').normalize()} {unit}"
                    if unit != analyte.unit
                    else ""
                ),
            }
        )
    return rows
