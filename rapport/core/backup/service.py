"""``backup_create`` and ``backup_restore``: the two entry points of `rapport backup/restore`."""

from __future__ import annotations

import os
import tarfile
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.db import connection, connections
from django.db.migrations.loader import MigrationLoader

from rapport.core.backup import postgres, sqlite
from rapport.core.backup.archive import (
    MANIFEST,
    MEDIA_PREFIX,
    POSTGRES_MEMBER,
    SECRET_KEY_MEMBER,
    SQLITE_MEMBER,
    ArchiveWriter,
    BackupError,
    Manifest,
    extract_member,
    read_manifest,
    verify_archive,
)
from rapport.core.backup.files import STAGING_PREFIX, StagedMedia, remove_leftovers

# Filled by `migrate` itself: present in an installation that holds no data yet.
SCHEMA_TABLES = frozenset({"django_migrations", "django_content_type", "auth_permission"})


@dataclass
class BackupReport:
    """What ``backup_create`` wrote."""

    path: Path
    manifest: Manifest
    size: int


@dataclass
class RestoreReport:
    """What ``backup_restore`` did; ``notes`` are things the administrator must know."""

    manifest: Manifest
    migrated: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _engine() -> str:
    vendor = connection.vendor
    if vendor in ("sqlite", "postgresql"):
        return vendor
    raise BackupError(f"Backups support SQLite and PostgreSQL, not {vendor}.")


def _database() -> dict[str, Any]:
    return dict(settings.DATABASES["default"])


def _sqlite_path() -> Path:
    return Path(str(settings.DATABASES["default"]["NAME"]))


def _secret_key_source() -> tuple[str, Path | None]:
    """Where the running installation's secret key comes from, and the file Rapport
    keeps it in when it generated it itself (the only case the archive includes it)."""
    if os.environ.get("SECRET_KEY"):
        return "the SECRET_KEY environment variable", None
    if os.environ.get("SECRET_KEY_FILE"):
        return f"the file named by SECRET_KEY_FILE ({os.environ['SECRET_KEY_FILE']})", None
    return "the data directory", Path(settings.DATA_DIR) / "secret_key"


def _media_files() -> list[tuple[str, Path]]:
    root = Path(settings.MEDIA_ROOT)
    if not root.is_dir():
        return []
    found = []
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if relative.parts[0].startswith(STAGING_PREFIX):
            continue  # left by a restore that was stopped (MEDIA_ROOT a mount point)
        if path.is_file() and not path.is_symlink():
            found.append((MEDIA_PREFIX + relative.as_posix(), path))
    return found


def default_backup_name(now: datetime | None = None) -> str:
    return f"rapport-backup-{(now or datetime.now(UTC)):%Y%m%d-%H%M%S}.tar.gz"


def backup_create(*, path: Path) -> BackupReport:
    """Write a backup archive of this installation to ``path`` (a new file).

    Takes an online, consistent snapshot of the database while the server and workers
    keep running; adds the uploaded files, the secret key when Rapport keeps it in its
    data directory, the manifest and the checksums. The archive appears under its name
    only once complete. Raises BackupError when ``path`` exists or the snapshot fails.
    """
    engine = _engine()
    path = path.resolve()
    if path.exists():
        raise BackupError(f"{path} already exists; choose another name.")
    if not path.parent.is_dir():
        raise BackupError(f"{path.parent}: no such directory.")
    source, key_file = _secret_key_source()
    include_key = key_file is not None and key_file.is_file()
    secret_note = (
        "The secret key (signs sessions and password-reset links) is in this archive; "
        "restore puts it back in the data directory."
        if include_key
        else f"The secret key comes from {source} and is NOT in this archive: give the "
        "restored installation the same SECRET_KEY, or everyone must sign in again."
    )
    partial = path.with_name(f".{path.name}.partial")
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=".rapport-backup-") as scratch:
        if engine == "sqlite":
            member, database = SQLITE_MEMBER, Path(scratch) / SQLITE_MEMBER
            sqlite.snapshot(_sqlite_path(), database)
            tables, migrations = sqlite.describe(database)
            server_version = dump_version = ""
        else:
            member, database = POSTGRES_MEMBER, Path(scratch) / POSTGRES_MEMBER
            tables, migrations, server_version, dump_version = postgres.snapshot(
                _database(), database
            )
        media = _media_files()
        manifest = Manifest(
            rapport_version=version("rapport"),
            engine=engine,
            created_at=datetime.now(UTC).isoformat(timespec="seconds"),
            database=member,
            migrations=migrations,
            tables=tables,
            media_files=len(media),
            secret_key={"source": source, "included": include_key, "note": secret_note},
            server_version=server_version,
            dump_version=dump_version,
        )
        old_umask = os.umask(0o077)  # the archive holds password hashes and tokens
        try:
            writer = ArchiveWriter(partial)
            try:
                writer.add_bytes(MANIFEST, manifest.to_json())
                writer.add_file(member, database)
                for name, file in media:
                    writer.add_file(name, file)
                if include_key and key_file is not None:
                    writer.add_file(SECRET_KEY_MEMBER, key_file)
            finally:
                writer.close()
            partial.replace(path)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        finally:
            os.umask(old_umask)
    return BackupReport(path=path, manifest=manifest, size=path.stat().st_size)


