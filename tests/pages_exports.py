"""Pages of the exports app (see tests/pages_trialedc.py for the format)."""

from .roles_short import SP, D

_EXPORT = {SP, D}


def _run(world):
    """A finished export, built (by the service, as the sponsor page would) only when one of
    these pages is opened: the other pages' tests do not pay for an export each."""
    run = getattr(world, "export_run", None)
    if run is None:
        from exports import services
        from exports.models import ExportRun, ExportStatus

        run = ExportRun.objects.filter(status=ExportStatus.DONE).exclude(file_path="").first()
        if run is None:
            run = services.export_run_build(run_id=services.export_run_start(user=None).pk)
        world.export_run = run
    return run


PAGES = {
    "exports": ("exports:index", lambda w: "/exports/", _EXPORT),
    "export start": ("exports:start", lambda w: "/exports/new/", _EXPORT),
    "export status": ("exports:run_detail", lambda w: f"/exports/{_run(w).pk}/", _EXPORT),
    "export progress": (
        "exports:run_progress",
        lambda w: f"/exports/{_run(w).pk}/progress/",
        _EXPORT,
    ),
    "export download": (
        "exports:run_download",
        lambda w: f"/exports/{_run(w).pk}/download/",
        _EXPORT,
    ),
}
