"""What a person does through the signed links in Rapport's mail, without signing in:
the one-click unsubscribe from one purpose (RFC 8058) and the preference page where
they choose channels, hours, topics and language, or unsubscribe from everything.

Every consent change is appended to the consent ledger as given by the person (source
``email_link`` or ``preference_page``, with their IP address and user agent as
evidence); channels, hours and language go through the preference services (the change
history says "preference_page") and are appended to the ledger as well, as one
``set_preferences`` row whose note says what changed.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from rapport.consent.models import ConsentState, Purpose
from rapport.consent.selectors import purpose_text
from rapport.consent.services import consent_record_by_person
from rapport.consent.vocabulary import LawfulBasis, Method, Source, Status
from rapport.contacts.models import Contact
from rapport.core.errors import FieldError, InvalidInput
from rapport.core.hooks import ArrivedMail
from rapport.outreach.links import (
    LinkInvalid,
    preference_link_check,
    unsubscribe_link_check,
    unsubscribe_mailbox,
)
from rapport.outreach.models import ContactPreferences
from rapport.outreach.selectors.preferences import _caps_of, preferences_data
from rapport.outreach.services.preferences import contact_preferences_set_by_person

logger = logging.getLogger(__name__)

# channels a person may switch on the page (in person is not something they are sent)
PAGE_CHANNELS = ("email", "call", "sms", "messaging", "post")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class TooManyChanges(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__("Too many changes from this address; try again later.")
        self.retry_after = retry_after


def throttle(client_ip: str, *, now: dt.datetime | None = None) -> None:
    """At most RAPPORT_PREFERENCE_PAGE_LIMIT changes per client address an hour."""
    now = now or timezone.now()
    key = f"outreach:public:{client_ip or '-'}:{now:%Y%m%d%H}"
    limit = int(getattr(settings, "RAPPORT_PREFERENCE_PAGE_LIMIT", 30))
    cache.add(key, 0, timeout=3700)
    try:
        count = cache.incr(key)
    except ValueError:
        cache.set(key, 1, timeout=3700)
        count = 1
    if count > limit:
        raise TooManyChanges(3600 - now.minute * 60 - now.second)


def _contact(contact_id: int) -> Contact:
    contact = Contact.objects.filter(pk=contact_id).first()
    if contact is None:
        raise LinkInvalid("This link is not valid.")
    return contact


@dataclass(frozen=True)
class UnsubscribeLink:
    contact: Contact
    purpose: Purpose
    already: bool


def _withdrawn(contact_id: int, purpose: Purpose) -> bool:
    return ConsentState.objects.filter(
        contact_id=contact_id, purpose=purpose, channel="email", status=Status.WITHDRAWN
    ).exists()


def unsubscribe_link_open(*, token: str) -> UnsubscribeLink:
    """What an unsubscribe link is about (for the page a GET shows). Raises LinkInvalid
    (forged, expired, or for a person or purpose that no longer exists)."""
    target = unsubscribe_link_check(token)
    contact = _contact(target.contact_id)
    purpose = Purpose.objects.filter(key=target.purpose).first()
    if purpose is None:
        raise LinkInvalid("This link is not valid.")
    return UnsubscribeLink(contact, purpose, _withdrawn(contact.pk, purpose))


def unsubscribe_one_click(
    *, token: str, client_ip: str = "", user_agent: str = ""
) -> UnsubscribeLink:
    """The POST of a one-click unsubscribe: a ``withdraw`` for the link's purpose on
    email, given by the person (method ``one_click``, source ``email_link``). Posting
    again changes nothing. Raises LinkInvalid."""
    link = unsubscribe_link_open(token=token)
    _withdraw_email(
        link,
        method=Method.ONE_CLICK,
        reference="One-click unsubscribe",
        evidence={"ip_address": client_ip, "user_agent": user_agent[:1000]},
    )
    return UnsubscribeLink(link.contact, link.purpose, True)


def _withdraw_email(
    link: UnsubscribeLink, *, method: str, reference: str, evidence: Mapping[str, str]
) -> None:
    """Withdraw the link's purpose on email as given by the person, once."""
    with transaction.atomic():
        if not _withdrawn(link.contact.pk, link.purpose):
            consent_record_by_person(
                contact_id=link.contact.pk,
                data={
                    "action": "withdraw",
                    "purpose": link.purpose.key,
                    "channel": "email",
                    "method": method,
                    **evidence,
                },
                source=Source.EMAIL_LINK,
                reference=reference[:200],
            )


_UNSUBSCRIBE_SUBJECT = re.compile(r"\bunsubscribe\s+([A-Za-z0-9_\-:.]{20,})", re.IGNORECASE)


