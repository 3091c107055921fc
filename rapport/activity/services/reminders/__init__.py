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

The package: ``planning`` (what reminders there are), ``delivery`` (in the app and one
mail each), ``digest`` (the daily mail), ``mailing`` (what their mails share).
"""

from __future__ import annotations

from rapport.activity.services.reminders.delivery import (
    BATCH,
    reminders_deliver,
    reminders_pending,
)
from rapport.activity.services.reminders.delivery import _notify_due as _notify_due
from rapport.activity.services.reminders.digest import DIGEST_TIME, digest_text
from rapport.activity.services.reminders.mailing import (
    EMAIL_CLAIM_STALE,
    Delivery,
    claim_stale_after,
)
from rapport.activity.services.reminders.planning import (
    KEEP_IN_TOUCH_LOOKBACK,
    REMINDER_TIME,
    anniversary_fields,
    occurrence,
    reminders_plan,
    task_reminder_sync,
)

__all__ = [
    "BATCH",
    "DIGEST_TIME",
    "EMAIL_CLAIM_STALE",
    "KEEP_IN_TOUCH_LOOKBACK",
    "REMINDER_TIME",
    "Delivery",
    "anniversary_fields",
    "claim_stale_after",
    "digest_text",
    "occurrence",
    "reminders_deliver",
    "reminders_pending",
    "reminders_plan",
    "task_reminder_sync",
]
