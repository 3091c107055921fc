"""Recording consent events, and what the rest of Rapport asks of the ledger: its
check, a rebuild of the derived state, a person's history for export and forgetting
them, and keeping merged contacts' rows counted for the survivor."""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from rapport.consent.chain import GENESIS, HASHED_FIELDS, Break, first_break
from rapport.consent.models import (
    ConsentChain,
    ConsentContactState,
    ConsentEvent,
    ConsentState,
    ConsentSubject,
    ConsentText,
    Purpose,
)
from rapport.consent.services import _append
from rapport.consent.services._append import Draft
from rapport.consent.vocabulary import (
    CHANNELS,
    NO_PURPOSE_ACTIONS,
    POINT_CHANNELS,
    TEXT_METHODS,
    WHOLE_PURPOSE_ACTIONS,
    Action,
    Method,
    Source,
)
from rapport.core import policy
from rapport.core.errors import FieldError, InvalidInput

# What each way in records as the event's source, unless the caller says otherwise.
SOURCE_BY_VIA = {"ui": Source.USER, "cli": Source.USER, "api": Source.API}
RECORD_FIELDS = frozenset(
    {
        "purpose",
        "action",
        "channel",
        "point",
        "given_at",
        "valid_until",
        "method",
        "text_version",
        "note",
        "ip_address",
        "user_agent",
        "reference",
        "confirms",
    }
)
# How far ahead of the server's clock a "given at" may be (clocks differ a little).
CLOCK_SKEW = dt.timedelta(minutes=5)
MAX_NOTE = 2000


def _choices(values: Sequence[str]) -> str:
    return ", ".join(values)


def _moment(value: Any, name: str, errors: list[FieldError]) -> dt.datetime | None:
    if value in (None, ""):
        return None
    moment = value if isinstance(value, dt.datetime) else None
    if moment is None and isinstance(value, str):
        try:
            moment = parse_datetime(value.strip())
        except ValueError:
            moment = None
    if moment is None:
        errors.append(FieldError(name, "Give a date and time such as 2026-03-01T14:30:00Z."))
        return None
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    try:
        moment = moment.astimezone(dt.UTC)
    except OverflowError:
        errors.append(FieldError(name, "This moment is out of range."))
        return None
    if (
        not dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
        <= moment
        <= dt.datetime(9000, 1, 1, tzinfo=dt.UTC)
    ):
        errors.append(FieldError(name, "This moment is out of range."))
        return None
    return moment


def normalise_point(channel: str, point: str) -> tuple[str, str]:
    """A contact point as rows are grouped by it, and as it is kept (sealed);
    ValueError says what is wrong with it."""
    from rapport.contacts import normalize

    text = " ".join(point.split())
    if channel == "email":
        address = normalize.email(text)
        return normalize.email_key(address), address
    if channel in ("call", "sms", "messaging"):
        e164 = normalize.phone(text, region=settings.RAPPORT_DEFAULT_REGION).e164
        return e164, e164
    if not text or len(text) > 500:
        raise ValueError("Give the postal address, at most 500 characters.")
    return text.casefold(), text


def _text(
    value: Any, purpose: Purpose, method: str, errors: list[FieldError]
) -> ConsentText | None:
    if value in (None, ""):
        if method not in TEXT_METHODS:
            return None
        current = purpose.texts.order_by("-version").first()
        if current is None:
            errors.append(
                FieldError(
                    "text_version",
                    f"The purpose “{purpose.name}” has no consent text yet: publish the text "
                    "people are shown before recording what they agreed to with it.",
                )
            )
        return current
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdecimal():
        errors.append(FieldError("text_version", "Give the text's version number."))
        return None
    text = purpose.texts.filter(version=int(value)).first() if int(value) < 2**31 else None
    if text is None:
        errors.append(
            FieldError("text_version", f"The purpose “{purpose.name}” has no text version {value}.")
        )
    return text


