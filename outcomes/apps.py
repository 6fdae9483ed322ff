from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OutcomesConfig(AppConfig):
    name = "outcomes"
    verbose_name = _("Outcomes")

    def ready(self) -> None:
        from kernel import audit, home
        from participants import timeline

        from . import selectors
        from .models import CRF_MODELS

        for model in CRF_MODELS.values():
            audit.register(
                model._meta.label_lower,
                view_permission="outcomes.view_visit",
                site_path="visit__participant__site",
            )
        for label in (
            "outcomes.visit",
            "outcomes.icustay",
            "outcomes.studyevent",
            "outcomes.disposition",
            "outcomes.dailystatus",
            "outcomes.concomitantmedication",
        ):
            audit.register(
                label,
                view_permission="outcomes.view_visit",
                site_path="participant__site",
            )
        timeline.section(
            title=_("Visits, CRFs and endpoints"),
            template="outcomes/_participant_timeline.html",
            permission="outcomes.view_visit",
            order=20,
        )
        home.nav(
            label=_("Visits"),
            url_name="outcomes:worklist",
            permission="outcomes.view_visit",
            order=30,
            group="participants",
        )
        home.card(
            title=_("Visits to do"),
            text=_("Visits whose window is open, or closed without the visit done."),
            url_name="outcomes:worklist",
            permission="outcomes.view_visit",
            action=_("Open the visit worklist"),
            count=selectors.visits_to_do_count,
            order=30,
        )
