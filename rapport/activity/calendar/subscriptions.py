"""Calendars subscribed to by URL: keeping the subscriptions, fetching a feed (only the
URL the user gave, conditionally, bounded in time and size), and refreshing it into
meetings in the background with a back-off while it fails.

A feed's URL often carries a secret (``https://name:password@host/…`` or a private
token in the path), so it is stored encrypted in the activity key store
(``rapport.activity.keystore``, the one mailbox passwords use) and shown only with the
password hidden.
"""

from __future__ import annotations

import base64
import datetime as dt
import logging
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from rapport.activity.calendar.importing import calendar_import, max_bytes, size_text
from rapport.activity.calendar.parse import window_days
from rapport.activity.calendar.store import series_vanished
from rapport.activity.keystore import (
    KeyUnavailable,
    SecretUnreadable,
    secret_decrypt,
    secret_encrypt,
    secret_rotated,
)
from rapport.activity.models import CalendarSubscription
from rapport.core import policy
from rapport.core.errors import FieldError, InvalidInput, NotPermitted

logger = logging.getLogger(__name__)
TIMEOUT_SECONDS = 20
MAX_REDIRECTS = 5
MIN_MINUTES = 5
MAX_MINUTES = 7 * 24 * 60
MAX_BACKOFF = dt.timedelta(hours=24)
# A refresh enqueued but not yet finished holds its subscription this long, so the next
# round of the duty does not enqueue it again; a worker that died lets it go after.
LEASE = dt.timedelta(minutes=10)
MAX_PER_USER = 50
_FIELDS = frozenset({"name", "url", "refresh_minutes", "enabled"})


# -- reading and keeping subscriptions --------------------------------------------------


def subscription_list(*, actor: Any) -> QuerySet[CalendarSubscription]:
    """The actor's own subscriptions (their URLs may hold secrets: nobody else's)."""
    if not getattr(actor, "pk", None):
        return CalendarSubscription.objects.none()
    return CalendarSubscription.objects.filter(owner_id=actor.pk)


def subscription_get(*, actor: Any, subscription_id: int) -> CalendarSubscription:
    """One of the actor's subscriptions; raises CalendarSubscription.DoesNotExist."""
    return subscription_list(actor=actor).get(pk=subscription_id)


def url_clean(value: Any) -> str:
    """The feed URL to keep (``webcal://`` read as ``https://``); raises InvalidInput."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput.single("url", "Give the calendar's address (http or https).")
    text = value.strip()
    if any(c.isspace() or ord(c) < 32 for c in text) or len(text) > 2000:
        raise InvalidInput.single("url", "This is not a web address (at most 2,000 characters).")
    if text.lower().startswith("webcal://"):
        text = "https://" + text[len("webcal://") :]
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 (raises for a port that is no number)
    except ValueError:
        raise InvalidInput.single("url", "This is not a web address.") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise InvalidInput.single("url", "Only http and https addresses can be subscribed to.")
    if not parts.hostname:
        raise InvalidInput.single("url", "The address has no host name.")
    return text


def url_shown(url: str) -> str:
    """The URL with any password in it hidden."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{host}"))


UNREADABLE_URL = (
    "The stored address cannot be decrypted with the configured key (RAPPORT_MAILBOX_KEY "
    "or SECRET_KEY changed?). Enter the address again."
)


def subscription_url(subscription: CalendarSubscription) -> str:
    """The feed's address, decrypted. Raises SecretUnreadable when no configured key
    fits, KeyUnavailable when the key cannot be read."""
    return secret_decrypt(subscription.url_encrypted)


def subscription_url_shown(subscription: CalendarSubscription) -> str:
    """The feed's address to show its owner: any password in it hidden; a sentence
    instead when it cannot be decrypted."""
    try:
        return url_shown(subscription_url(subscription))
    except SecretUnreadable:
        return "(the stored address cannot be decrypted: enter it again)"
    except KeyUnavailable:
        return "(the encryption key cannot be read)"


def _encrypted(url: str) -> str:
    try:
        return secret_encrypt(url)
    except KeyUnavailable as exc:
        raise InvalidInput.single("url", str(exc)) from None


