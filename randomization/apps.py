from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RandomizationConfig(AppConfig):
    name = "randomization"
    verbose_name = _("Randomization")

    def ready(self) -> None:
        from kernel import arms, home
        from outcomes import hooks as outcome_hooks
        from outcomes import signals as outcome_signals
        from participants import timeline

        from . import selectors, services

        # What the CRFs take from randomization and the pharmacy (issue 18): the Baseline's
        # respiratory support, no infusion completed before the hand-over, and a query to the
        # pharmacist when the weight the dose was prepared from is corrected.
        outcome_hooks.baseline_source(services.baseline_respiratory_support)
        outcome_hooks.crf_guard(services.infusion_guard)
        outcome_signals.crf_saved.connect(
            services.on_crf_saved_weight, dispatch_uid="randomization_dose_weight"
        )

        # The safety physician's case unblinding (safety app, below this one) reads the arm
        # through this one door, after its own role, password and second-factor checks.
        arms.register_reader(selectors.arm_of_participant)

        # No model of this app is registered with kernel.audit: the generic history page must
        # never render a slot, a list or a preparation (allocation-bearing) for anyone.
        timeline.section(
            title=_("Randomization"),
            template="randomization/_timeline_section.html",
            permission="randomization.view_randomization",
            order=10,
        )
        home.nav(
            label=_("Randomization"),
            url_name="randomization:overview",
            permission="randomization.view_randomization",
            order=30,
            group="randomization",
        )
        home.nav(
            label=_("Lists"),
            url_name="randomization:list_index",
            permission="randomization.view_randomizationlist",
            order=31,
            group="randomization",
        )
        home.nav(
            label=_("Pharmacy"),
            url_name="randomization:pharmacy",
            permission="randomization.view_pharmacy",
            order=32,
            group="randomization",
        )
        home.card(
            title=_("Randomization"),
            text=_("Randomized participants at your sites, and enrollment against target."),
            url_name="randomization:overview",
            permission="randomization.view_randomization",
            action=_("Open"),
            count=lambda user: selectors.randomizations_for(user).count(),
            order=30,
        )
        home.card(
            title=_("Randomization lists"),
            text=_("Generate or import the lists; verify their checksums."),
            url_name="randomization:list_index",
            permission="randomization.view_randomizationlist",
            action=_("Open the lists"),
            order=31,
        )
        home.card(
            title=_("Phase gate"),
            text=_("Record the DSMB's phase I safety review that opens phase II."),
            url_name="randomization:phase_gate",
            permission="randomization.add_phasereview",
            action=_("Open"),
            order=32,
        )
        home.nav(
            label=_("Doses to prepare"),
            url_name="randomization:pharmacy_queue",
            permission="randomization.view_pharmacy",
            order=33,
            group="randomization",
        )
        home.card(
            title=_("Doses to prepare"),
            text=_("Randomized participants not yet prepared, most urgent first."),
            url_name="randomization:pharmacy_queue",
            permission="randomization.view_pharmacy",
            action=_("Open"),
            count=lambda user: selectors.pharmacy_queue(user).count(),
            order=33,
        )
        home.card(
            title=_("Trial-level unblinding"),
            text=_("After database lock: two separate confirmations."),
            url_name="randomization:trial_unblinding",
            permission="randomization.confirm_trial_unblinding",
            action=_("Open"),
            order=34,
        )
