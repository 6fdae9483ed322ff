from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ParticipantsConfig(AppConfig):
    name = "participants"
    verbose_name = _("Participants")

    def ready(self) -> None:
        from trialedc import audit, home

        from . import selectors

        audit.register(
            "participants.participant",
            view_permission="participants.view_participant",
            site_path="site",
        )
        audit.register(
            "participants.identifyingdata",
            view_permission="participants.view_identifyingdata",
            site_path="participant__site",
        )
        home.nav(
            label=_("Participants"),
            url_name="participants:list",
            permission="participants.view_participant",
            order=10,
        )
        home.card(
            title=_("Participants"),
            text=_("Participants at the sites you work for."),
            url_name="participants:list",
            permission="participants.view_participant",
            action=_("Open the list"),
            count=lambda user: selectors.participants_for(user).count(),
            order=10,
        )
        home.card(
            title=_("Register a participant"),
            text=_("Give a new participant a study ID and record their identifying data."),
            url_name="participants:register",
            permission="participants.add_participant",
            action=_("Register"),
            order=20,
        )
