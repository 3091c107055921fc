"""The one way mail comes in: a mailbox sync, an uploaded .eml or .mbox, the drop-box
receiver all hand each message's bytes to ``mail_capture``.

It decides whether the message is logged (the owner's policy, the never-log list, bulk
mail), resolves its participants, stores it once per Message-ID with its new text,
quoted reply, signature and attachments, puts it in its thread, records the people it
involves who are no contact yet, and proposes what a known contact's signature adds.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from rapport.activity.mail import threads
from rapport.activity.mail.correspondents import correspondents_record
from rapport.activity.mail.parsing import Address, ParsedMail, Unreadable, parse_message, sniff_type
from rapport.activity.mail.quotes import split_reply
from rapport.activity.mail.rules import NeverLogList, bulk_reason
from rapport.activity.mail.signatures import signature_suggest
from rapport.activity.models import Attachment, Interaction
from rapport.activity.services.attachments import atomic_with_files, attachment_file_save
from rapport.activity.services.interaction_input import MAX_BODY, InteractionDraft, is_two_way
from rapport.activity.services.interactions import (
    contacts_contacted,
    interaction_capture,
    interactions_with_keys,
)
from rapport.activity.services.participants import (
    MAX_PARTICIPANTS,
    Directory,
    ParticipantDraft,
    draft_resolve,
    email_key_of,
)
from rapport.activity.services.text import sanitize_html, text_from_html
from rapport.core import hooks

logger = logging.getLogger(__name__)


class Policy:
    """What a mailbox owner chose to log."""

    KNOWN_CONTACTS = "known"  # messages with at least one known contact (the default)
    METADATA_ONLY = "metadata"  # the same messages, without bodies or attachments
    OFF = "off"

    ALL = (KNOWN_CONTACTS, METADATA_ONLY, OFF)


@dataclass
class MailOutcome:
    """What became of one message: ``stored`` (new), ``joined`` (known already; new
    links added), ``skipped`` (policy; ``reason`` says which) or ``failed``."""

    status: str
    reason: str = ""
    interaction_id: int | None = None
    message_id: str = ""


class CaptureRun:
    """What many messages of one run share: who addresses belong to, the never-log
    list. Build one per import or sync so each is read once, not per message."""

    def __init__(self, directory: Directory | None = None, *, deferred: bool = False) -> None:
        self.directory = directory or Directory()
        self.never_log = NeverLogList()
        # contacts whose signature was looked at in this run: once is enough
        # (``mark``/``rewind`` undo this for work that was rolled back)
        self.signatures_seen: set[int] = set()
        # correspondents seen, written by ``flush`` (after each message, or with the
        # importer's chunk when ``deferred``): one write per person, not per message
        self.deferred = deferred
        self.correspondents: dict[str, list[Any]] = {}
        # who was in touch when, for "last contacted": written by ``flush`` too
        self.contacted: dict[int, Any] = {}
        # the external keys of a batch already stored, when the caller looked them up
        # for the whole batch (``None``: look each one up)
        self.stored_keys: set[str] | None = None

    def prepare(self, readings: Iterable[ParsedMail | Unreadable | None]) -> None:
        """Look up what a batch of messages needs at once: who their addresses belong
        to, and which of them are stored already (one query each, not per message)."""
        mails = [mail for mail in readings if isinstance(mail, ParsedMail)]
        self.directory.load_emails(key for mail in mails for key in mail_addresses(mail))
        self.stored_keys = interactions_with_keys(external_key_of(mail) for mail in mails)

    def mark(self) -> tuple[set[int], dict[str, list[Any]], dict[int, Any]]:
        return (
            set(self.signatures_seen),
            {k: list(v) for k, v in self.correspondents.items()},
            dict(self.contacted),
        )

    def rewind(self, mark: tuple[set[int], dict[str, list[Any]], dict[int, Any]]) -> None:
        self.signatures_seen, self.correspondents, self.contacted = mark

    def saw(self, people: list[tuple[str, str, str]], moment: Any) -> None:
        for key, address, name in people:
            entry = self.correspondents.get(key)
            if entry is None:
                self.correspondents[key] = [address, name, 1, moment, moment]
            else:
                entry[1] = entry[1] or name
                entry[2] += 1
                entry[3] = min(entry[3], moment)
                entry[4] = max(entry[4], moment)

    def flush(self) -> None:
        """Write the correspondents seen and "last contacted" since the last flush."""
        if self.correspondents:
            pending, self.correspondents = self.correspondents, {}
            correspondents_record(pending)
        if self.contacted:
            moments, self.contacted = self.contacted, {}
            contacts_contacted(moments)


# reasons, worded once: counts group by them
NO_KNOWN_CONTACT = "no participant is a known contact"
ALL_NEVER_LOG = "every outside participant is on the never-log list"
LOGGING_OFF = "logging is off for this mailbox"

_ROLES = (("from", "senders"), ("to", "to"), ("cc", "cc"), ("bcc", "bcc"))


def _clean(text: str) -> str:
    """Text any database stores: no NUL, no lone surrogates."""
    if "\x00" in text:
        text = text.replace("\x00", "")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "replace").decode("utf-8")
    return text


def _drafts(mail: ParsedMail, run: CaptureRun) -> tuple[list[ParticipantDraft], list[str]]:
    """The participants to keep, and the address keys of outsiders left out as never-log."""
    drafts: list[ParticipantDraft] = []
    never: list[str] = []
    seen: set[tuple[str, str]] = set()
    for role, attribute in _ROLES:
        people: Iterable[Address] = getattr(mail, attribute)
        for person in people:
            key = email_key_of(person.address)
            if not key or (role, key) in seen:
                continue
            seen.add((role, key))
            if run.never_log.matches(key):
                never.append(key)
                continue
            drafts.append(
                ParticipantDraft(
                    role=role,
                    name=_clean(person.name),
                    address=_clean(person.address),
                    address_key=key,
                )
            )
    drafts = drafts[:MAX_PARTICIPANTS]
    run.directory.load_emails(d.address_key for d in drafts)
    return [draft_resolve(d, run.directory) for d in drafts], never


def _unknown_people(drafts: list[ParticipantDraft]) -> list[tuple[str, str, str]]:
    out: dict[str, tuple[str, str, str]] = {}
    for d in drafts:
        if d.role != "bcc" and not d.contact_id and not d.user_id and d.address_key not in out:
            out[d.address_key] = (d.address_key, d.address, d.name)
    return list(out.values())


def _bodies(mail: ParsedMail) -> dict[str, str]:
    html = sanitize_html(_clean(mail.html))[:MAX_BODY] if mail.html.strip() else ""
    text = _clean(mail.text) if mail.text.strip() else (text_from_html(html) if html else "")
    parts = split_reply(text)
    return {
        "body": parts.body[:MAX_BODY],
        "quoted": parts.quoted[:MAX_BODY],
        "signature": parts.signature[:5000],
        "body_html": html,
    }


def _save_attachments(interaction: Interaction, mail: ParsedMail) -> None:
    import hashlib

    rows = []
    for item in mail.attachments:
        row = Attachment(
            interaction=interaction,
            filename=_clean(item.filename)[:255] or "attachment",
            declared_type=item.declared_type[:100],
            content_type=item.declared_type[:100] or "application/octet-stream",
            size=item.size,
            content_id=_clean(item.content_id)[:300],
            inline=item.inline,
            omitted=item.omitted[:200],
        )
        if item.content is not None:
            row.content_type = sniff_type(item.content, item.declared_type)[:100]
            row.sha256 = hashlib.sha256(item.content).hexdigest()
            attachment_file_save(attachment=row, content=item.content)
        rows.append(row)
    Attachment.objects.bulk_create(rows)


def read_mail(raw: bytes, *, policy: str = Policy.KNOWN_CONTACTS) -> ParsedMail | Unreadable:
    """The message read for ``mail_capture``, or Unreadable saying why it cannot be."""
    try:
        return parse_message(raw, metadata_only=policy == Policy.METADATA_ONLY)
    except Unreadable as exc:
        return exc
    except Exception as exc:  # a message must never stop the others
        logger.exception("Mail could not be parsed")
        return Unreadable(f"The message could not be read: {type(exc).__name__}: {exc}")


def external_key_of(mail: ParsedMail) -> str:
    """The key a message is stored under, once whichever way it arrives."""
    return f"email:{_clean(mail.message_id)}"[:500]


def mail_addresses(mail: ParsedMail) -> list[str]:
    """The address keys of everyone in a message (to look them up in one go)."""
    people = [*mail.senders, *mail.to, *mail.cc, *mail.bcc]
    return [key for key in (email_key_of(p.address) for p in people) if key]


def mail_capture(
    raw: bytes,
    *,
    owner: Any = None,
    source: str = Interaction.Source.UPLOAD,
    policy: str = Policy.KNOWN_CONTACTS,
    directory: Directory | None = None,
    run: CaptureRun | None = None,
    parsed: ParsedMail | Unreadable | None = None,
    isolated: bool = True,
) -> MailOutcome:
    """Log one message (RFC 5322 bytes) as an email interaction, or say why not.

    Never raises for what the message holds: a message that cannot be read comes back
    ``failed`` with the reason, nothing of it saved. ``owner`` is the user whose mail
    it is. Capturing the same message again (another mailbox, a re-run) stores nothing
    new but the participants it did not have (``joined``). ``parsed`` is the message
    as ``read_mail`` gave it, for callers that read many first (to look up all their
    addresses at once). With ``isolated`` False the message is not wrapped in its own
    savepoint and an error while storing it propagates: for a caller that runs many in
    one transaction and redoes them one by one when any fails, in
    ``services.attachments.atomic_with_files`` so that the attachment files of what
    was rolled back are deleted with it.
    """
    if policy == Policy.OFF:
        return MailOutcome("skipped", LOGGING_OFF)
    run = run or CaptureRun(directory)
    mail = parsed if parsed is not None else read_mail(raw, policy=policy)
    if isinstance(mail, Unreadable):
        return MailOutcome("failed", str(mail))
    if not isolated:
        return _capture(mail, owner=owner, source=source, policy=policy, run=run, isolated=False)
    try:
        with atomic_with_files():
            outcome = _capture(mail, owner=owner, source=source, policy=policy, run=run)
            if not run.deferred:
                run.flush()
            return outcome
    except Exception as exc:  # noqa: BLE001
        logger.exception("Mail %s could not be stored", mail.message_id)
        return MailOutcome(
            "failed",
            f"The message could not be stored: {type(exc).__name__}: {exc}",
            message_id=mail.message_id,
        )


def _capture(
    mail: ParsedMail,
    *,
    owner: Any,
    source: str,
    policy: str,
    run: CaptureRun,
    isolated: bool = True,
) -> MailOutcome:
    message_id = _clean(mail.message_id)
    hooks.mail_arrived(
        hooks.ArrivedMail(
            subject=mail.subject,
            senders=tuple(a.address for a in mail.senders),
            recipients=tuple(a.address for a in (*mail.to, *mail.cc, *mail.bcc)),
        )
    )
    bulk = bulk_reason(mail)
    if bulk:
        return MailOutcome("skipped", bulk, message_id=message_id)
    drafts, never = _drafts(mail, run)
    outsiders = [d for d in drafts if not d.user_id]
    if never and not outsiders:
        return MailOutcome("skipped", ALL_NEVER_LOG, message_id=message_id)
    if not any(d.contact_id for d in drafts):
        unknown = _unknown_people(drafts)
        if unknown and threads.message_mark_seen(message_id):
            run.saw(unknown, mail.sent_at)
        return MailOutcome("skipped", NO_KNOWN_CONTACT, message_id=message_id)
    outbound = any(d.role == "from" and d.user_id for d in drafts)
    metadata: dict[str, Any] = {}
    if mail.in_reply_to:
        metadata["in_reply_to"] = mail.in_reply_to[:5]
    if mail.references:
        metadata["references"] = mail.references[-20:]
    if mail.synthetic_id:
        metadata["synthetic_message_id"] = True
    if mail.date_source != "date":
        metadata["date_from"] = mail.date_source
    if mail.notes:
        metadata["notes"] = [_clean(n)[:300] for n in mail.notes[:10]]
    if policy == Policy.METADATA_ONLY:
        metadata["metadata_only"] = True
    fields: dict[str, Any] = {
        "kind": "email",
        "direction": "outbound" if outbound else "inbound",
        "occurred_at": mail.sent_at,
        "subject": _clean(mail.subject)[:500],
        "external_key": external_key_of(mail),
        "message_id": message_id[:500],
        "metadata": metadata,
    }
    if policy != Policy.METADATA_ONLY:
        fields.update(_bodies(mail))
    fields["two_way"] = is_two_way(fields)
    placement = threads.thread_find(
        message_id=fields["message_id"],
        subject=fields["subject"],
        sent_at=mail.sent_at,
        references=mail.references,
        in_reply_to=mail.in_reply_to,
        address_keys=[d.address_key for d in outsiders],
    )
    fields["thread_id"] = placement.thread_id
    captured = interaction_capture(
        draft=InteractionDraft(fields=fields, participants=drafts),
        actor=owner,
        source=source,
        isolated=isolated,
        contacted=run.contacted,
        absent=not isolated
        and run.stored_keys is not None
        and (fields["external_key"] not in run.stored_keys),
    )
    interaction = captured.interaction
    if not captured.created:
        threads.thread_discard(placement)
        return MailOutcome("joined", interaction_id=interaction.pk, message_id=message_id)
    threads.thread_record(
        placement=placement, message_id=fields["message_id"], sent_at=mail.sent_at
    )
    _save_attachments(interaction, mail)
    unknown = _unknown_people(drafts)
    if unknown:
        run.saw(unknown, mail.sent_at)
    sender = next((d for d in drafts if d.role == "from"), None)
    if (
        sender is not None
        and sender.contact_id
        and fields.get("signature")
        and sender.contact_id not in run.signatures_seen
    ):
        run.signatures_seen.add(sender.contact_id)
        signature_suggest(
            contact_id=sender.contact_id,
            signature=fields["signature"],
            sender_name=sender.name,
            subject=fields["subject"],
        )
    return MailOutcome("stored", interaction_id=interaction.pk, message_id=message_id)
