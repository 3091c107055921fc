"""Planning reminders: a task's one reminder kept in step with it, and the reminders of
birthdays, anniversaries and reach-out days, stored once each in the owner's time zone."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db.models import Q
from django.utils import timezone

from rapport.access.models import User
from rapport.activity.models import Reminder, Task
from rapport.activity.services.zones import at_local, user_zone
from rapport.contacts.models import Contact, CustomFieldDefinition

logger = logging.getLogger("rapport.activity.services.reminders")

REMINDER_TIME = dt.time(9, 0)  # birthdays, anniversaries and keep-in-touch
KEEP_IN_TOUCH_LOOKBACK = dt.timedelta(days=30)

# -- task reminders --------------------------------------------------------------------


def task_reminder_sync(task: Task) -> None:
    """Keep the one reminder of a task in step with it: ``remind_before`` minutes before
    it falls due, for its assignee (else its creator). Moved when the task's due time,
    assignee or lead time changes (and then delivered and mailed again, even when its
    mail was given up before); removed when the task is done, cancelled or no longer
    asks for one."""
    key = f"task:{task.pk}"
    user_id = task.assignee_id or task.created_by_id
    wanted = (
        task.status == Task.Status.OPEN
        and task.remind_before is not None
        and task.due_key is not None
        and user_id is not None
    )
    existing = Reminder.objects.filter(key=key).first()
    if not wanted:
        if existing is not None:
            existing.delete()
        return
    assert task.due_key is not None and task.remind_before is not None and user_id is not None
    remind_at = task.due_key - dt.timedelta(minutes=task.remind_before)
    text = f"Task due: {task.title}"[:300]
    if existing is None:
        Reminder.objects.create(
            key=key,
            kind=Reminder.Kind.TASK,
            user_id=user_id,
            task=task,
            remind_at=remind_at,
            text=text,
        )
        return
    if existing.remind_at != remind_at or existing.user_id != user_id:
        Reminder.objects.filter(pk=existing.pk).update(
            remind_at=remind_at,
            user_id=user_id,
            text=text,
            sent_at=None,
            emailed_at=None,
            email_claimed_at=None,
            email_failures=0,
            email_retry_at=None,
            email_error="",
            email_failed_at=None,
        )
    elif existing.text != text:
        Reminder.objects.filter(pk=existing.pk).update(text=text)


# -- birthdays, anniversaries, keep-in-touch -------------------------------------------


def occurrence(day: dt.date, year: int) -> dt.date:
    """The day a yearly date falls on in ``year``: 29 February is 28 February in a year
    that has none."""
    try:
        return day.replace(year=year)
    except ValueError:
        return dt.date(year, 2, 28)


def anniversary_fields() -> list[CustomFieldDefinition]:
    """Contact custom fields of type date whose key or label says "anniversary"
    (``anniversary``, ``wedding_anniversary``, "Work anniversary"…)."""
    return list(
        CustomFieldDefinition.objects.filter(
            target=CustomFieldDefinition.Target.CONTACT,
            field_type=CustomFieldDefinition.FieldType.DATE,
        ).filter(Q(key__icontains="anniversary") | Q(label__icontains="anniversary"))
    )


def _candidate_days(now: dt.datetime) -> list[dt.date]:
    """Every calendar day that is today or tomorrow somewhere on Earth."""
    utc = now.astimezone(dt.UTC).date()
    return [utc + dt.timedelta(days=n) for n in (-1, 0, 1, 2)]


def _month_days(days: Iterable[dt.date]) -> set[tuple[int, int]]:
    wanted = set()
    for day in days:
        wanted.add((day.month, day.day))
        if day.month == 2 and day.day == 28 and occurrence(dt.date(2000, 2, 29), day.year) == day:
            wanted.add((2, 29))
    return wanted


@dataclass
class _Planned:
    key: str
    kind: str
    user_id: int
    contact_id: int
    remind_at: dt.datetime
    text: str


def _yearly(
    kind: str,
    contact_id: int,
    owner: User,
    when: dt.date,
    now: dt.datetime,
    text: str,
) -> _Planned | None:
    """The reminder of a yearly date on the owner's today or tomorrow, if it is one."""
    zone = user_zone(owner)
    today = now.astimezone(zone).date()
    for day in (today, today + dt.timedelta(days=1)):
        if occurrence(when, day.year) == day:
            return _Planned(
                key=f"{kind}:{contact_id}:{day.year}",
                kind=kind,
                user_id=owner.pk,
                contact_id=contact_id,
                remind_at=at_local(day, REMINDER_TIME, zone),
                text=text[:300],
            )
    return None


