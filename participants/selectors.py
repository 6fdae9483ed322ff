from django.db.models import QuerySet

from trialedc.access import scope_to_sites

from .models import Participant


def participants_for(user) -> QuerySet[Participant]:
    """The participants `user` may see: their sites only, for site-bound roles."""
    return scope_to_sites(Participant.objects.select_related("site"), user)
