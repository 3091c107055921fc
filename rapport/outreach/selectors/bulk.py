"""The bulk sends a user can look back on: their own (an admin: everyone's), newest
first, one keyset page at a time, with each job's recipients by outcome read for the
whole page in one query. The page, ``GET /api/v1/messages/bulk`` and ``rapport outreach
bulk-list`` all read them here."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from django.db.models import Func, IntegerField, Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from rapport.core import policy
from rapport.core.cursor import decode_cursor, encode_cursor
from rapport.core.errors import FieldError, InvalidInput
from rapport.outreach.models import BulkSend
from rapport.outreach.services.bulk import BulkCounts, bulk_send_counts_for

MAX_LIMIT = 200
STATUSES = tuple(BulkSend.Status.values)
_PURPOSE_KEY = re.compile(r"[-a-zA-Z0-9_]{1,50}")


class _ArrayLength(Func):
    """How many entries a JSON array holds, counted by the database."""

    function = "json_array_length"
    output_field = IntegerField()

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(compiler, connection, function="jsonb_array_length", **extra)


@dataclass(frozen=True)
class BulkSendEntry:
    """One bulk send of a page and its recipients by outcome."""

    job: BulkSend
    counts: BulkCounts


@dataclass(frozen=True)
class BulkSendPage:
    """A page of bulk sends; ``everyone`` when they are anyone's (an admin's list), not
    only the actor's own."""

    items: list[BulkSendEntry]
    next_cursor: str | None
    everyone: bool = False


def bulk_send_list(
    *,
    actor: Any,
    cursor: str | None = None,
    limit: int = 50,
    status: str | None = None,
    purpose: str | None = None,
) -> BulkSendPage:
    """The bulk sends ``actor`` may see, newest first: the ones they started, or every
    one for an admin (``users.manage``, as for ``bulk_send_get``). ``status`` and
    ``purpose`` (a purpose's key) keep the matching ones.

    Raises NotPermitted without ``contacts.view``, InvalidInput naming each bad field:
    a ``limit`` outside 1–200, an unknown status or purpose, a cursor that is not ours.
    """
    policy.require(actor, "contacts.view")
    errors: list[FieldError] = []
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        errors.append(FieldError("limit", f"Must be between 1 and {MAX_LIMIT}."))
    if status and status not in STATUSES:
        errors.append(FieldError("status", f"Must be one of {', '.join(STATUSES)}."))
    if purpose and not _known_purpose(purpose):
        errors.append(FieldError("purpose", f"There is no purpose “{purpose[:50]}”."))
    after: tuple[dt.datetime, int] | None = None
    if cursor:
        try:
            after = _after(cursor)
        except InvalidInput as exc:
            errors += exc.errors
    if errors:
        raise InvalidInput(errors)

    everyone = policy.can(actor, "users.manage")
    query = (
        BulkSend.objects.select_related("started_by", "template")
        # a job's selection and skipped contacts may run to 100,000 entries each
        .defer("ids", "skipped", "body_text", "body_html")
        .annotate(skipped_count=_ArrayLength("skipped"))
    )
    if not everyone:
        query = query.filter(started_by_id=actor.pk)
    if status:
        query = query.filter(status=status)
    if purpose:
        query = query.filter(purpose=purpose)
    if after is not None:
        moment, pk = after
        query = query.filter(Q(created_at__lt=moment) | Q(created_at=moment, pk__lt=pk))
    rows = list(query.order_by("-created_at", "-id")[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    counts = bulk_send_counts_for(rows)
    next_cursor = encode_cursor([rows[-1].created_at.isoformat(), rows[-1].pk]) if more else None
    return BulkSendPage(
        items=[BulkSendEntry(job, counts[job.pk]) for job in rows],
        next_cursor=next_cursor,
        everyone=everyone,
    )


def _known_purpose(key: str) -> bool:
    """A purpose's key, or one a bulk send was made for (its purpose since deleted)."""
    from rapport.consent.models import Purpose

    if not isinstance(key, str) or not _PURPOSE_KEY.fullmatch(key):
        return False
    return Purpose.objects.filter(key=key).exists() or BulkSend.objects.filter(purpose=key).exists()


def _after(cursor: str) -> tuple[dt.datetime, int]:
    """The created_at and id of the last job of the page before."""
    when, pk = decode_cursor(cursor, 2)
    try:
        moment = parse_datetime(when) if isinstance(when, str) else None
        # in UTC, as the database compares it (a moment near year 1 or 9999 overflows)
        moment = moment.astimezone(dt.UTC) if moment and timezone.is_aware(moment) else None
    except (ValueError, OverflowError):
        moment = None
    if moment is None or isinstance(pk, bool) or not isinstance(pk, int):
        raise InvalidInput.single("cursor", "This cursor is not valid.")
    return moment, pk
