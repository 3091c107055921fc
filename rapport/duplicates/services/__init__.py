"""Duplicate detection: keys kept current, the check at entry, the bulk scan, decisions.

- ``match_keys_refresh`` is called by the contact services on every write.
- ``duplicate_check`` answers "who might this new or edited person already be?" from the
  keys table: a few index lookups and at most ``MAX_CANDIDATES`` comparisons.
- ``duplicates_scan_run`` searches a whole database (or a segment, or one import batch),
  learns the model from it, and proposes clusters for review.
- ``cluster_dismiss`` / ``cluster_skip`` record a reviewer's decision; "not duplicates" is
  remembered per pair and never proposed again.
"""

from rapport.duplicates.services._common import (
    auto_merge_threshold,
    cluster_members,
    current_model,
    forget_model,
    review_threshold,
)
from rapport.duplicates.services.decisions import (
    cluster_dismiss,
    cluster_skip,
    contacts_not_duplicates,
    duplicates_after_merge,
    duplicates_after_unmerge,
    organizations_after_merge,
)
from rapport.duplicates.services.entry import (
    Candidate,
    OrganizationCandidate,
    contact_create_into,
    contact_duplicate_check,
    contact_queue_likely,
    draft_features,
    duplicate_check,
    organization_duplicate_check,
    organization_duplicate_check_input,
)
from rapport.duplicates.services.keys import (
    match_keys_add,
    match_keys_build,
    match_keys_rebuild,
    match_keys_refresh,
    organization_keys_refresh,
)
from rapport.duplicates.services.scans import (
    PAIRS_HEADER,
    duplicates_scan_create,
    duplicates_scan_run,
    duplicates_scan_start,
    write_pairs,
)

__all__ = [
    "PAIRS_HEADER",
    "Candidate",
    "OrganizationCandidate",
    "auto_merge_threshold",
    "cluster_dismiss",
    "cluster_members",
    "cluster_skip",
    "contact_create_into",
    "contact_duplicate_check",
    "contact_queue_likely",
    "contacts_not_duplicates",
    "current_model",
    "draft_features",
    "duplicate_check",
    "duplicates_after_merge",
    "duplicates_after_unmerge",
    "duplicates_scan_create",
    "duplicates_scan_run",
    "duplicates_scan_start",
    "forget_model",
    "match_keys_add",
    "match_keys_build",
    "match_keys_rebuild",
    "match_keys_refresh",
    "organization_duplicate_check",
    "organization_duplicate_check_input",
    "organization_keys_refresh",
    "organizations_after_merge",
    "review_threshold",
    "write_pairs",
]
