"""Double opt-in through the public sign-up form.

1. ``signup_form_token`` signs what the form page hands out; a submission must bring
   it back (a signed form token instead of Django's CSRF cookie, so the form also works
   embedded in another site's page, where third-party cookies are not sent).
2. ``signup_request`` finds the contact by email (or creates it through the contact
   services), appends a grant that ``needs_confirmation`` with the text shown and the
   evidence, and mails a link with a signed, expiring token.
3. ``signup_confirm`` appends the "confirm" row that makes the grant count. A token
   that is forged, expired, or used before changes nothing.

Submissions are counted per client address (``SignupAttempt``) and refused past
``RAPPORT_CONSENT_SIGNUP_LIMIT`` within ``RAPPORT_CONSENT_SIGNUP_WINDOW_MINUTES``; at
most ``MAILS_PER_ADDRESS`` confirmation mails go to one address a day, so the form
cannot be used to flood someone's mailbox.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import timezone

from rapport.consent import crypto
from rapport.consent.models import ConsentEvent, Purpose, SignupAttempt
from rapport.consent.services import _append
from rapport.consent.services._append import Draft
from rapport.consent.vocabulary import Action, Method, Source
from rapport.core.errors import FieldError, InvalidInput

logger = logging.getLogger(__name__)

FORM_SALT = "rapport.consent.signup-form"
CONFIRM_SALT = "rapport.consent.confirm"
MAILS_PER_ADDRESS = 3
SIGNUP_FIELDS = ("email", "name", "form_token", "website")
HONEYPOT = "website"


class SignupThrottled(Exception):
    """Too many sign-ups from one client address; try again in ``retry_after`` s."""

    def __init__(self, retry_after: int) -> None:
        self.retry_after = retry_after
        minutes = max(1, (retry_after + 59) // 60)
        super().__init__(f"Too many sign-ups from your address. Try again in {minutes} minute(s).")


def signup_purpose(*, key: str) -> Purpose:
    """The purpose whose form is open at ``key``; Purpose.DoesNotExist otherwise."""
    return Purpose.objects.select_related("signup_owner").get(
        key=key, signup_enabled=True, archived_at__isnull=True
    )


def signup_form_token(*, purpose: Purpose) -> str:
    """The signed token a sign-up form carries; valid for RAPPORT_CONSENT_FORM_HOURS."""
    return signing.TimestampSigner(salt=FORM_SALT).sign_object(
        {"p": purpose.pk, "n": secrets.token_hex(6)}
    )


def _check_form_token(token: Any, purpose: Purpose) -> None:
    message = (
        "This form has expired or was not loaded from this site; reload the page and send it again."
    )
    if not isinstance(token, str) or not token or len(token) > 500:
        raise InvalidInput.single("form_token", message)
    try:
        value = signing.TimestampSigner(salt=FORM_SALT).unsign_object(
            token, max_age=dt.timedelta(hours=settings.RAPPORT_CONSENT_FORM_HOURS)
        )
    except signing.BadSignature:
        raise InvalidInput.single("form_token", message) from None
    if not isinstance(value, dict) or value.get("p") != purpose.pk:
        raise InvalidInput.single("form_token", message)


def _attempts(key: str, since: dt.datetime) -> int:
    return SignupAttempt.objects.filter(key=key, at__gt=since).count()


def _count_attempt(key: str, now: dt.datetime) -> None:
    with transaction.atomic():
        SignupAttempt.objects.filter(at__lt=now - dt.timedelta(days=1)).delete()
        SignupAttempt.objects.create(key=key, at=now)


def _throttle(client_ip: str, now: dt.datetime) -> None:
    window = dt.timedelta(minutes=settings.RAPPORT_CONSENT_SIGNUP_WINDOW_MINUTES)
    key = crypto.throttle_key("ip", client_ip or "unknown")
    recent = SignupAttempt.objects.filter(key=key, at__gt=now - window).order_by("at")
    if recent.count() >= settings.RAPPORT_CONSENT_SIGNUP_LIMIT:
        oldest = recent.values_list("at", flat=True).first() or now
        retry = int((oldest + window - now).total_seconds()) + 1
        logger.warning("Sign-up form: refused a submission past the limit from %s", client_ip)
        raise SignupThrottled(max(1, retry))
    _count_attempt(key, now)


@dataclass(frozen=True)
class SignupResult:
    """``requested``: a confirmation mail is on its way (or was held back because the
    address already got several today; the person is told the same either way).
    ``ignored``: the honeypot was filled in; nothing was recorded."""

    status: str
    event: ConsentEvent | None = None


def _find_or_create_contact(purpose: Purpose, address: str, name: str) -> int:
    from rapport.contacts import normalize
    from rapport.contacts.models import Email
    from rapport.contacts.services import contact_create

    found = (
        Email.objects.filter(address_key=normalize.email_key(address))
        .order_by("contact_id")
        .values_list("contact_id", flat=True)
        .first()
    )
    if found is not None:
        return int(found)
    data: dict[str, Any] = {
        "emails": [{"address": address}],
        "source": f"Sign-up form: {purpose.name}"[:100],
    }
    if name:
        data["full_name"] = name
    try:
        contact = contact_create(actor=purpose.signup_owner, data=data, via="form")
    except InvalidInput as exc:
        # the person sees the form's own fields, not the contact's
        raise InvalidInput(
            [
                FieldError("name" if e.path.endswith("name") else "email", e.message)
                for e in exc.errors
            ]
        ) from None
    return int(contact.pk)


def _pending_request(contact_id: int, purpose: Purpose, point: str) -> ConsentEvent | None:
    """An unconfirmed request for the same address made recently, to mail again
    instead of appending another."""
    subject = _append.subject_for(contact_id, create=False)
    if subject is None:
        return None
    key = _append.point_key(subject[1], "email", point)
    since = timezone.now() - dt.timedelta(hours=settings.RAPPORT_CONSENT_CONFIRM_HOURS / 2)
    return (
        ConsentEvent.objects.filter(
            contact_id=contact_id,
            purpose=purpose,
            action=Action.GRANT,
            needs_confirmation=True,
            point_key=key,
            recorded_at__gt=since,
            confirmation__isnull=True,
        )
        .order_by("-seq")
        .first()
    )


def signup_request(
    *,
    purpose: Purpose,
    data: Mapping[str, Any],
    client_ip: str,
    user_agent: str,
    base_url: str,
) -> SignupResult:
    """Handle one submission of ``purpose``'s sign-up form (``email``, ``name``, the
    signed ``form_token`` and the ``website`` honeypot).

    Raises SignupThrottled (nothing recorded but the count), InvalidInput naming the
    wrong field (an expired or foreign form token, an invalid email; nothing
    recorded). Otherwise the contact is found by email or created through the contact
    services, a grant awaiting confirmation is appended, and the confirmation mail is
    sent once the transaction commits.
    """
    now = timezone.now()
    _check_form_token(data.get("form_token"), purpose)
    _throttle(client_ip, now)
    if str(data.get(HONEYPOT) or "").strip():
        logger.info("Sign-up form %s: honeypot filled in, ignored", purpose.key)
        return SignupResult("ignored")

    from rapport.contacts import normalize

    errors: list[FieldError] = []
    raw_email = data.get("email")
    address = ""
    if not isinstance(raw_email, str) or not raw_email.strip():
        errors.append(FieldError("email", "Enter your email address."))
    else:
        try:
            address = normalize.email(raw_email)
        except ValueError as exc:
            errors.append(FieldError("email", str(exc)))
    name = data.get("name") or ""
    if not isinstance(name, str) or len(name.strip()) > 200:
        errors.append(FieldError("name", "At most 200 characters."))
        name = ""
    if errors:
        raise InvalidInput(errors)
    text = purpose.texts.order_by("-version").first()
    if text is None or purpose.signup_owner is None:
        raise Purpose.DoesNotExist("This sign-up form is not set up.")

    point = normalize.email_key(address)
    address_key = crypto.throttle_key("email", point)
    if _attempts(address_key, now - dt.timedelta(days=1)) >= MAILS_PER_ADDRESS:
        logger.warning("Sign-up form %s: mail to one address held back (daily limit)", purpose.key)
        return SignupResult("requested")

    with transaction.atomic():
        contact_id = _find_or_create_contact(purpose, address, name.strip())
        event = _pending_request(contact_id, purpose, point)
        if event is None:
            evidence = {"ip_address": client_ip} if client_ip else {}
            if user_agent:
                evidence["user_agent"] = user_agent[:1000]
            [event] = _append.append(
                [
                    Draft(
                        contact_id=contact_id,
                        action=Action.GRANT,
                        source=Source.FORM,
                        method=Method.DOUBLE_OPT_IN,
                        purpose=purpose,
                        channel="email",
                        point=point,
                        point_display=address,
                        source_ref=f"Sign-up form {purpose.key}",
                        text=text,
                        evidence=evidence,
                        token_id=secrets.token_hex(16),
                        needs_confirmation=True,
                        note="Asked through the sign-up form; counts once confirmed.",
                    )
                ]
            )
        SignupAttempt.objects.create(key=address_key, at=now)
        event_id = event.pk
        transaction.on_commit(lambda: _enqueue_mail(event_id, base_url))
    return SignupResult("requested", event)


def _enqueue_mail(event_id: int, base_url: str) -> None:
    from rapport.consent.tasks import send_signup_confirmation

    send_signup_confirmation.enqueue(event_id, base_url)


def confirmation_token(event: ConsentEvent) -> str:
    return signing.TimestampSigner(salt=CONFIRM_SALT).sign_object(
        {"e": event.pk, "t": event.token_id}
    )


def signup_confirmation_send(*, event_id: int, base_url: str) -> bool:
    """Mail the confirmation link for request ``event_id`` to the address it names.
    False when there is nothing to send (confirmed meanwhile, or the person was
    forgotten)."""
    event = ConsentEvent.objects.select_related("purpose", "text").filter(pk=event_id).first()
    if (
        event is None
        or event.purpose is None
        or ConsentEvent.objects.filter(confirms=event).exists()
    ):
        return False
    subject = _append.subject_for(event.contact_id, create=False)
    if subject is None:
        return False
    address = crypto.unseal(subject[1], event.point_sealed)
    link = f"{base_url.rstrip('/')}/public/consent/confirm/{confirmation_token(event)}/"
    hours = settings.RAPPORT_CONSENT_CONFIRM_HOURS
    text = event.text.body if event.text else ""
    body = (
        f"Please confirm that you want {event.purpose.name}.\n\n"
        f"You (or someone giving your address) asked for it with this text:\n\n"
        f"{text}\n\n"
        f"To confirm, open this link and press the button (it works for {hours} hours):\n\n"
        f"{link}\n\n"
        "If you did not ask for this, ignore this message: without your confirmation "
        "nothing will be sent to you.\n"
    )
    EmailMessage(
        subject=f"Please confirm: {event.purpose.name}",
        body=body,
        from_email=None,
        to=[address],
        headers={"Auto-Submitted": "auto-generated"},
    ).send()
    return True


@dataclass(frozen=True)
class ConfirmLink:
    """What a confirmation link leads to. ``status``: ``valid`` (may be confirmed),
    ``confirmed`` (already was), ``expired``, ``invalid`` (forged, mangled, or for a
    request that no longer exists)."""

    status: str
    request: ConsentEvent | None = None

    @property
    def purpose_name(self) -> str:
        return self.request.purpose.name if self.request and self.request.purpose else ""


def signup_link_check(*, token: str) -> ConfirmLink:
    """Read a confirmation token without changing anything (the page a GET shows)."""
    if not isinstance(token, str) or len(token) > 500:
        return ConfirmLink("invalid")
    signer = signing.TimestampSigner(salt=CONFIRM_SALT)
    try:
        value = signer.unsign_object(
            token, max_age=dt.timedelta(hours=settings.RAPPORT_CONSENT_CONFIRM_HOURS)
        )
    except signing.SignatureExpired:
        try:  # an expired link to a request confirmed meanwhile says so
            value = signer.unsign_object(token)
        except signing.BadSignature:
            return ConfirmLink("invalid")
        request = _request(value)
        if request is not None and ConsentEvent.objects.filter(confirms=request).exists():
            return ConfirmLink("confirmed", request)
        return ConfirmLink("expired", request)
    except signing.BadSignature:
        return ConfirmLink("invalid")
    request = _request(value)
    if request is None:
        return ConfirmLink("invalid")
    if ConsentEvent.objects.filter(confirms=request).exists():
        return ConfirmLink("confirmed", request)
    return ConfirmLink("valid", request)


def _request(value: Any) -> ConsentEvent | None:
    if not isinstance(value, dict) or not isinstance(value.get("e"), int):
        return None
    if not 0 < value["e"] < 2**63:
        return None
    request = (
        ConsentEvent.objects.select_related("purpose", "text")
        .filter(pk=value["e"], needs_confirmation=True)
        .first()
    )
    if request is None or request.token_id != value.get("t"):
        return None
    if _append.subject_for(request.contact_id, create=False) is None:
        return None  # the person was forgotten since
    return request


def signup_confirm(*, token: str, client_ip: str, user_agent: str) -> ConfirmLink:
    """Confirm the request a link names: append the "confirm" row (with this click's
    evidence) that makes the grant count. A link that is not ``valid`` changes
    nothing and says why; a second confirmation says ``confirmed`` and appends
    nothing (also when two clicks race: the ledger allows one confirmation per
    request)."""
    link = signup_link_check(token=token)
    if link.status != "valid" or link.request is None:
        return link
    request = link.request
    evidence = {"ip_address": client_ip} if client_ip else {}
    if user_agent:
        evidence["user_agent"] = user_agent[:1000]
    with transaction.atomic():
        _append.lock_head()  # one confirmation at a time, then look again
        if ConsentEvent.objects.filter(confirms=request).exists():
            return ConfirmLink("confirmed", request)
        _append.append(
            [
                Draft(
                    contact_id=request.contact_id,
                    action=Action.CONFIRM,
                    source=Source.FORM,
                    method=Method.DOUBLE_OPT_IN,
                    purpose=request.purpose,
                    channel=request.channel,
                    point_key=request.point_key,
                    point_sealed=request.point_sealed,
                    source_ref=request.source_ref,
                    text=request.text,
                    evidence=evidence,
                    token_id=request.token_id,
                    confirms=request,
                    note="Confirmed by opening the link in the confirmation mail.",
                )
            ]
        )
    return ConfirmLink("confirmed_now", request)
