"""Writes of the exports app: releases, export IDs, export runs, and the one export writer.

The writer has PostgreSQL write the record-level CSVs (each CRF, the AEs, the medications) with
COPY of their de-identifying query, streamed to disk in chunks (exports.copysql); then, in one
pass sorted by export ID, the participants (endpoints computed in Python, from streams read with
`QuerySet.iterator`) and the ODM from the participants and the CSVs just written, so memory
stays flat however large the trial. Then the dictionary, the statistical files, the README with
the SHA-256 of every file, and the ZIP.
"""

from __future__ import annotations

import base64
import contextlib
import csv
import hashlib
import heapq
import hmac
import logging
import os
import secrets
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import billiard  # type: ignore[import-untyped]  # no stubs, no py.typed
import psycopg
from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import DatabaseError, connections, transaction
from django.db.models import F, Max, Model, OuterRef, Subquery
from django.db.models.functions import Coalesce, Collate
from django.http import FileResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from kernel.cells import FORMULA_STARTS, neutralize
from kernel.models import SecurityEventKind
from kernel.replica import reading_from_replica, writes_not_read_back
from kernel.services import security_event_record
from kernel.trial import TRIAL
from outcomes.models import CRF_MODELS, Baseline, ConcomitantMedication, Visit
from participants.models import Participant, ScreeningVitalSigns
from randomization import allocation
from safety.models import AdverseEvent

from . import copysql, endpoints, readme, statfiles
from .columns import (
    ADVERSE_EVENTS,
    CONCOMITANT_MEDICATIONS,
    PARTICIPANTS,
    REPEATING,
    SCREENING_VITALS,
    Column,
    Table,
    age_label,
    tables,
)
from .exceptions import ExportDirectoryError, ExportFailed
from .models import (
    VIA_COMMAND_LINE,
    VIA_WEB,
    ExportPseudonym,
    ExportRelease,
    ExportRun,
    ExportStatus,
)
from .odm import STUDY_EVENT, OdmWriter

logger = logging.getLogger(__name__)

ODM_FILE = "odm.xml"
DICTIONARY_FILE = "data_dictionary.csv"
README_FILE = "README.txt"
PROGRESS_EVERY = 500  # rows between two progress updates


def software_version() -> str:
    try:
        return version("trialedc")
    except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "unknown"


# --- releases and export IDs ----------------------------------------------------------------


def release_create(*, user) -> ExportRelease:
    """A new release: a new secret key, so every participant gets a new export ID."""
    # Two releases made at the same instant would take the same number: the unique constraint
    # refuses the second, which is then simply started again.
    with transaction.atomic():
        last = ExportRelease.objects.aggregate(n=Max("number"))["n"] or 0
        release = ExportRelease(number=last + 1, key=secrets.token_hex(32), created_by=user)
        release.full_clean()
        release.save()
        return release


def release_current(*, user) -> ExportRelease:
    """The latest release (the first is made on the first export)."""
    return ExportRelease.objects.order_by("-number").first() or release_create(user=user)


def export_id_for(*, key: str, participant_pk: int) -> str:
    """HMAC-SHA256 of the participant's row number under the release key: random to anyone
    without the key, the same within a release, unrelated to the study ID."""
    digest = hmac.new(bytes.fromhex(key), f"participant:{participant_pk}".encode(), "sha256")
    return "P" + base64.b32encode(digest.digest()).decode()[:11]


def pseudonyms_ensure(*, release: ExportRelease) -> int:
    """Give every participant without one an export ID in `release`; returns how many."""
    missing = (
        Participant.objects.exclude(pk__in=ExportPseudonym.objects.filter(release=release).values(
            "participant_id"
        ))
        .order_by("pk")
        .values_list("pk", flat=True)
    )  # fmt: skip
    batch, made = [], 0
    with transaction.atomic():
        for pk in missing.iterator(chunk_size=TRIAL.export_chunk_size):
            batch.append(
                ExportPseudonym(
                    release=release,
                    participant_id=pk,
                    export_id=export_id_for(key=release.key, participant_pk=pk),
                )
            )
            if len(batch) >= TRIAL.export_chunk_size:
                made += len(ExportPseudonym.objects.bulk_create(batch))
                batch = []
        made += len(ExportPseudonym.objects.bulk_create(batch))
    return made


# --- export runs ----------------------------------------------------------------------------

UNFINISHED = (ExportStatus.QUEUED, ExportStatus.RUNNING)
# A web export still queued after REQUEUE_AFTER was never taken by a worker (the broker lost
# the message): the sweep hands it to Celery again. Still queued after QUEUED_LIMIT, no worker
# runs at all: failed.
REQUEUE_AFTER = timedelta(minutes=2)
QUEUED_LIMIT = timedelta(hours=1)
# A run 'building' that gave no sign of life this long lost its worker or its command (killed,
# out of memory, the machine restarted): failed. A live build writes its heartbeat at every
# step and every PROGRESS_EVERY rows, seconds apart.
SILENCE_LIMIT = timedelta(minutes=15)


