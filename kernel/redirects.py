"""Where to send the user after a form: a `next` they posted, only if it is a page of ours."""

from __future__ import annotations

from django.http import HttpResponseRedirect
from django.utils.http import url_has_allowed_host_and_scheme


def safe_next_url(request, *, default: str) -> str:
    """The posted (or asked) `next`, if it is a path or URL of this site; `default` otherwise
    (another site's address would be an open redirect; text that is no URL, a dead end)."""
    target = str(request.POST.get("next") or request.GET.get("next") or "").strip()
    if target.startswith("/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


def redirect_next(request, *, default: str) -> HttpResponseRedirect:
    return HttpResponseRedirect(safe_next_url(request, default=default))
