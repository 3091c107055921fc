"""Every write in the merges area: merge contacts, merge organizations, undo a merge."""

from rapport.merges.services._merge import contacts_merge, organizations_merge
from rapport.merges.services._undo import merge_undo

__all__ = ["contacts_merge", "merge_undo", "organizations_merge"]