def export_run_start(*, user, new_release: bool = False, via: str = VIA_WEB) -> ExportRun:
    """Log a requested export (queued); the task `exports.build` builds it."""
    with transaction.atomic():
        release = release_create(user=user) if new_release else release_current(user=user)
        run = ExportRun(
            release=release,
            requested_by=user,
            via=via,
            options={"new_release": new_release, "formats": ["csv", "odm-1.3.2"]},
        )
        run.full_clean()
        run.save()
        security_event_record(
            kind=SecurityEventKind.EXPORT_STARTED,
            user=user,
            detail={"run": run.pk, "release": release.number, "via": via},
        )
    logger.info("export %s requested by %s (release %s)", run.pk, user, release.number)
    return run


def export_failure_reason(error: BaseException) -> str:
    """Why an export stopped, in a short line for its log and page: the kind of failure and the
    system's own words (a full disk, a folder that may not be written), never a traceback and
    never an exception's message, which may quote a value from a participant's record. The
    traceback goes to the server log."""
    if isinstance(error, KeyboardInterrupt):
        return _("Stopped by the user (interrupted).")
    if isinstance(error, SystemExit):
        return _("Stopped: the process was asked to end.")
    if isinstance(error, OSError) and error.strerror:
        name = Path(os.fsdecode(error.filename)).name if error.filename else ""
        return _("A file could not be written (%(file)s): %(why)s.") % {
            "file": name or _("unnamed"),
            "why": error.strerror,
        }
    if isinstance(error, DatabaseError):
        return _("The database stopped the export (%(kind)s).") % {"kind": type(error).__name__}
    return _("Unexpected error (%(kind)s); the details are in the server log.") % {
        "kind": type(error).__name__
    }


def export_run_fail(*, run_id: int, reason: str, now=None) -> bool:
    """Record an unfinished export as failed: its reason, its finish time and a line in the
    security log. A run already finished is left as it is; returns whether this one was marked."""
    now = now or timezone.now()
    with transaction.atomic():
        marked = ExportRun.objects.filter(pk=run_id, status__in=UNFINISHED).update(
            status=ExportStatus.FAILED, finished_at=now, error=reason
        )
        if marked:
            run = ExportRun.objects.select_related("release", "requested_by").get(pk=run_id)
            security_event_record(
                kind=SecurityEventKind.EXPORT_FAILED,
                user=run.requested_by,
                detail={
                    "run": run.pk,
                    "release": run.release.number,
                    "via": run.via,
                    "reason": reason,
                },
            )
    if marked:
        logger.warning("export %s failed: %s", run_id, reason)
    return bool(marked)


def _failed(*, run_id: int, error: BaseException) -> str:
    """Log an export's failure (with its traceback, server-side) and record it on the run."""
    reason = export_failure_reason(error)
    if isinstance(error, Exception):
        logger.exception("export %s failed", run_id)
    try:
        export_run_fail(run_id=run_id, reason=reason)
    except Exception:  # the database itself is gone: the sweep records it later
        logger.exception("export %s: its failure could not be recorded", run_id)
    return reason


def _heartbeat(run_id: int, **progress) -> None:
    # The run's own bookkeeping: the export's reads (perhaps from the replica) never read it.
    with writes_not_read_back():
        ExportRun.objects.filter(pk=run_id).update(heartbeat_at=timezone.now(), **progress)


# The export ZIPs, in the file store (Django's default storage: MEDIA_ROOT on this machine, or
# the object store every node shares when STORAGE_S3_BUCKET is set; docs/scaling.md).
EXPORTS_FOLDER = "exports"


def export_file_key(name: str) -> str:
    """The storage name of an export's ZIP (`ExportRun.file_path` is its name in the folder)."""
    return f"{EXPORTS_FOLDER}/{name}"


def export_file_response(run: ExportRun, *, request) -> FileResponse | None:
    """The run's ZIP as a download, streamed from the file store (this machine's disk or the
    object store every node shares: the store is private and gives no URL of its own,
    docs/scaling.md), with its line in the security log; None if there is no file. The one
    download of the page and of the API, after their own permission checks."""
    if run.status != ExportStatus.DONE or not run.file_path:
        return None
    handle = export_file_open(run)
    if handle is None:
        return None
    security_event_record(
        kind=SecurityEventKind.EXPORT_DOWNLOADED,
        request=request,
        detail={"run": run.pk, "checksum": run.checksum},
    )
    return FileResponse(
        handle,  # FileResponse closes it
        as_attachment=True,
        filename=run.file_path,
        content_type="application/zip",
    )


def export_file_open(run: ExportRun):
    """The run's ZIP, opened for reading from the file store; None if it is not there."""
    if not run.file_path:
        return None
    key = export_file_key(run.file_path)
    try:
        return default_storage.open(key, "rb")
    except FileNotFoundError:
        return None
    except OSError:
        logger.exception("export %s: its file could not be opened", run.pk)
        return None


