"""What each person must do today: the cards on the home page.

Each app contributes cards with `card(...)` and menu entries with `nav(...)` from its
AppConfig.ready(); each shows only to users holding its permission.
Later issues add theirs (visits due, open queries, SAE clocks, ...).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.urls import reverse


@dataclass(frozen=True)
class HomeCard:
    title: str
    text: str
    url_name: str
    permission: str
    action: str
    count: Callable | None = None  # count(user) -> int, shown as a badge
    order: int = 100

    def visible_to(self, user) -> bool:
        return user.has_perm(self.permission)

    def render_for(self, user) -> dict:
        return {
            "title": self.title,
            "text": self.text,
            "url": reverse(self.url_name),
            "action": self.action,
            "count": self.count(user) if self.count else None,
        }


_CARDS: list[HomeCard] = []


def card(**kwargs) -> None:
    _CARDS.append(HomeCard(**kwargs))


def cards_for(user) -> list[dict]:
    return [c.render_for(user) for c in sorted(_CARDS, key=lambda c: c.order) if c.visible_to(user)]


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    permission: str
    order: int = 100


_NAV: list[NavItem] = []


def nav(**kwargs) -> None:
    """Add an entry to the top menu, shown to users holding its permission."""
    _NAV.append(NavItem(**kwargs))


def nav_for(user) -> list[dict]:
    if not user.is_authenticated:
        return []
    return [
        {"label": item.label, "url": reverse(item.url_name)}
        for item in sorted(_NAV, key=lambda i: i.order)
        if user.has_perm(item.permission)
    ]
