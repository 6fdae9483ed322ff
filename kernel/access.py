"""The one place that decides what a user may open.

- `require(*perms)`: view decorator; a signed-in user without every permission gets 403. A
  trial permission is held only through a trial role group, never by being a superuser
  (kernel.backends; issue 20).
- `scope_to_sites(queryset, user, site_path=...)`: every query for participant data goes
  through here, so a coordinator of site 01 never receives a row of site 02.
- `get_in_scope_or_403(...)`: one object, 404 if it does not exist, 403 if outside the scope.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.core.exceptions import PermissionDenied
from django.db.models import Exists, Model, OuterRef, QuerySet
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
    if not user.is_authenticated:
        return Site.objects.none()
    roles = roles_of(user)
    if not roles:
        return Site.objects.none()
    # Fail closed: a user holding any site-bound role is bound to their own sites.
    if roles & SITE_SCOPED_ROLES:
        return user.sites.all()
    return Site.objects.all()


def scope_to_sites(queryset: QuerySet, user, *, site_path: str = "site") -> QuerySet:
    """Filter `queryset` to the rows of the sites `user` may see."""
    return queryset.filter(**{f"{site_path}__in": sites_for(user)})


def get_in_scope_or_403(queryset: QuerySet, user, *, site_path: str = "site", **lookup) -> Model:
    """The object, and whether it is in the user's scope, read in one query (EXISTS)."""
    in_scope = scope_to_sites(queryset, user, site_path=site_path).filter(pk=OuterRef("pk"))
    obj = get_object_or_404(queryset.annotate(in_user_scope=Exists(in_scope)), **lookup)
    if not obj.in_user_scope:
        raise PermissionDenied(_("This record belongs to a site you are not assigned to."))
    return obj
