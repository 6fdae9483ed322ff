"""The one place that decides what a user may open.

- `require(*perms)`: view decorator; a signed-in user without every permission gets 403. A
  trial permission is held only through a trial role group, never by being a superuser
  (kernel.backends; issue 20).
- `scope_to_sites(queryset, user, site_path=...)`: every query for participant data goes
  through here, so a coordinator of site 01 never receives a row of site 02.
- `get_in_scope_or_404(...)`: one object, 404 if it does not exist or is outside the scope
  (the same answer for both).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Literal

from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _

from .models import Site
from .roles import SITE_SCOPED_ROLES, roles_of


def require(*perms: str) -> Callable:
    """Allow the view only to users holding every permission in `perms` (403 otherwise).

    Anonymous users never get here: LoginRequiredMiddleware sends them to the login page.
    """

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not request.user.has_perms(perms):
                raise PermissionDenied(_("Your role does not allow this page."))
            return view(request, *args, **kwargs)

        wrapped.required_permissions = perms  # read by the role × URL test matrix
        return wrapped

    return decorator


def sites_for(user) -> QuerySet[Site]:
    """The sites whose participant data `user` may see."""
    return sites_of_scope(site_scope(user), user.pk)


def sites_of_scope(scope: Literal["none", "own", "all"], user_id) -> QuerySet[Site]:
    """The sites of a `site_scope` answer for the user `user_id`: none, theirs, or all (for a
    read compiled once per scope, e.g. outcomes.selectors.visit_in_scope_or_404)."""
    if scope == "none":
        return Site.objects.none()
    if scope == "own":
        return Site.objects.filter(users=user_id)
    return Site.objects.all()


def site_scope(user) -> Literal["none", "own", "all"]:
    """Which sites `user` may see, as `sites_for` reads it: none, their own, or all (for a
    check done in the database, e.g. randomization's `randomization_assign`)."""
    if not user.is_authenticated:
        return "none"
    roles = roles_of(user)
    if not roles:
        return "none"
    # Fail closed: a user holding any site-bound role is bound to their own sites.
    if roles & SITE_SCOPED_ROLES:
        return "own"
    return "all"


def scope_to_sites(queryset: QuerySet, user, *, site_path: str = "site") -> QuerySet:
    """Filter `queryset` to the rows of the sites `user` may see."""
    return queryset.filter(**{f"{site_path}__in": sites_for(user)})


def get_in_scope_or_404(queryset: QuerySet, user, *, site_path: str = "site", **lookup) -> Model:
    """The object if it exists within the user's sites; 404 otherwise, with the same answer for a
    record of another site as for one that does not exist, so that site staff cannot count
    another site's participants or events by trying numbers (issue 20, finding 7)."""
    return get_object_or_404(scope_to_sites(queryset, user, site_path=site_path), **lookup)
