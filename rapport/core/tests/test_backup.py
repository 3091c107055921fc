"""`rapport backup` and `rapport restore`: a whole installation out and back, verified."""

from __future__ import annotations

import hashlib
import io
import json
import os
import sqlite3
import subprocess
import sys
import tarfile
import uuid
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.migrations.loader import MigrationLoader

from rapport.core.backup.archive import Manifest

DATA = Path(__file__).parents[2] / "ingest" / "tests" / "data"
RAPPORT = [sys.executable, "-m", "rapport.cli"]


def _on_sqlite() -> bool:
    return connection.vendor == "sqlite"


def _archive(path: Path, members: dict[str, bytes], sums: dict[str, bytes] | None = None) -> None:
    """A hand-made archive: ``members`` and a SHA256SUMS of ``sums`` (default: members)."""
    listed = sums if sums is not None else members
    lines = "".join(f"{hashlib.sha256(v).hexdigest()}  {k}\n" for k, v in listed.items())
    with tarfile.open(path, "w:gz") as tar:
        for name, data in {**members, "SHA256SUMS": lines.encode()}.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def _manifest(**changes: Any) -> bytes:
    loader = MigrationLoader(None, ignore_no_migrations=True)
    migrations: dict[str, list[str]] = {}
    for app, name in sorted(loader.disk_migrations):
        migrations.setdefault(app, []).append(name)
    fields: dict[str, Any] = {
        "rapport_version": "0.1.0",
        "engine": "sqlite" if _on_sqlite() else "postgresql",
        "created_at": "2026-01-01T00:00:00+00:00",
        "database": "database.sqlite3",
        "migrations": migrations,
        "tables": {},
        "media_files": 0,
        "secret_key": {"included": False, "note": ""},
        **changes,
    }
    return Manifest(**fields).to_json()


def test_an_archive_whose_content_does_not_match_its_checksum_is_refused_before_anything(
    db, tmp_path
):
    archive = tmp_path / "b.tar.gz"
    good = {"manifest.json": _manifest(), "database.sqlite3": b"SQLite format 3\x00..."}
    _archive(archive, {**good, "database.sqlite3": b"SQLite format 3\x00.!."}, sums=good)
    with pytest.raises(CommandError) as exc:
        call_command("restore", str(archive))
    assert "database.sqlite3 does not match its SHA-256 checksum" in str(exc.value)
    assert "Nothing was restored" in str(exc.value)


@pytest.mark.parametrize(
    ("members", "reason"),
    [
        ({"../../etc/cron.d/x": b"*"}, "unexpected member '../../etc/cron.d/x'"),
        ({"manifest.json": b"{}", "media/extra.txt": b"x"}, "media/extra.txt has no checksum"),
    ],
)
def test_an_altered_archive_is_refused(db, tmp_path, members, reason):
    archive = tmp_path / "b.tar.gz"
    _archive(
        archive, members, sums={"manifest.json": b"{}"} if "manifest.json" in members else None
    )
    with pytest.raises(CommandError, match="archive was altered") as exc:
        call_command("restore", str(archive))
    assert reason in str(exc.value)


def test_a_restore_into_an_installation_that_holds_data_is_refused(bob, tmp_path):
    archive = tmp_path / "b.tar.gz"
    _archive(archive, {"manifest.json": _manifest(), "database.sqlite3": b"x"})
    with pytest.raises(CommandError) as exc:
        call_command("restore", str(archive))
    assert "This installation is not empty: its database has rows in access_user (1)" in str(
        exc.value
    )
    assert "Nothing was changed" in str(exc.value)


def test_an_archive_from_a_newer_version_is_refused(db, tmp_path):
    archive = tmp_path / "b.tar.gz"
    manifest = _manifest(migrations={"contacts": ["0001_initial", "0999_from_the_future"]})
    _archive(archive, {"manifest.json": manifest, "database.sqlite3": b"x"})
    with pytest.raises(CommandError, match=r"migrations this version does not have \(contacts"):
        call_command("restore", str(archive))


# -- the whole installation, out and back, through real `rapport` processes ----------------


