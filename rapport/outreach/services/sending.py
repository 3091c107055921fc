"""Sending email to contacts, always through the contact gate.

``message_send`` is THE way anything reaches a contact by email — the compose form on
a contact page, a bulk send, ``POST /api/v1/messages`` and, later, the automation
engine. It asks the gate, and then sends now, records the block (the caller shows the
reasons; the API answers 409), or queues the message until the gate's next allowed time
(``when="next_allowed"``). ``messages_deliver`` (a worker duty) sends what is due,
asking the gate again at that moment: a withdrawal in between stops the message.

Every sent message is logged on the contact's timeline as an outbound email interaction
(external key ``email:<Message-ID>``, placed in its mail thread, so a reply carrying
In-Reply-To lands in the same thread) and in the attempt log (it counts toward caps).
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from dataclasses import dataclass, field
from email.utils import make_msgid, parseaddr
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from rapport.contacts.models import Contact
from rapport.core import policy
from rapport.core.errors import FieldError, InvalidInput
from rapport.outreach import links, rendering
from rapport.outreach.gate import GateDecision, check_request, contact_gate
from rapport.outreach.models import (
    ContactAttempt,
    ContactPreferences,
    MessageTemplate,
    OutboundMessage,
)

logger = logging.getLogger(__name__)

WHEN = ("now", "next_allowed")
MAX_TRIES = 8
# a queued message whose window keeps moving is given up after this long
MAX_WAIT = dt.timedelta(days=60)
Status = OutboundMessage.Status


def stale_after() -> dt.timedelta:
    """How old a claim must be before another worker takes the message over: longer
    than a live worker can take to send one (as for reminder mails)."""
    return max(dt.timedelta(minutes=5), dt.timedelta(seconds=10 * settings.EMAIL_TIMEOUT))


@dataclass
class SendResult:
    """What ``message_send`` did: the message row (its ``status``: sent, blocked,
    queued, failed), the gate's decision, and whether an earlier request with the same
    idempotency key was found instead (``replayed``)."""

    message: OutboundMessage
    decision: GateDecision | None
    replayed: bool = False
    errors: list[str] = field(default_factory=list)

    @property
    def status(self) -> str:
        return self.message.status


def reasons_of(decision: GateDecision) -> list[dict[str, Any]]:
    return [
        {
            "step": r.step,
            "code": r.code,
            "text": r.text,
            "until": r.until.isoformat() if r.until else None,
        }
        for r in decision.blocking
    ]


def contact_email(contact: Contact) -> str:
    """The address mail goes to: the primary one, else the first."""
    found = contact.emails.order_by("-primary", "position", "id").first()
    return found.address if found else ""


def contact_language(contact: Contact) -> str:
    prefs = ContactPreferences.objects.filter(contact=contact).values_list("language", flat=True)
    return next(iter(prefs), "") or contact.language or ""


def _pick_language(template: MessageTemplate, wanted: str) -> tuple[str, str, str, str]:
    """(language, subject, text, html): the contact's language where a translation
    exists (exactly, else its base language: fr-CA -> fr), else the template's own."""
    wanted = (wanted or "").lower()
    if wanted:
        translations = {t.language.lower(): t for t in template.translations.all()}
        for candidate in (wanted, wanted.split("-")[0]):
            if candidate == template.language.lower():
                break
            found = translations.get(candidate)
            if found is not None:
                return found.language, found.subject, found.body_text, found.body_html
    return template.language, template.subject, template.body_text, template.body_html


def _template(value: Any, errors: list[FieldError]) -> MessageTemplate | None:
    if value in (None, ""):
        return None
    if isinstance(value, MessageTemplate):
        return value
    query = Q(key=value) if isinstance(value, str) else Q(pk=value)
    found = MessageTemplate.objects.filter(query).first()
    if found is None:
        errors.append(FieldError("template", f"There is no template “{value}”."))
    return found


def is_marketing(purpose: str) -> bool:
    from rapport.consent.models import Purpose

    return bool(Purpose.objects.filter(key=purpose, is_marketing=True).exists())