def _validate(data: Mapping[str, Any], current: CalendarSubscription | None) -> dict[str, Any]:
    errors: list[FieldError] = []
    for key in sorted(set(data) - _FIELDS):
        errors.append(FieldError(key, "Unknown field."))
    fields: dict[str, Any] = {}
    if current is None or "name" in data:
        name = data.get("name")
        if not isinstance(name, str) or not name.strip():
            errors.append(FieldError("name", "Give the calendar a name."))
        elif len(name.strip()) > 200 or "\x00" in name:
            errors.append(FieldError("name", "At most 200 characters, without NUL."))
        else:
            fields["name"] = name.strip()
    if current is None or "url" in data:
        try:
            fields["url"] = url_clean(data.get("url"))
        except InvalidInput as exc:
            errors.extend(exc.errors)
    if "refresh_minutes" in data:
        minutes = data.get("refresh_minutes")
        if isinstance(minutes, str) and minutes.strip().isdecimal():
            minutes = int(minutes)
        if (
            not isinstance(minutes, int)
            or isinstance(minutes, bool)
            or not MIN_MINUTES <= minutes <= MAX_MINUTES
        ):
            errors.append(
                FieldError(
                    "refresh_minutes",
                    f"Give whole minutes from {MIN_MINUTES} to {MAX_MINUTES} (a week).",
                )
            )
        else:
            fields["refresh_minutes"] = minutes
    if "enabled" in data:
        if not isinstance(data["enabled"], bool):
            errors.append(FieldError("enabled", "Must be true or false."))
        else:
            fields["enabled"] = data["enabled"]
    if errors:
        raise InvalidInput(errors)
    return fields


@transaction.atomic
def subscription_create(*, actor: Any, data: Mapping[str, Any]) -> CalendarSubscription:
    """Subscribe ``actor`` to a calendar URL; the first refresh is due at once.

    Raises NotPermitted without ``calendars.import``, InvalidInput naming each bad field
    (``url`` too when the encryption key cannot be read: nothing is saved then).
    """
    policy.require(actor, "calendars.import")
    fields = _validate(data, None)
    if subscription_list(actor=actor).count() >= MAX_PER_USER:
        raise InvalidInput.single("url", f"At most {MAX_PER_USER} calendars per user.")
    fields["url_encrypted"] = _encrypted(fields.pop("url"))
    return CalendarSubscription.objects.create(
        owner=actor,
        next_refresh_at=timezone.now(),
        **fields,
    )


@transaction.atomic
def subscription_update(
    *, actor: Any, subscription: CalendarSubscription, data: Mapping[str, Any]
) -> CalendarSubscription:
    """Change a subscription; a new URL starts afresh (the next refresh is due at once
    and nothing is cancelled because the old feed's events are missing from the new).
    Raises InvalidInput naming each bad field (``url`` too when the encryption key
    cannot be read)."""
    policy.require(actor, "calendars.import")
    current = subscription_get(actor=actor, subscription_id=subscription.pk)
    fields = _validate(data, current)
    url = fields.pop("url", None)
    try:
        changed = url is not None and url != subscription_url(current)
    except (SecretUnreadable, KeyUnavailable):
        changed = url is not None  # the old one is lost: the one given replaces it
    if changed:
        fields.update(
            url_encrypted=_encrypted(str(url)),
            etag="",
            last_modified="",
            known_uids=[],
            status=CalendarSubscription.Status.NEW,
            error="",
            consecutive_failures=0,
            next_refresh_at=timezone.now(),
        )
    if fields.get("enabled") is False:
        fields["status"] = CalendarSubscription.Status.PAUSED
    elif fields.get("enabled") is True and current.status == CalendarSubscription.Status.PAUSED:
        fields.update(status=CalendarSubscription.Status.NEW, next_refresh_at=timezone.now())
    for key, value in fields.items():
        setattr(current, key, value)
    current.version = F("version") + 1  # type: ignore[assignment]
    current.save()
    current.refresh_from_db()
    return current


def subscription_delete(*, actor: Any, subscription: CalendarSubscription) -> None:
    """Stop following a calendar; the meetings it brought stay."""
    policy.require(actor, "calendars.import")
    subscription_get(actor=actor, subscription_id=subscription.pk).delete()


# -- fetching ----------------------------------------------------------------------------


class FetchError(Exception):
    """The feed could not be fetched; the message says why, in words."""


@dataclass
class Fetched:
    """A feed's answer: 200 with ``body``, or 304 (not modified since the last time)."""

    status: int
    body: bytes = b""
    etag: str = ""
    last_modified: str = ""


