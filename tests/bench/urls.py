"""The project's URLs plus one bench-only view: the physical floor of saving a blood-gas CRF.

`bare_blood_gas` writes the same row the real form view writes (one INSERT ... ON CONFLICT
UPDATE of outcomes_bloodgas), with no sign-in, CSRF, form, edit checks, lock checks or audit
row; its GET reads that row (one SELECT), the floor of opening the form. And a diagnostic, not
a goal: `signed_in_noop`, a signed-in request that does nothing (session, CSRF, user, second
factor, every middleware; no permission check, no work), the floor of any signed-in request.
Served only by tests/bench/server_settings.py, never by the project.
"""

from decimal import Decimal

from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponse
from django.middleware.csrf import get_token
from django.urls import path
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from kernel.physiology import pf_display, pf_ratio
from outcomes.models import BloodGas
from trialedc.urls import urlpatterns as project_urlpatterns


@login_not_required
@csrf_exempt
@require_http_methods(["GET", "POST"])
def bare_blood_gas(request, visit_id: int):
    if request.method == "GET":
        # The floor of opening the CRF: its row read (one SELECT), its values sent back. The
        # real coordinator opens the form before each save; so does the bare client, so that
        # both runs put the same requests in front of the server's threads.
        row = (
            BloodGas.objects.filter(visit_id=visit_id)
            .values_list("pao2_mmhg", "fio2", "assessed_on", "updated_at")
            .first()
        )
        return HttpResponse(repr(row), content_type="text/plain")
    pao2, fio2 = Decimal(request.POST["pao2_mmhg"]), Decimal(request.POST["fio2"])
    now = timezone.now()
    BloodGas.objects.bulk_create(
        [
            BloodGas(
                visit_id=visit_id,
                status="complete",
                assessed_on=request.POST["assessed_on"],
                pao2_mmhg=pao2,
                fio2=fio2,
                pf_ratio=pf_display(pf_ratio(pao2_mmhg=pao2, fio2=fio2)),
                entered_by_id=int(request.POST["user_id"]),
                entered_at=now,
                updated_at=now,
            )
        ],
        update_conflicts=True,
        unique_fields=["visit"],
        update_fields=["pao2_mmhg", "fio2", "pf_ratio", "updated_at"],
    )
    return HttpResponse(status=204)


@require_http_methods(["GET", "POST"])
def signed_in_noop(request):
    """Signed in (LoginRequiredMiddleware), second factor checked (TwoFactorMiddleware), CSRF
    checked on the POST; nothing else. The GET gives the CSRF token the POST sends back."""
    if request.method == "GET":
        return HttpResponse(get_token(request), content_type="text/plain")
    return HttpResponse(status=204)


urlpatterns = [
    *project_urlpatterns,
    path("bench/signed-in-noop/", signed_in_noop, name="bench_signed_in_noop"),
    path("bench/bare-blood-gas/<int:visit_id>/", bare_blood_gas, name="bench_bare_blood_gas"),
]
