"""Reminders: planning them (tasks, birthdays, anniversaries, keep-in-touch) and
delivering each once, in the app and by email, in the user's own time zone.

Delivery has two steps, each claimed with one conditional UPDATE so that two workers
never both do it:

* in the app: ``sent_at`` goes from NULL to now in the same transaction that creates
  the notification, so a killed worker leaves neither (and the next run does both);
* by email: ``email_claimed_at`` is stamped with the clock right before the mail is
  sent and ``emailed_at`` written right after the server accepts it (only while the
  claim is still this worker's). A claim older than ``claim_stale_after()`` without
  ``emailed_at`` belonged to a worker that died: the mail is tried again. A worker
  killed in the instant between the server's acceptance and that write is the one
  way to a second mail (at least once, never lost); an SMTP failure frees the claim.

Users who chose the daily digest (``User.reminder_digest``) get no mail per reminder:
at 08:00 their time one mail lists that day's reminders (and any not yet mailed), its
sending claimed the same way through a ``ReminderDigest`` row per user and day.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from smtplib import SMTPException

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
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


# -- delivery --------------------------------------------------------------------------


@dataclass
class Delivery:
    """What one delivery run did."""

    notified: int = 0
    mailed: int = 0
    failed: int = 0
    digests: int = 0

    @property
    def did_anything(self) -> bool:
        return bool(self.notified or self.mailed or self.failed or self.digests)


def claim_stale_after() -> dt.timedelta:
    """How old a mail claim must be before another worker takes it over: longer than a
    live worker can hold one. A claim is held while one mail is sent, and each SMTP step
    (connect, EHLO, STARTTLS, AUTH, MAIL, RCPT, DATA, the message) waits at most
    EMAIL_TIMEOUT; so only the claim of a worker that died (or hangs without a timeout)
    goes stale."""
    timeout = float(getattr(settings, "EMAIL_TIMEOUT", None) or 0)
    return max(EMAIL_CLAIM_STALE, dt.timedelta(seconds=10 * timeout))


def _free_to_mail(stale_before: dt.datetime) -> Q:
    return Q(email_claimed_at__isnull=True) | Q(email_claimed_at__lt=stale_before)


def _to_mail_one_by_one() -> QuerySet[Reminder]:
    """Reminders delivered in the app and not mailed yet, of users without the digest."""
    return Reminder.objects.filter(
        sent_at__isnull=False, emailed_at__isnull=True, user__reminder_digest=False
    )


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


class _Mailer:
    """One SMTP connection for a delivery run, opened with its first mail and closed
    (QUIT) at the end, so that each mail is recorded as sent as soon as the server has
    accepted it rather than after the goodbye. A failed send drops the connection; the
    next mail opens a new one."""

    def __init__(self) -> None:
        self.connection = get_connection()
        self.opened = False

    def send(self, subject: str, body: str, to: str) -> None:
        message = EmailMessage(subject=subject, body=body, to=[to], connection=self.connection)
        try:
            if not self.opened:
                self.connection.open()
                self.opened = True
            if not message.send():
                raise SMTPException("the mail backend sent nothing")
        except Exception:
            self.close()
            raise

    def close(self) -> None:
        if self.opened:
            self.opened = False
            try:
                self.connection.close()
            except Exception:  # noqa: BLE001 - the mails are sent; a failed QUIT is harmless
                logger.debug("Closing the SMTP connection failed", exc_info=True)


def _mail_single(delivery: Delivery, mailer: _Mailer) -> None:
    """Mail each reminder delivered in the app to users without the digest, each claimed
    (``email_claimed_at``, stamped when claimed) by one conditional UPDATE right before
    its mail is sent, and recorded as mailed only while the claim is still this run's."""
    stale = claim_stale_after()
    ids = list(
        _to_mail_one_by_one()
        .filter(_free_to_mail(timezone.now() - stale))
        .order_by("remind_at", "id")
        .values_list("id", flat=True)[:BATCH]
    )
    for pk in ids:
        claim = timezone.now()
        claimed = (
            Reminder.objects.filter(pk=pk, sent_at__isnull=False, emailed_at__isnull=True)
            .filter(_free_to_mail(claim - stale))
            .update(email_claimed_at=claim)
        )
        if not claimed:
            continue  # another worker has it, or it was moved meanwhile
        mine = Reminder.objects.filter(pk=pk, email_claimed_at=claim)
        reminder = Reminder.objects.select_related("task", "user").get(pk=pk)
        user = reminder.user
        if not user.email or not user.is_active:
            mine.update(emailed_at=timezone.now())  # no one to mail any more
            continue
        zone = user_zone(user)
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
            mailer.send(f"Reminder: {reminder.text}"[:200], body, user.email)
        except Exception as exc:  # noqa: BLE001 - any SMTP failure: try again later
            logger.warning("Reminder %s could not be mailed (%s); trying again soon", pk, exc)
            mine.update(email_claimed_at=None)
            delivery.failed += 1
            continue
        # Sent: record it at once. A worker killed before this line is the one way to a
        # second mail (SMTP cannot take part in a database transaction).
        if not mine.update(emailed_at=timezone.now()):
            # Moved (a task's new due time) while its mail went out: the reminder of
            # the new time is delivered and mailed in its turn.
            logger.info("Reminder %s changed while it was mailed; it is sent again", pk)
        delivery.mailed += 1


