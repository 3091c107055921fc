"""What happened with people: interactions and who took part, email threads, attachments,
tasks with their reminders, notifications for users, and keep-in-touch cadences."""

from rapport.activity.models.calendars import CalendarSubscription
from rapport.activity.models.interactions import (
    Attachment,
    CorrespondentSuggestion,
    Interaction,
    Participant,
    Thread,
)
from rapport.activity.models.mail import (
    Mailbox,
    MailboxFolder,
    MailboxMessage,
    MailImport,
    MailMessageRef,
    NeverLog,
)
from rapport.activity.models.tasks import KeepInTouch, Notification, Reminder, ReminderDigest, Task

__all__ = [
    "Attachment",
    "CalendarSubscription",
    "CorrespondentSuggestion",
    "Interaction",
    "KeepInTouch",
    "MailImport",
    "MailMessageRef",
    "Mailbox",
    "MailboxFolder",
    "MailboxMessage",
    "NeverLog",
    "Notification",
    "Participant",
    "Reminder",
    "ReminderDigest",
    "Task",
    "Thread",
]