def export_run_build(*, run_id: int) -> ExportRun:
    """Build the ZIP of a queued export run, updating its progress, and put it in the file store;
    a failure is recorded on it (and its partial ZIP removed). A run that is not queued — a
    redelivered task, a run built, failed or still building elsewhere — is left alone: two
    workers never build one run, and a failed run stays failed (start a new one)."""
    now = timezone.now()
    claimed = ExportRun.objects.filter(pk=run_id, status=ExportStatus.QUEUED).update(
        status=ExportStatus.RUNNING, started_at=now, heartbeat_at=now, progress=0, error=""
    )
    run = ExportRun.objects.select_related("release").get(pk=run_id)
    if not claimed:
        logger.info("export %s is %s, not queued: left alone", run.pk, run.status)
        return run
    workdir = stored = None
    try:
        workdir = Path(tempfile.mkdtemp(prefix=f"export-{run.pk}-"))
        (workdir / "files").mkdir()
        result = export_write(run=run, directory=workdir / "files")
        # The name says nothing about the data: trial, release, run.
        name = f"{TRIAL.acronym}-ipd-r{run.release.number}-{run.pk}.zip"
        zip_path = workdir / name
        with zipfile.ZipFile(zip_path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for filename in result["files"]:
                archive.write(workdir / "files" / filename, arcname=filename)
                _heartbeat(run.pk)
        checksum = sha256_of(zip_path)
        with open(zip_path, "rb") as handle:
            stored = default_storage.save(export_file_key(name), File(handle, name=name))
        ExportRun.objects.filter(pk=run.pk).update(
            status=ExportStatus.DONE,
            progress=100,
            finished_at=timezone.now(),
            file_path=stored.removeprefix(f"{EXPORTS_FOLDER}/"),
            checksum=checksum,
        )
    except BaseException as error:
        if stored is not None:
            with contextlib.suppress(Exception):
                default_storage.delete(stored)
        _failed(run_id=run.pk, error=error)
        raise
    finally:
        if workdir is not None:
            shutil.rmtree(workdir, ignore_errors=True)
    run.refresh_from_db()
    return run


def export_to_directory(*, directory: Path, user=None, new_release: bool = False) -> ExportRun:
    """The command line's export (`manage.py export_ipd --out DIR`): the files, no ZIP; logged.

    A folder that cannot be used is refused (`ExportDirectoryError`) before anything is logged
    or written. The files are written into a private folder inside DIR and moved into DIR only
    when every one is complete, so a failed export (`ExportFailed`, recorded on its run) leaves
    DIR as it was, and removes the folders it made."""
    directory = directory.absolute()
    staging, made = _directory_prepare(directory)
    try:
        run = export_run_start(user=user, new_release=new_release, via=VIA_COMMAND_LINE)
    except BaseException:
        _directory_discard(staging, made)
        raise
    run.options = {**run.options, "out": str(directory)}
    run.save(update_fields=["options"])
    now = timezone.now()
    ExportRun.objects.filter(pk=run.pk).update(
        status=ExportStatus.RUNNING, started_at=now, heartbeat_at=now
    )
    try:
        result = export_write(run=run, directory=staging)
        for name in result["files"]:
            (directory / name).parent.mkdir(exist_ok=True)
            os.replace(staging / name, directory / name)
        for folder in statfiles.FOLDERS:
            (staging / folder).rmdir()
        staging.rmdir()
    except BaseException as error:
        _directory_discard(staging, made)
        reason = _failed(run_id=run.pk, error=error)
        if isinstance(error, Exception | KeyboardInterrupt):
            raise ExportFailed(reason, run_id=run.pk) from error
        raise
    ExportRun.objects.filter(pk=run.pk).update(
        status=ExportStatus.DONE,
        progress=100,
        finished_at=timezone.now(),
        checksum=result["checksums"][README_FILE],
    )
    run.refresh_from_db()
    return run


def _directory_prepare(directory: Path) -> tuple[Path, list[Path]]:
    """Make `directory` (and its missing parents) and a private folder inside it to write into.
    Returns that folder and the folders made; every problem is an ExportDirectoryError naming
    the path, after removing what was made."""
    try:
        if directory.exists() and not directory.is_dir():
            raise ExportDirectoryError(_("%(path)s is a file, not a folder.") % {"path": directory})
        missing = []
        existing = directory
        while not existing.exists():
            missing.append(existing)
            existing = existing.parent
        if not existing.is_dir():
            raise ExportDirectoryError(
                _("%(path)s is a file: no folder can be made in it.") % {"path": existing}
            )
    except OSError as error:
        raise ExportDirectoryError(
            _("%(path)s cannot be reached: %(why)s.") % {"path": directory, "why": error.strerror}
        ) from error
    made: list[Path] = []
    writing_in = directory
    try:
        for folder in reversed(missing):
            writing_in = folder.parent
            folder.mkdir()
            made.append(folder)
        writing_in = directory
        staging = Path(tempfile.mkdtemp(prefix=".export-", dir=directory))
    except OSError as error:
        _directory_discard(None, made)
        raise ExportDirectoryError(
            _("%(path)s cannot be written: %(why)s.") % {"path": writing_in, "why": error.strerror}
        ) from error
    return staging, made


def _directory_discard(staging: Path | None, made: list[Path]) -> None:
    """Remove the private folder and the folders made for a failed export (if still empty)."""
    if staging is not None:
        shutil.rmtree(staging, ignore_errors=True)
    for folder in reversed(made):
        with contextlib.suppress(OSError):
            folder.rmdir()


def exports_sweep(*, now=None) -> dict:
    """The beat job (every five minutes; migration exports.0002): fail exports whose worker or
    command died, hand again to Celery the web exports no worker took, fail those still
    waiting after QUEUED_LIMIT (no worker runs), and remove from the file store the ZIPs older
    than EXPORT_FILE_RETENTION_DAYS (when set)."""
    from .tasks import export_build_task

    now = now or timezone.now()
    silent = (
        ExportRun.objects.filter(status=ExportStatus.RUNNING)
        .alias(last_sign=Coalesce("heartbeat_at", "started_at", "requested_at"))
        .filter(last_sign__lt=now - SILENCE_LIMIT)
    )
    interrupted = sum(
        export_run_fail(
            run_id=pk,
            reason=_(
                "The export stopped: no sign of life for %(minutes)s minutes (its worker or "
                "command was stopped). Start it again."
            )
            % {"minutes": int(SILENCE_LIMIT.total_seconds() // 60)},
            now=now,
        )
        for pk in silent.values_list("pk", flat=True)
    )
    waiting = ExportRun.objects.filter(status=ExportStatus.QUEUED)
    abandoned = sum(
        export_run_fail(
            run_id=pk,
            reason=_(
                "No worker took the export within %(minutes)s minutes: check that the Celery "
                "worker runs, then start the export again."
            )
            % {"minutes": int(QUEUED_LIMIT.total_seconds() // 60)},
            now=now,
        )
        for pk in waiting.filter(requested_at__lt=now - QUEUED_LIMIT).values_list("pk", flat=True)
    )
    requeued = 0
    for pk in waiting.filter(via=VIA_WEB, requested_at__lt=now - REQUEUE_AFTER).values_list(
        "pk", flat=True
    ):
        try:
            export_build_task.delay(run_id=pk)
        except Exception:  # noqa: BLE001 - still no broker: the next sweep tries again
            logger.exception("export %s could not be handed to Celery", pk)
        else:
            requeued += 1
    removed = export_files_expire(now=now)
    return {
        "interrupted": interrupted,
        "abandoned": abandoned,
        "requeued": requeued,
        "removed": removed,
    }


def export_files_expire(*, now=None) -> int:
    """Delete from the file store (disk or object store) the ZIPs of the runs finished more than
    EXPORT_FILE_RETENTION_DAYS ago; each run keeps its record, checksums and row counts, and
    forgets its file. Returns how many were removed. A ZIP the store cannot delete now is tried
    again at the next sweep."""
    days = settings.EXPORT_FILE_RETENTION_DAYS
    if days <= 0:
        return 0
    now = now or timezone.now()
    expired = (
        ExportRun.objects.filter(
            status=ExportStatus.DONE, finished_at__lt=now - timedelta(days=days)
        )
        .exclude(file_path="")
        .values_list("pk", "file_path")
    )
    removed = 0
    for pk, name in expired:
        try:
            default_storage.delete(export_file_key(name))
        except Exception:  # noqa: BLE001 - the store is down: the next sweep tries again
            logger.exception("export %s: its file could not be removed", pk)
            continue
        ExportRun.objects.filter(pk=pk, file_path=name).update(file_path="")
        removed += 1
    return removed


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


# --- the writer -----------------------------------------------------------------------------


def _export_id(release: ExportRelease, participant_path: str) -> Subquery:
    return Subquery(
        ExportPseudonym.objects.filter(
            release=release, participant=OuterRef(participant_path)
        ).values("export_id")[:1]
    )


def _day0(participant_path: str) -> Subquery:
    return Subquery(
        Visit.objects.filter(participant=OuterRef(participant_path), day=0).values("target_date")[
            :1
        ]
    )


def _by_export_id(queryset, *then):
    # Collation "C": the database sorts export IDs byte-wise, as Python's merge compares them.
    return queryset.filter(x_export_id__isnull=False).order_by(Collate("x_export_id", "C"), *then)


def _value(column: Column, raw, *, day0: date | None, tz: str):
    """The exported value of one field: dates become study days, never themselves."""
    if raw is None or raw == "":
        return None
    if column.transform == "day":
        return None if day0 is None else (raw - day0).days
    if column.transform == "datetime_day":
        return None if day0 is None else (raw.astimezone(ZoneInfo(tz)).date() - day0).days
    if column.transform == "time":
        return raw.strftime("%H:%M")
    if column.transform == "bool":
        return 1 if raw else 0
    if column.transform == "age":
        return age_label() if raw > TRIAL.export_age_top_code else raw
    return raw


def _flag(value) -> int | None:
    return None if value is None else int(bool(value))


def participants_queryset(release, *, with_arm: bool):
    """The participant rows of an export, sorted by export ID (values())."""
    sex = Baseline.objects.filter(visit__participant=OuterRef("pk")).exclude(sex="")
    queryset = _by_export_id(
        Participant.objects.annotate(
            x_export_id=_export_id(release, "pk"),
            x_site=F("site__code"),
            x_age=F("screening__eligibility__age_years"),
            x_sex=Subquery(sex.values("sex")[:1]),
            x_day0=_day0("pk"),
            x_tz=F("site__time_zone"),
            **{
                f"x_sv_{name}": F(f"screening__vital_signs__{name}")
                for name in ScreeningVitalSigns.VALUE_FIELDS
            },
            **{
                f"x_{name}": expression
                for name, expression in allocation.participant_annotations(
                    with_arm=with_arm
                ).items()
            },
        )
    )
    fields = ["x_export_id", "x_site", "x_age", "x_sex", "x_day0", "x_tz", "status"]
    fields += [f"x_sv_{name}" for name in ScreeningVitalSigns.VALUE_FIELDS]
    if with_arm:
        fields.append("x_arm")
    if "x_phase" in queryset.query.annotations:
        fields += ["x_phase", "x_stratum", "x_emergency_unblinded"]
    return queryset.values(*fields)


def _participant_rows(release, table: Table, *, with_arm: bool) -> Iterator[dict]:
    queryset = participants_queryset(release, with_arm=with_arm)
    statuses, events, stays, daily, dispositions, withdrawals = endpoints.streams(
        _by_export_id, lambda path: _export_id(release, path)
    )
    age = next(c for c in table.columns if c.name == "age_years")
    screening_vitals = [c for c in table.columns if c.name.startswith(SCREENING_VITALS)]
    for record in queryset.iterator(chunk_size=TRIAL.export_chunk_size):
        export_id = record["x_export_id"]
        derived = endpoints.endpoints(
            day0=record["x_day0"],
            statuses=statuses.take(export_id),
            events=events.take(export_id),
            stays=stays.take(export_id),
            daily=daily.take(export_id),
            dispositions=dispositions.take(export_id),
            withdrawals=withdrawals.take(export_id),
        )
        row = {
            "export_id": export_id,
            "site": record["x_site"],
            "phase": record.get("x_phase"),
            "stratum": record.get("x_stratum"),
            "age_years": _value(age, record["x_age"], day0=None, tz="UTC"),
            "sex": record["x_sex"],
            **{
                column.name: _value(
                    column,
                    record[f"x_sv_{column.source}"],
                    day0=record["x_day0"],
                    tz=record["x_tz"],
                )
                for column in screening_vitals
            },
            "status": record["status"],
            "emergency_unblinded": _flag(record.get("x_emergency_unblinded")),
            **derived,
        }
        if with_arm:
            row["arm"] = record.get("x_arm")
        yield row


def record_queryset(release, table: Table):
    """The inner query of a record-level table (a CRF, the adverse events, the medications):
    one row per record of a participant with an export ID, its raw values named for
    `copysql.select_sql` (the export ID, site, time zone, Day 0, and `x_c<i>` for the field of
    column i), unsorted; and the names it is sorted by after the export ID."""
    model: type[Model]
    if table.code in CRF_MODELS:
        model, participant, order = CRF_MODELS[table.code], "visit__participant", ["visit__day"]
    elif table.code == ADVERSE_EVENTS:
        model, participant, order = AdverseEvent, "participant", ["number"]
    elif table.code == CONCOMITANT_MEDICATIONS:
        model, participant, order = ConcomitantMedication, "participant", ["started_on", "pk"]
    else:
        raise ValueError(f"{table.code} is not a record-level table")
    values = {
        copysql.EXPORT_ID: _export_id(release, participant),
        copysql.SITE: F(f"{participant}__site__code"),
        copysql.TZ: F(f"{participant}__site__time_zone"),
        copysql.DAY0: _day0(participant),
        **{
            copysql.source_alias(index): F(column.source)
            for index, column in enumerate(table.columns)
            if column.source
        },
    }
    if table.code in CRF_MODELS:
        values[copysql.VISIT] = F("visit__code")
        values[copysql.VISIT_DAY] = F("visit__day")
    if table.code == ADVERSE_EVENTS:
        values[copysql.NEEDS_CODING] = F("needs_coding")
    values.update({copysql.order_alias(i): F(name) for i, name in enumerate(order)})
    ordering = [copysql.order_alias(i) for i in range(len(order))]
    queryset = (
        model.objects.annotate(**values)
        .filter(**{f"{copysql.EXPORT_ID}__isnull": False})
        .order_by()
        .values(*values)
    )
    return queryset, ordering


def record_statement(release, table: Table) -> tuple[str, str]:
    """(database alias, SQL) of a record-level table's de-identifying query: its columns are
    the file's cells, its rows the file's rows in order (exports.copysql)."""
    queryset, ordering = record_queryset(release, table)
    connection = connections[queryset.db]
    connection.ensure_connection()
    sql, params = queryset.query.sql_with_params()
    inner = psycopg.ClientCursor(connection.connection).mogrify(sql, params)
    statement = copysql.select_sql(
        table,
        inner,
        order=ordering,
        # The AEs have their number; the medications are numbered in their order.
        numbered="medication_number" if table.code == CONCOMITANT_MEDICATIONS else "",
        coded_terms=table.code == ADVERSE_EVENTS,
    )
    return queryset.db, statement


def _record_tables(all_tables: list[Table]) -> list[Table]:
    return [t for t in all_tables if t.code != PARTICIPANTS]


def _record_groups(path: Path, table: Table, odm: OdmWriter, *, section: int, table_index: int):
    """The rows of a table's CSV just written by COPY, as the ODM's ItemGroupData strings keyed
    for the merge by export ID: (export ID, section, order, table index, row number, event,
    table code, ItemGroupData, None). The values as the ODM wants them (kernel.cells.neutralize
    undone on text cells: the leading ' of a neutralised formula is the CSV's, not the value's)."""
    code = table.code
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        names = next(reader)
        place = {name: index for index, name in enumerate(names)}
        subject = place["export_id"]
        seq = place["visit_day" if section == 2 else REPEATING[code]]
        visit = place.get("visit")
        text = {place[c.name] for c in table.columns if not c.numeric}
        items = [place[c.name] for c in odm.items(table)]
        texts = [i in text for i in items]
        for number, cells in enumerate(reader):
            values = [cells[i] for i in items]
            if "'" in "".join(values):  # perhaps a neutralised formula (rare)
                values = [
                    _unneutralized(v) if is_text else v
                    for v, is_text in zip(values, texts, strict=True)
                ]
            if section == 2:
                event = cells[visit]  # type: ignore[index]
                if visit in text:
                    event = _unneutralized(event)
                key = ""
            else:
                event, key = STUDY_EVENT, cells[seq]
            order = int(cells[seq]) if cells[seq] else 0
            group = odm.item_group(code, values, key)
            yield cells[subject], section, order, table_index, number, event, code, group, None


_FORMULA_STARTS_SET = frozenset(FORMULA_STARTS)


def _unneutralized(cell: str) -> str:
    return cell[1:] if cell[:1] == "'" and cell[1:2] in _FORMULA_STARTS_SET else cell


def _participant_groups(release, table: Table, odm: OdmWriter, *, table_index: int, with_arm: bool):
    """The participant rows (a dict each, for participants.csv) keyed like `_record_groups`."""
    for number, row in enumerate(_participant_rows(release, table, with_arm=with_arm)):
        group = odm.item_group(table.code, odm.row_values(table.code, row))
        yield row["export_id"], 0, 0, table_index, number, STUDY_EVENT, table.code, group, row


def _merged(release, all_tables: list[Table], directory: Path, odm: OdmWriter, *, with_arm: bool):
    """One stream over every table, sorted by export ID; within a participant: the participant
    row, the AEs and medications, then the visits in day order (the key's first five items;
    the table index and row number make every key distinct, so the rest is never compared).
    The participants from the database (their endpoints are computed here), every other table
    from its CSV, so the ODM holds the very values of the files."""
    streams = []
    for index, table in enumerate(all_tables):
        if table.code == PARTICIPANTS:
            streams.append(
                _participant_groups(release, table, odm, table_index=index, with_arm=with_arm)
            )
        else:
            section = 1 if table.code in REPEATING else 2
            streams.append(
                _record_groups(
                    directory / table.filename, table, odm, section=section, table_index=index
                )
            )
    return heapq.merge(*streams)


def _row_total(all_tables: list[Table]) -> int:
    total = (
        Participant.objects.count()
        + AdverseEvent.objects.count()
        + ConcomitantMedication.objects.count()
    )
    return total + sum(
        CRF_MODELS[t.code].objects.count() for t in all_tables if t.code in CRF_MODELS
    )


def export_write(
    *, run: ExportRun, directory: Path, on_progress: Callable[[int], None] | None = None
) -> dict:
    """Write every file of the export into `directory`; record counts and checksums on `run`.

    Returns {"files": [names], "checksums": {name: sha256}, "row_counts": {name: n}}.
    """
    release = run.release
    pseudonyms_ensure(release=release)
    _heartbeat(run.pk)
    # The reading, minutes of it for a large trial, from the replica when there is one and it
    # has replayed the export IDs just written (kernel/replica.py).
    with reading_from_replica(wait_seconds=REPLICA_WAIT_SECONDS):
        return _export_files(run=run, directory=directory, on_progress=on_progress)


# How long an export waits for the replica to replay its export IDs before reading the primary.
REPLICA_WAIT_SECONDS = 5


class StatisticalFilesMaker:
    """Writes each table's Stata, SPSS and SAS files (`statfiles.write_table_files`) in a child
    process, forked before the export reads anything, a table at a time as its CSV is complete.
    A process, not a thread: ReadStat's writer is Python for every cell and would hold the
    interpreter lock the COPY loop needs (measured: COPY twice as slow; docs/performance.md).
    The child uses no database connection and ends with os._exit (billiard), so the
    connections it inherited are left to the parent. Its error (a full disk…) is raised here by
    `finish`; an error here ends the child. Where fork does not exist, the files are written in
    this process, one after the other."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.process: Any = None  # a billiard Process

    def __enter__(self) -> StatisticalFilesMaker:
        # billiard (Celery's fork of multiprocessing), not the standard library's: in a Celery
        # prefork worker the current process is daemonic, and the standard library refuses a
        # daemonic process a child (tests/test_exports_failures.py).
        if "fork" in billiard.get_all_start_methods():
            context = billiard.get_context("fork")
            self.connection, child = context.Pipe()
            self.process = context.Process(
                target=_make_statistical_files, args=(self.directory, child)
            )
            self.process.start()
            child.close()
        return self

    def make(self, table: Table) -> None:
        if self.process is None:
            statfiles.write_table_files(self.directory, table)
        else:
            self.connection.send(table)

    def finish(self) -> None:
        """Wait for the files of every table handed to `make`; raise the child's error."""
        if self.process is None:
            return
        self.connection.send(None)
        try:
            error = self.connection.recv()
        except EOFError:  # the child died without a word (killed, out of memory)
            error = ChildProcessError("the statistical files' process ended")
        self.process.join()
        self.process = None
        if error is not None:
            raise error

    def __exit__(self, *exc_info) -> None:
        if self.process is not None:  # an error in this process: the child is not needed
            self.process.kill()
            self.process.join()
            self.process = None
        if hasattr(self, "connection"):
            self.connection.close()


def _make_statistical_files(directory: Path, connection) -> None:
    """The child process of StatisticalFilesMaker: a table at a time until None, then a last
    message, None or the error that stopped it."""
    error: BaseException | None = None
    while (table := connection.recv()) is not None:
        if error is None:
            try:
                statfiles.write_table_files(directory, table)
            except Exception as failure:  # noqa: BLE001 - handed to the parent, which raises it
                error = failure
    connection.send(error)
    connection.close()


def _write_tables(
    *,
    run: ExportRun,
    directory: Path,
    on_progress: Callable[[int], None] | None,
    all_tables: list[Table],
    counts: dict[str, int],
    total: int,
    created,
    with_arm: bool,
    written: Callable[[Table], object],
) -> None:
    """Write every table's CSV and the ODM; `written(table)` as soon as a CSV is complete."""
    release = run.release
    # The record-level tables: PostgreSQL writes each file with COPY of its de-identifying
    # query (exports.copysql), streamed to disk in chunks.
    done = 0
    for table in _record_tables(all_tables):
        alias, statement = record_statement(release, table)
        counts[table.filename] = copysql.copy_to_file(
            connections[alias], statement, directory / table.filename
        )
        done += counts[table.filename]
        written(table)
        _heartbeat(run.pk, progress=min(99, done * 50 // total))
    # The participants (their endpoints computed by the rules of outcomes.scores) and the ODM,
    # in one pass over the participants and the files just written, merged by export ID.
    participants = next(t for t in all_tables if t.code == PARTICIPANTS)
    with (
        open(directory / participants.filename, "w", newline="", encoding="utf-8") as handle,
        open(directory / ODM_FILE, "wb") as odm_handle,
    ):
        writer = csv.writer(handle)
        writer.writerow([c.name for c in participants.columns])
        odm = OdmWriter(
            odm_handle,
            tables=all_tables,
            file_oid=f"{TRIAL.acronym}.IPD.R{release.number}.{run.pk}",
            created=created,
        )
        odm.start()
        merged = _merged(release, all_tables, directory, odm, with_arm=with_arm)
        for subject, _section, _order, _index, _number, event, code, group, row in merged:
            if row is not None:  # a participant
                writer.writerow(
                    [neutralize(row.get(c.name), numeric=c.numeric) for c in participants.columns]
                )
                counts[participants.filename] += 1
            odm.group(subject, event, code, group)
            done += 1
            if done % PROGRESS_EVERY == 0:
                percent = min(99, done * 50 // total)
                _heartbeat(run.pk, progress=percent)
                if on_progress:
                    on_progress(percent)
        odm.finish()
    written(participants)
    _heartbeat(run.pk)


def _export_files(
    *, run: ExportRun, directory: Path, on_progress: Callable[[int], None] | None
) -> dict:
    release = run.release
    with_arm = allocation.trial_unblinded()
    all_tables = tables(with_arm=with_arm)
    created = timezone.now()
    total = max(_row_total(all_tables), 1)
    counts = {t.filename: 0 for t in all_tables}
    # The Stata, SPSS and SAS files of a table (issue 22) are made from its CSV once written, by
    # a child process (StatisticalFilesMaker): those of the record-level tables while PostgreSQL
    # runs the next COPY and this process writes the ODM, the participants' after.
    statfiles.make_folders(directory)
    with StatisticalFilesMaker(directory) as maker:
        _write_tables(
            run=run, directory=directory, on_progress=on_progress, all_tables=all_tables,
            counts=counts, total=total, created=created, with_arm=with_arm, written=maker.make,
        )  # fmt: skip
        maker.finish()
    _write_dictionary(directory / DICTIONARY_FILE, all_tables)
    files = [t.filename for t in all_tables] + [DICTIONARY_FILE, ODM_FILE]
    changes = changes_after_unblinding(release, all_tables)
    if allocation.trial_unblinded_at() is not None:
        _write_changes(directory / CHANGES_FILE, changes)
        files.append(CHANGES_FILE)
    # The same tables for Stata, SPSS, SAS and R, made from the CSVs just written (issue 22).
    files += [name for table in all_tables for name in statfiles.table_files(table)]
    files += statfiles.write_programs(directory, all_tables)
    _heartbeat(run.pk)
    checksums = {name: sha256_of(directory / name) for name in files}
    (directory / README_FILE).write_text(
        readme.readme_text(
            run=run,
            created=created,
            software_version=software_version(),
            with_arm=with_arm,
            all_tables=all_tables,
            checksums=checksums,
            row_counts=counts,
            changes_after_unblinding=changes
            if allocation.trial_unblinded_at() is not None
            else None,
        ),
        encoding="utf-8",
    )
    checksums[README_FILE] = sha256_of(directory / README_FILE)
    files.append(README_FILE)
    ExportRun.objects.filter(pk=run.pk).update(
        unblinded=with_arm, row_counts=counts, file_checksums=checksums
    )
    return {"files": files, "checksums": checksums, "row_counts": counts}


CHANGES_FILE = "changes_after_unblinding.csv"
CHANGES_COLUMNS = ["export_id", "file", "visit", "variable", "old_value", "new_value"]


def changes_after_unblinding(release, all_tables: list[Table]) -> list[dict]:
    """Every exported CRF value changed after the trial-level unblinding, from the audit trail
    (issue 20): a reader must know which values were changed by someone who could know the arms.
    Only columns the export carries, as it carries them (study days, never dates). The vital
    signs at screening (in participants.csv) too."""
    since = allocation.trial_unblinded_at()
    if since is None:
        return []
    pseudonyms = dict(
        ExportPseudonym.objects.filter(release=release).values_list("participant_id", "export_id")
    )
    rows = []
    for table in all_tables:
        if table.code not in CRF_MODELS:
            continue
        columns = {c.source: c for c in table.columns if c.source}
        model = CRF_MODELS[table.code]
        changed = model.history.filter(history_date__gt=since, history_type="~").order_by(
            "history_date", "history_id"
        )
        for new in changed:
            old = new.prev_record
            if old is None:
                continue
            visit = Visit.objects.select_related("participant__site").get(pk=new.visit_id)
            rows += _changed_values(
                new, old, columns, visit.participant, table.filename, visit.code, pseudonyms
            )
    rows += _screening_vitals_changes(since, all_tables, pseudonyms)
    return sorted(rows, key=lambda r: (r["export_id"], r["file"], r["visit"], r["variable"]))


def _screening_vitals_changes(since, all_tables: list[Table], pseudonyms: dict) -> list[dict]:
    """The vital signs at screening changed after unblinding (issue 19): exported in
    participants.csv (`screening_` columns), listed as the CRFs' changes are, with the visit
    "screening". A screening never enrolled is in no export, nor here."""
    table = next(
        (t for t in all_tables if any(c.name.startswith(SCREENING_VITALS) for c in t.columns)),
        None,
    )
    if table is None:
        return []
    columns = {
        c.source: c for c in table.columns if c.source and c.name.startswith(SCREENING_VITALS)
    }
    rows = []
    changed = ScreeningVitalSigns.history.filter(history_date__gt=since, history_type="~").order_by(
        "history_date", "history_id"
    )
    for new in changed:
        old = new.prev_record
        participant = (
            Participant.objects.filter(screening_id=new.screening_id).select_related("site").first()
        )
        if old is None or participant is None:
            continue
        rows += _changed_values(
            new, old, columns, participant, table.filename, "screening", pseudonyms
        )
    return rows


def _changed_values(
    new, old, columns: dict, participant, filename: str, visit_code: str, pseudonyms: dict
) -> list[dict]:
    """The rows of CHANGES_FILE for one audited change: each exported column it changed, old and
    new value as the export writes them (study days from the participant's Day 0)."""
    day0 = (
        Visit.objects.filter(participant=participant, day=0)
        .values_list("target_date", flat=True)
        .first()
    )
    tz = participant.site.time_zone
    rows = []
    for change in new.diff_against(old).changes:
        column = columns.get(change.field)
        if column is None:
            continue
        rows.append(
            {
                "export_id": pseudonyms.get(participant.pk, ""),
                "file": filename,
                "visit": visit_code,
                "variable": column.name,
                "old_value": _value(column, change.old, day0=day0, tz=tz),
                "new_value": _value(column, change.new, day0=day0, tz=tz),
            }
        )
    return rows


def _write_changes(path: Path, rows: list[dict]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(CHANGES_COLUMNS)
        for row in rows:
            writer.writerow([neutralize(row[c]) for c in CHANGES_COLUMNS])


def _write_dictionary(path: Path, all_tables: list[Table]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["file", "variable", "label", "type", "unit", "allowed_values"])
        for table in all_tables:
            for column in table.columns:
                allowed = "; ".join(f"{value} = {label}" for value, label in column.codes)
                writer.writerow(
                    [
                        neutralize(cell)
                        for cell in (
                            table.filename,
                            column.name,
                            column.label,
                            column.kind,
                            column.unit,
                            allowed,
                        )
                    ]
                )
