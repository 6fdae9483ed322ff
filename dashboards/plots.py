"""From the selectors' numbers to the SVG pictures (dashboards.svg), with translated labels."""

from __future__ import annotations

from django.utils import translation
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from kernel import calendars, pdf
from kernel.trial import TRIAL

from . import drawing, svg
from .selectors import POOLED, Consort, Enrollment


def enrollment_plot(data: Enrollment) -> str:
    targets = [(_("Target, phase I"), TRIAL.phase("I").target_total)]
    targets.append((_("Target, whole trial"), TRIAL.target_sample_size))
    return mark_safe(  # noqa: S308 - drawn by dashboards.svg, every text escaped there
        svg.cumulative_plot(
            title=_("Cumulative enrollment against target"),
            x_label=_("Calendar date"),
            y_label=_("Participants (n)"),
            series=(
                (_("Enrolled"), data.enrolled_by_day),
                (_("Randomized"), data.randomized_by_day),
            ),
            targets=tuple(targets),
            empty_text=_("No participant enrolled yet."),
            # The axis dates in the reader's calendar (part of the plot's cache key).
            day_format=(calendars.active(), calendars.persian_page()),
        )
    )


TREND_LABELS = {
    "pf_ratio": (lambda: _("PaO₂/FiO₂ by study day"), lambda: _("PaO₂/FiO₂ (mmHg)")),
    "murray_score": (lambda: _("Murray lung injury score by study day"), lambda: _("Score (0–4)")),
    "crp": (
        lambda: _("C-reactive protein by study day"),
        lambda: _("CRP (%(unit)s)") % {"unit": TRIAL.crp_unit},
    ),
}


def trend_plots(trends: dict) -> list[dict]:
    plots = []
    for name, points in trends.items():
        title, y_label = (f() for f in TREND_LABELS[name])
        plots.append(
            {
                "name": name,
                "title": title,
                "points": points,
                "svg": mark_safe(  # noqa: S308 - escaped in dashboards.svg
                    svg.trend_plot(
                        title=title + " · " + _("all participants pooled"),
                        x_label=_("Study day"),
                        y_label=y_label,
                        points=tuple(points),
                        empty_text=_("No complete CRF yet."),
                        legend_median=_("Median"),
                        legend_iqr=_("Interquartile range"),
                    )
                ),
            }
        )
    return plots


def column_title(code: str) -> str:
    if code == POOLED:
        return _("Allocated (arms blinded, pooled)")
    return _("Allocated to %(arm)s") % {"arm": TRIAL.arm(code).label}


def consort_lines(data: Consort) -> dict:
    """The text of every CONSORT box (also used by the PDF, so both say the same)."""
    s = data.screening
    excluded = [
        _("Excluded (n = %(n)s)") % {"n": s["excluded"]},
        "• " + _("Not meeting eligibility criteria (n = %(n)s)") % {"n": s["ineligible"]},
    ]
    # An inclusion criterion excludes when it is not met, an exclusion criterion when present.
    excluded += [
        "    ◦ "
        + (
            _("%(code)s present: %(n)s")
            if TRIAL.criterion(code).kind == "exclusion"
            else _("%(code)s not met: %(n)s")
        )
        % {"code": code, "n": n}
        for code, n in s["criteria"]
    ]
    excluded += [
        "• " + _("Declined to participate (n = %(n)s)") % {"n": s["declined"]},
        "• " + _("Other reasons (n = %(n)s)") % {"n": s["other"]},
        "• " + _("Still in screening (n = %(n)s)") % {"n": s["in_screening"]},
    ]
    stages = []
    columns = data.columns
    stages.append(
        (
            _("Allocation"),
            tuple(
                (
                    column_title(code),
                    _("n = %(n)s") % {"n": c["randomized"]},
                    _("Received the infusion (n = %(n)s)") % {"n": c["infused"]},
                )
                for code, c in columns
            ),
        )
    )
    stages.append(
        (
            _("Follow-up"),
            tuple(
                (
                    _("Follow-up"),
                    _("Day-28 visit done (n = %(n)s)") % {"n": c["followed_d28"]},
                    _("Day-60 visit done (n = %(n)s)") % {"n": c["followed_d60"]},
                    _("Lost to follow-up (n = %(n)s)") % {"n": c["lost"]},
                    _("Withdrew consent (n = %(n)s)") % {"n": c["withdrawn"]},
                    _("Died (n = %(n)s)") % {"n": c["died"]},
                )
                for _code, c in columns
            ),
        )
    )
    stages.append(
        (
            _("Analysis"),
            tuple(
                (
                    _("Analysed (n = %(n)s)") % {"n": data.analysed(c)},
                    _("(intention to treat)"),
                )
                for _code, c in columns
            ),
        )
    )
    return {
        "top": (_("Assessed for eligibility (n = %(n)s)") % {"n": s["screened"]},),
        "excluded": tuple(excluded),
        "enrolled": (_("Enrolled (n = %(n)s)") % {"n": data.enrolled},),
        "not_randomized": (
            _("Not randomized (n = %(n)s)")
            % {"n": data.awaiting_randomization + data.withdrawn_before_randomization},
            "• " + _("Awaiting randomization (n = %(n)s)") % {"n": data.awaiting_randomization},
            "• "
            + _("Withdrew before randomization (n = %(n)s)")
            % {"n": data.withdrawn_before_randomization},
        ),
        "randomized": (_("Randomized (n = %(n)s)") % {"n": data.randomized},),
        "stages": tuple(stages),
    }


def consort_title(data: Consort) -> str:
    return (
        _("CONSORT flow diagram")
        + " · "
        + (_("by arm (unblinded)") if data.by_arm else _("pooled (blinded)"))
    )


def consort_svg(data: Consort) -> str:
    return mark_safe(  # noqa: S308 - escaped in dashboards.svg
        svg.consort_diagram(title=consort_title(data), **consort_lines(data))
    )


def consort_drawing(data: Consort, *, max_width: float, max_height: float):
    """The same diagram as the page's SVG, drawn for the PDF (a reportlab Drawing); right to
    left, in Vazirmatn and shaped, for a reader of a language written right to left."""
    script = drawing.LATIN
    if translation.get_language_bidi():
        pdf.register_rtl_font()
        script = drawing.Script(
            font=pdf.RTL_FONT, bold=pdf.RTL_FONT_BOLD, shape=pdf.visual, rtl=True
        )
    return drawing.consort_drawing(
        title=consort_title(data),
        **consort_lines(data),
        max_width=max_width,
        max_height=max_height,
        script=script,
    )