def _shipped_tables() -> frozenset[str]:
    """Tables a migration fills with data Rapport ships (``ROWS_SHIPPED_BY_MIGRATIONS``
    on the model, e.g. the legal calling rules): a new installation has those rows, and
    a restore replaces the whole database, theirs included."""
    from django.apps import apps

    return frozenset(
        m._meta.db_table
        for m in apps.get_models()
        if getattr(m, "ROWS_SHIPPED_BY_MIGRATIONS", False)
    )


def _data_tables() -> dict[str, int]:
    """Tables of this installation that hold rows (other than what `migrate` writes)."""
    found: dict[str, int] = {}
    shipped = _shipped_tables()
    with connection.cursor() as cursor:
        shadows = _full_text_shadow_prefixes(cursor)
        for table in connection.introspection.table_names(cursor):
            if table in SCHEMA_TABLES or table in shipped or table.startswith(shadows):
                continue
            cursor.execute(f"SELECT COUNT(*) FROM {connection.ops.quote_name(table)}")
            (count,) = cursor.fetchone()
            if count:
                found[table] = count
    return found


def _full_text_shadow_prefixes(cursor: Any) -> tuple[str, ...]:
    """On SQLite, the prefixes of full-text indexes' internal tables ("x_data", "x_config"),
    which hold a few rows of their own in an installation that has no data."""
    if connection.vendor != "sqlite":
        return ()
    cursor.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE 'CREATE VIRTUAL TABLE%'"
    )
    return tuple(f"{name}_" for (name,) in cursor.fetchall())


def _require_empty_installation() -> None:
    with_rows = _data_tables()
    media = _media_files()
    if not with_rows and not media:
        return
    listed = ", ".join(f"{table} ({rows})" for table, rows in sorted(with_rows.items())[:5])
    more = f" and {len(with_rows) - 5} more" if len(with_rows) > 5 else ""
    what = []
    if with_rows:
        what.append(f"its database has rows in {listed}{more}")
    if media:
        what.append(f"{len(media)} uploaded files are in {settings.MEDIA_ROOT}")
    raise BackupError(
        "This installation is not empty: "
        + "; ".join(what)
        + ". Restore only into a new installation: point DATABASE_URL and RAPPORT_DATA_DIR "
        "at a new database and folder (do not run `rapport setup` there first), then run "
        "`rapport restore` again. Nothing was changed."
    )


def _migration_plan(manifest: Manifest) -> list[str]:
    """Migrations this code has that the archive lacks; BackupError when the archive
    has migrations this code does not know (it was made by a newer Rapport)."""
    loader = MigrationLoader(None, ignore_no_migrations=True)
    known = set(loader.disk_migrations)
    archived = {(app, name) for app, names in manifest.migrations.items() for name in names}
    ours = {(app, name) for app, name in archived if app in loader.migrated_apps}
    unknown = sorted(ours - known)
    if unknown:
        raise BackupError(
            f"This archive was made by Rapport {manifest.rapport_version} with migrations this "
            f"version does not have ({', '.join(f'{a}.{n}' for a, n in unknown[:5])}). "
            "Install that version or a newer one, then restore. Nothing was changed."
        )
    return sorted(f"{app}.{name}" for app, name in known - archived)


