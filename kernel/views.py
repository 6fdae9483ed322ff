from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from . import audit
from .access import get_in_scope_or_404, require


@require_GET
@require("trialedc.view_audit_trail")
def audit_history(request, label: str, pk: int):
    """The audit trail of one record: who, when, what changed from what to what, and why."""
    spec = audit.registered(label)
    if spec is None or not request.user.has_perm(spec.view_permission):
        # Unregistered models (e.g. allocations) have no history page for anyone here.
        return render(request, "403.html", {"message": _("No audit trail here.")}, status=403)
    # The records on the way to the site (a CRF's visit and participant) read with it: the
    # title, str(obj), names them (issue 24: a query each after it).
    on_the_way = spec.site_path.rpartition("__")[0]
    records = spec.model.objects.all()
    obj = get_in_scope_or_404(
        records.select_related(on_the_way) if on_the_way else records,
        request.user,
        site_path=spec.site_path,
        pk=pk,
    )
    return render(
        request,
        "audit/history.html",
        {"record": obj, "entries": audit.history_of(obj), "verbose_name": obj._meta.verbose_name},
    )
