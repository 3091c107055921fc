"""Reminders: planning them (tasks, birthdays, anniversaries, keep-in-touch) and
delivering each exactly once, in the app and by email, in the user's own time zone.

Delivery has two steps, each claimed with one conditional UPDATE so that two workers
never both do it:

* in the app: ``sent_at`` goes from NULL to now in the same transaction that creates
  the notification, so a killed worker leaves neither (and the next run does both);
* by email: ``email_claimed_at`` is set before the mail is sent and ``emailed_at``
  after. A claim older than ``EMAIL_CLAIM_STALE`` without ``emailed_at`` belonged to a
  worker that died (or an SMTP server that failed): the mail is tried again. Only a
  worker killed in the instant between the SMTP server accepting the mail and
  ``emailed_at`` being written can cause a second mail; nothing is ever lost.

Users who chose the daily digest (``User.reminder_digest``) get no mail per reminder:
at 08:00 their time one mail lists that day's reminders (and any not yet mailed), its
sending claimed through a ``ReminderDigest`` row per user and day.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from rapport.access.models import User
from rapport.activity.models import Reminder, ReminderDigest, Task
from rapport.activity.services import notifications
from rapport.activity.services.zones import at_local, day_start, local_text, user_zone
from rapport.contacts.models import Contact, CustomFieldDefinition

logger = logging.getLogger(__name__)

EMAIL_CLAIM_STALE = dt.timedelta(minutes=5)
BATCH = 200
REMINDER_TIME = dt.time(9, 0)  # birthdays, anniversaries and keep-in-touch
DIGEST_TIME = dt.time(8, 0)
KEEP_IN_TOUCH_LOOKBACK = dt.timedelta(days=30)


# -- task reminders --------------------------------------------------------------------


def task_reminder_sync(task: Task) -> None:
    """Keep the one reminder of a task in step with it: ``remind_before`` minutes before
    it falls due, for its assignee (else its creator). Moved when the task's due time,
    assignee or lead time changes (and then delivered again); removed when the task is
    done, cancelled or no longer asks for one."""
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
    return _store(planned)


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


# -- delivery --------------------------------------------------------------------------


@dataclass
class Delivery:
    """What one delivery run did."""

    notified: int = 0
    mailed: int = 0
    failed: int = 0
    digests: int = 0


def _base_url() -> str:
    return str(getattr(settings, "RAPPORT_BASE_URL", "") or "").rstrip("/")


def _link(path: str) -> str:
    return f"{_base_url()}{path}" if path and _base_url() else path


def _describe(reminder: Reminder, zone: dt.tzinfo) -> str:
    """The lines a mail or notification says about a reminder, times in ``zone``."""
    lines = [reminder.text]
    task = reminder.task
    if task is not None:
        if task.due_at:
            lines.append(f"Due: {local_text(task.due_at, zone)}")
        elif task.due_date:
            lines.append(f"Due: {task.due_date:%a %d %b %Y}")
        if task.notes:
            lines.append("")
            lines.append(task.notes[:1000])
    else:
        lines.append(f"When: {local_text(reminder.remind_at, zone)}")
    return "\n".join(lines)


def _notify_due(now: dt.datetime) -> int:
    """Give every due reminder its notification, each exactly once."""
    done = 0
    while True:
        ids = list(
            Reminder.objects.filter(sent_at__isnull=True, remind_at__lte=now)
            .order_by("remind_at", "id")
            .values_list("id", flat=True)[:BATCH]
        )
        if not ids:
            return done
        for pk in ids:
            with transaction.atomic():
                if not Reminder.objects.filter(pk=pk, sent_at__isnull=True).update(sent_at=now):
                    continue  # another worker delivered it
                reminder = Reminder.objects.select_related("task", "user").get(pk=pk)
                notifications.notify_reminder(
                    reminder=reminder, body=_describe(reminder, user_zone(reminder.user))
                )
                if not reminder.user.email or not reminder.user.is_active:
                    # nobody to mail: the reminder is done with
                    Reminder.objects.filter(pk=pk).update(emailed_at=now)
                done += 1
        if len(ids) < BATCH:
            return done


def _send(subject: str, body: str, to: str) -> None:
    EmailMessage(subject=subject, body=body, from_email=None, to=[to]).send()


def _mail_single(now: dt.datetime, delivery: Delivery) -> None:
    stale = now - EMAIL_CLAIM_STALE
    unclaimed = Q(email_claimed_at__isnull=True) | Q(email_claimed_at__lt=stale)
    ids = list(
        Reminder.objects.filter(sent_at__isnull=False, emailed_at__isnull=True)
        .filter(user__reminder_digest=False)
        .filter(unclaimed)
        .order_by("remind_at", "id")
        .values_list("id", flat=True)[:BATCH]
    )
    for pk in ids:
        claimed = (
            Reminder.objects.filter(pk=pk, emailed_at__isnull=True)
            .filter(unclaimed)
            .update(email_claimed_at=now)
        )
        if not claimed:
            continue
        reminder = Reminder.objects.select_related("task", "user").get(pk=pk)
        zone = user_zone(reminder.user)
        path = (
            notifications.task_url(reminder.task)
            if reminder.task is not None
            else (
                reverse("contacts:detail", args=[reminder.contact_id])
                if reminder.contact_id
                else ""
            )
        )
        body = _describe(reminder, zone)
        if path:
            body += f"\n\nOpen: {_link(path)}"
        body += f"\n\n(Times are in {zone.key}.)" if hasattr(zone, "key") else ""
        try:
            _send(f"Reminder: {reminder.text}"[:200], body, reminder.user.email)
        except Exception as exc:  # noqa: BLE001 - any SMTP failure: try again later
            logger.warning("Reminder %s could not be mailed (%s); trying again soon", pk, exc)
            Reminder.objects.filter(pk=pk, email_claimed_at=now).update(email_claimed_at=None)
            delivery.failed += 1
            continue
        Reminder.objects.filter(pk=pk).update(emailed_at=timezone.now())
        delivery.mailed += 1


def _claim_digest(user: User, day: dt.date, now: dt.datetime) -> ReminderDigest | None:
    stale = now - EMAIL_CLAIM_STALE
    digest = ReminderDigest.objects.filter(user=user, day=day).first()
    if digest is None:
        try:
            with transaction.atomic():
                return ReminderDigest.objects.create(user=user, day=day, claimed_at=now)
        except IntegrityError:
            return None  # another worker has just claimed it
    claimed = (
        ReminderDigest.objects.filter(pk=digest.pk, sent_at__isnull=True)
        .filter(Q(claimed_at__isnull=True) | Q(claimed_at__lt=stale))
        .update(claimed_at=now)
    )
    return ReminderDigest.objects.get(pk=digest.pk) if claimed else None


def digest_text(user: User, day: dt.date, reminders: Sequence[Reminder]) -> tuple[str, str]:
    """The subject and body of a user's daily digest, times in their zone."""
    zone = user_zone(user)
    subject = f"Your reminders for {day:%a %d %b %Y}"
    lines = [
        f"{len(reminders)} reminder{'s' if len(reminders) != 1 else ''} for {day:%A %d %B %Y}:",
        "",
    ]
    start = day_start(day, zone)
    for reminder in reminders:
        local = reminder.remind_at.astimezone(zone)
        when = f"{local:%H:%M}" if reminder.remind_at >= start else f"{local:%d %b %H:%M} (earlier)"
        lines.append(f"{when}  {reminder.text}")
        task = reminder.task
        if task is not None and task.due_at:
            lines.append(f"       due {local_text(task.due_at, zone)}")
    lines += ["", f"Times are in {getattr(zone, 'key', str(zone))}."]
    if _base_url():
        lines.append(f"Your notifications: {_link(reverse('activity:notifications'))}")
    return subject, "\n".join(lines)


