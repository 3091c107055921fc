"""Reading interactions: every read takes the actor, so what is private stays with its
author (and admins), and later rules (teams, record visibility) have one place to go."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import Prefetch, Q, QuerySet
from django.utils.dateparse import parse_datetime

from rapport.activity.models import Attachment, Interaction, Participant
from rapport.activity.services.participants import e164_of, email_key_of
from rapport.contacts.models import Email, Phone
from rapport.core import policy
from rapport.core.cursor import decode_cursor, encode_cursor
from rapport.core.errors import InvalidInput

MAX_PAGE = 200


def visible(actor: Any) -> Q:
    """The interactions ``actor`` may see."""
    policy.require(actor, "interactions.view")
    if policy.sees_all_private(actor):
        return Q()
    return Q(private=False) | Q(author_id=getattr(actor, "pk", None))


def interaction_get(*, actor: Any, interaction_id: int) -> Interaction:
    """One interaction with its participants and attachments; Interaction.DoesNotExist
    when there is none the actor may see."""
    return with_details(Interaction.objects.filter(visible(actor))).get(pk=interaction_id)


def with_details(query: QuerySet[Interaction]) -> QuerySet[Interaction]:
    # only the names a participant is shown by: a contact row carries its whole search
    # text, which a page of 25 interactions would otherwise read dozens of times
    people = Participant.objects.select_related("contact", "organization", "user").only(
        *(f.attname for f in Participant._meta.concrete_fields),
        "contact__display_name",
        "organization__name",
        "user__username",
        "user__first_name",
        "user__last_name",
    )
    return query.select_related("author", "thread").prefetch_related(
        Prefetch("participants", queryset=people),
        Prefetch("attachments", queryset=Attachment.objects.order_by("id")),
    )


@dataclass(frozen=True)
class InteractionFilters:
    contact: int | None = None
    organization: int | None = None
    kinds: tuple[str, ...] = ()
    after: dt.datetime | None = None
    before: dt.datetime | None = None
    email: str = ""
    phone: str = ""
    thread: int | None = None


def _moment(value: str | None, path: str) -> dt.datetime | None:
    if not value:
        return None
    try:
        moment = parse_datetime(value)
    except ValueError:
        moment = None
    if moment is None:
        try:
            day = dt.date.fromisoformat(value)
        except ValueError:
            raise InvalidInput.single(
                path, "Give a date (2026-03-01) or a date and time with an offset."
            ) from None
        moment = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    try:
        return moment.astimezone(dt.UTC)  # PostgreSQL takes no offset beyond ±15:59
    except OverflowError:
        raise InvalidInput.single(path, "This date is out of range.") from None


def interaction_filters(
    *,
    contact: int | None = None,
    organization: int | None = None,
    kinds: Sequence[str] = (),
    after: str | None = None,
    before: str | None = None,
    email: str = "",
    phone: str = "",
    thread: int | None = None,
) -> InteractionFilters:
    """Check list filters given as text (query parameters, CLI options)."""
    for i, kind in enumerate(kinds):
        if kind not in Interaction.Kind.values:
            raise InvalidInput.single(
                f"kind[{i}]" if len(kinds) > 1 else "kind",
                f"Must be one of: {', '.join(Interaction.Kind.values)}.",
            )
    key = ""
    if email:
        key = email_key_of(email)
        if not key:
            raise InvalidInput.single("email", f"“{email}” is not an email address.")
    e164 = ""
    if phone:
        e164 = e164_of(phone)
        if not e164:
            raise InvalidInput.single("phone", f"“{phone}” is not a phone number.")
    return InteractionFilters(
        contact=contact,
        organization=organization,
        kinds=tuple(kinds),
        after=_moment(after, "after"),
        before=_moment(before, "before"),
        email=key,
        phone=e164,
        thread=thread,
    )


@dataclass
class Page:
    items: list[Interaction]
    next_cursor: str | None


def interaction_list(
    *,
    actor: Any,
    filters: InteractionFilters | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page:
    """Interactions newest first, in keyset pages (never OFFSET): ``next_cursor`` is the
    place to go on from, None at the end."""
    filters = filters or InteractionFilters()
    limit = max(1, min(limit, MAX_PAGE))
    query = Interaction.objects.filter(visible(actor))
    participant = Q()
    if filters.contact is not None:
        participant &= Q(contact_id=filters.contact)
    if filters.organization is not None:
        participant &= Q(organization_id=filters.organization)
    # an address or number as written on the interaction, or held by a contact who
    # took part (a call logged on the contact's page carries no number)
    if filters.email:
        mailers = Email.objects.filter(address_key=filters.email).values("contact_id")
        participant &= Q(address_key=filters.email) | Q(contact_id__in=mailers)
    if filters.phone:
        holders = Phone.objects.filter(e164=filters.phone, contact__isnull=False)
        orgs = Phone.objects.filter(e164=filters.phone, organization__isnull=False)
        participant &= (
            Q(e164=filters.phone)
            | Q(contact_id__in=holders.values("contact_id"))
            | Q(organization_id__in=orgs.values("organization_id"))
        )
    if participant:
        query = query.filter(
            pk__in=Participant.objects.filter(participant).values("interaction_id")
        )
    if filters.kinds:
        query = query.filter(kind__in=filters.kinds)
    if filters.after:
        query = query.filter(occurred_at__gte=filters.after)
    if filters.before:
        query = query.filter(occurred_at__lt=filters.before)
    if filters.thread is not None:
        query = query.filter(thread_id=filters.thread)
    if cursor:
        when, pk = decode_cursor(cursor, 2)
        moment = parse_datetime(str(when)) if isinstance(when, str) else None
        if moment is None or not isinstance(pk, int):
            raise InvalidInput.single("cursor", "This cursor is not valid.")
        query = query.filter(Q(occurred_at__lt=moment) | Q(occurred_at=moment, pk__lt=pk))
    rows = list(with_details(query.order_by("-occurred_at", "-id"))[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = (
        encode_cursor([rows[-1].occurred_at.isoformat(), rows[-1].pk]) if more and rows else None
    )
    return Page(rows, next_cursor)
