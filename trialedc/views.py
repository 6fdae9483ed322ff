from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_safe

from kernel import home
from kernel.roles import roles_of

from .health import health_report


@require_GET
def home_page(request):
    """What each person must do today: the cards the apps contribute (kernel.home)."""
    return render(
        request,
        "home.html",
        {"cards": home.cards_for(request.user), "roles": roles_of(request.user)},
    )


@login_not_required
@require_safe
@never_cache
def health(request):
    """Readiness and monitoring: each component's status as JSON; 503 when one is down.
    Open to anyone, so it shows statuses, ages and counts only (trialedc.health)."""
    report = health_report()
    return JsonResponse(report.as_json(), status=200 if report.ok else 503)


@login_not_required
@require_safe
@never_cache
def health_live(request):
    """Liveness for load balancers and the container: 200 while the process serves requests."""
    return HttpResponse("ok", content_type="text/plain")