def unsubscribe_by_mail(mail: ArrivedMail) -> bool:
    """Act on a mail sent through the ``mailto:`` of List-Unsubscribe (RFC 2369): its
    subject is "unsubscribe TOKEN"; it must be addressed to RAPPORT_UNSUBSCRIBE_MAILTO.
    A valid token withdraws as the one-click POST does (method ``email``, the sender's
    address kept as the reference); anything else is ignored and logged. Called for
    every message the mail intake reads (a synced mailbox, an upload): returns whether
    it was such a request."""
    mailbox = unsubscribe_mailbox()
    match = _UNSUBSCRIBE_SUBJECT.search(mail.subject or "")
    if not mailbox or match is None:
        return False
    if mailbox not in {r.strip().lower() for r in mail.recipients}:
        return False
    sender = mail.senders[0] if mail.senders else ""
    try:
        link = unsubscribe_link_open(token=match.group(1))
    except LinkInvalid:
        logger.info("An unsubscribe mail from %s had no valid link token", sender or "?")
        return True
    _withdraw_email(
        link, method=Method.EMAIL, reference=f"Unsubscribe mail from {sender}", evidence={}
    )
    return True


# -- the preference page --------------------------------------------------------------


@dataclass(frozen=True)
class Topic:
    purpose: Purpose
    subscribed: bool
    text: str


@dataclass(frozen=True)
class PreferencePage:
    contact: Contact
    channels: dict[str, str | None]
    hours: dict[str, str]
    language: str
    topics: list[Topic]
    version: int


def _topics(contact_id: int) -> list[Topic]:
    purposes = Purpose.objects.filter(
        lawful_basis=LawfulBasis.CONSENT, archived_at__isnull=True
    ).order_by("name")
    granted = set(
        ConsentState.objects.filter(
            contact_id=contact_id, status=Status.GRANTED, channel__in=("", "email")
        ).values_list("purpose_id", flat=True)
    )
    withdrawn = set(
        ConsentState.objects.filter(
            contact_id=contact_id,
            status__in=(Status.WITHDRAWN, Status.OBJECTED),
            channel__in=("", "email"),
        ).values_list("purpose_id", flat=True)
    )
    topics = []
    for purpose in purposes:
        text = purpose_text(purpose)
        subscribed = purpose.pk in granted and purpose.pk not in withdrawn
        if text is None and not subscribed:
            continue  # nothing to agree to: it cannot be granted by ticking a box
        topics.append(
            Topic(
                purpose,
                subscribed,
                text.body if text else "",
            )
        )
    return topics


def preference_page_open(*, token: str) -> PreferencePage:
    """What the person's preference page shows. Raises LinkInvalid."""
    contact = _contact(preference_link_check(token).contact_id)
    prefs = ContactPreferences.objects.filter(contact=contact).first()
    data = preferences_data(prefs, _caps_of(contact.pk))
    hours: dict[str, list[str]] = {d: [] for d in DAYS}
    for window in data.get("hours") or []:
        hours[str(window["day"])].append(f"{window['start']}-{window['end']}")
    channels = data.get("channels") or {}
    return PreferencePage(
        contact=contact,
        channels={c: channels.get(c) for c in PAGE_CHANNELS},
        hours={d: ", ".join(v) for d, v in hours.items()},
        language=str(data.get("language") or ""),
        topics=_topics(contact.pk),
        version=prefs.version if prefs else 0,
    )


def _hours_input(
    values: Mapping[str, str], errors: list[FieldError]
) -> list[dict[str, str]] | None:
    windows = []
    for day in DAYS:
        text = (values.get(day) or "").strip()
        for part in filter(None, (p.strip() for p in text.split(","))):
            start, dash, end = part.partition("-")
            if not dash:
                errors.append(
                    FieldError(f"hours_{day}", f"Write hours as 09:00-17:00, not “{part}”.")
                )
                continue
            windows.append({"day": day, "start": start.strip(), "end": end.strip()})
    return windows or None


_CHOICE_WORDS = {"allowed": "yes", "preferred": "preferred", "refused": "no", None: "not said"}


def _change_note(
    page: PreferencePage,
    channels: Mapping[str, str | None],
    hours: Mapping[str, str],
    language: str,
) -> str:
    """What the person changed, in words, for the ledger: "Phone call: yes → no; Mon
    hours: 09:00-17:00 → (none); Language: en → fr"."""
    from rapport.consent.vocabulary import CHANNEL_LABELS

    parts = []
    for channel in PAGE_CHANNELS:
        before, after = page.channels.get(channel), channels.get(channel)
        if before != after:
            parts.append(
                f"{CHANNEL_LABELS[channel]}: {_CHOICE_WORDS[before]} → {_CHOICE_WORDS[after]}"
            )
    for day in DAYS:
        before = page.hours.get(day, "")
        after = ", ".join(p.strip() for p in (hours.get(day) or "").split(",") if p.strip())
        if before != after:
            parts.append(f"{day.title()} hours: {before or '(none)'} → {after or '(none)'}")
    if language != page.language:
        parts.append(f"Language: {page.language or '(none)'} → {language or '(none)'}")
    return "; ".join(parts) or "Saved without changes"


