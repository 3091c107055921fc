"""Retention policies: contacts matching a filter are anonymised or erased, daily.

A policy's filter is the contact list's own, written as its query string (what the
address bar shows on the contact list: ``lifecycle_stage=lead&tag=Fair 2022``), where
a date may be relative to the day of the run: ``-24m`` (months), ``-2y``, ``-6w``,
``-90d``. "Leads with no interaction for 24 months" is
``lifecycle_stage=lead&not_contacted_since=-24m&created_before=-24m`` (the last part
keeps a lead created last week, never contacted yet, out of it).

A run acts as the admin who asked for it, or for the daily run as the admin who made
the policy (who must still be one). Contacts are handled CHUNK at a time, each chunk in
one transaction (``subjects_erase``: stored files are read once per chunk, not once per
person); a chunk that fails is done again one contact at a time, so a contact that
cannot be handled is counted and the others go on. The run's log keeps counts, never
names. A dry run changes nothing and keeps the count and the ids
of a sample.
"""

from __future__ import annotations

import calendar
import datetime as dt
import logging
import re
from typing import Any
from urllib.parse import urlsplit

from django.db.models import QuerySet
from django.http import QueryDict
from django.utils import timezone

from rapport.contacts.forms import contact_filters
from rapport.contacts.models import Contact
from rapport.contacts.selectors import contacts_matching
from rapport.core import policy
from rapport.core.errors import FieldError, InvalidInput, NotPermitted
from rapport.privacy.models import Anonymised, ErasureLog, Mode, RetentionPolicy, RetentionRun
from rapport.privacy.services.erasure import subject_erase, subjects_erase
from rapport.privacy.services.subjects import subject_of

logger = logging.getLogger(__name__)

DATE_FILTERS = (
    "created_after",
    "created_before",
    "updated_after",
    "updated_before",
    "contacted_after",
    "not_contacted_since",
)
_OTHER_FILTERS = (
    "q",
    "tag",
    "owner",
    "organization",
    "lifecycle_stage",
    "country",
    "next_step",
    "reach_out_due",
)
_RELATIVE = re.compile(r"^-(\d{1,4})\s*([dwmy])$", re.IGNORECASE)
# Contacts handled together, in one transaction (each stored file is read once per chunk).
CHUNK = 100


def _months_back(day: dt.date, months: int) -> dt.date:
    month = day.month - 1 - months
    year = day.year + month // 12
    month = month % 12 + 1
    return day.replace(
        year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1])
    )


def relative_day(value: str, today: dt.date) -> str:
    """``-24m`` → the ISO date 24 months before ``today``; anything else unchanged."""
    found = _RELATIVE.match(value.strip())
    if not found:
        return value
    amount, unit = int(found.group(1)), found.group(2).lower()
    if unit == "d":
        day = today - dt.timedelta(days=amount)
    elif unit == "w":
        day = today - dt.timedelta(weeks=amount)
    elif unit == "m":
        day = _months_back(today, amount)
    else:
        day = _months_back(today, amount * 12)
    return day.isoformat()


def _query(text: str) -> QueryDict:
    text = (text or "").strip()
    if "?" in text or text.startswith(("http://", "https://", "/")):
        text = urlsplit(text).query
    return QueryDict(text.lstrip("?"))


def normalise_filters(text: str) -> str:
    """The filter as stored: a query string of known contact list filters (a pasted
    contact list address is reduced to its query). Raises InvalidInput (``filters``)
    for unknown or invalid filters or for none at all."""
    params = _query(text)
    unknown = [
        k
        for k in params
        if k not in (*DATE_FILTERS, *_OTHER_FILTERS) and not k.startswith("custom.")
    ]
    if unknown:
        raise InvalidInput.single(
            "filters", f"Not a contact list filter: {', '.join(sorted(unknown))}."
        )
    kept = QueryDict(mutable=True)
    for key, values in params.lists():
        for value in values:
            if value.strip():
                kept.appendlist(key, value.strip())
    if not kept:
        raise InvalidInput.single(
            "filters",
            "Give at least one filter; a policy for every contact is not a retention policy.",
        )
    resolved(kept.urlencode(), timezone.localdate())  # raises for invalid values
    return kept.urlencode(safe="-")