@dataclass(frozen=True)
class Prepared:
    """A message checked and rendered for one contact, not yet stored."""

    contact: Contact
    purpose: str
    channel: str
    to_address: str
    template: MessageTemplate | None
    language: str
    rendered: rendering.Rendered
    links: dict[str, str]


def message_prepare(
    *,
    contact: Contact,
    purpose: str,
    channel: str = "email",
    template: Any = None,
    subject: str = "",
    body_text: str = "",
    body_html: str = "",
    base_url: str = "",
) -> Prepared:
    """Check a message's input and render it for ``contact``; raises InvalidInput naming
    every wrong field (a template error names the template and line)."""
    errors: list[FieldError] = []
    try:
        check_request(channel=channel, purpose=purpose, at=timezone.now())
    except InvalidInput as exc:
        errors += exc.errors
    if channel != "email" and not errors:
        errors.append(
            FieldError("channel", "Rapport sends email; calls and texts go through click-to-call.")
        )
    found = _template(template, errors)
    if found is None and not errors:
        if not isinstance(subject, str) or not subject.strip():
            errors.append(FieldError("subject", "Give a subject, or a template."))
        if not isinstance(body_text, str) or not body_text.strip():
            errors.append(FieldError("body_text", "Give the message's text, or a template."))
    for name, value in (("subject", subject), ("body_text", body_text), ("body_html", body_html)):
        if not isinstance(value, str):
            errors.append(FieldError(name, "Must be text."))
    to_address = contact_email(contact)
    if not to_address:
        errors.append(FieldError("contact", f"{contact.display_name} has no email address."))
    if errors:
        raise InvalidInput(errors)
    message_links = links.links_for(contact.pk, purpose, base=base_url)
    if found is not None:
        language, t_subject, t_text, t_html = _pick_language(found, contact_language(contact))
        name = found.key
    else:
        language, t_subject, t_text, t_html = "", subject, body_text, body_html
        name = "message"
    context = {
        "contact": rendering.contact_context(contact, email=to_address),
        "preferences_url": message_links["preferences"],
        "unsubscribe_url": message_links["unsubscribe"],
    }
    rendered = rendering.render(
        name=name, subject=t_subject, body_text=t_text, body_html=t_html, context=context
    )
    return Prepared(
        contact=contact,
        purpose=purpose,
        channel=channel,
        to_address=to_address,
        template=found,
        language=language,
        rendered=rendered,
        links=message_links,
    )


def _attempt(
    message: OutboundMessage, outcome: str, at: dt.datetime, reasons: list[dict[str, Any]]
) -> None:
    if message.contact_id is None:
        return
    ContactAttempt.objects.create(
        contact_id=message.contact_id,
        channel=message.channel,
        purpose=message.purpose,
        outcome=outcome,
        at=at,
        actor_id=message.created_by_id,
        via=message.via,
        note=f"Message {message.pk}: {message.subject}"[:500],
        reasons=[{"step": r["step"], "code": r["code"], "text": r["text"]} for r in reasons],
    )