class _Redirects(urllib.request.HTTPRedirectHandler):
    """Follows at most a few redirects, to http or https only, and never carries the
    credentials to another host."""

    max_redirections = MAX_REDIRECTS

    def redirect_request(
        self, req: Any, fp: Any, code: int, msg: str, headers: Any, newurl: str
    ) -> Any:
        if urlsplit(newurl).scheme.lower() not in ("http", "https"):
            raise FetchError(f"The server redirected to {newurl!r}, which is not http or https.")
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new is not None and urlsplit(newurl).netloc != urlsplit(req.full_url).netloc:
            new.remove_header("Authorization")
        return new


def calendar_fetch(url: str, *, etag: str = "", last_modified: str = "") -> Fetched:
    """GET the feed at ``url`` (and nothing else), conditionally on what the last answer
    said; raises FetchError saying what went wrong."""
    parts = urlsplit(url)
    headers = {"User-Agent": "Rapport calendar subscription", "Accept": "text/calendar, */*"}
    if parts.username is not None:
        secret = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        headers["Authorization"] = "Basic " + base64.b64encode(secret.encode()).decode()
        host = parts.hostname or ""
        netloc = f"[{host}]" if ":" in host else host
        if parts.port:
            netloc += f":{parts.port}"
        url = urlunsplit(parts._replace(netloc=netloc))
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 (http/https only)
    opener = urllib.request.build_opener(_Redirects())
    limit = max_bytes()
    try:
        with opener.open(request, timeout=TIMEOUT_SECONDS) as response:
            body = response.read(limit + 1)
            answer = Fetched(
                200,
                body,
                str(response.headers.get("ETag", "") or "")[:500],
                str(response.headers.get("Last-Modified", "") or "")[:100],
            )
    except urllib.error.HTTPError as exc:
        if exc.code == 304:
            return Fetched(304, etag=etag, last_modified=last_modified)
        if exc.code in (401, 403):
            raise FetchError(
                f"The server refused access ({exc.code} {exc.reason}): check the "
                "credentials in the address."
            ) from None
        if exc.code == 404:
            raise FetchError("The server has no calendar at this address (404).") from None
        raise FetchError(f"The server answered {exc.code} {exc.reason}.") from None
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, TimeoutError):
            raise FetchError(f"The server did not answer within {TIMEOUT_SECONDS} s.") from None
        raise FetchError(f"Could not reach the server: {reason}.") from None
    except TimeoutError:
        raise FetchError(f"The server did not answer within {TIMEOUT_SECONDS} s.") from None
    except (OSError, ValueError) as exc:
        raise FetchError(f"Could not fetch the calendar: {exc}.") from None
    if len(answer.body) > limit:
        raise FetchError(
            f"The calendar is larger than {size_text(limit)} "
            "(RAPPORT_CALENDAR_MAX_BYTES); it was not read."
        )
    return answer


# -- refreshing ---------------------------------------------------------------------------


def _backoff(subscription: CalendarSubscription, failures: int) -> dt.timedelta:
    every = dt.timedelta(minutes=subscription.refresh_minutes)
    return min(every * (2 ** min(failures, 16)), max(MAX_BACKOFF, every))


def _failed(subscription: CalendarSubscription, now: dt.datetime, reason: str) -> None:
    failures = subscription.consecutive_failures + 1
    CalendarSubscription.objects.filter(pk=subscription.pk).update(
        status=CalendarSubscription.Status.FAILING,
        error=reason[:2000],
        consecutive_failures=failures,
        last_attempt_at=now,
        next_refresh_at=now + _backoff(subscription, failures),
    )
    logger.warning("Calendar subscription %s failed: %s", subscription.pk, reason)