def resolved(text: str, today: dt.date) -> tuple[str, Any]:
    """The search text and the ContactFilters of a stored filter, relative dates
    resolved for ``today``. Raises InvalidInput (``filters``)."""
    params = _query(text).copy()
    for key in DATE_FILTERS:
        if key in params:
            params.setlist(key, [relative_day(v, today) for v in params.getlist(key)])
    try:
        filters = contact_filters(params)
    except InvalidInput as exc:
        raise InvalidInput(
            [FieldError("filters", f"{e.path}: {e.message}") for e in exc.errors]
        ) from None
    return params.get("q", ""), filters


def retention_matching(
    retention: RetentionPolicy, *, actor: Any, today: dt.date | None = None
) -> QuerySet[Contact]:
    """The contacts the policy covers today, anonymised ones left out."""
    q, filters = resolved(retention.filters, today or timezone.localdate())
    matching = contacts_matching(actor=actor, q=q, filters=filters)
    return matching.exclude(pk__in=Anonymised.objects.values("contact_id"))


def retention_policy_save(
    *, actor: Any, data: dict[str, Any], retention: RetentionPolicy | None = None
) -> RetentionPolicy:
    """Create or change a policy (``name``, ``description``, ``filters``, ``action``,
    ``enabled``). Raises NotPermitted, InvalidInput listing every problem."""
    policy.require(actor, "privacy.retention")
    errors: list[FieldError] = []
    name = " ".join(str(data.get("name", retention.name if retention else "") or "").split())
    if not name:
        errors.append(FieldError("name", "Give the policy a name."))
    elif len(name) > 100:
        errors.append(FieldError("name", "At most 100 characters."))
    elif (
        RetentionPolicy.objects.filter(name=name)
        .exclude(pk=retention.pk if retention else 0)
        .exists()
    ):
        errors.append(FieldError("name", "Another policy has this name."))
    description = str(
        data.get("description", retention.description if retention else "") or ""
    ).strip()
    if len(description) > 500:
        errors.append(FieldError("description", "At most 500 characters."))
    action = str(data.get("action", retention.action if retention else Mode.ANONYMISE) or "")
    if action not in Mode.values:
        errors.append(FieldError("action", f"Must be one of: {', '.join(Mode.values)}."))
    filters = ""
    try:
        filters = normalise_filters(
            str(data.get("filters", retention.filters if retention else "") or "")
        )
    except InvalidInput as exc:
        errors += exc.errors
    if len(filters) > 2000:
        errors.append(FieldError("filters", "At most 2,000 characters."))
    enabled = data.get("enabled", retention.enabled if retention else True)
    if not isinstance(enabled, bool):
        errors.append(FieldError("enabled", "Must be true or false."))
    if errors:
        raise InvalidInput(errors)
    if retention is None:
        retention = RetentionPolicy(created_by=actor if getattr(actor, "pk", None) else None)
    retention.name = name
    retention.description = description
    retention.filters = filters
    retention.action = action
    retention.enabled = bool(enabled)
    retention.save()
    return retention


def retention_policy_delete(*, actor: Any, retention: RetentionPolicy) -> None:
    """Delete a policy; its runs stay in the log."""
    policy.require(actor, "privacy.retention")
    retention.delete()


def retention_preview(
    *, actor: Any, retention: RetentionPolicy, trigger: str = RetentionRun.Trigger.UI
) -> RetentionRun:
    """A dry run: how many contacts the policy would handle now and a sample of them,
    logged as a run; nothing else changes."""
    return retention_run(actor=actor, retention=retention, trigger=trigger, dry_run=True)


