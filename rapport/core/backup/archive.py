"""The archive: its members, its manifest and its checksums.

Layout of a backup archive::

    manifest.json        what the archive holds (see ``Manifest``)
    SHA256SUMS           "<sha256>  <member>" for every other member, manifest included
    database.sqlite3     SQLite: the database, one self-contained file
    database.pgdump      PostgreSQL: pg_dump's custom format
    media/...            the uploaded files (imported files, photos)
    secret_key           only when Rapport generated the key in its data directory
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Any

FORMAT = 1
MANIFEST = "manifest.json"
CHECKSUMS = "SHA256SUMS"
SQLITE_MEMBER = "database.sqlite3"
POSTGRES_MEMBER = "database.pgdump"
SECRET_KEY_MEMBER = "secret_key"
MEDIA_PREFIX = "media/"


class BackupError(Exception):
    """A backup or restore that cannot go ahead; the message says why and what to do."""


@dataclass
class Manifest:
    """What an archive holds. ``migrations`` maps each app to the migrations applied in
    the snapshot; ``tables`` maps each table to its row count in the snapshot."""

    rapport_version: str
    engine: str  # "sqlite" or "postgresql"
    created_at: str  # ISO 8601, UTC
    database: str  # the member holding the database
    migrations: dict[str, list[str]]
    tables: dict[str, int]
    media_files: int
    secret_key: dict[str, Any]
    server_version: str = ""  # PostgreSQL: the server the dump was taken from
    dump_version: str = ""  # PostgreSQL: the pg_dump that wrote it
    format: int = FORMAT
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), indent=2, sort_keys=True).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> Manifest:
        try:
            data = json.loads(raw)
            if data.get("format") != FORMAT:
                raise BackupError(
                    f"This archive has format {data.get('format')!r}; this Rapport reads "
                    f"format {FORMAT}. Restore it with the Rapport version that made it "
                    f"({data.get('rapport_version', 'unknown')})."
                )
            known = set(cls.__dataclass_fields__)
            return cls(**{k: v for k, v in data.items() if k in known})
        except (ValueError, TypeError, AttributeError) as exc:
            raise BackupError(f"{MANIFEST} is not a Rapport manifest: {exc}.") from None


def sha256_of(handle: IO[bytes]) -> str:
    digest = hashlib.sha256()
    for block in iter(lambda: handle.read(1 << 20), b""):
        digest.update(block)
    return digest.hexdigest()


class _HashingReader:
    """Reads through to a file and hashes what was read."""

    def __init__(self, handle: IO[bytes]) -> None:
        self.handle = handle
        self.digest = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self.handle.read(size)
        self.digest.update(data)
        return data


class ArchiveWriter:
    """Writes members to a ``.tar.gz`` and keeps their checksums for ``SHA256SUMS``."""

    def __init__(self, path: Path) -> None:
        self.tar = tarfile.open(path, "w:gz")  # noqa: SIM115 - closed by close()
        self.sums: dict[str, str] = {}

    def add_file(self, name: str, source: Path) -> None:
        """Add ``source`` as ``name``, hashing exactly the bytes written: the file is
        opened once, so one changed while the backup runs cannot leave a checksum that
        disagrees with the archived copy (a file that shrinks meanwhile fails the backup)."""
        with source.open("rb") as handle:
            info = self.tar.gettarinfo(arcname=name, fileobj=handle)
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            info.mode = 0o600
            reader = _HashingReader(handle)
            self.tar.addfile(info, reader)
        self.sums[name] = reader.digest.hexdigest()

    def add_bytes(self, name: str, data: bytes) -> None:
        self.sums[name] = hashlib.sha256(data).hexdigest()
        info = tarfile.TarInfo(name)
        info.size = len(data)
        info.mode = 0o600
        info.mtime = int(time.time())
        self.tar.addfile(info, io.BytesIO(data))

    def close(self) -> None:
        sums = "".join(f"{digest}  {name}\n" for name, digest in sorted(self.sums.items()))
        info = tarfile.TarInfo(CHECKSUMS)
        info.size = len(sums.encode())
        info.mode = 0o600
        info.mtime = int(time.time())
        self.tar.addfile(info, io.BytesIO(sums.encode()))
        self.tar.close()


def _safe_member_name(name: str) -> bool:
    path = PurePosixPath(name)
    return bool(name) and not path.is_absolute() and ".." not in path.parts


def verify_archive(path: Path) -> dict[str, str]:
    """Check every member against ``SHA256SUMS`` before anything is restored.

    Returns the checksums. Raises BackupError for a file that is not an archive, a
    member that is missing, unexpected, not a plain file, outside the archive's folder,
    or whose content does not match its checksum.
    """
    try:
        with tarfile.open(path, "r:gz") as tar:
            members = tar.getmembers()
            sums_member = next((m for m in members if m.name == CHECKSUMS), None)
            if sums_member is None:
                raise BackupError(f"{path}: no {CHECKSUMS} in the archive; it is not a backup.")
            expected = _read_sums(tar, sums_member)
            seen: set[str] = set()
            for member in members:
                if member.name == CHECKSUMS:
                    continue
                if not member.isfile() or not _safe_member_name(member.name):
                    raise BackupError(
                        f"{path}: unexpected member {member.name!r}; the archive was altered."
                    )
                if member.name not in expected:
                    raise BackupError(
                        f"{path}: {member.name} has no checksum; the archive was altered."
                    )
                handle = tar.extractfile(member)
                assert handle is not None  # a regular file
                if sha256_of(handle) != expected[member.name]:
                    raise BackupError(
                        f"{path}: {member.name} does not match its SHA-256 checksum; the "
                        "archive is damaged. Nothing was restored."
                    )
                seen.add(member.name)
            missing = sorted(set(expected) - seen)
            if missing:
                raise BackupError(f"{path}: missing from the archive: {', '.join(missing)}.")
            if MANIFEST not in seen:
                raise BackupError(f"{path}: no {MANIFEST} in the archive; it is not a backup.")
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise BackupError(f"{path}: not a readable backup archive ({exc}).") from None
    return expected


def _read_sums(tar: tarfile.TarFile, member: tarfile.TarInfo) -> dict[str, str]:
    handle = tar.extractfile(member)
    if handle is None:
        raise BackupError(f"{CHECKSUMS} is not a file; the archive was altered.")
    sums: dict[str, str] = {}
    for line in handle.read().decode("utf-8", "replace").splitlines():
        digest, _, name = line.partition("  ")
        if len(digest) != 64 or not name:
            raise BackupError(f"{CHECKSUMS}: unreadable line {line[:80]!r}.")
        sums[name] = digest
    return sums


def read_manifest(path: Path) -> Manifest:
    with tarfile.open(path, "r:gz") as tar:
        handle = tar.extractfile(MANIFEST)
        if handle is None:
            raise BackupError(f"{path}: no {MANIFEST}.")
        return Manifest.from_json(handle.read())


def row_count_differences(expected: dict[str, int], found: dict[str, int]) -> str:
    """The tables whose row count in ``found`` is not the manifest's, as one phrase
    ("contacts_contact has 3 rows, expected 4, …"); empty when all agree."""
    return ", ".join(
        f"{table} has {found[table]} rows, expected {rows}"
        if table in found
        else f"{table} is missing, expected {rows} rows"
        for table, rows in sorted(expected.items())
        if found.get(table) != rows
    )


def extract_member(tar: tarfile.TarFile, name: str, target: Path) -> None:
    """Write one (verified) member to ``target``, owner-only."""
    handle = tar.extractfile(name)
    if handle is None:
        raise BackupError(f"{name} is not a file in the archive.")
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("wb") as out:
        for block in iter(lambda: handle.read(1 << 20), b""):
            out.write(block)