def backup_restore(*, path: Path) -> RestoreReport:
    """Restore an archive made by ``backup_create`` into this (empty) installation,
    all or nothing.

    In order, before anything is written: every member's SHA-256 is checked, the
    manifest is read, the engine must match this installation's, the archive must not
    be newer than this code, and the installation must be empty (no rows beyond what
    `migrate` writes, no uploaded files). Then the uploaded files and the secret key
    are unpacked beside their places, and the database is restored in one transaction
    that also checks every table's row count against the manifest. Only when that
    succeeded are the files and the key renamed into place. A failure up to there
    leaves the installation as it was. Last, the database is migrated when the archive
    is older than this code. Raises BackupError with the reason and what to do when
    any step refuses.
    """
    path = path.resolve()
    if not path.is_file():
        raise BackupError(f"{path}: no such file.")
    checked = verify_archive(path)
    manifest = read_manifest(path)
    if manifest.database not in checked:
        raise BackupError(
            f"{path.name}: its manifest names a database file ({manifest.database!r}) that "
            "the archive does not hold. Nothing was changed."
        )
    engine = _engine()
    if manifest.engine != engine:
        raise BackupError(
            f"This archive holds a {manifest.engine} database; this installation uses "
            f"{engine}. Restore into a {manifest.engine} installation (DATABASE_URL), then "
            "move the data with export and import if needed. Nothing was changed."
        )
    pending = _migration_plan(manifest)
    _require_empty_installation()
    report = RestoreReport(manifest=manifest)
    data_dir = Path(settings.DATA_DIR)
    data_dir.mkdir(parents=True, exist_ok=True)
    media_root = Path(settings.MEDIA_ROOT).resolve()
    remove_leftovers(data_dir, media_root.parent, media_root)
    connections.close_all()
    with (
        tempfile.TemporaryDirectory(dir=data_dir, prefix=STAGING_PREFIX) as scratch,
        StagedMedia(media_root) as media,
        tarfile.open(path, "r:gz") as tar,
    ):
        database = Path(scratch) / manifest.database
        try:
            extract_member(tar, manifest.database, database)
        except OSError as exc:
            raise BackupError(
                f"Cannot unpack the database into {scratch}: {exc}. Nothing was changed."
            ) from None
        media.unpack(tar)
        key, note = _stage_secret_key(tar, manifest, Path(scratch))
        if engine == "sqlite":
            sqlite.restore(database, _sqlite_path(), manifest.tables)
        else:
            postgres.restore(
                _database(), database, int(manifest.dump_version or 0), manifest.tables
            )
        # The database is restored: now the renames, which cannot half-happen.
        media.switch()
        if key is not None:
            key.replace(data_dir / SECRET_KEY_MEMBER)
        report.notes.append(note)
    if pending:
        call_command("migrate", interactive=False, verbosity=0)
        report.migrated = pending
    return report


def _stage_secret_key(
    tar: tarfile.TarFile, manifest: Manifest, scratch: Path
) -> tuple[Path | None, str]:
    """The archived secret key unpacked into ``scratch`` (beside the data directory's
    key file) when it is to be restored, and the note for the administrator."""
    source, key_file = _secret_key_source()
    if not manifest.secret_key.get("included"):
        return None, str(manifest.secret_key.get("note", ""))
    if key_file is None:
        return None, (
            f"The archive holds the old secret key, but this installation takes its key from "
            f"{source}; set that to the old key (see {SECRET_KEY_MEMBER} in the archive) or "
            "everyone must sign in again."
        )
    staged = scratch / SECRET_KEY_MEMBER
    extract_member(tar, SECRET_KEY_MEMBER, staged)
    staged.chmod(0o600)
    return staged, (
        f"The secret key was restored to {key_file}; restart the server and workers so "
        "they read it."
    )


def describe_manifest(manifest: Manifest) -> dict[str, Any]:
    """The manifest's figures as the CLI prints them."""
    return {
        "engine": manifest.engine,
        "created_at": manifest.created_at,
        "rapport_version": manifest.rapport_version,
        "tables": len(manifest.tables),
        "rows": sum(manifest.tables.values()),
        "media_files": manifest.media_files,
    }
