"""Reviewers' decisions, and what merges and unmerges change in duplicate detection."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.db import transaction
from django.db.models import Q

from rapport.contacts.models import Contact
from rapport.core import policy
from rapport.core.errors import FieldError, InvalidInput
from rapport.duplicates.models import (
    DuplicateCluster,
    DuplicatePair,
    NotDuplicate,
    OrganizationPair,
)

# Rows fetched per key at entry: a key shared by more contacts (a switchboard, "Smith J")
# proposes only this many of them; the other keys still find the rest.
from rapport.duplicates.services._common import cluster_members, decide
from rapport.duplicates.services.keys import match_keys_refresh, organization_keys_refresh


def duplicates_after_merge(*, survivor_id: int) -> None:
    """After contacts were merged into ``survivor_id`` (their keys and pairs now point at
    it): its keys follow its merged values, and clusters left with one contact close."""
    match_keys_refresh(contact_ids=[survivor_id])
    _close_merged(DuplicatePair.objects.filter(Q(contact_a=survivor_id) | Q(contact_b=survivor_id)))


def organizations_after_merge(*, survivor_id: int) -> None:
    """After organizations were merged into ``survivor_id``: its keys follow its values,
    and organization clusters left with one organization close."""
    organization_keys_refresh(organization_ids=[survivor_id])
    _close_merged(
        OrganizationPair.objects.filter(
            Q(organization_a=survivor_id) | Q(organization_b=survivor_id)
        )
    )


def _close_merged(pairs: Any) -> None:
    """Mark as merged the undecided clusters of these pairs that have one record left."""
    touched = set(
        pairs.filter(
            cluster__status__in=[DuplicateCluster.Status.OPEN, DuplicateCluster.Status.SKIPPED]
        ).values_list("cluster_id", flat=True)
    )
    for cluster in DuplicateCluster.objects.filter(pk__in=touched):
        if len(cluster_members(cluster)) < 2:
            decide(cluster, None, DuplicateCluster.Status.MERGED)


def duplicates_after_unmerge(*, contact_ids: Iterable[int]) -> None:
    """After an unmerge restored these contacts: their keys follow their values again."""
    match_keys_refresh(contact_ids=contact_ids)


@transaction.atomic
def cluster_dismiss(*, actor: Any, cluster_id: int) -> DuplicateCluster:
    """Mark a cluster "not duplicates": every pair of its contacts is remembered and never
    proposed again. Raises NotPermitted, or DuplicateCluster.DoesNotExist."""
    policy.require(actor, "duplicates.review")
    cluster = DuplicateCluster.objects.select_for_update().get(pk=cluster_id)
    if cluster.kind == DuplicateCluster.Kind.ORGANIZATION:
        # its pairs stay with the dismissed cluster, which later scans leave out
        decide(cluster, actor, DuplicateCluster.Status.DISMISSED)
        return cluster
    members = sorted(cluster_members(cluster))
    NotDuplicate.objects.bulk_create(
        [
            NotDuplicate(contact_a_id=a, contact_b_id=b, decided_by=actor if actor.pk else None)
            for i, a in enumerate(members)
            for b in members[i + 1 :]
        ],
        ignore_conflicts=True,
    )
    decide(cluster, actor, DuplicateCluster.Status.DISMISSED)
    return cluster


@transaction.atomic
def cluster_skip(*, actor: Any, cluster_id: int) -> DuplicateCluster:
    """Put a cluster aside until the next scan proposes it again."""
    policy.require(actor, "duplicates.review")
    cluster = DuplicateCluster.objects.select_for_update().get(pk=cluster_id)
    decide(cluster, actor, DuplicateCluster.Status.SKIPPED)
    return cluster


def contacts_not_duplicates(*, actor: Any, contact_ids: Sequence[int]) -> int:
    """Remember that these contacts are all different people (from the entry check's
    "create anyway" or a review); returns how many pairs were recorded. Raises
    NotPermitted, or InvalidInput (nothing recorded) naming ids that are not contacts
    or when fewer than two different contacts are given."""
    policy.require(actor, "duplicates.review")
    ids = sorted(set(contact_ids))
    if len(ids) < 2:
        raise InvalidInput.single("contact_ids", "Give at least two different contacts.")
    found = set(Contact.objects.filter(pk__in=ids).values_list("pk", flat=True))
    missing = [pk for pk in ids if pk not in found]
    if missing:
        raise InvalidInput(
            [
                FieldError(
                    f"contact_ids[{list(contact_ids).index(pk)}]",
                    f"There is no contact with id {pk}.",
                )
                for pk in missing
            ]
        )
    rows = [
        NotDuplicate(contact_a_id=a, contact_b_id=b, decided_by=actor if actor.pk else None)
        for i, a in enumerate(ids)
        for b in ids[i + 1 :]
    ]
    NotDuplicate.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)
