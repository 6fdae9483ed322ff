"""Home-page cards open their list already filtered to what they count (issue 21): "Eligibility
to confirm (1)" opens the screening log showing that one screening, not the whole log."""

import pytest

from kernel import home
from kernel.roles import Role

from .participants_factories import EligibilityFactory, ScreeningFactory

pytestmark = pytest.mark.django_db


def test_the_eligibility_card_opens_the_log_filtered_to_what_it_counts(client, make_user, site01):
    investigator = make_user(Role.INVESTIGATOR)
    waiting = ScreeningFactory(site=site01)
    EligibilityFactory(screening=waiting)
    ineligible = ScreeningFactory(site=site01)
    EligibilityFactory(screening=ineligible, eligible=False, failed_criteria="I2")
    cards = {str(c["title"]): c for c in home.cards_for(investigator)}
    card = cards["Eligibility to confirm"]
    assert card["count"] == 1
    assert card["url"] == "/participants/screening/?outcome=to_confirm"
    client.force_login(investigator)
    body = client.get(card["url"]).content.decode()
    assert waiting.screening_number in body
    assert ineligible.screening_number not in body
    home_page = client.get("/").content.decode()
    assert 'href="/participants/screening/?outcome=to_confirm"' in home_page


def test_the_screening_log_card_opens_the_screenings_in_progress(make_user):
    cards = {str(c["title"]): c for c in home.cards_for(make_user(Role.COORDINATOR))}
    assert cards["Screening log"]["url"] == "/participants/screening/?outcome=open"


def test_the_menu_links_are_the_reversed_addresses_under_any_script_prefix(make_user):
    """The menu's addresses are reversed once and kept (issue 24), for each script prefix:
    an EDC served under /edc/ links its menu there."""
    from django.urls import get_script_prefix, reverse, set_script_prefix

    manager = make_user(Role.DATA_MANAGER)

    def links() -> list[str]:
        menu = home.nav_for(manager)
        return [e["url"] for item in menu for e in item.get("children", [item])]

    held = sorted((i for i in home._NAV if manager.has_perm(i.permission)), key=lambda i: i.order)
    assert sorted(links()) == sorted(reverse(i.url_name) for i in held)
    plain = links()
    prefix = get_script_prefix()
    set_script_prefix("/edc/")
    try:
        assert links() == ["/edc" + url for url in plain]
    finally:
        set_script_prefix(prefix)
