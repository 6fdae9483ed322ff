from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from accounts.ratelimit import rate_limit
from kernel.access import require

from . import selectors, services
from .forms import ExportStartForm
from .models import ExportRun
from .tasks import export_hand_over


def _run_or_404(pk: int) -> ExportRun:
    try:
        return selectors.export_run(pk)
    except ExportRun.DoesNotExist as missing:
        raise Http404(_("No such export.")) from missing


@require("exports.view_exportrun")
def index(request):
    """The export log: every export run (who, when, options, rows, checksum)."""
    return render(request, "exports/index.html", {"runs": selectors.export_runs()[:200]})


@require("exports.add_exportrun")
@rate_limit("export")
def start(request):
    form = ExportStartForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        run = services.export_run_start(
            user=request.user, new_release=form.cleaned_data["new_release"]
        )
        # The run is committed; the worker (or, without a broker, this process) builds it.
        if problem := export_hand_over(run_id=run.pk):
            messages.error(request, problem)
        else:
            messages.success(request, _("Export %(n)s started.") % {"n": run.pk})
        return redirect("exports:run_detail", pk=run.pk)
    return render(request, "exports/start.html", {"form": form})


@require("exports.view_exportrun")
def run_detail(request, pk: int):
    return render(request, "exports/run_detail.html", {"run": _run_or_404(pk)})


@require("exports.view_exportrun")
def run_progress(request, pk: int):
    """The progress panel, polled by htmx while the export builds."""
    return render(request, "exports/_progress.html", {"run": _run_or_404(pk)})


@require("exports.view_exportrun")
@rate_limit("export", methods=("GET",))
def run_download(request, pk: int):
    run = _run_or_404(pk)
    response = services.export_file_response(run, request=request)
    if response is None:
        raise Http404(_("This export has no file to download."))
    return response