@dataclass(frozen=True)
class PageChange:
    """What one save of the page changed (for the confirmation shown)."""

    preferences: bool
    subscribed: list[str]
    unsubscribed: list[str]
    everything: bool


def preference_page_save(
    *,
    token: str,
    channels: Mapping[str, str],
    hours: Mapping[str, str],
    language: str,
    topics: set[str],
    unsubscribe_all: bool = False,
    client_ip: str = "",
    user_agent: str = "",
) -> PageChange:
    """Save the person's choices. ``channels``: channel -> allowed / refused / "" (not
    said); ``hours``: weekday -> "09:00-12:00, 14:00-17:00"; ``topics``: the keys of
    the consent purposes they want (each one that changes is a grant — method
    checkbox, with the purpose's current text — or a withdrawal in the ledger);
    ``unsubscribe_all`` withdraws every topic and records an objection to direct
    marketing. Raises LinkInvalid, InvalidInput naming each wrong field (nothing saved)."""
    page = preference_page_open(token=token)
    contact = page.contact
    errors: list[FieldError] = []
    new_channels: dict[str, str | None] = {}
    for channel in PAGE_CHANNELS:
        value = (channels.get(channel) or "").strip()
        if value not in ("", "allowed", "preferred", "refused"):
            errors.append(
                FieldError(f"channel_{channel}", "Choose yes, preferred, no or not said.")
            )
        new_channels[channel] = value or None
    windows = _hours_input(hours, errors)
    language = (language or "").strip()
    if errors:
        raise InvalidInput(errors)
    prefs = ContactPreferences.objects.filter(contact=contact).first()
    data = preferences_data(prefs, _caps_of(contact.pk))
    merged = dict(data.get("channels") or {})
    merged.update(new_channels)
    data["channels"] = {k: v for k, v in merged.items() if v}
    data["hours"] = windows
    data["language"] = language or None
    evidence = {"ip_address": client_ip, "user_agent": user_agent[:1000]}
    with transaction.atomic():
        changed_prefs = (
            data["channels"] != {k: v for k, v in page.channels.items() if v}
            or {d: v for d, v in hours.items() if v.strip()}
            != {d: v for d, v in page.hours.items() if v}
            or language != page.language
        )
        if changed_prefs:
            contact_preferences_set_by_person(contact=contact, data=data)
            consent_record_by_person(
                contact_id=contact.pk,
                data={
                    "action": "set_preferences",
                    "method": Method.FORM,
                    "note": _change_note(page, new_channels, hours, language),
                    **evidence,
                },
                source=Source.PREFERENCE_PAGE,
                reference="Preference page",
            )
        subscribed, unsubscribed = [], []
        for topic in page.topics:
            key = topic.purpose.key
            wants = key in topics and not unsubscribe_all
            if wants and not topic.subscribed:
                consent_record_by_person(
                    contact_id=contact.pk,
                    data={"action": "grant", "purpose": key, "method": Method.CHECKBOX, **evidence},
                    source=Source.PREFERENCE_PAGE,
                    reference="Preference page",
                )
                subscribed.append(key)
            elif not wants and topic.subscribed:
                consent_record_by_person(
                    contact_id=contact.pk,
                    data={"action": "withdraw", "purpose": key, "method": Method.LINK, **evidence},
                    source=Source.PREFERENCE_PAGE,
                    reference="Preference page",
                )
                unsubscribed.append(key)
        if unsubscribe_all:
            consent_record_by_person(
                contact_id=contact.pk,
                data={"action": "object_marketing", "method": Method.LINK, **evidence},
                source=Source.PREFERENCE_PAGE,
                reference="Preference page: unsubscribe from everything",
            )
    return PageChange(changed_prefs, subscribed, unsubscribed, unsubscribe_all)


def page_values(values: Any) -> dict[str, Any]:
    """The page's form fields, as ``preference_page_save`` takes them."""
    return {
        "channels": {c: values.get(f"channel_{c}", "") for c in PAGE_CHANNELS},
        "hours": {d: values.get(f"hours_{d}", "") for d in DAYS},
        "language": values.get("language", ""),
        "topics": set(values.getlist("topics")) if hasattr(values, "getlist") else set(),
        "unsubscribe_all": values.get("unsubscribe_all") == "yes",
    }