def message_send(
    *,
    actor: Any,
    contact: Contact,
    purpose: str,
    channel: str = "email",
    template: Any = None,
    subject: str = "",
    body_text: str = "",
    body_html: str = "",
    when: str = "now",
    idempotency_key: str | None = None,
    via: str = "ui",
    kind: str = OutboundMessage.Kind.SINGLE,
    bulk_job_id: int | None = None,
    base_url: str = "",
    now: dt.datetime | None = None,
    prepared: Prepared | None = None,
) -> SendResult:
    """Send one message to ``contact`` for ``purpose`` through the gate.

    ``when="now"``: sent at once when the gate allows, else recorded as ``blocked`` with
    the gate's reasons (and a blocked attempt). ``when="next_allowed"``: queued for the
    gate's next allowed time and sent then by the worker, re-checked at that moment
    (``blocked`` at once when the gate says never). The same ``idempotency_key`` from the
    same actor returns the first request's message (``replayed``), sending nothing.

    Raises NotPermitted without ``messages.send``, InvalidInput naming every wrong field
    (nothing stored). An SMTP failure leaves the message queued for retries with a
    back-off (status ``queued``, ``last_error``), not an exception.
    """
    policy.require(actor, "messages.send")
    errors: list[FieldError] = []
    if when not in WHEN:
        errors.append(FieldError("when", "Must be now or next_allowed."))
    if idempotency_key is not None and (
        not isinstance(idempotency_key, str) or not 0 < len(idempotency_key) <= 200
    ):
        errors.append(FieldError("idempotency_key", "Give 1 to 200 characters."))
    if errors:
        raise InvalidInput(errors)
    user_id = getattr(actor, "pk", None)
    if idempotency_key:
        earlier = OutboundMessage.objects.filter(
            created_by_id=user_id, idempotency_key=idempotency_key
        ).first()
        if earlier is not None:
            return SendResult(earlier, None, replayed=True)
    ready = prepared or message_prepare(
        contact=contact,
        purpose=purpose,
        channel=channel,
        template=template,
        subject=subject,
        body_text=body_text,
        body_html=body_html,
        base_url=base_url,
    )
    at = (now or timezone.now()).astimezone(dt.UTC)
    decision = contact_gate(contact=contact, channel=channel, purpose=purpose, at=at)
    row = OutboundMessage(
        contact=contact,
        channel=channel,
        purpose=purpose,
        kind=kind,
        template=ready.template,
        language=ready.language,
        to_address=ready.to_address,
        subject=ready.rendered.subject,
        body_text=ready.rendered.body_text,
        body_html=ready.rendered.body_html,
        links=ready.links,
        idempotency_key=idempotency_key or None,
        created_by_id=user_id,
        via=via,
        bulk_job_id=bulk_job_id,
        next_allowed_at=decision.next_allowed_at,
    )
    if decision.allowed:
        row.status, row.not_before, row.next_try_at = Status.QUEUED, at, at
    elif when == "next_allowed" and decision.next_allowed_at is not None:
        row.status = Status.QUEUED
        row.not_before = row.next_try_at = decision.next_allowed_at
        row.reasons = reasons_of(decision)
    else:
        row.status, row.reasons = Status.BLOCKED, reasons_of(decision)
    try:
        with transaction.atomic():
            row.save()
            if row.status == Status.BLOCKED:
                _attempt(row, ContactAttempt.Outcome.BLOCKED, at, row.reasons)
    except IntegrityError:
        # the same key, sent twice at once: the other request's message is the one
        earlier = OutboundMessage.objects.filter(
            created_by_id=user_id, idempotency_key=idempotency_key
        ).first()
        if earlier is None:
            raise
        return SendResult(earlier, None, replayed=True)
    if decision.allowed:
        message_deliver(message_id=row.pk, now=at)
        row.refresh_from_db()
    return SendResult(row, decision)


# -- delivery ------------------------------------------------------------------------


def _claim(message_id: int, now: dt.datetime, clock: dt.datetime) -> str:
    """Take the message for this worker: one conditional UPDATE, so two workers never
    both send it. Due queued messages, and those whose claim went stale, are taken."""
    claim = uuid.uuid4().hex
    taken = (
        OutboundMessage.objects.filter(pk=message_id)
        .filter(
            Q(status=Status.QUEUED, next_try_at__lte=now)
            | Q(status=Status.SENDING, claimed_at__lt=clock - stale_after())
        )
        .update(status=Status.SENDING, claim=claim, claimed_at=clock)
    )
    return claim if taken else ""


def _settle(message: OutboundMessage, owner: str, **changes: Any) -> bool:
    """Write the outcome only while the claim (``owner``) is still ours."""
    done = OutboundMessage.objects.filter(pk=message.pk, claim=owner).update(**changes)
    for key, value in changes.items():
        setattr(message, key, value)
    return bool(done)