def _send_digests(now: dt.datetime, delivery: Delivery) -> None:
    users = User.objects.filter(reminder_digest=True, is_active=True).exclude(email="")
    for user in users:
        zone = user_zone(user)
        local = now.astimezone(zone)
        if local.time() < DIGEST_TIME:
            continue
        day = local.date()
        digest = _claim_digest(user, day, now)
        if digest is None:
            continue
        end = day_start(day + dt.timedelta(days=1), zone)
        due = list(
            Reminder.objects.filter(user=user, emailed_at__isnull=True, remind_at__lt=end)
            .select_related("task")
            .order_by("remind_at", "id")
        )
        if due:
            subject, body = digest_text(user, day, due)
            try:
                _send(subject, body, user.email)
            except Exception as exc:  # noqa: BLE001 - any SMTP failure: try again later
                logger.warning(
                    "Digest for %s could not be mailed (%s); trying again soon", user, exc
                )
                ReminderDigest.objects.filter(pk=digest.pk, claimed_at=now).update(claimed_at=None)
                delivery.failed += 1
                continue
        with transaction.atomic():
            Reminder.objects.filter(pk__in=[r.pk for r in due]).update(
                emailed_at=timezone.now(), email_claimed_at=now
            )
            ReminderDigest.objects.filter(pk=digest.pk).update(
                sent_at=timezone.now(), reminder_count=len(due)
            )
        delivery.digests += 1 if due else 0


def reminders_deliver(*, now: dt.datetime | None = None) -> Delivery:
    """Deliver what is due: notifications for reminders whose time came, one mail per
    reminder to users without the digest, and the 08:00 digest to those with it.
    Any number of workers may run this at once; each thing happens once."""
    now = now or timezone.now()
    delivery = Delivery()
    delivery.notified = _notify_due(now)
    _mail_single(now, delivery)
    _send_digests(now, delivery)
    return delivery
