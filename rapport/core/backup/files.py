"""The uploaded files of a restore: unpacked beside ``MEDIA_ROOT``, moved in by rename.

Unpacking happens before the database is restored, so a file that cannot be written (a
full disk, a name the file system refuses) stops the restore while nothing has changed.
Once the database is in place, each top-level folder of the unpacked files (``imports``,
``photos``) is renamed into ``MEDIA_ROOT``: no copying, nothing left half-written.
"""

from __future__ import annotations

import os
import shutil
import tarfile
import tempfile
from pathlib import Path
from types import TracebackType

from rapport.core.backup.archive import MEDIA_PREFIX, BackupError, extract_member

# Folders a restore unpacks into. One left by a restore that was killed is ignored, and
# removed by the next restore once that has found the installation empty.
STAGING_PREFIX = ".rapport-restore-"


def remove_leftovers(*folders: Path) -> None:
    """Delete the staging folders that a killed restore left in ``folders``."""
    for folder in folders:
        for path in folder.glob(f"{STAGING_PREFIX}*"):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)


class StagedMedia:
    """The archive's uploaded files, unpacked into a folder on ``MEDIA_ROOT``'s file
    system: beside it, or inside it when it is a mount point (which cannot be renamed).
    A symbolic link as ``MEDIA_ROOT`` is followed, so the link stays as it is."""

    def __init__(self, media_root: Path) -> None:
        self.root = media_root.resolve()
        parent = self.root if os.path.ismount(self.root) else self.root.parent
        parent.mkdir(parents=True, exist_ok=True)
        self.folder = Path(tempfile.mkdtemp(dir=parent, prefix=f"{STAGING_PREFIX}media-"))
        self.files = self.folder / "files"
        self.replaced = self.folder / "replaced"
        self.keep = False

    def __enter__(self) -> StagedMedia:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if not self.keep:
            shutil.rmtree(self.folder, ignore_errors=True)

    def unpack(self, tar: tarfile.TarFile) -> int:
        """Write every ``media/`` member (already verified) into the staging folder;
        BackupError, with nothing changed, when one cannot be written."""
        self.files.mkdir()
        count = 0
        for member in tar.getmembers():
            if not member.name.startswith(MEDIA_PREFIX):
                continue
            try:
                extract_member(tar, member.name, self.files / member.name[len(MEDIA_PREFIX) :])
            except OSError as exc:
                raise BackupError(
                    f"Cannot write the uploaded file {member.name} beside {self.root}: {exc}. "
                    "Nothing was changed."
                ) from None
            count += 1
        return count

    def switch(self) -> None:
        """Rename each unpacked top-level folder into ``MEDIA_ROOT``. What it replaces
        holds no files (the installation was checked to be empty), only empty folders.
        On failure the unpacked files are kept and the error says where."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            self.replaced.mkdir()
            for entry in sorted(self.files.iterdir()):
                target = self.root / entry.name
                if target.exists() or target.is_symlink():
                    target.rename(self.replaced / entry.name)
                entry.rename(target)
        except OSError as exc:
            self.keep = True
            raise BackupError(
                f"The database was restored, but the uploaded files could not be moved into "
                f"{self.root} ({exc}). They are in {self.files}: move them there, then "
                "start Rapport."
            ) from None
