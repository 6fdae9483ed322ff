"""What each person must do today: the cards on the home page.

Each app contributes cards with `card(...)` and menu entries with `nav(...)` from its
AppConfig.ready(); each shows only to users holding its permission.
Later issues add theirs (visits due, open queries, SAE clocks, ...).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class HomeCard:
    title: str
    text: str
    url_name: str
    permission: str
    action: str
    count: Callable | None = None  # count(user) -> int, shown as a badge
    order: int = 100
    # Query string of the list the card opens, so the list shows what the card counted
    # (e.g. {"status": "unconfirmed"}: "Eligibility to confirm (8)" opens those 8); a
    # function of the user where what the card counts depends on the role.
    query: dict | Callable | None = None

    def visible_to(self, user) -> bool:
        return user.has_perm(self.permission)

    def render_for(self, user) -> dict:
        query = self.query(user) if callable(self.query) else self.query
        return {
            "title": self.title,
            "text": self.text,
            "url": reverse(self.url_name) + (f"?{urlencode(query)}" if query else ""),
            "action": self.action,
            "count": self.count(user) if self.count else None,
        }


_CARDS: list[HomeCard] = []


def card(**kwargs) -> None:
    _CARDS.append(HomeCard(**kwargs))


def cards_for(user) -> list[dict]:
    return [c.render_for(user) for c in sorted(_CARDS, key=lambda c: c.order) if c.visible_to(user)]


# The top menu's groups: where a person holds two or more entries of a group, they fold into
# one dropdown, so that the menu of a role with many entries (the data manager's) fits a
# 1,280 px screen; below 992 px the whole menu collapses behind the toggler (templates/base.html).
NAV_GROUPS = {
    "participants": _("Participants"),
    "randomization": _("Randomization"),
    "data": _("Data management"),
    "reports": _("Reports"),
}


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    permission: str
    order: int = 100
    group: str = ""  # a key of NAV_GROUPS, or "" for an entry of its own


_NAV: list[NavItem] = []


def nav(**kwargs) -> None:
    """Add an entry to the top menu, shown to users holding its permission."""
    _NAV.append(NavItem(**kwargs))


# The menu's addresses, reversed once per URL configuration and script prefix (issue 24: every
# page reversed each entry again, 16 for the data manager: a third of the menu's cost).
_NAV_URLS: dict[tuple, str] = {}


def _nav_url(url_name: str) -> str:
    key = (get_urlconf() or settings.ROOT_URLCONF, get_script_prefix(), url_name)
    url = _NAV_URLS.get(key)
    if url is None:
        url = _NAV_URLS[key] = reverse(url_name)
    return url


def nav_for(user) -> list[dict]:
    """The user's menu: entries {"label", "url"}, and groups {"label", "children": [entries]}
    where the user holds two or more entries of one group (in the order of their first entry)."""
    if not user.is_authenticated:
        return []
    items = [i for i in sorted(_NAV, key=lambda i: i.order) if user.has_perm(i.permission)]
    sizes: dict[str, int] = {}
    for item in items:
        sizes[item.group] = sizes.get(item.group, 0) + 1
    menu: list[dict] = []
    groups: dict[str, dict] = {}
    for item in items:
        entry = {"label": item.label, "url": _nav_url(item.url_name)}
        if not item.group or sizes[item.group] < 2:
            menu.append(entry)
        elif item.group in groups:
            groups[item.group]["children"].append(entry)
        else:
            groups[item.group] = {
                "label": NAV_GROUPS[item.group],
                "key": item.group,
                "children": [entry],
            }
            menu.append(groups[item.group])
    return menu
