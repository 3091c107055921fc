"""Who took part: resolving emails, numbers and ids to contacts, organizations and users,
linking participants that were waiting for a contact, and the contact columns kept from
interactions and tasks ("last contacted", "next step", "reach out by")."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import F, Max, Q
from django.utils import timezone

from rapport.access.models import User
from rapport.activity.models import (
    CorrespondentSuggestion,
    Interaction,
    KeepInTouch,
    Participant,
    Task,
)
from rapport.contacts import normalize
from rapport.contacts.models import Affiliation, Contact, Email, Phone

logger = logging.getLogger(__name__)

ROLES = frozenset(Participant.Role.values)
MAX_PARTICIPANTS = 500


@dataclass
class ParticipantDraft:
    """A participant checked and resolved, not yet saved."""

    role: str
    contact_id: int | None = None
    organization_id: int | None = None
    user_id: int | None = None
    name: str = ""
    address: str = ""
    address_key: str = ""
    phone: str = ""
    e164: str = ""

    @property
    def identity(self) -> tuple[Any, ...]:
        """What makes two drafts the same participant in the same role."""
        who = (
            ("c", self.contact_id)
            if self.contact_id
            else ("a", self.address_key)
            if self.address_key
            else ("p", self.e164 or self.phone)
            if self.e164 or self.phone
            else ("o", self.organization_id)
            if self.organization_id
            else ("u", self.user_id)
        )
        return (self.role, *who)


def email_key_of(address: str) -> str:
    """The comparable form of an address as written, or "" when it is no address."""
    text = (address or "").strip().strip("<>").strip()
    if "@" not in text or len(text) > 320 or any(c.isspace() for c in text):
        return ""
    return normalize.email_key(text)


def e164_of(number: str) -> str:
    """The E.164 form of a number as written, or "" when it cannot be read as one."""
    try:
        return normalize.phone(number, region=settings.RAPPORT_DEFAULT_REGION).e164
    except ValueError:
        return ""


class Directory:
    """Finds who an email address or a phone number belongs to, remembering answers.

    One per capture run: a mailbox brings the same few hundred addresses again and
    again. An address held by several contacts (duplicates not yet merged) goes to the
    primary holder with the lowest id, so the answer is stable.
    """

    def __init__(self) -> None:
        self._emails: dict[str, int | None] = {}
        self._phones: dict[str, tuple[int | None, int | None]] = {}
        self._users: dict[str, int | None] | None = None

    def load_emails(self, keys: Iterable[str]) -> None:
        wanted = {k for k in keys if k and k not in self._emails}
        if not wanted:
            return
        for key in wanted:
            self._emails[key] = None
        for start in range(0, len(wanted), 500):
            chunk = sorted(wanted)[start : start + 500]
            rows = (
                Email.objects.filter(address_key__in=chunk)
                .order_by("-primary", "contact_id")
                .values_list("address_key", "contact_id")
            )
            for key, contact_id in rows:
                if self._emails.get(key) is None:
                    self._emails[key] = contact_id

    def contact_for_email(self, key: str) -> int | None:
        if key not in self._emails:
            self.load_emails([key])
        return self._emails.get(key)

    def for_phone(self, e164: str) -> tuple[int | None, int | None]:
        """(contact id, organization id) holding the number; a contact wins."""
        if e164 not in self._phones:
            rows = list(
                Phone.objects.filter(e164=e164)
                .order_by("contact_id", "-primary", "id")
                .values_list("contact_id", "organization_id")[:5]
            )
            contact = next((c for c, _ in rows if c), None)
            org = next((o for _, o in rows if o), None)
            self._phones[e164] = (contact, None if contact else org)
        return self._phones[e164]

    def user_for_email(self, key: str) -> int | None:
        if self._users is None:
            self._users = {}
            for pk, address in User.objects.exclude(email="").values_list("id", "email"):
                self._users.setdefault(normalize.email_key(address), pk)
        return self._users.get(key)

    def is_user(self, key: str) -> bool:
        return self.user_for_email(key) is not None


def draft_resolve(draft: ParticipantDraft, directory: Directory) -> ParticipantDraft:
    """Fill in the contact, organization or user an unresolved draft's address or
    number belongs to (a user of this Rapport is linked as the user, not as a contact)."""
    if draft.address_key and not (draft.contact_id or draft.user_id):
        user_id = directory.user_for_email(draft.address_key)
        if user_id is not None:
            draft.user_id = user_id
        else:
            draft.contact_id = directory.contact_for_email(draft.address_key)
    if draft.e164 and not (draft.contact_id or draft.organization_id or draft.user_id):
        draft.contact_id, draft.organization_id = directory.for_phone(draft.e164)
    return draft


def participant_rows(
    interaction: Interaction, drafts: Sequence[ParticipantDraft]
) -> list[Participant]:
    return [
        Participant(
            interaction=interaction,
            role=d.role,
            contact_id=d.contact_id,
            organization_id=d.organization_id,
            user_id=d.user_id,
            name=d.name[:300],
            address=d.address[:320],
            address_key=d.address_key[:320],
            phone=d.phone[:64],
            e164=d.e164,
            occurred_at=interaction.occurred_at,
        )
        for d in drafts
    ]


def participants_add(interaction: Interaction, drafts: Sequence[ParticipantDraft]) -> list[int]:
    """Add the drafts an interaction does not have yet (same role, same person); return
    the contact ids now taking part that did not before."""
    have = {
        ParticipantDraft(
            role=p.role,
            contact_id=p.contact_id,
            organization_id=p.organization_id,
            user_id=p.user_id,
            address_key=p.address_key,
            phone=p.phone,
            e164=p.e164,
        ).identity
        for p in Participant.objects.filter(interaction=interaction)
    }
    had = set(
        Participant.objects.filter(interaction=interaction, contact__isnull=False).values_list(
            "contact_id", flat=True
        )
    )
    new = []
    for draft in drafts:
        if draft.identity not in have:
            have.add(draft.identity)
            new.append(draft)
    Participant.objects.bulk_create(participant_rows(interaction, new))
    return sorted({d.contact_id for d in new if d.contact_id and d.contact_id not in had})


# -- participants waiting for their contact --------------------------------------------


def participants_link_contacts(contact_ids: Sequence[int]) -> None:
    """Give the contacts the participants that were kept as written with one of their
    emails or numbers (mail or a call logged before the contact existed).

    Called through ``core.hooks`` inside the contact services' transactions: a contact
    created, imported or edited takes over what was waiting for it. Costs one query
    per call when nothing waits, which is the common case.
    """
    emails: dict[str, int] = {}
    for key, contact_id in (
        Email.objects.filter(contact_id__in=contact_ids)
        .order_by("-primary", "contact_id")
        .values_list("address_key", "contact_id")
    ):
        emails.setdefault(key, contact_id)
    phones: dict[str, int] = {}
    for e164, contact_id in (
        Phone.objects.filter(contact_id__in=contact_ids)
        .order_by("-primary", "contact_id")
        .values_list("e164", "contact_id")
    ):
        phones.setdefault(e164, contact_id)
    if not emails and not phones:
        return
    waiting = Participant.objects.filter(contact__isnull=True, user__isnull=True).filter(
        Q(address_key__in=list(emails)) | Q(e164__in=list(phones), address_key="")
    )
    found = list(waiting.values_list("id", "address_key", "e164"))
    touched: set[int] = set()
    by_contact: dict[int, list[int]] = {}
    for pk, key, e164 in found:
        owner = emails.get(key) if key else phones.get(e164)
        if owner:
            by_contact.setdefault(owner, []).append(pk)
    for contact_id, ids in by_contact.items():
        for start in range(0, len(ids), 500):
            Participant.objects.filter(pk__in=ids[start : start + 500]).update(
                contact_id=contact_id, organization_id=None
            )
        touched.add(contact_id)
    if emails:
        open_ones = CorrespondentSuggestion.objects.filter(
            address_key__in=list(emails), status=CorrespondentSuggestion.Status.OPEN
        )
        for suggestion in open_ones:
            CorrespondentSuggestion.objects.filter(pk=suggestion.pk).update(
                status=CorrespondentSuggestion.Status.CREATED,
                contact_id=emails[suggestion.address_key],
            )
    if touched:
        contacts_refresh_activity(sorted(touched))


def participants_after_merge(survivor_id: int, other_ids: Sequence[int]) -> None:
    """After a merge (or its undo) every record involved recomputes its columns."""
    contacts_refresh_activity([survivor_id, *other_ids])


# -- the columns a contact keeps from its activity -------------------------------------


def _reach_out_by(
    contact_id: int, last: dt.datetime | None, created: dt.datetime
) -> dt.date | None:
    cadences = list(
        KeepInTouch.objects.filter(
            Q(contact_id=contact_id) | Q(tag__contacts__id=contact_id)
        ).values_list("every_days", flat=True)
    )
    if not cadences:
        return None
    since = timezone.localtime(last or created).date()
    return since + dt.timedelta(days=min(cadences))


def contacts_refresh_activity(contact_ids: Iterable[int]) -> None:
    """Recompute "last contacted" (the last two-way interaction, by anyone), "next step"
    (the open task due first, then the oldest without a due time) and "reach out by"
    (from keep-in-touch cadences) of each contact. Changes neither the contact's version
    nor its "Updated" time: these follow from other records."""
    ids = sorted(set(contact_ids))
    for contact_id in ids:
        created = Contact.objects.filter(pk=contact_id).values_list("created_at", flat=True).first()
        if created is None:
            continue
        last = (
            Participant.objects.filter(
                contact_id=contact_id, interaction__two_way=True, occurred_at__lte=timezone.now()
            )
            .aggregate(last=Max("occurred_at"))
            .get("last")
        )
        task = (
            Task.objects.filter(contacts__id=contact_id, status=Task.Status.OPEN)
            .order_by(F("due_key").asc(nulls_last=True), "created_at", "id")
            .values_list("title", "due_key")
            .first()
        )
        Contact.objects.filter(pk=contact_id).update(
            last_contacted_at=last,
            next_step=task[0][:300] if task else None,
            next_step_at=task[1] if task else None,
            reach_out_by=_reach_out_by(contact_id, last, created),
        )


def contacts_of_tags(tag_ids: Iterable[int]) -> list[int]:
    return list(
        Contact.objects.filter(tags__id__in=list(tag_ids)).values_list("id", flat=True).distinct()
    )


def organization_people(organization_id: int) -> list[int]:
    """The contacts who work at the organization now (its timeline shows theirs too)."""
    return list(
        Affiliation.objects.filter(organization_id=organization_id, is_current=True)
        .order_by()
        .values_list("contact_id", flat=True)
        .distinct()
    )


def contacts_catch_up(
    *, now: dt.datetime | None = None, since: dt.timedelta = dt.timedelta(days=1)
) -> int:
    """Move "last contacted" on for two-way interactions that have just happened: a
    meeting logged or imported ahead of time counts from its start, not from when it was
    written down. Run as a periodic duty; returns how many contacts moved on."""
    now = now or timezone.now()
    latest = (
        Participant.objects.filter(
            contact__isnull=False,
            interaction__two_way=True,
            occurred_at__gt=now - since,
            occurred_at__lte=now,
        )
        .values("contact_id")
        .annotate(last=Max("occurred_at"))
    )
    moved = 0
    for row in latest:
        moved += (
            Contact.objects.filter(pk=row["contact_id"])
            .filter(Q(last_contacted_at__isnull=True) | Q(last_contacted_at__lt=row["last"]))
            .update(last_contacted_at=row["last"])
        )
    with_cadence = list(
        Contact.objects.filter(
            pk__in=[row["contact_id"] for row in latest], reach_out_by__isnull=False
        ).values_list("id", flat=True)
    )
    if with_cadence:
        contacts_refresh_activity(with_cadence)
    if moved:
        logger.info("Last contacted moved on for %d contacts (meetings that have happened)", moved)
    return moved