def _evidence(data: Mapping[str, Any], errors: list[FieldError]) -> dict[str, str]:
    evidence: dict[str, str] = {}
    ip = data.get("ip_address")
    if ip not in (None, ""):
        try:
            evidence["ip_address"] = str(ipaddress.ip_address(str(ip).strip()))
        except ValueError:
            errors.append(FieldError("ip_address", "This is not an IP address."))
    agent = data.get("user_agent")
    if agent not in (None, ""):
        if not isinstance(agent, str) or len(agent) > 1000:
            errors.append(
                FieldError("user_agent", "Give the user agent, at most 1,000 characters.")
            )
        else:
            evidence["user_agent"] = agent
    return evidence


def _text_field(data: Mapping[str, Any], name: str, errors: list[FieldError]) -> str:
    value = data.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        errors.append(FieldError(name, "Give text."))
        return ""
    return value.strip()


def consent_draft(
    *, contact_id: int, data: Mapping[str, Any], source: str, actor: Any = None
) -> Draft:
    """Check one event as entered (API body, form, CLI options) and return it ready to
    append. Raises InvalidInput naming every wrong field; nothing is written."""
    errors: list[FieldError] = []
    for name in sorted(set(data) - RECORD_FIELDS):
        errors.append(FieldError(name, "Unknown field."))

    action = _text_field(data, "action", errors)
    if not action:
        errors.append(FieldError("action", f"Give an action: {_choices(Action.values)}."))
    elif action not in Action.values:
        errors.append(
            FieldError(
                "action", f"Unknown action “{action}”; use one of {_choices(Action.values)}."
            )
        )
        action = ""

    purpose_key = _text_field(data, "purpose", errors)
    purpose: Purpose | None = None
    if action in NO_PURPOSE_ACTIONS:
        if purpose_key:
            errors.append(
                FieldError(
                    "purpose",
                    f"“{action}” is about the contact as a whole; leave purpose empty.",
                )
            )
    elif not purpose_key:
        errors.append(FieldError("purpose", "A consent event needs a purpose."))
    else:
        purpose = Purpose.objects.filter(key=purpose_key).first()
        if purpose is None:
            errors.append(FieldError("purpose", f"There is no purpose “{purpose_key}”."))
        elif purpose.archived_at and action in (Action.GRANT, Action.CONFIRM):
            errors.append(
                FieldError(
                    "purpose", f"The purpose “{purpose.name}” is archived: it takes no new grants."
                )
            )

    channel = _text_field(data, "channel", errors)
    if channel in ("any", "all"):
        channel = ""
    if channel and channel not in CHANNELS:
        errors.append(
            FieldError(
                "channel",
                f"Unknown channel “{channel}”; use one of {_choices(CHANNELS)}, or leave it empty for every channel.",
            )
        )
        channel = ""
    point_text = _text_field(data, "point", errors)
    point = point_display = ""
    if channel and action in (NO_PURPOSE_ACTIONS | WHOLE_PURPOSE_ACTIONS):
        errors.append(
            FieldError("channel", f"“{action}” is not about one channel; leave channel empty.")
        )
    if point_text:
        if action in (NO_PURPOSE_ACTIONS | WHOLE_PURPOSE_ACTIONS):
            errors.append(
                FieldError("point", f"“{action}” is not about one address; leave point empty.")
            )
        elif channel not in POINT_CHANNELS:
            errors.append(
                FieldError(
                    "point",
                    f"Give the channel of this address or number: one of {_choices(POINT_CHANNELS)}.",
                )
            )
        else:
            try:
                point, point_display = normalise_point(channel, point_text)
            except ValueError as exc:
                errors.append(FieldError("point", str(exc)))

    method = _text_field(data, "method", errors)
    if action == Action.EXPIRE and not method:
        method = Method.SYSTEM
    if not method:
        errors.append(
            FieldError("method", f"Say how the person expressed it: {_choices(Method.values)}.")
        )
    elif method not in Method.values:
        errors.append(
            FieldError(
                "method", f"Unknown method “{method}”; use one of {_choices(Method.values)}."
            )
        )
        method = ""

    given_at = _moment(data.get("given_at"), "given_at", errors)
    now = timezone.now()
    if given_at is not None and given_at > now + CLOCK_SKEW:
        errors.append(FieldError("given_at", "Cannot be in the future."))
    valid_until = _moment(data.get("valid_until"), "valid_until", errors)
    if valid_until is not None:
        if action != Action.GRANT:
            errors.append(FieldError("valid_until", "Only a grant can be given until a date."))
        elif valid_until <= (given_at or now):
            errors.append(FieldError("valid_until", "Must be after the moment it was given."))

    text = None
    if purpose is not None and action == Action.GRANT and method:
        text = _text(data.get("text_version"), purpose, method, errors)
    elif data.get("text_version") not in (None, "") and action != Action.CONFIRM:
        errors.append(
            FieldError("text_version", "Only a grant names the text the person agreed to.")
        )

    confirms = None
    if action == Action.CONFIRM:
        confirms = _confirmed_request(data.get("confirms"), contact_id, purpose, errors)
        if confirms is not None:
            if channel or point_text:
                errors.append(
                    FieldError(
                        "channel",
                        "A confirmation is about what its request named; leave channel and point empty.",
                    )
                )
            text = confirms.text
    elif data.get("confirms") not in (None, ""):
        errors.append(FieldError("confirms", "Only a confirmation names the request it confirms."))

    note = _text_field(data, "note", errors)
    if len(note) > MAX_NOTE:
        errors.append(FieldError("note", f"At most {MAX_NOTE:,} characters."))
    reference = _text_field(data, "reference", errors)
    if len(reference) > 200:
        errors.append(FieldError("reference", "At most 200 characters."))
    evidence = _evidence(data, errors)
    if errors:
        raise InvalidInput(errors)

    draft = Draft(
        contact_id=contact_id,
        action=action,
        source=source,
        method=method,
        purpose=purpose,
        channel=channel,
        point=point,
        point_display=point_display,
        given_at=given_at,
        valid_until=valid_until,
        reference=reference,
        text=text,
        evidence=evidence,
        recorded_by=actor,
        note=note,
    )
    if confirms is not None:
        draft.channel, draft.point_key, draft.point_sealed = (
            confirms.channel,
            confirms.point_key,
            confirms.point_sealed,
        )
        draft.confirms, draft.token_id = confirms, confirms.token_id
    return draft


