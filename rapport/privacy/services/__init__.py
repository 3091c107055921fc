"""Every write of the privacy app: subject access exports, erasures and
anonymisations, re-admissions, retention policies and their runs. UI, API, CLI and the
worker call these and nothing else."""

from rapport.privacy.services.erasure import (
    ErasurePreview,
    PartCounts,
    contact_erase,
    erasure_preview,
    subject_erase,
)
from rapport.privacy.services.exports import (
    ArchiveTooLarge,
    subject_export_file,
    subject_export_run,
    subject_export_start,
    subject_export_write,
)
from rapport.privacy.services.retention import (
    retention_policy_delete,
    retention_policy_save,
    retention_preview,
    retention_run,
    retention_run_all,
)
from rapport.privacy.services.subjects import contact_find, subject_of

__all__ = [
    "ArchiveTooLarge",
    "ErasurePreview",
    "PartCounts",
    "contact_erase",
    "contact_find",
    "erasure_preview",
    "retention_policy_delete",
    "retention_policy_save",
    "retention_preview",
    "retention_run",
    "retention_run_all",
    "subject_erase",
    "subject_export_file",
    "subject_export_run",
    "subject_export_start",
    "subject_export_write",
    "subject_of",
]