class Installation:
    """A Rapport installation of its own: a data folder and a database of its own."""

    def __init__(self, root: Path, name: str) -> None:
        self.data_dir = root / name
        self.data_dir.mkdir()
        self.env = {**os.environ, "RAPPORT_DATA_DIR": str(self.data_dir)}
        self.env.pop("SECRET_KEY", None)
        self.env.pop("SECRET_KEY_FILE", None)
        if _on_sqlite():
            self.database: str | Path = self.data_dir / "rapport.sqlite3"
            self.env["DATABASE_URL"] = f"sqlite:///{self.database}"
        else:
            db = settings.DATABASES["default"]
            self.server = {"host": db["HOST"], "port": db["PORT"], "user": db["USER"]}
            self.database = f"test_rapport_backup_{uuid.uuid4().hex[:12]}"
            with psycopg.connect(dbname="postgres", autocommit=True, **self.server) as conn:
                conn.execute(f'CREATE DATABASE "{self.database}"')
            self.env["DATABASE_URL"] = (
                f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{self.database}"
            )

    def drop(self) -> None:
        if not _on_sqlite():
            with psycopg.connect(dbname="postgres", autocommit=True, **self.server) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')

    def rapport(self, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [*RAPPORT, *args], env=self.env, capture_output=True, text=True, timeout=600
        )
        if ok:
            assert done.returncode == 0, done.stderr
        return done

    def tables(self) -> dict[str, tuple[int, str]]:
        """Every table's row count and a checksum of its content, in any row order."""
        if isinstance(self.database, Path):
            with closing(sqlite3.connect(self.database)) as db:
                names = [
                    n
                    for (n,) in db.execute(
                        "SELECT name FROM sqlite_master WHERE type = 'table' "
                        "AND name NOT LIKE 'sqlite_%'"
                    )
                ]
                return {n: _summary(db.execute(f'SELECT * FROM "{n}"')) for n in names}
        with psycopg.connect(dbname=self.database, **self.server) as conn:
            names = [
                n
                for (n,) in conn.execute(
                    "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
                )
            ]
            return {n: _summary(conn.execute(f'SELECT * FROM "{n}"')) for n in names}


def _summary(rows: Iterator[Any]) -> tuple[int, str]:
    lines = sorted(repr(tuple(row)) for row in rows)
    return len(lines), hashlib.sha256("\n".join(lines).encode()).hexdigest()


@pytest.fixture
def installations(tmp_path) -> Iterator[list[Installation]]:
    made: list[Installation] = []
    yield made
    for installation in made:
        installation.drop()


@pytest.mark.slow
def test_a_backup_restored_into_a_new_installation_holds_every_row_and_file(
    tmp_path, installations
):
    source = Installation(tmp_path, "source")
    installations.append(source)
    source.env["RAPPORT_ADMIN_PASSWORD"] = "a-long-admin-password"
    source.rapport("setup")  # the 500 demo people, their organizations and history
    source.rapport("import", str(DATA / "google_contacts.csv"), "--no-progress")
    uploaded = list((source.data_dir / "media").rglob("*.csv"))
    assert len(uploaded) == 1

    archive = tmp_path / "rapport.tar.gz"
    made = source.rapport("backup", str(archive))
    assert f"Wrote {archive}" in made.stdout
    assert "1 uploaded files" in made.stdout
    with tarfile.open(archive) as tar:
        manifest = json.loads(tar.extractfile("manifest.json").read())  # type: ignore[union-attr]
    assert manifest["engine"] == ("sqlite" if _on_sqlite() else "postgresql")
    assert manifest["tables"]["contacts_contact"] > 500
    assert manifest["secret_key"]["included"] is True
    assert "0003_scan_heartbeat" in manifest["migrations"]["duplicates"]

    target = Installation(tmp_path, "target")
    installations.append(target)
    restored = target.rapport("restore", str(archive))
    assert "checksums and row counts verified" in restored.stdout
    assert "The secret key was restored" in restored.stdout
    assert target.tables() == source.tables()
    copied = target.data_dir / "media" / uploaded[0].relative_to(source.data_dir / "media")
    assert copied.read_bytes() == uploaded[0].read_bytes()
    key = (target.data_dir / "secret_key").read_text()
    assert key == (source.data_dir / "secret_key").read_text()

    # What the restored installation serves: the same people, by the same admin.
    listed = target.rapport("contacts", "list", "--json").stdout
    assert listed == source.rapport("contacts", "list", "--json").stdout

    again = target.rapport("restore", str(archive), ok=False)
    assert again.returncode == 1
    assert "This installation is not empty" in again.stderr


