"""Backup and restore of a whole installation: `rapport backup` and `rapport restore`.

An archive (``.tar.gz``) holds a consistent snapshot of the database, the uploaded
files (``MEDIA_ROOT``), the secret key when Rapport keeps it in its data directory, a
``manifest.json`` (Rapport version, database engine, applied migrations, rows per table,
when it was made, what happened to the secret key) and ``SHA256SUMS`` covering every
other member. See ``archive`` for the layout, ``sqlite`` and ``postgres`` for how each
engine takes and restores its snapshot, ``files`` for how a restore puts the uploaded
files in place, and ``service`` for the two entry points. A restore is all or nothing.
"""

from __future__ import annotations

from rapport.core.backup.archive import BackupError
from rapport.core.backup.service import BackupReport, RestoreReport, backup_create, backup_restore

__all__ = ["BackupError", "BackupReport", "RestoreReport", "backup_create", "backup_restore"]
