from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SafetyConfig(AppConfig):
    name = "safety"
    verbose_name = _("Safety")

    def ready(self) -> None:
        from kernel import audit, home
        from participants import timeline

        from . import selectors

        audit.register(
            "safety.adverseevent",
            view_permission="safety.view_adverseevent",
            site_path="participant__site",
        )
        audit.register(
            "safety.saereport",
            view_permission="safety.view_saereport",
            site_path="adverse_event__participant__site",
        )
        timeline.section(
            title=_("Adverse events"),
            template="safety/_participant_timeline.html",
            permission="safety.view_adverseevent",
            order=30,
        )
        home.nav(
            label=_("Safety"),
            url_name="safety:overview",
            permission="safety.view_safety_overview",
            order=40,
        )
        home.card(
            title=_("Safety clocks"),
            text=_("Open SUSAR clocks and SAE follow-ups, soonest deadline first."),
            url_name="safety:overview",
            permission="safety.view_safety_overview",
            action=_("Open the safety page"),
            count=selectors.open_clock_count,
            order=30,
        )
        home.nav(
            label=_("SUSAR cases"),
            url_name="safety:susar_cases",
            permission="safety.assess_susar",
            order=41,
        )
        home.card(
            title=_("Suspected SUSARs"),
            text=_("Cases to unblind (ICH E2A III.C), then their expedited-report clocks."),
            url_name="safety:susar_cases",
            permission="safety.assess_susar",
            action=_("Open the cases"),
            count=lambda user: selectors.susar_cases_to_act_on(),
            order=31,
        )
        home.card(
            title=_("Alert delivery"),
            text=_("Safety e-mails still pending delivery (badge), with attempts and last error."),
            url_name="safety:alerts",
            permission="trialedc.view_alert",
            action=_("Open the outbox"),
            count=lambda user: selectors.alerts_pending_count(),
            order=90,
        )