def _owners(owner_ids: Iterable[int]) -> dict[int, User]:
    return {u.pk: u for u in User.objects.filter(pk__in=set(owner_ids), is_active=True)}


def reminders_plan(*, now: dt.datetime | None = None) -> int:
    """Store the reminders of birthdays and anniversaries falling today or tomorrow in
    each owner's time zone (at 09:00 their time), and of contacts whose keep-in-touch
    day has come (reached within the last 30 days). Safe to run any number of times:
    each reminder has a key and is stored once. Contacts without an owner get none.
    Returns how many reminders were new."""
    now = now or timezone.now()
    planned: list[_Planned] = []
    pairs = _month_days(_candidate_days(now))
    by_day = Q()
    for month, day in sorted(pairs):
        by_day |= Q(birthday__month=month, birthday__day=day)
    rows = list(
        Contact.objects.filter(by_day, owner__isnull=False).values_list(
            "id", "owner_id", "birthday", "display_name"
        )
    )
    fields = anniversary_fields()
    anniversaries: list[tuple[int, int, dt.date, str, str]] = []
    for definition in fields:
        suffixes = Q()
        for month, day in sorted(pairs):
            suffixes |= Q(
                **{f"custom_fields__{definition.key}__endswith": f"-{month:02d}-{day:02d}"}
            )
        for pk, owner_id, custom, name in (
            Contact.objects.filter(suffixes, owner__isnull=False)
            .values_list("id", "owner_id", "custom_fields", "display_name")
            .iterator(chunk_size=2000)
        ):
            try:
                when = dt.date.fromisoformat(str((custom or {}).get(definition.key, ""))[:10])
            except ValueError:
                continue
            anniversaries.append((pk, owner_id, when, name, definition.label))
    due_by = now.astimezone(dt.UTC).date() + dt.timedelta(days=1)
    keep = list(
        Contact.objects.filter(
            reach_out_by__lte=due_by,
            reach_out_by__gte=due_by - KEEP_IN_TOUCH_LOOKBACK,
            owner__isnull=False,
        ).values_list("id", "owner_id", "reach_out_by", "display_name")
    )
    owners = _owners([r[1] for r in rows] + [a[1] for a in anniversaries] + [k[1] for k in keep])
    for pk, owner_id, birthday, name in rows:
        owner = owners.get(owner_id)
        if owner is not None and birthday is not None:
            found = _yearly(Reminder.Kind.BIRTHDAY, pk, owner, birthday, now, f"Birthday: {name}")
            if found:
                planned.append(found)
    for pk, owner_id, when, name, label in anniversaries:
        owner = owners.get(owner_id)
        if owner is not None:
            found = _yearly(Reminder.Kind.ANNIVERSARY, pk, owner, when, now, f"{label}: {name}")
            if found:
                planned.append(found)
    for pk, owner_id, reach_out_by, name in keep:
        owner = owners.get(owner_id)
        if owner is None or reach_out_by is None:
            continue
        zone = user_zone(owner)
        if reach_out_by > now.astimezone(zone).date():
            continue
        planned.append(
            _Planned(
                key=f"keep_in_touch:{pk}:{reach_out_by.isoformat()}",
                kind=Reminder.Kind.KEEP_IN_TOUCH,
                user_id=owner.pk,
                contact_id=pk,
                remind_at=at_local(reach_out_by, REMINDER_TIME, zone),
                text=f"Time to reach out to {name}"[:300],
            )
        )
    new = _store(planned)
    if new:
        logger.info("Reminders planned: %d new (birthdays, anniversaries, keep in touch)", new)
    else:
        logger.debug("Reminders planned: nothing new")
    return new


def _store(planned: Sequence[_Planned]) -> int:
    if not planned:
        return 0
    keys = [p.key for p in planned]
    have = set(Reminder.objects.filter(key__in=keys).values_list("key", flat=True))
    new = [p for p in planned if p.key not in have]
    Reminder.objects.bulk_create(
        [
            Reminder(
                key=p.key,
                kind=p.kind,
                user_id=p.user_id,
                contact_id=p.contact_id,
                remind_at=p.remind_at,
                text=p.text,
            )
            for p in new
        ],
        ignore_conflicts=True,  # a second worker planning at the same moment
    )
    return len(new)