def retention_run(
    *,
    actor: Any,
    retention: RetentionPolicy,
    trigger: str,
    dry_run: bool = False,
) -> RetentionRun:
    """Run the policy now (or, ``dry_run``, count what it would do); returns the run.

    ``actor`` is who asked (None for the daily run, which acts as the policy's maker).
    Raises NotPermitted when the one who asked may not; a maker who no longer may is
    logged as a failed run. A policy whose filter no longer reads is a failed run too.
    """
    acting = actor if actor is not None else retention.created_by
    if actor is not None:
        policy.require(actor, "privacy.retention")
    run = RetentionRun.objects.create(
        policy=retention,
        policy_name=retention.name,
        action=retention.action,
        filters=retention.filters,
        dry_run=dry_run,
        trigger=trigger,
        triggered_by=actor if getattr(actor, "pk", None) else None,
    )
    try:
        if not policy.can(acting, "privacy.retention"):
            raise NotPermitted(
                "The admin who made this policy may no longer apply it; an admin must "
                "save it again to take it over."
            )
        matching = retention_matching(retention, actor=acting)
        ids = list(matching.order_by("pk").values_list("pk", flat=True))
    except (InvalidInput, NotPermitted) as exc:
        return _finish(run, RetentionRun.Status.FAILED, error=str(exc))
    run.matched = len(ids)
    if dry_run:
        run.sample_ids = ids[: RetentionRun.SAMPLE]
        return _finish(run, RetentionRun.Status.DONE)
    run.save(update_fields=["matched"])
    for start in range(0, len(ids), CHUNK):
        _run_chunk(run, retention, acting, ids[start : start + CHUNK])
        run.save(update_fields=["processed", "failed", "counts"])
    return _finish(run, RetentionRun.Status.DONE)


def _run_chunk(run: RetentionRun, retention: RetentionPolicy, acting: Any, ids: list[int]) -> None:
    """Handle a chunk of contacts in one transaction; when it fails, one by one, so a
    contact that cannot be handled is counted and the others still are."""
    keep = retention.action == Mode.ANONYMISE
    note = f"Retention policy “{retention.name}”"[:500]
    subjects = []
    for contact_id in ids:
        try:
            subjects.append(subject_of(contact_id, keep_record=keep))
        except (Contact.DoesNotExist, InvalidInput):
            continue  # erased or merged away since the list was read
    options: dict[str, Any] = {
        "actor": acting,
        "reason": ErasureLog.Reason.RETENTION,
        "note": note,
        "suppress": False,
        "via": "retention",
        "run": run,
    }
    try:
        logs = subjects_erase(subjects, **options)
    except Exception:
        logs = []
        for subject in subjects:
            try:
                logs.append(subject_erase(subject, **options))
            except Contact.DoesNotExist:
                continue
            except Exception:
                logger.exception(
                    "Retention %s: contact %s could not be handled", run.pk, subject.contact_id
                )
                run.failed += 1
    for log in logs:
        run.processed += 1
        for area, counts in log.counts.items():
            into = run.counts.setdefault(area, {})
            for phrase, n in counts.items():
                into[phrase] = into.get(phrase, 0) + n


def _finish(run: RetentionRun, status: str, *, error: str = "") -> RetentionRun:
    run.status = status
    run.error = error
    run.finished_at = timezone.now()
    run.save()
    return run


def retention_run_all(
    *, actor: Any = None, trigger: str = RetentionRun.Trigger.SCHEDULE, dry_run: bool = False
) -> list[RetentionRun]:
    """Run every enabled policy in turn (the daily duty, or `rapport privacy retention`)."""
    if actor is not None:
        policy.require(actor, "privacy.retention")
    runs = []
    for retention in RetentionPolicy.objects.filter(enabled=True).select_related("created_by"):
        run = retention_run(actor=actor, retention=retention, trigger=trigger, dry_run=dry_run)
        runs.append(run)
        # the daily run is quiet when it had nothing to do
        level = logging.INFO if run.processed or run.failed or run.error else logging.DEBUG
        if run.status == RetentionRun.Status.FAILED:
            level = logging.WARNING
        logger.log(
            level,
            "Retention policy %s: %s of %s contacts %sd, %s failed%s",
            run.policy_name,
            run.processed,
            run.matched,
            run.action,
            run.failed,
            f" ({run.error})" if run.error else "",
        )
    return runs
