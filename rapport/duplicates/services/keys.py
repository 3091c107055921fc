"""Blocking keys of contacts and organizations, kept current on every write."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction

from rapport.contacts.models import Contact
from rapport.core import bulk
from rapport.core.progress import progress_bar
from rapport.duplicates import records
from rapport.duplicates.matching.features import PersonFeatures
from rapport.duplicates.matching.keys import stored_keys
from rapport.duplicates.matching.organizations import (
    organization_keys,
)
from rapport.duplicates.models import (
    MatchKey,
    OrganizationMatchKey,
)

# Rows fetched per key at entry: a key shared by more contacts (a switchboard, "Smith J")
# proposes only this many of them; the other keys still find the rest.


# -- keys ------------------------------------------------------------------------------


def match_keys_refresh(*, contact_ids: Iterable[int]) -> None:
    """Bring the blocking keys of these contacts in line with what is saved now: keys
    no longer made are deleted, new ones added, the others left as they are."""
    ids = list(dict.fromkeys(contact_ids))
    if ids:
        found = records.features_of(ids)
        wanted = {(cid, key) for cid, f in found.items() for key in stored_keys(f)}
        _sync(MatchKey, "contact_id", ids, wanted)


def _sync(model: Any, owner: str, ids: list[int], wanted: set[tuple[int, str]]) -> None:
    """Make ``model``'s (owner, key) rows of the records ``ids`` exactly ``wanted``,
    touching only the rows that differ (so unchanged keys keep their row ids)."""
    with transaction.atomic():
        stale: list[int] = []
        for start in range(0, len(ids), 500):
            for pk, oid, key in model.objects.filter(
                **{f"{owner}__in": ids[start : start + 500]}
            ).values_list("pk", owner, "key"):
                if (oid, key) in wanted:
                    wanted.discard((oid, key))
                else:
                    stale.append(pk)
        for start in range(0, len(stale), 500):
            model.objects.filter(pk__in=stale[start : start + 500]).delete()
        bulk.insert_rows(model, [{owner: o, "key": k} for o, k in sorted(wanted)])


def match_keys_add(people: Iterable[tuple[int, PersonFeatures]]) -> None:
    """Save the blocking keys of contacts that have none yet (just created)."""
    bulk.insert_rows(
        MatchKey,
        [
            {"contact_id": cid, "key": key}
            for cid, features in people
            for key in stored_keys(features)
        ],
    )


def match_keys_build(*, after_id: int = 0, progress: bool = False) -> int:
    """Save the keys of every contact with an id above ``after_id`` (which has none yet):
    after a bulk load that did not go through the contact services, or a rebuild."""
    ids = list(Contact.objects.filter(pk__gt=after_id).order_by("pk").values_list("pk", flat=True))
    bar = progress_bar(total=len(ids), unit=" contacts", desc="Match keys", disable=not progress)
    for chunk in records.all_features(ids):
        with transaction.atomic():
            match_keys_add((f.id, f) for f in chunk)
        bar.update(len(chunk))
    bar.close()
    return len(ids)


def match_keys_rebuild(*, progress: bool = False) -> int:
    """Recompute every contact's keys (after an upgrade changed how keys are made)."""
    MatchKey.objects.all().delete()
    return match_keys_build(progress=progress)


def organization_keys_refresh(*, organization_ids: Iterable[int]) -> None:
    """Bring these organizations' blocking keys in line with what is saved now."""
    ids = list(dict.fromkeys(organization_ids))
    if ids:
        found = records.organization_features_of(ids)
        wanted = {(oid, key) for oid, f in found.items() for key in organization_keys(f)}
        _sync(OrganizationMatchKey, "organization_id", ids, wanted)