@pytest.mark.slow
def test_an_archive_older_than_the_code_is_migrated_after_the_restore(tmp_path, installations):
    source = Installation(tmp_path, "source")
    installations.append(source)
    source.env["RAPPORT_ADMIN_PASSWORD"] = "a-long-admin-password"
    source.rapport("setup", "--no-demo")
    source.rapport("migrate", "duplicates", "0002")  # as an older version left it
    archive = tmp_path / "old.tar.gz"
    source.rapport("backup", str(archive))

    target = Installation(tmp_path, "target")
    installations.append(target)
    restored = target.rapport("restore", str(archive))
    assert "Brought the database up to date: applied" in restored.stdout
    assert "duplicates.0003_scan_heartbeat" in restored.stdout
    pending = target.rapport("migrate", "--check", ok=False)
    assert pending.returncode == 0, pending.stdout


def _fake_tool(folder: Path, name: str, version_line: str) -> None:
    tool = folder / name
    tool.write_text(f"#!/bin/sh\necho '{version_line}'\n")
    tool.chmod(0o755)


def test_a_pg_dump_older_than_the_server_is_refused_with_what_to_install(tmp_path, monkeypatch):
    from rapport.core.backup import BackupError
    from rapport.core.backup.postgres import tool_version

    _fake_tool(tmp_path, "pg_dump", "pg_dump (PostgreSQL) 13.14")
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(BackupError) as exc:
        tool_version("pg_dump", 15)
    assert "is version 13, older than the PostgreSQL 15 server" in str(exc.value)
    assert "apt-get install postgresql-client-15" in str(exc.value)
    _fake_tool(tmp_path, "pg_dump", "pg_dump (PostgreSQL) 16.2")
    assert tool_version("pg_dump", 15) == (str(tmp_path / "pg_dump"), 16)


def test_missing_postgresql_client_tools_are_named(tmp_path, monkeypatch):
    from rapport.core.backup import BackupError
    from rapport.core.backup.postgres import tool_version

    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(
        BackupError, match="pg_restore was not found on PATH. Install the PostgreSQL"
    ):
        tool_version("pg_restore", 15)


# -- a restore is all or nothing ------------------------------------------------------------


@pytest.fixture(scope="module")
def small_backup(tmp_path_factory) -> Iterator[Path]:
    """A real archive of a small installation: the admin, and one imported file whose
    contacts and uploaded file it holds."""
    root = tmp_path_factory.mktemp("small")
    source = Installation(root, "source")
    try:
        source.env["RAPPORT_ADMIN_PASSWORD"] = "a-long-admin-password"
        source.rapport("setup", "--no-demo")
        source.rapport("import", str(DATA / "google_contacts.csv"), "--no-progress")
        archive = root / "small.tar.gz"
        source.rapport("backup", str(archive))
        yield archive
    finally:
        source.drop()


def _rewritten(archive: Path, target: Path, change: Any) -> None:
    """A copy of ``archive`` whose members ``change`` alters, with SHA256SUMS computed
    afresh: every checksum matches, only what a restore does next can catch it."""
    with tarfile.open(archive) as tar:
        members = {
            m.name: tar.extractfile(m).read()  # type: ignore[union-attr]
            for m in tar.getmembers()
            if m.name != "SHA256SUMS"
        }
    change(members)
    _archive(target, members)


def _damage_the_database(members: dict[str, bytes]) -> None:
    if _on_sqlite():
        # The second half of the pages zeroed: SQLite copies such a file page by page
        # without complaint; only reading it shows the damage.
        data = members["database.sqlite3"]
        half = len(data) // 2
        members["database.sqlite3"] = data[:half] + bytes(len(data) - half)
    else:
        # Cut short: the table of contents (at the front) stays readable, the data at the
        # end does not, so pg_restore fails part-way through the restore.
        members["database.pgdump"] = members["database.pgdump"][:-1000]