def subscription_refresh(
    *, subscription_id: int, now: dt.datetime | None = None
) -> CalendarSubscription | None:
    """Fetch a subscribed calendar and store its events as its owner's meetings.

    Never raises for what the feed does: a failure is kept in words on the subscription
    (``status`` failing, ``error``) and the next try waits twice as long each time, up to
    a day. Events gone from the feed have their coming meetings cancelled. Running it
    twice is safe. Returns the subscription as it now is (None when it was deleted).
    """
    subscription = CalendarSubscription.objects.filter(pk=subscription_id).first()
    if subscription is None or not subscription.enabled:
        return subscription
    now = now or timezone.now()
    owner = subscription.owner
    try:
        if not policy.can(owner, "calendars.import"):
            raise NotPermitted(f"{owner} may no longer import calendars.")
        try:
            url = subscription_url(subscription)
        except SecretUnreadable:
            raise FetchError(UNREADABLE_URL) from None
        except KeyUnavailable as exc:
            raise FetchError(str(exc)) from None
        fetched = calendar_fetch(
            url, etag=subscription.etag, last_modified=subscription.last_modified
        )
        changes: dict[str, Any] = {}
        if fetched.status == 200:
            try:
                report = calendar_import(
                    actor=owner, data=fetched.body, file_name=subscription.name, now=now
                )
            except InvalidInput as exc:
                raise FetchError(f"The address did not return a calendar: {exc}") from None
            gone = sorted(set(subscription.known_uids or []) - report.uids)
            if gone:
                _, future = window_days()
                report.cancelled += series_vanished(
                    gone, since=now, until=now + dt.timedelta(days=future)
                )
            if report.created or report.updated or report.cancelled or report.failed:
                logger.info(
                    "Calendar subscription %s refreshed: %d created, %d updated, "
                    "%d cancelled, %d failed",
                    subscription.pk,
                    report.created,
                    report.updated,
                    report.cancelled,
                    report.failed,
                )
            changes.update(
                known_uids=sorted(report.uids),
                last_report={**report.as_dict(), "at": now.isoformat()},
                etag=fetched.etag,
                last_modified=fetched.last_modified,
            )
        else:
            changes["last_report"] = {
                **(subscription.last_report or {}),
                "not_modified_at": now.isoformat(),
            }
    except (FetchError, NotPermitted) as exc:
        _failed(subscription, now, str(exc))
    except Exception as exc:  # a fault of ours: said in words, retried with back-off
        logger.exception("Calendar subscription %s could not be refreshed", subscription.pk)
        _failed(subscription, now, f"The refresh failed: {type(exc).__name__}: {exc}")
    else:
        CalendarSubscription.objects.filter(pk=subscription.pk).update(
            status=CalendarSubscription.Status.OK,
            error="",
            consecutive_failures=0,
            last_attempt_at=now,
            last_refreshed_at=now,
            next_refresh_at=now + dt.timedelta(minutes=subscription.refresh_minutes),
            **changes,
        )
        _rotate(subscription)
    return CalendarSubscription.objects.filter(pk=subscription.pk).first()


def _rotate(subscription: CalendarSubscription) -> None:
    """Encrypt the address again with the first key when an older one was used, so an
    old key can be dropped once everything was refreshed; only if the address was not
    changed meanwhile."""
    rotated = secret_rotated(subscription.url_encrypted)
    if rotated:
        CalendarSubscription.objects.filter(
            pk=subscription.pk, url_encrypted=subscription.url_encrypted
        ).update(url_encrypted=rotated)


def subscription_request_refresh(*, actor: Any, subscription: CalendarSubscription) -> None:
    """Refresh now, in the background (the owner's "Refresh now")."""
    policy.require(actor, "calendars.import")
    current = subscription_get(actor=actor, subscription_id=subscription.pk)
    if not current.enabled:
        raise InvalidInput.single("enabled", "This calendar is paused; resume it first.")
    _enqueue(current.pk, timezone.now())


def _enqueue(subscription_id: int, now: dt.datetime) -> None:
    from rapport.activity.calendar.tasks import refresh_subscription

    CalendarSubscription.objects.filter(pk=subscription_id).update(next_refresh_at=now + LEASE)
    transaction.on_commit(lambda: refresh_subscription.enqueue(subscription_id=subscription_id))


def subscriptions_enqueue_due(now: dt.datetime | None = None) -> list[int]:
    """The periodic duty: enqueue a refresh of each subscription that is due, holding
    it for a while so the next round does not enqueue it twice."""
    now = now or timezone.now()
    due = list(
        CalendarSubscription.objects.filter(enabled=True)
        .filter(Q(next_refresh_at__isnull=True) | Q(next_refresh_at__lte=now))
        .order_by("next_refresh_at", "id")
        .values_list("id", flat=True)[:500]
    )
    started = []
    for pk in due:
        with transaction.atomic():
            held = (
                CalendarSubscription.objects.filter(pk=pk, enabled=True)
                .filter(Q(next_refresh_at__isnull=True) | Q(next_refresh_at__lte=now))
                .update(next_refresh_at=now + LEASE)
            )
            if held:
                _enqueue(pk, now)
                started.append(pk)
    return started