def _confirmed_request(
    value: Any, contact_id: int, purpose: Purpose | None, errors: list[FieldError]
) -> ConsentEvent | None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**63:
        errors.append(
            FieldError("confirms", "Give the id of the double opt-in request this confirms.")
        )
        return None
    request = ConsentEvent.objects.filter(pk=value).first()
    ids = _append.subject_ids(contact_id)
    if (
        request is None
        or request.contact_id not in ids
        or not request.needs_confirmation
        or (purpose is not None and request.purpose_id != purpose.pk)
    ):
        errors.append(
            FieldError(
                "confirms",
                f"Event {value} is not a double opt-in request of this contact and purpose.",
            )
        )
        return None
    if ConsentEvent.objects.filter(confirms=request).exists():
        errors.append(FieldError("confirms", f"Request {value} was already confirmed."))
        return None
    return request


def _require_contact(contact_id: int) -> None:
    from rapport.contacts.models import Contact

    if not 0 < contact_id < 2**63 or not Contact.objects.filter(pk=contact_id).exists():
        raise Contact.DoesNotExist(f"There is no contact with id {contact_id}.")


def consent_record(
    *,
    actor: Any,
    contact_id: int,
    data: Mapping[str, Any],
    via: str = "ui",
    source: str | None = None,
) -> ConsentEvent:
    """Append one event for a contact: a grant, withdrawal, objection (and its lift),
    confirmation or expiry for a purpose, or a contact-wide restriction or objection to
    direct marketing (no purpose). ``data`` holds ``action``, ``purpose`` (its key),
    ``channel`` (empty: every channel), ``point`` (an address or number of that
    channel), ``given_at`` (default now), ``method``, ``text_version`` (a grant by
    checkbox or double opt-in names the text shown; default the purpose's current
    one), ``valid_until``, ``note``, ``reference``, ``ip_address``, ``user_agent`` and,
    for a confirmation, ``confirms`` (the request's id).

    The derived state changes in the same transaction. Raises NotPermitted,
    Contact.DoesNotExist, InvalidInput naming every wrong field (nothing written).
    """
    policy.require(actor, "consent.record")
    _require_contact(contact_id)
    origin = source or SOURCE_BY_VIA.get(via, Source.USER)
    draft = consent_draft(contact_id=contact_id, data=data, source=origin, actor=actor)
    draft.source_ref = _source_ref(origin, actor, via)
    with transaction.atomic():
        if (
            draft.confirms is not None
            and ConsentEvent.objects.filter(confirms=draft.confirms).exists()
        ):
            # confirmed by someone else while this one was being checked
            raise InvalidInput.single("confirms", "This request was already confirmed.")
        [event] = _append.append([draft])
    return event


