"""People you correspond with who are no contact yet: recorded as suggestions, turned
into contacts only by a person, through the contact services and their duplicate check."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.db.models.functions import Greatest, Least

from rapport.activity.models import CorrespondentSuggestion
from rapport.core import policy
from rapport.core.errors import Conflict, InvalidInput


def correspondents_record(seen: Mapping[str, Sequence[Any]]) -> None:
    """Count messages for each address key → (address, name, messages, first, last):
    new people are added open, known ones count up and widen their first and last
    seen. Dismissed ones stay dismissed (and keep counting)."""
    existing = set(
        CorrespondentSuggestion.objects.filter(address_key__in=list(seen)).values_list(
            "address_key", flat=True
        )
    )
    new = []
    for key, (address, name, count, first, last) in seen.items():
        if key in existing:
            CorrespondentSuggestion.objects.filter(address_key=key).update(
                message_count=F("message_count") + count,
                first_seen_at=Least("first_seen_at", first),
                last_seen_at=Greatest("last_seen_at", last),
            )
        else:
            new.append(
                CorrespondentSuggestion(
                    address_key=key,
                    address=address[:320],
                    name=name[:300],
                    message_count=count,
                    first_seen_at=first,
                    last_seen_at=last,
                )
            )
    if new:
        try:
            with transaction.atomic():
                CorrespondentSuggestion.objects.bulk_create(new)
        except IntegrityError:  # some were recorded by another process meanwhile
            for row in new:
                correspondents_record(
                    {
                        row.address_key: (
                            row.address,
                            row.name,
                            row.message_count,
                            row.first_seen_at,
                            row.last_seen_at,
                        )
                    }
                )


def correspondent_list(
    *, actor: Any, status: str = "open", query: str = "", limit: int = 50, after: int | None = None
) -> list[CorrespondentSuggestion]:
    """Suggestions to review, most messages first (ties: most recent)."""
    policy.require(actor, "interactions.view")
    qs = CorrespondentSuggestion.objects.all()
    if status:
        qs = qs.filter(status=status)
    if query:
        qs = qs.filter(Q(address_key__icontains=query.lower()) | Q(name__icontains=query))
    qs = qs.order_by("-message_count", "-last_seen_at", "id")
    return list(qs[: max(1, min(limit, 200))])


def correspondent_get(*, actor: Any, suggestion_id: int) -> CorrespondentSuggestion:
    policy.require(actor, "interactions.view")
    return CorrespondentSuggestion.objects.get(pk=suggestion_id)


def correspondent_contact_data(suggestion: CorrespondentSuggestion) -> dict[str, Any]:
    """The contact a suggestion proposes, in the contact services' input form."""
    data: dict[str, Any] = {"emails": [{"address": suggestion.address}], "source": "email"}
    if suggestion.name and "@" not in suggestion.name:
        data["full_name"] = suggestion.name
    else:
        local = suggestion.address.split("@", 1)[0]
        data["full_name"] = " ".join(
            p.capitalize() for p in local.replace("_", ".").split(".") if p
        )
    return data


@dataclass
class CreateResult:
    """A contact created (``contact``) or the likely duplicates to decide on first."""

    contact: Any = None
    duplicates: list[Any] = field(default_factory=list)
    merge: Any = None


def correspondent_create_contact(
    *,
    actor: Any,
    suggestion_id: int,
    data: Mapping[str, Any],
    create_anyway: bool = False,
    merge_into: int | None = None,
    via: str = "ui",
) -> CreateResult:
    """Create the contact a person confirmed, through the same path as the contact form:
    the likely duplicates come back first (unless ``create_anyway``), ``merge_into``
    adds it to an existing contact instead. The mail waiting for the address links to
    the contact by itself (the participants listener); the suggestion is marked created.
    Raises InvalidInput (nothing saved), NotPermitted, Conflict when already decided."""
    from rapport.contacts.services import contact_create
    from rapport.duplicates.services.entry import contact_create_into, contact_duplicate_check

    policy.require(actor, "contacts.add")
    suggestion = CorrespondentSuggestion.objects.filter(pk=suggestion_id).first()
    if suggestion is None:
        raise InvalidInput.single("suggestion", "There is no such suggestion.")
    if suggestion.status == CorrespondentSuggestion.Status.CREATED:
        raise Conflict("A contact was already created from this suggestion.")
    with transaction.atomic():
        if merge_into is not None:
            merge = contact_create_into(actor=actor, data=data, contact_id=merge_into, via=via)
            _mark_created(suggestion, merge_into)
            return CreateResult(merge=merge)
        if not create_anyway:
            found = contact_duplicate_check(actor=actor, data=data)
            if found:
                return CreateResult(duplicates=found)
        contact = contact_create(actor=actor, data=data, via=via)
        _mark_created(suggestion, contact.pk)
    return CreateResult(contact=contact)


def _mark_created(suggestion: CorrespondentSuggestion, contact_id: int) -> None:
    CorrespondentSuggestion.objects.filter(pk=suggestion.pk).update(
        status=CorrespondentSuggestion.Status.CREATED, contact_id=contact_id
    )


def correspondents_dismiss(*, actor: Any, suggestion_ids: Sequence[int]) -> int:
    """Dismiss open suggestions; returns how many. Their mail stays unlinked."""
    policy.require(actor, "contacts.add")
    return CorrespondentSuggestion.objects.filter(
        pk__in=list(suggestion_ids), status=CorrespondentSuggestion.Status.OPEN
    ).update(status=CorrespondentSuggestion.Status.DISMISSED)
