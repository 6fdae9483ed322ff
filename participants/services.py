"""Every write the participants app does. One transaction each; reasons go to the audit trail."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from trialedc import audit
from trialedc.access import sites_for
from trialedc.models import Site

from .exceptions import SiteNotAllowed
from .models import IdentifyingData, Participant


def _next_study_id(site: Site) -> str:
    # The caller holds a row lock on the site, so two registrations cannot take one number.
    last = (
        Participant.objects.filter(site=site)
        .order_by("-study_id")
        .values_list("study_id", flat=True)
        .first()
    )
    number = int(last.split("-")[1]) + 1 if last else 1
    return f"{site.code}-{number:04d}"


def participant_register(*, site: Site, user, identity: dict) -> Participant:
    """Give a participant at `site` the next study ID and store their identifying data."""
    if not sites_for(user).filter(pk=site.pk).exists():
        raise SiteNotAllowed(_("You are not assigned to site %(site)s.") % {"site": site.code})
    with transaction.atomic():
        site = Site.objects.select_for_update().get(pk=site.pk)
        participant = Participant(site=site, study_id=_next_study_id(site), registered_by=user)
        participant.full_clean()
        audit.save_with_reason(participant, user=user)
        identifying = IdentifyingData(participant=participant, **identity)
        identifying.full_clean()
        audit.save_with_reason(identifying, user=user)
    return participant


def identifying_data_update(
    *, identifying: IdentifyingData, user, reason: str, changes: dict
) -> IdentifyingData:
    """Change identifying data; the reason is required and kept with old and new values."""
    with transaction.atomic():
        identifying = IdentifyingData.objects.select_for_update().get(pk=identifying.pk)
        for name, value in changes.items():
            setattr(identifying, name, value)
        identifying.full_clean()
        audit.save_with_reason(identifying, user=user, reason=reason)
    return identifying