def _count_one_contact_too_many(members: dict[str, bytes]) -> None:
    manifest = json.loads(members["manifest.json"])
    manifest["tables"]["contacts_contact"] += 1
    members["manifest.json"] = json.dumps(manifest).encode()


def _add_an_upload_no_file_system_can_name(members: dict[str, bytes]) -> None:
    members["media/imports/" + "x" * 300 + ".csv"] = b"name\nAda\n"


def _state(installation: Installation) -> tuple[Any, ...]:
    """Everything a restore may change: every table, and every file of the data folder
    (SQLite's own -wal and -shm files aside) with its content."""
    files = {
        path.relative_to(installation.data_dir).as_posix(): (
            path.read_bytes() if path.is_file() and path.suffix != ".sqlite3" else None
        )
        for path in installation.data_dir.rglob("*")
        if not path.name.endswith(("-wal", "-shm"))
    }
    return installation.tables(), files


@pytest.mark.slow
@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        pytest.param(
            _damage_the_database,
            {
                "sqlite": "The archive's database is damaged: SQLite",
                "postgresql": "Restoring the database failed (pg_restore: could not read",
            },
            id="damaged-database",
        ),
        pytest.param(
            _count_one_contact_too_many,
            {
                "sqlite": "does not hold what the manifest lists: contacts_contact has ",
                "postgresql": "does not hold what the manifest lists: contacts_contact has ",
            },
            id="row-counts-disagree",
        ),
        pytest.param(
            _add_an_upload_no_file_system_can_name,
            {
                "sqlite": "Cannot write the uploaded file media/imports/xxx",
                "postgresql": "Cannot write the uploaded file media/imports/xxx",
            },
            id="upload-cannot-be-written",
        ),
    ],
)
def test_a_restore_that_fails_part_way_leaves_the_installation_as_it_was(
    tmp_path, installations, small_backup, damage, reason
):
    damaged = tmp_path / "damaged.tar.gz"
    _rewritten(small_backup, damaged, damage)
    target = Installation(tmp_path, "target")
    installations.append(target)
    # An installation as `restore` accepts it: migrated, holding only what `migrate`
    # writes (on SQLite, the full-text index's own bookkeeping rows too).
    target.rapport("migrate")
    before = _state(target)
    assert before[0]["auth_permission"][0] > 0

    failed = target.rapport("restore", str(damaged), ok=False)
    assert failed.returncode == 1, failed.stdout
    assert _state(target) == before
    assert reason["sqlite" if _on_sqlite() else "postgresql"] in failed.stderr
    assert "Nothing was changed." in failed.stderr
    assert "Traceback" not in failed.stderr

    # Nothing half-done stands in the way: the intact archive restores.
    restored = target.rapport("restore", str(small_backup))
    assert "checksums and row counts verified" in restored.stdout
    assert target.tables()["contacts_contact"][0] > 0
    assert len(list((target.data_dir / "media").rglob("*.csv"))) == 1


def test_uploaded_files_are_unpacked_aside_and_renamed_into_place(tmp_path):
    from rapport.core.backup.files import STAGING_PREFIX, StagedMedia

    media_root = tmp_path / "media"
    (media_root / "imports" / "2025" / "12").mkdir(parents=True)  # emptied by deletions
    archive = tmp_path / "b.tar.gz"
    _archive(archive, {"media/imports/2026/01/a.csv": b"name\nAda\n", "media/photos/p.jpg": b"j"})
    with StagedMedia(media_root) as media, tarfile.open(archive) as tar:
        assert media.folder.parent == tmp_path and media.folder.name.startswith(STAGING_PREFIX)
        assert media.unpack(tar) == 2
        assert sorted(p.name for p in media_root.rglob("*") if p.is_file()) == []
        media.switch()
    assert (media_root / "imports" / "2026" / "01" / "a.csv").read_bytes() == b"name\nAda\n"
    assert (media_root / "photos" / "p.jpg").read_bytes() == b"j"
    assert not (media_root / "imports" / "2025").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(STAGING_PREFIX)] == []
