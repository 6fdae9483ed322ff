"""The participant page's timeline: sections that other apps add (visits, CRFs, AEs).

An app calls `section(title=..., template=..., permission=..., order=...)` from its
AppConfig.ready(); the template is included with `participant` in its context, for users
holding `permission`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TimelineSection:
    title: str
    template: str
    permission: str
    order: int = 100


_SECTIONS: list[TimelineSection] = []


def section(**kwargs) -> None:
    _SECTIONS.append(TimelineSection(**kwargs))


def sections_for(user) -> list[TimelineSection]:
    return [s for s in sorted(_SECTIONS, key=lambda s: s.order) if user.has_perm(s.permission)]