def consent_record_by_person(
    *,
    contact_id: int,
    data: Mapping[str, Any],
    source: str,
    reference: str = "",
) -> ConsentEvent:
    """Append one event the person gave themselves through a signed link Rapport sent
    them (the public preference page, a one-click unsubscribe): no staff member records
    it, so no permission is checked — the caller has checked the link. ``source`` is
    ``preference_page`` or ``email_link``; ``data`` as for ``consent_record`` (with
    ``ip_address`` and ``user_agent`` as evidence). Raises Contact.DoesNotExist,
    InvalidInput (nothing written)."""
    if source not in (Source.PREFERENCE_PAGE, Source.EMAIL_LINK):
        raise InvalidInput.single("source", "Only the preference page or an email link.")
    _require_contact(contact_id)
    draft = consent_draft(contact_id=contact_id, data=data, source=source, actor=None)
    draft.source_ref = reference or draft.source_ref
    with transaction.atomic():
        [event] = _append.append([draft])
    return event


def _source_ref(source: str, actor: Any, via: str) -> str:
    username = actor.get_username() if getattr(actor, "pk", None) else ""
    if source == Source.API:
        return f"API token of {username}" if username else "API"
    if source == Source.USER and username:
        return f"{username} ({'command line' if via == 'cli' else 'web'})"
    return ""


# ---------------------------------------------------------------- the chain


@dataclass(frozen=True)
class Verification:
    """What ``rapport consent verify`` found: rows checked, and the first break."""

    checked: int
    head_seq: int
    broken: Break | None

    @property
    def ok(self) -> bool:
        return self.broken is None


def consent_chain_verify(*, actor: Any = None, check_actor: bool = False) -> Verification:
    """Recompute every row's hash in order and compare it with the stored one and with
    the next row's ``prev_hash``; report the first row where the chain breaks (a row
    changed, removed, inserted or reordered around the triggers)."""
    if check_actor:
        policy.require(actor, "consent.maintain")
    head = ConsentChain.objects.filter(pk=1).first()
    head_seq, head_hash = (head.seq, head.head_hash) if head else (0, GENESIS)
    rows = (
        ConsentEvent.objects.order_by("seq")
        .values("id", "hash", *HASHED_FIELDS)
        .iterator(chunk_size=5000)
    )
    checked, broken = first_break(rows, head_seq=head_seq, head_hash=head_hash)
    return Verification(checked, head_seq, broken)


# ---------------------------------------------------------------- derived state


@dataclass(frozen=True)
class Rebuilt:
    contacts: int
    states: int


def consent_state_rebuild(
    *, actor: Any = None, contact_ids: Sequence[int] | None = None, check_actor: bool = False
) -> Rebuilt:
    """Derive the current state again from the ledger: for ``contact_ids``, or for
    everyone (the derived tables are emptied and refilled). Each batch of contacts is
    its own transaction, and takes the chain's lock, so appends wait rather than race."""
    if check_actor:
        policy.require(actor, "consent.maintain")
    if contact_ids is None:
        with transaction.atomic():
            _append.lock_head()
            ConsentState.objects.all().delete()
            ConsentContactState.objects.all().delete()
        wanted = sorted(set(ConsentSubject.objects.values_list("current_contact_id", flat=True)))
    else:
        wanted = sorted(set(contact_ids))
    for start in range(0, len(wanted), 500):
        with transaction.atomic():
            _append.lock_head()
            for contact_id in wanted[start : start + 500]:
                _append.refresh_contact(contact_id)
    states = ConsentState.objects.count() + ConsentContactState.objects.count()
    return Rebuilt(len(wanted), states)
