"""The check at entry: who might this new or edited person (or organization) already be?"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Q

from rapport.contacts.models import Contact, Organization
from rapport.core import policy
from rapport.core.errors import InvalidInput
from rapport.duplicates import records
from rapport.duplicates.matching.comparisons import Context, compare, people_among
from rapport.duplicates.matching.features import PersonFeatures, person_features
from rapport.duplicates.matching.keys import name_key, stored_keys
from rapport.duplicates.matching.organizations import (
    OrganizationFeatures,
    organization_features,
    organization_keys,
    organization_score,
)
from rapport.duplicates.models import (
    NotDuplicate,
    OrganizationMatchKey,
)

# Rows fetched per key at entry: a key shared by more contacts (a switchboard, "Smith J")
# proposes only this many of them; the other keys still find the rest.
from rapport.duplicates.services._common import (
    MAX_CANDIDATES,
    NAME_COUNT_CAP,
    PER_KEY,
    current_model,
    key_count,
    key_holders,
    key_sharers,
    review_threshold,
)

# -- the check at entry ------------------------------------------------------------------


class _Explained:
    """A candidate's explanation (``MatchModel.explain``'s entries), read as a sentence."""

    explanation: list[dict[str, Any]]

    @property
    def agreement(self) -> str:
        """What agreed, as a reviewer reads it: "name: typo; birthday: same"."""
        return "; ".join(
            f"{e['label'].lower()}: {e['level']}"
            for e in self.explanation
            if e["outcome"] == "agree"
        )


@dataclass(frozen=True)
class Candidate(_Explained):
    """A saved contact that may be the same person, with why."""

    contact_id: int
    display_name: str
    probability: float
    explanation: list[dict[str, Any]]


def draft_features(
    *, fields: Mapping[str, Any], children: Mapping[str, Sequence[Mapping[str, Any]]],
    organizations: Sequence[str] = (), contact_id: int = 0,
) -> PersonFeatures:  # fmt: skip
    """Features of a validated contact draft (``contact_draft``'s fields and children)."""
    return person_features(
        id=contact_id,
        given_name=fields.get("given_name") or "",
        middle_name=fields.get("middle_name") or "",
        family_name=fields.get("family_name") or "",
        suffix=fields.get("suffix") or "",
        birthday=fields.get("birthday"),
        job_title=fields.get("job_title") or "",
        emails=[row["address"] for row in children.get("emails", ())],
        phones=[(row["e164"], row.get("extension") or "") for row in children.get("phones", ())],
        addresses=[
            (
                row.get("street", ""),
                row.get("locality", ""),
                row.get("postcode", ""),
                row.get("country", ""),
            )
            for row in children.get("addresses", ())
        ],  # fmt: skip
        organizations=organizations,
    )


def duplicate_check(
    *,
    features: PersonFeatures,
    exclude: Collection[int] = (),
    threshold: float | None = None,
    limit: int = 5,
) -> list[Candidate]:
    """Saved contacts that are likely the person ``features`` describes, most likely
    first: those at or above ``threshold`` (the review threshold by default), at most
    ``limit``. ``exclude`` leaves out contacts (the one being edited). Pairs a reviewer
    said are different people are left out too."""
    threshold = review_threshold() if threshold is None else threshold
    keys = stored_keys(features)
    holders = key_holders(keys)
    # Everyone sharing a rare key is a candidate; of a key shared by many (a common
    # name, a switchboard, a block of flats) only those who share another field's key
    # too: sharing that key alone could not reach the threshold. They are sought among
    # all of its holders, not only the few fetched here.
    ids: dict[int, None] = {}
    for key in sorted(holders, key=lambda k: len(holders[k])):  # rare keys first
        if len(holders[key]) <= PER_KEY:
            ids.update((cid, None) for cid in holders[key] if cid not in exclude)
    if len(ids) < MAX_CANDIDATES and any(len(m) > PER_KEY for m in holders.values()):
        sharers = key_sharers(list(holders), MAX_CANDIDATES + len(exclude))
        ids.update((cid, None) for cid in sharers if cid not in exclude)
    if not ids:
        return []
    if features.id:
        ids = {cid: None for cid in ids if cid not in _dismissed_with(features.id, ids)}
    found = records.features_of(list(ids)[:MAX_CANDIDATES])
    model = current_model()
    own_given = features.given.split(" ", 1)[0]
    phone_counts = {}
    for key, members in holders.items():
        if key.startswith("p:"):
            if len(members) > PER_KEY:
                phone_counts[key[2:]] = len(members)  # a switchboard
                continue
            givens = {found[c].given.split(" ", 1)[0] for c in members if c in found}
            phone_counts[key[2:]] = people_among(givens | {own_given})
    ctx = Context(phone_holders=lambda e164: phone_counts.get(e164, 1))
    own_name = name_key(features)
    name_holders = 0
    if own_name:
        name_holders = len(holders.get(own_name, ()))
        if name_holders > PER_KEY:
            name_holders = key_count(own_name, NAME_COUNT_CAP)
        name_holders += 1  # the person being entered holds it too
    scored = []
    for cid, other in found.items():
        levels = compare(features, other, ctx)
        probability = model.probability(levels, name_holders)
        if probability >= threshold:
            scored.append((probability, cid, levels))
    scored.sort(key=lambda item: (-item[0], item[1]))
    scored = scored[:limit]
    names = dict(
        Contact.objects.filter(pk__in=[cid for _, cid, _ in scored]).values_list(
            "pk", "display_name"
        )
    )
    return [
        Candidate(cid, names.get(cid, ""), round(p, 4), model.explain(levels, name_holders))
        for p, cid, levels in scored
    ]


def _dismissed_with(contact_id: int, others: Collection[int]) -> set[int]:
    rows = NotDuplicate.objects.filter(
        Q(contact_a=contact_id, contact_b__in=list(others))
        | Q(contact_b=contact_id, contact_a__in=list(others))
    ).values_list("contact_a", "contact_b")
    return {b if a == contact_id else a for a, b in rows}


def contact_duplicate_check(
    *, actor: Any, data: Mapping[str, Any], contact_id: int | None = None, limit: int = 5
) -> list[Candidate]:
    """The likely duplicates of a contact as ``data`` would create it (or, with
    ``contact_id``, as that contact would be after this edit). Validates ``data`` as the
    contact services do: raises InvalidInput, and NotPermitted for an actor who may not
    see contacts."""
    from rapport.contacts.services import contact_draft, contact_values

    policy.require(actor, "contacts.view")
    merged = dict(data)
    if contact_id is not None:
        current = Contact.objects.filter(pk=contact_id).first()
        if current is None:
            raise InvalidInput.single("id", "No such contact.")
        merged = {**contact_values(current), **data}
    draft = contact_draft(actor=actor, data=merged)
    features = draft_features(
        fields=draft.fields, children=draft.children, contact_id=contact_id or 0
    )
    return duplicate_check(
        features=features, exclude={contact_id} if contact_id else set(), limit=limit
    )


# -- decisions at entry ------------------------------------------------------------------


@transaction.atomic
def contact_create_into(
    *, actor: Any, data: Mapping[str, Any], contact_id: int, via: str = "ui"
) -> Any:
    """ "Merge into it" at entry: ``data`` as a new contact merged straight into the
    existing contact ``contact_id``, which keeps its own values where it has one and
    gains the rest (every new email, phone, address, tag). Recorded as a merge, so it
    can be undone. Raises InvalidInput (nothing saved) or NotPermitted; returns the
    Merge."""
    from rapport.contacts.services import contact_create
    from rapport.merges.selectors import merge_proposal
    from rapport.merges.services import contacts_merge

    policy.require(actor, "contacts.merge")
    if not Contact.objects.filter(pk=contact_id).exists():
        raise InvalidInput.single("merge_into", "That contact no longer exists.")
    new = contact_create(actor=actor, data=data, via=via)
    proposal = merge_proposal(actor=actor, kind="contact", ids=[contact_id, new.pk])
    choices = {
        f.name: contact_id for f in proposal.differing if f.values.get(contact_id) not in (None, "")
    }
    return contacts_merge(
        actor=actor, survivor_id=contact_id, merged_ids=[new.pk], choices=choices, via=via
    )


@dataclass(frozen=True)
class OrganizationCandidate(_Explained):
    """A saved organization that may be the same one, with why."""

    organization_id: int
    name: str
    probability: float
    explanation: list[dict[str, Any]]


def organization_duplicate_check(
    *, features: OrganizationFeatures, exclude: Collection[int] = (), limit: int = 5
) -> list[OrganizationCandidate]:
    """Saved organizations that are likely the one ``features`` describes, most likely
    first, at or above the review threshold."""
    keys = organization_keys(features)
    if not keys:
        return []
    ids = set(
        OrganizationMatchKey.objects.filter(key__in=sorted(keys))
        .exclude(organization_id__in=list(exclude))
        .values_list("organization_id", flat=True)[:MAX_CANDIDATES]
    )
    threshold = review_threshold()
    scored = []
    for oid, other in records.organization_features_of(sorted(ids)).items():
        probability, explanation = organization_score(features, other)
        if probability >= threshold:
            scored.append((probability, oid, explanation))
    scored.sort(key=lambda item: (-item[0], item[1]))
    names = dict(
        Organization.objects.filter(pk__in=[oid for _, oid, _ in scored]).values_list("pk", "name")
    )
    return [
        OrganizationCandidate(oid, names.get(oid, ""), round(p, 4), why)
        for p, oid, why in scored[:limit]
    ]


def organization_duplicate_check_input(
    *, actor: Any, data: Mapping[str, Any], organization_id: int | None = None, limit: int = 5
) -> list[OrganizationCandidate]:
    """The likely duplicates of an organization as ``data`` would create it (or, with
    ``organization_id``, as that one would be after this edit). Validates as the
    organization services do: raises InvalidInput, NotPermitted."""
    from rapport.contacts.services import organization_draft
    from rapport.contacts.services.organizations import _current

    policy.require(actor, "organizations.view")
    merged = dict(data)
    if organization_id is not None:
        current = Organization.objects.filter(pk=organization_id).first()
        if current is None:
            raise InvalidInput.single("id", "No such organization.")
        merged = {**_current(current), **data}
    draft = organization_draft(actor=actor, data=merged)
    features = organization_features(
        name=draft.fields.get("name") or "",
        legal_name=draft.fields.get("legal_name") or "",
        domains=draft.fields.get("domains") or [],
        website=draft.fields.get("website") or "",
        phones=[row["e164"] for row in draft.children.get("phones", ())],
        addresses=[
            (row.get("street", ""), row.get("locality", ""), row.get("postcode", ""))
            for row in draft.children.get("addresses", ())
        ],
    )
    exclude = {organization_id} if organization_id else set()
    return organization_duplicate_check(features=features, exclude=exclude, limit=limit)


@transaction.atomic
def contact_queue_likely(*, contact_id: int, origin: str) -> int:
    """Put a contact that was just saved and its likely duplicates (the check at entry)
    in the review queue, as one cluster; nothing is merged. For writes that cannot ask
    anyone (an address-book client): returns the number of candidates queued."""
    features = records.features_of([contact_id]).get(contact_id)
    if features is None:
        return 0
    found = duplicate_check(features=features, exclude={contact_id})
    if not found:
        return 0
    from rapport.duplicates.models import DuplicateCluster, DuplicatePair

    cluster = DuplicateCluster.objects.create(
        origin=origin[:100],
        confidence=max(c.probability for c in found),
        size=len(found) + 1,
    )
    DuplicatePair.objects.bulk_create(
        [
            DuplicatePair(
                cluster=cluster,
                contact_a_id=min(contact_id, c.contact_id),
                contact_b_id=max(contact_id, c.contact_id),
                probability=c.probability,
                explanation=c.explanation,
            )
            for c in found
        ]
    )
    return len(found)
