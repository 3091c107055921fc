"""Demo activity for the demo contacts: a history of notes, calls, meetings and email
threads, and open tasks, so a new installation's timelines are not empty."""

from __future__ import annotations

import datetime as dt
import random

from django.db import transaction
from django.utils import timezone

from rapport.access.models import User
from rapport.activity.models import Interaction, Participant, Task, Thread
from rapport.activity.services.participants import contacts_refresh_activity
from rapport.contacts.models import Contact

_NOTES = [
    "Prefers email over calls; answers fastest in the morning.",
    "Budget for next year is being decided in March. Follow up then.",
    "Moved to a new team; still our main contact for the renewal.",
    "Asked for references from customers in the same industry.",
    "Very happy with the onboarding. Possible case study?",
]
_CALLS = [
    ("connected", "Walked through the proposal; wants a revised quote."),
    ("connected", "Quick check-in. All good, no open issues."),
    ("voicemail", "Left a message about the renewal date."),
    ("no_answer", ""),
    ("connected", "Discussed the integration timeline; their IT needs two more weeks."),
]
_MEETINGS = [
    ("Kick-off", "Agreed on scope and the first milestone."),
    ("Quarterly review", "Usage is up 20 %. They want training for new staff."),
    ("Demo of the new reporting", "Positive; the finance lead asked for a trial."),
]
_THREADS = [
    (
        "Quote for the 2027 renewal",
        [
            ("in", "Hi, could you send us an updated quote for next year?"),
            ("out", "Of course, the quote is attached. Happy to walk you through it."),
            ("in", "Thanks, looks good. One question about the support hours."),
        ],
    ),
    (
        "Meeting next week",
        [
            ("out", "Would Tuesday at 10:00 work for a short review?"),
            ("in", "Tuesday works. I'll bring our project manager."),
        ],
    ),
]
_TASKS = [
    ("Send the revised quote", Task.Kind.EMAIL, -2),
    ("Call about the renewal", Task.Kind.CALL, 0),
    ("Prepare the quarterly review", Task.Kind.MEETING, 5),
    ("Ask for a case study", Task.Kind.TODO, 12),
]


@transaction.atomic
def demo_activity_load(first_contact_id: int, *, seed: int = 3, people: int = 120) -> int:
    """Give up to ``people`` demo contacts (from ``first_contact_id`` on) a history;
    returns how many interactions were made."""
    rng = random.Random(seed)
    user = User.objects.filter(is_superuser=True).order_by("id").first()
    contacts = list(
        Contact.objects.filter(pk__gte=first_contact_id)
        .order_by("id")
        .prefetch_related("emails")[:people]
    )
    now = timezone.now()
    made = 0
    for index, contact in enumerate(contacts):
        email = next((e.address for e in contact.emails.all()), "")
        count = 25 if index == 0 else rng.randint(0, 6)
        for _ in range(count):
            when = now - dt.timedelta(days=rng.randint(1, 540), minutes=rng.randint(0, 600))
            kind = rng.choice(["note", "call", "call", "meeting", "email"])
            if kind == "email" and email:
                made += _thread(rng, contact, email, user, when)
                continue
            fields: dict[str, object] = {"kind": kind, "occurred_at": when}
            if kind == "note" or (kind == "email" and not email):
                fields.update(kind="note", direction="internal", body=rng.choice(_NOTES))
                roles = [("subject", contact.pk, None)]
            elif kind == "call":
                outcome, body = rng.choice(_CALLS)
                connected = outcome == "connected"
                fields.update(
                    direction=rng.choice(["outbound", "inbound"]),
                    outcome=outcome,
                    body=body,
                    duration_seconds=rng.randint(120, 1800) if connected else None,
                    two_way=connected,
                )
                roles = [("callee", contact.pk, None), ("caller", None, user.pk if user else None)]
            else:
                subject, body = rng.choice(_MEETINGS)
                fields.update(
                    direction="outbound",
                    subject=subject,
                    body=body,
                    ends_at=when + dt.timedelta(minutes=rng.choice([30, 45, 60])),
                    two_way=True,
                )
                roles = [
                    ("attendee", contact.pk, None),
                    ("organizer", None, user.pk if user else None),
                ]
            interaction = Interaction.objects.create(
                author=user, source=Interaction.Source.MANUAL, **fields
            )
            _participants(interaction, roles)
            made += 1
        if index < len(_TASKS) * 3 and user is not None:
            title, kind, days = _TASKS[index % len(_TASKS)]
            due = (now + dt.timedelta(days=days)).date()
            task = Task.objects.create(
                title=title,
                kind=kind,
                due_date=due,
                due_key=dt.datetime.combine(due, dt.time(), tzinfo=timezone.get_current_timezone()),
                assignee=user,
                created_by=user,
                priority=Task.Priority.HIGH if days < 0 else Task.Priority.NORMAL,
            )
            task.contacts.add(contact)
    contacts_refresh_activity(c.pk for c in contacts)
    return made


def _participants(
    interaction: Interaction, roles: list[tuple[str, int | None, int | None]]
) -> None:
    Participant.objects.bulk_create(
        Participant(
            interaction=interaction,
            role=role,
            contact_id=contact_id,
            user_id=user_id,
            occurred_at=interaction.occurred_at,
        )
        for role, contact_id, user_id in roles
        if contact_id or user_id
    )


def _thread(
    rng: random.Random, contact: Contact, email: str, user: User | None, when: dt.datetime
) -> int:
    subject, messages = rng.choice(_THREADS)
    ours = user.email if user and user.email else "me@rapport.invalid"
    thread = Thread.objects.create(
        subject=subject, subject_key=subject.lower(), started_at=when, last_at=when
    )
    parent = ""
    for step, (way, body) in enumerate(messages):
        at = when + dt.timedelta(hours=3 * step)
        message_id = f"<demo-{contact.pk}-{thread.pk}-{step}@rapport.invalid>"
        interaction = Interaction.objects.create(
            kind="email",
            direction="inbound" if way == "in" else "outbound",
            occurred_at=at,
            subject=subject if step == 0 else f"Re: {subject}",
            body=body,
            source=Interaction.Source.UPLOAD,
            two_way=True,
            external_key=f"email:{message_id}",
            message_id=message_id,
            thread=thread,
            metadata={"in_reply_to": parent} if parent else {},
        )
        parent = message_id
        sender, receiver = (email, ours) if way == "in" else (ours, email)
        Participant.objects.bulk_create(
            [
                Participant(
                    interaction=interaction,
                    role="from",
                    contact=contact if sender == email else None,
                    user=user if sender != email else None,
                    address=sender,
                    address_key=sender.lower(),
                    occurred_at=at,
                ),
                Participant(
                    interaction=interaction,
                    role="to",
                    contact=contact if receiver == email else None,
                    user=user if receiver != email else None,
                    address=receiver,
                    address_key=receiver.lower(),
                    occurred_at=at,
                ),
            ]
        )
    Thread.objects.filter(pk=thread.pk).update(
        last_at=when + dt.timedelta(hours=3 * (len(messages) - 1)), message_count=len(messages)
    )
    return len(messages)