def _from_address() -> str:
    return str(getattr(settings, "RAPPORT_MAIL_FROM", "") or settings.DEFAULT_FROM_EMAIL)


def _domain() -> str:
    address = parseaddr(_from_address())[1]
    return address.rsplit("@", 1)[-1] if "@" in address else "localhost"


def build_email(message: OutboundMessage, message_id: str) -> EmailMultiAlternatives:
    """The email as it goes out: Message-ID, the preference link, and for bulk or
    marketing mail List-Unsubscribe with one-click (RFC 8058)."""
    headers = {"Message-ID": f"<{message_id}>"}
    text = message.body_text.rstrip()
    preferences = message.links.get("preferences", "")
    unsubscribe = message.links.get("unsubscribe", "")
    if preferences and preferences not in text:
        text += f"\n\n--\nYour email preferences: {preferences}\n"
    html = message.body_html
    if html and preferences and preferences not in html:
        html += (
            f'<hr><p style="font-size:smaller"><a href="{preferences}">'
            "Your email preferences</a></p>"
        )
    if unsubscribe and (message.kind == OutboundMessage.Kind.BULK or is_marketing(message.purpose)):
        token = unsubscribe.rstrip("/").rsplit("/", 1)[-1]
        # a mailto only where Rapport reads the replies (services.public.unsubscribe_by_mail)
        mailbox = links.unsubscribe_mailbox()
        mailto = f"<mailto:{mailbox}?subject={quote('unsubscribe ' + token)}>" if mailbox else ""
        headers["List-Unsubscribe"] = ", ".join(p for p in (f"<{unsubscribe}>", mailto) if p)
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    mail = EmailMultiAlternatives(
        subject=message.subject,
        body=text,
        from_email=_from_address(),
        to=[message.to_address],
        headers=headers,
        connection=get_connection(),
    )
    if html:
        mail.attach_alternative(html, "text/html")
    return mail


def _log_on_timeline(message: OutboundMessage, sent_at: dt.datetime) -> int | None:
    """The sent message as an outbound email interaction on the contact's timeline,
    in its mail thread (a reply's In-Reply-To finds it)."""
    from rapport.access.models import User
    from rapport.activity.mail import threads
    from rapport.activity.models import Interaction
    from rapport.activity.services.interaction_input import InteractionDraft, is_two_way
    from rapport.activity.services.interactions import interaction_capture
    from rapport.activity.services.participants import ParticipantDraft, email_key_of
    from rapport.activity.services.text import sanitize_html

    author = (
        User.objects.filter(pk=message.created_by_id).first() if message.created_by_id else None
    )
    drafts = [
        ParticipantDraft(
            role="to",
            contact_id=message.contact_id,
            address=message.to_address,
            address_key=email_key_of(message.to_address),
        )
    ]
    if author is not None:
        drafts.insert(0, ParticipantDraft(role="from", user_id=author.pk))
    fields: dict[str, Any] = {
        "kind": "email",
        "direction": "outbound",
        "occurred_at": sent_at,
        "subject": message.subject[:500],
        "body": message.body_text,
        "body_html": sanitize_html(message.body_html) if message.body_html else "",
        "external_key": f"email:{message.message_id}"[:500],
        "message_id": message.message_id[:500],
        "metadata": {"purpose": message.purpose, "outbound_message": message.pk},
    }
    fields["two_way"] = is_two_way(fields)
    placement = threads.thread_find(
        message_id=fields["message_id"],
        subject=fields["subject"],
        sent_at=sent_at,
        references=[],
        in_reply_to=[],
        address_keys=[email_key_of(message.to_address)],
    )
    fields["thread_id"] = placement.thread_id
    source = Interaction.Source.API if message.via == "api" else Interaction.Source.MANUAL
    captured = interaction_capture(
        draft=InteractionDraft(fields=fields, participants=drafts), actor=author, source=source
    )
    if captured.created:
        threads.thread_record(placement=placement, message_id=fields["message_id"], sent_at=sent_at)
    else:
        threads.thread_discard(placement)
    return int(captured.interaction.pk)