def _digests_due(now: dt.datetime) -> list[tuple[User, dt.date]]:
    """The users of the daily digest whose day's digest is due (08:00 their time has
    come) and not sent yet, each with that day."""
    wanted: list[tuple[User, dt.date]] = []
    for user in User.objects.filter(reminder_digest=True, is_active=True).exclude(email=""):
        local = now.astimezone(user_zone(user))
        if local.time() >= DIGEST_TIME:
            wanted.append((user, local.date()))
    if not wanted:
        return []
    sent = set(
        ReminderDigest.objects.filter(
            user_id__in=[u.pk for u, _ in wanted],
            day__in={day for _, day in wanted},
            sent_at__isnull=False,
        ).values_list("user_id", "day")
    )
    return [(u, day) for u, day in wanted if (u.pk, day) not in sent]


def _claim_digest(user: User, day: dt.date) -> dt.datetime | None:
    """Claim the sending of a user's digest of ``day`` (its row, created by the first
    worker to come); the claim's time, or None when another worker has it or sent it."""
    claim = timezone.now()
    free = Q(claimed_at__isnull=True) | Q(claimed_at__lt=claim - claim_stale_after())
    if (
        ReminderDigest.objects.filter(user=user, day=day, sent_at__isnull=True)
        .filter(free)
        .update(claimed_at=claim)
    ):
        return claim
    try:
        with transaction.atomic():
            ReminderDigest.objects.create(user=user, day=day, claimed_at=claim)
    except IntegrityError:
        return None  # it exists: claimed by another worker, or sent
    return claim


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


def _send_digests(now: dt.datetime, delivery: Delivery, mailer: _Mailer) -> None:
    for user, day in _digests_due(now):
        claim = _claim_digest(user, day)
        if claim is None:
            continue
        end = day_start(day + dt.timedelta(days=1), user_zone(user))
        due = list(
            Reminder.objects.filter(user=user, emailed_at__isnull=True, remind_at__lt=end)
            .select_related("task")
            .order_by("remind_at", "id")
        )
        if due:
            subject, body = digest_text(user, day, due)
            try:
                mailer.send(subject, body, user.email)
            except Exception as exc:  # noqa: BLE001 - any SMTP failure: try again later
                logger.warning(
                    "Digest for %s could not be mailed (%s); trying again soon", user, exc
                )
                ReminderDigest.objects.filter(user=user, day=day, claimed_at=claim).update(
                    claimed_at=None
                )
                delivery.failed += 1
                continue
        with transaction.atomic():
            # A reminder moved meanwhile (new time, new day) was not in this digest as
            # it is now: it stays to be mailed.
            unchanged = Q(pk__in=[])
            for reminder in due:
                unchanged |= Q(pk=reminder.pk, remind_at=reminder.remind_at, user_id=user.pk)
            Reminder.objects.filter(unchanged, emailed_at__isnull=True).update(
                emailed_at=timezone.now(), email_claimed_at=claim
            )
            ReminderDigest.objects.filter(user=user, day=day, claimed_at=claim).update(
                sent_at=timezone.now(), reminder_count=len(due)
            )
        delivery.digests += 1 if due else 0


def reminders_pending(*, now: dt.datetime | None = None) -> bool:
    """Whether ``reminders_deliver`` would find anything to do: a reminder due in the
    app, a mail not claimed by a live worker, or a digest due. A few indexed reads, so
    the periodic duty asks this every minute and enqueues delivery only when needed."""
    now = now or timezone.now()
    if Reminder.objects.filter(sent_at__isnull=True, remind_at__lte=now).exists():
        return True
    if _to_mail_one_by_one().filter(_free_to_mail(timezone.now() - claim_stale_after())).exists():
        return True
    return bool(_digests_due(now))


def reminders_deliver(*, now: dt.datetime | None = None) -> Delivery:
    """Deliver what is due at ``now`` (default: the clock): notifications for reminders
    whose time came, one mail per reminder to users without the digest, and the 08:00
    digest to those with it. Any number of workers may run this at once: each mail and
    digest is claimed by one conditional UPDATE, stamped with the clock when claimed,
    before it is sent (see ``claim_stale_after``). Logs at INFO only when it did
    something."""
    now = now or timezone.now()
    delivery = Delivery()
    delivery.notified = _notify_due(now)
    mailer = _Mailer()
    try:
        _mail_single(delivery, mailer)
        _send_digests(now, delivery, mailer)
    finally:
        mailer.close()
    if delivery.did_anything:
        logger.info(
            "Reminders: %d delivered in the app, %d mailed, %d digests sent, %d mails failed",
            delivery.notified,
            delivery.mailed,
            delivery.digests,
            delivery.failed,
        )
    else:
        logger.debug("Reminders: nothing due")
    return delivery
