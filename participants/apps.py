from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ParticipantsConfig(AppConfig):
    name = "participants"
    verbose_name = _("Participants")

    def ready(self) -> None:
        from kernel import audit, home

        from . import selectors

        for label, permission, site_path in (
            ("participants.screening", "participants.view_screening", "site"),
            (
                "participants.identifyingdata",
                "participants.view_identifyingdata",
                "screening__site",
            ),
            ("participants.eligibility", "participants.view_screening", "screening__site"),
            ("participants.consent", "participants.view_screening", "screening__site"),
            (
                "participants.screeningvitalsigns",
                "participants.view_screening",
                "screening__site",
            ),
            ("participants.participant", "participants.view_participant", "site"),
            (
                "participants.consentwithdrawal",
                "participants.view_participant",
                "participant__site",
            ),
        ):
            audit.register(label, view_permission=permission, site_path=site_path)
        home.nav(
            label=_("Screening log"),
            url_name="participants:screening_log",
            permission="participants.view_screening",
            order=5,
            group="participants",
        )
        home.nav(
            label=_("Participants"),
            url_name="participants:list",
            permission="participants.view_participant",
            order=10,
            group="participants",
        )
        home.card(
            title=_("Screen a patient"),
            text=_("Give a patient a screening number, then check eligibility and consent."),
            url_name="participants:screen",
            permission="participants.add_screening",
            action=_("Screen"),
            order=5,
        )
        home.card(
            title=_("Screening log"),
            text=_("Screenings still open at your sites: eligibility, consent, enrollment."),
            url_name="participants:screening_log",
            permission="participants.view_screening",
            action=_("Open the log"),
            count=lambda user: selectors.open_screening_count(user),
            query={"outcome": "open"},
            order=6,
        )
        home.card(
            title=_("Eligibility to confirm"),
            text=_("Eligible patients whose eligibility no investigator has confirmed yet."),
            url_name="participants:screening_log",
            permission="participants.confirm_eligibility",
            action=_("Review"),
            count=lambda user: selectors.unconfirmed_eligibility_for(user).count(),
            query={"outcome": "to_confirm"},
            order=7,
        )
        home.card(
            title=_("Participants"),
            text=_("Enrolled participants at the sites you work for."),
            url_name="participants:list",
            permission="participants.view_participant",
            action=_("Open the list"),
            count=lambda user: selectors.participants_for(user).count(),
            order=10,
        )