def _backoff(tries: int) -> dt.timedelta:
    return min(dt.timedelta(minutes=2**tries), dt.timedelta(hours=6))


def message_deliver(*, message_id: int, now: dt.datetime | None = None) -> str:
    """Send one due message if this worker can claim it; returns its status afterwards
    ("" when another worker has it or it is not due). The gate is asked again at
    ``now``: blocked for good (a withdrawal, do not contact…) is ``blocked_at_delivery``
    with the reasons; only a later window re-queues it for that time."""
    now = (now or timezone.now()).astimezone(dt.UTC)
    clock = timezone.now()
    claim = _claim(message_id, now, clock)
    if not claim:
        return ""
    message = OutboundMessage.objects.get(pk=message_id)
    if message.contact_id is None:
        _settle(
            message,
            claim,
            status=Status.BLOCKED_AT_DELIVERY,
            reasons=[{"step": "contact", "code": "deleted", "text": "The contact was deleted."}],
        )
        return message.status
    decision = contact_gate(
        contact=message.contact_id, channel=message.channel, purpose=message.purpose, at=now
    )
    if not decision.allowed:
        reasons = reasons_of(decision)
        later = decision.next_allowed_at
        if later is not None and later - message.created_at <= MAX_WAIT:
            _settle(
                message,
                claim,
                status=Status.QUEUED,
                next_try_at=later,
                next_allowed_at=later,
                reasons=reasons,
                claim="",
            )
            return message.status
        with transaction.atomic():
            if _settle(message, claim, status=Status.BLOCKED_AT_DELIVERY, reasons=reasons):
                _attempt(message, ContactAttempt.Outcome.BLOCKED, now, reasons)
        return message.status
    header_id = message.message_id or make_msgid(domain=_domain()).strip("<>")
    # remembered before sending: a retry after a crash sends the same Message-ID, so the
    # timeline (keyed on it) holds one entry even if the server got it twice
    _settle(message, claim, message_id=header_id)
    try:
        build_email(message, header_id).send()
    except Exception as exc:  # noqa: BLE001 - any failure of the server or the network
        tries = message.tries + 1
        failed = tries >= MAX_TRIES
        _settle(
            message,
            claim,
            status=Status.FAILED if failed else Status.QUEUED,
            tries=tries,
            next_try_at=clock + _backoff(tries),
            last_error=f"{type(exc).__name__}: {exc}"[:1000],
            claim="",
        )
        logger.warning("Message %s could not be sent (try %s): %s", message.pk, tries, exc)
        return message.status
    sent_at = timezone.now()
    with transaction.atomic():
        if _settle(message, claim, status=Status.SENT, sent_at=sent_at, tries=message.tries + 1):
            _attempt(message, ContactAttempt.Outcome.SENT, sent_at, [])
            interaction_id = _log_on_timeline(message, sent_at)
            _settle(message, claim, interaction_id=interaction_id)
    logger.info("Message %s sent to contact %s", message.pk, message.contact_id)
    return message.status


def messages_due(*, now: dt.datetime | None = None) -> list[int]:
    """Ids of messages a worker should try now: queued and due, or claimed so long ago
    that their worker must have died."""
    now = (now or timezone.now()).astimezone(dt.UTC)
    clock = timezone.now()
    return list(
        OutboundMessage.objects.filter(
            Q(status=Status.QUEUED, next_try_at__lte=now)
            | Q(status=Status.SENDING, claimed_at__lt=clock - stale_after())
        )
        .order_by("next_try_at", "id")
        .values_list("pk", flat=True)[:500]
    )


def messages_deliver(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Deliver every due message (the worker's duty); counts by resulting status."""
    counts: dict[str, int] = {}
    for pk in messages_due(now=now):
        status = message_deliver(message_id=pk, now=now)
        if status:
            counts[status] = counts.get(status, 0) + 1
    if counts:
        logger.info("Queued messages delivered: %s", counts)
    return counts
