"""Every write in the consent area. UI, API, CLI, the public form and the privacy
area call these and nothing else."""

from rapport.consent.services.ledger import (
    consent_chain_verify,
    consent_record,
    consent_record_by_person,
    consent_state_rebuild,
)
from rapport.consent.services.purposes import (
    consent_text_publish,
    purpose_create,
    purpose_delete,
    purpose_update,
)
from rapport.consent.services.upkeep import (
    consent_after_merge,
    consent_after_unmerge,
    consent_expire_lapsed,
    consent_subject_export,
    consent_subject_forget,
)

__all__ = [
    "consent_after_merge",
    "consent_after_unmerge",
    "consent_chain_verify",
    "consent_expire_lapsed",
    "consent_record",
    "consent_record_by_person",
    "consent_state_rebuild",
    "consent_subject_export",
    "consent_subject_forget",
    "consent_text_publish",
    "purpose_create",
    "purpose_delete",
    "purpose_update",
]
