"""Every write of the quality area: stored facts, confirmations, snapshots, suggestions.

Scores are never computed one contact at a time in Python for a report: facts are
computed in SQL for chunks of contacts (``INSERT … SELECT`` with EXISTS subqueries) and
kept in ``ContactQuality`` until the contact's version changes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.db import IntegrityError, connection, transaction
from django.db.models import DateTimeField, Exists, F, OuterRef, Q, Value
from django.utils import timezone

from rapport.access.models import ChangeRecord
from rapport.access.services import change_record
from rapport.contacts.models import Contact
from rapport.core import policy
from rapport.quality import rules
from rapport.quality.models import (
    AuditSnapshot,
    ContactQuality,
    ContactVerification,
    RefreshMark,
)

REFRESH_CHUNK = 2000


def likely_duplicates(contact_ids: Sequence[int]) -> set[int]:
    """Contacts among ``contact_ids`` in a cluster of likely duplicates still to be
    decided (open or skipped in the review queue)."""
    from rapport.duplicates.models import DuplicateCluster, DuplicatePair

    undecided = DuplicatePair.objects.filter(
        cluster__status__in=[DuplicateCluster.Status.OPEN, DuplicateCluster.Status.SKIPPED]
    )
    found: set[int] = set()
    ids = list(contact_ids)
    for start in range(0, len(ids), REFRESH_CHUNK):
        part = ids[start : start + REFRESH_CHUNK]
        for a, b in undecided.filter(Q(contact_a__in=part) | Q(contact_b__in=part)).values_list(
            "contact_a_id", "contact_b_id"
        ):
            found.update((a, b))
    return found & set(ids)


def quality_duplicates_mark(*, contact_ids: Iterable[int] | None = None) -> None:
    """Bring the "Likely duplicate" fact of these contacts (or of every contact that has
    it or is in an undecided cluster) in line with the review queue; called when a scan
    or a reviewer changes it. The contact's other facts stay as they are."""
    from rapport.duplicates.models import DuplicateCluster, DuplicatePair

    flag = rules.Fact.DUPLICATE
    if contact_ids is None:
        flagged = ContactQuality.objects.annotate(dup=F("facts").bitand(flag)).filter(dup=flag)
        ids = set(flagged.values_list("contact_id", flat=True))
        for a, b in DuplicatePair.objects.filter(
            cluster__status__in=[DuplicateCluster.Status.OPEN, DuplicateCluster.Status.SKIPPED]
        ).values_list("contact_a_id", "contact_b_id"):
            ids.update((a, b))
    else:
        ids = set(contact_ids)
    ordered = sorted(ids)
    marked = likely_duplicates(ordered)
    for start in range(0, len(ordered), REFRESH_CHUNK):
        part = ordered[start : start + REFRESH_CHUNK]
        on = [c for c in part if c in marked]
        off = [c for c in part if c not in marked]
        ContactQuality.objects.filter(contact_id__in=on).update(facts=F("facts").bitor(flag))
        ContactQuality.objects.filter(contact_id__in=off).update(facts=F("facts").bitand(~flag))


def _dirty_ids(contact_ids: Iterable[int] | None, force: bool) -> list[int]:
    """Contacts (of ``contact_ids``, or all) whose stored row is missing or out of date."""
    qs = Contact.objects.order_by()
    if contact_ids is not None:
        qs = qs.filter(pk__in=list(contact_ids))
    if not force:
        current = ContactQuality.objects.filter(contact=OuterRef("pk"), version=OuterRef("version"))
        qs = qs.filter(~Exists(current))
    return sorted(qs.values_list("pk", flat=True))


# Change records are numbered when written but become visible when committed, so a few
# numbers below the mark are read again (their contacts' versions are compared, so
# nothing is recomputed twice).
MARK_MARGIN = 1000


def _recently_changed() -> tuple[list[int], int]:
    """Contacts named in the change history since the last refresh, and new contacts.

    Returns the ids whose rows are out of date and the change id read up to.
    """
    mark, _ = RefreshMark.objects.get_or_create(pk=1)
    top = ChangeRecord.objects.order_by("-id").values_list("id", flat=True).first() or 0
    named = set(
        ChangeRecord.objects.filter(
            id__gt=mark.last_change_id - MARK_MARGIN, id__lte=top, object_type="contact"
        ).values_list("object_id", flat=True)
    )
    ids = set(_dirty_ids(named, force=False)) if named else set()
    # Rows are deleted with their contact, so equal counts mean no contact lacks a row.
    if Contact.objects.count() != ContactQuality.objects.count():
        missing = Contact.objects.order_by().filter(
            ~Exists(ContactQuality.objects.filter(contact=OuterRef("pk")))
        )
        ids.update(missing.values_list("pk", flat=True))
    return sorted(ids), top


def _insert_chunk(ids: list[int], now: dt.datetime) -> None:
    select = (
        Contact.objects.filter(pk__in=ids)
        .order_by()
        .annotate(
            q_contact=F("pk"),
            q_version=F("version"),
            q_facts=rules.facts_expression(),
            q_touched=rules.last_touched_expression(),
            q_source=F("source"),
            q_computed=Value(now, output_field=DateTimeField()),
        )
        .values_list("q_contact", "q_version", "q_facts", "q_touched", "q_source", "q_computed")
    )
    sql, params = select.query.sql_with_params()
    table = connection.ops.quote_name(ContactQuality._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} "  # noqa: S608 - table name from the model, values as params
            "(contact_id, version, facts, last_touched, source, computed_at) " + sql,
            params,
        )
    duplicates = likely_duplicates(ids)
    if duplicates:
        ContactQuality.objects.filter(contact_id__in=duplicates).update(
            facts=F("facts").bitor(rules.Fact.DUPLICATE)
        )


def quality_refresh(
    *,
    contact_ids: Iterable[int] | None = None,
    force: bool = False,
    full: bool = False,
    chunk: int = REFRESH_CHUNK,
) -> int:
    """Recompute the stored facts of contacts whose row is missing or out of date.

    By default the contacts looked at are those named in the change history since the
    last refresh, plus any contact without a row (cheap: no scan of every contact).
    ``full`` compares every contact's version instead (catches changes made without a
    history entry; the daily snapshot does this). With ``contact_ids`` only those are
    looked at, and ``force`` recomputes them even when their version has not changed (a
    confirmation does not change the version). Each chunk is its own transaction, so a
    long first run does not hold the database. Returns how many were recomputed.
    """
    top = None
    if contact_ids is not None:
        ids = _dirty_ids(contact_ids, force)
    elif full:
        ids = _dirty_ids(None, force=False)
    else:
        ids, top = _recently_changed()
    now = timezone.now()
    done = 0
    for start in range(0, len(ids), chunk):
        part = ids[start : start + chunk]
        try:
            with transaction.atomic():
                ContactQuality.objects.filter(contact_id__in=part).delete()
                _insert_chunk(part, now)
        except IntegrityError:
            # Another process computed the same contacts meanwhile; its rows are as good.
            continue
        done += len(part)
    if top is not None:
        RefreshMark.objects.filter(pk=1, last_change_id__lt=top).update(last_change_id=top)
    return done


@transaction.atomic
def contact_verify(*, actor: Any, contact: Contact, via: str = "ui") -> ContactVerification:
    """Record that ``actor`` confirmed the contact's details are current.

    This restarts the stale clock and removes the "Never confirmed" problem. Raises
    NotPermitted unless the actor may change contacts. Recorded in the contact's history.
    """
    policy.require(actor, "contacts.change", contact)
    now = timezone.now()
    previous = ContactVerification.objects.filter(contact=contact).first()
    verification, _ = ContactVerification.objects.update_or_create(
        contact=contact,
        defaults={"verified_at": now, "verified_by": actor if getattr(actor, "pk", None) else None},
    )
    change_record(
        actor=actor,
        object_type="contact",
        object_id=contact.pk,
        object_repr=contact.display_name,
        action="update",
        changes={
            "confirmed": [
                previous.verified_at.isoformat(timespec="seconds") if previous else None,
                now.isoformat(timespec="seconds"),
            ]
        },
        via=via,
    )
    quality_refresh(contact_ids=[contact.pk], force=True)
    return verification


def audit_snapshot_write(
    *, actor: Any = None, day: dt.date | None = None, check: bool = True
) -> list[AuditSnapshot]:
    """Store today's figures for the whole database and for each source (one row per scope).

    Writing again on the same day replaces that day's figures. ``check`` asks the
    policy (the background task runs without a user and passes ``check=False``).
    """
    from rapport.quality.selectors import audit_reports_by_source

    if check:
        policy.require(actor, "quality.view")
    day = day or timezone.localdate()
    quality_refresh(full=True)
    written = []
    with transaction.atomic():
        for scope, report in audit_reports_by_source().items():
            snapshot, _ = AuditSnapshot.objects.update_or_create(
                scope=scope, date=day, defaults={"metrics": report.metrics()}
            )
            written.append(snapshot)
    return written


# ------------------------------------------------------------------ enrichment

GENERATE_CHUNK = 500


def enrichment_generate(
    *,
    actor: Any,
    scope: Any = None,
    providers: Sequence[str] | None = None,
    chunk: int = GENERATE_CHUNK,
    check: bool = True,
) -> dict[str, int]:
    """Ask every provider for suggestions about the contacts in ``scope`` (all by default).

    Contacts are read a chunk at a time (keyset on id) with their emails, phones,
    addresses and affiliations prefetched; suggestions are stored pending, never
    applied. A suggestion made before (even one rejected) is not made again. Returns
    how many new suggestions each provider made. Raises NotPermitted without
    enrichment.apply (unless ``check`` is False, for background tasks).
    """
    from rapport.quality import enrichment
    from rapport.quality.models import Suggestion
    from rapport.quality.selectors import Scope

    if check:
        policy.require(actor, "enrichment.apply")
    scope = scope or Scope()
    found = enrichment.default_providers(providers)
    counts = {p.name: 0 for p in found}
    qs = Contact.objects.order_by("pk").prefetch_related(
        "emails", "phones", "addresses", "affiliations"
    )
    if scope.batch is not None:
        from rapport.ingest.models import ImportChange

        qs = qs.filter(
            pk__in=ImportChange.objects.filter(batch_id=scope.batch).values("contact_id")
        )
    elif scope.source is not None:
        qs = qs.filter(source=scope.source)
    after = 0
    while True:
        contacts = list(qs.filter(pk__gt=after)[:chunk])
        if not contacts:
            break
        after = contacts[-1].pk
        for provider in found:
            rows = [
                Suggestion(
                    contact_id=p.contact_id,
                    field=p.field,
                    current_value=p.current_value[:300],
                    suggested_value=p.suggested_value[:300],
                    payload=p.payload,
                    provider=provider.name,
                    reason=p.reason[:300],
                )
                for p in provider.suggest(contacts)
            ]
            if not rows:
                continue
            before = Suggestion.objects.filter(provider=provider.name).count()
            Suggestion.objects.bulk_create(rows, ignore_conflicts=True)
            counts[provider.name] += (
                Suggestion.objects.filter(provider=provider.name).count() - before
            )
    return counts


class SuggestionOutdated(Exception):
    """The contact changed since the suggestion was made; applying it could overwrite."""


def _still_current(suggestion: Any, contact: Contact) -> bool:
    field = suggestion.field
    if field == "organization":
        return not contact.affiliations.filter(is_current=True).exists()
    if field == "country":
        return not contact.addresses.exclude(country="").exists()
    if field == "time_zone":
        return contact.time_zone == suggestion.current_value
    if field == "name":
        return contact.display_name == suggestion.current_value
    if field == "phone":
        return not contact.phones.exists()
    if field == "job_title":
        return contact.job_title == suggestion.current_value
    return False


def _organization_for(actor: Any, payload: dict[str, Any], via: str) -> Any:
    from rapport.contacts.models import Organization
    from rapport.contacts.services import organization_create

    org_id = payload.get("organization_id")
    if org_id:
        org = Organization.objects.filter(pk=org_id).first()
        if org is not None:
            return org
    domain = str(payload.get("domain") or "").lower()
    if domain:
        # Another accepted suggestion may have created it meanwhile.
        for org in Organization.objects.filter(domains__icontains=f'"{domain}"').order_by("id"):
            if domain in [str(d).lower() for d in org.domains]:
                return org
    return organization_create(
        actor=actor,
        data={"name": payload.get("name") or domain, "domains": [domain] if domain else []},
        via=via,
    )


def _apply(actor: Any, suggestion: Any, contact: Contact, via: str) -> str:
    """Make the change through the contacts services; returns what was done."""
    from rapport.contacts.services import affiliation_create, contact_update, contact_values

    payload = suggestion.payload or {}
    if suggestion.field == "organization":
        org = _organization_for(actor, payload, via)
        affiliation_create(
            actor=actor, data={"contact": contact.pk, "organization": org.pk}, via=via
        )
        return f"Linked to {org.name}."
    if suggestion.field == "time_zone":
        contact_update(
            actor=actor, contact=contact, data={"time_zone": payload["time_zone"]}, via=via
        )
        return f"Time zone set to {payload['time_zone']}."
    if suggestion.field == "country":
        addresses = contact_values(contact)["addresses"]
        if addresses:
            addresses[0]["country"] = payload["country"]
        else:
            addresses = [{"country": payload["country"]}]
        contact_update(actor=actor, contact=contact, data={"addresses": addresses}, via=via)
        return f"Country set to {payload['country']}."
    if suggestion.field == "name":
        names = {
            k: v for k, v in payload.items() if k in ("given_name", "middle_name", "family_name")
        }
        contact_update(actor=actor, contact=contact, data=names, via=via)
        return f"Name written as {suggestion.suggested_value}."
    if suggestion.field == "phone":
        phones = [*contact_values(contact)["phones"], {"number": suggestion.suggested_value}]
        contact_update(actor=actor, contact=contact, data={"phones": phones}, via=via)
        return f"Phone {suggestion.suggested_value} added."
    if suggestion.field == "job_title":
        contact_update(
            actor=actor, contact=contact, data={"job_title": suggestion.suggested_value}, via=via
        )
        return f"Job title set to {suggestion.suggested_value}."
    raise ValueError(f"unknown suggestion field {suggestion.field!r}")


def suggestion_accept(*, actor: Any, suggestion_id: int, via: str = "ui") -> Any:
    """Apply one pending suggestion through the contacts services and mark it accepted.

    Validation, permissions and history are those of the service called
    (contact_update, organization_create, affiliation_create). Raises NotPermitted,
    InvalidInput (nothing changed), Conflict when it was already decided, and marks it
    ``outdated`` (raising SuggestionOutdated) when the contact changed since.
    """
    from rapport.core.errors import Conflict
    from rapport.quality.models import Suggestion

    policy.require(actor, "enrichment.apply")
    with transaction.atomic():
        suggestion = (
            Suggestion.objects.select_for_update().select_related("contact").get(pk=suggestion_id)
        )
        if suggestion.status != Suggestion.Status.PENDING:
            raise Conflict(
                f"This suggestion was already {suggestion.get_status_display().lower()}."
            )
        contact = suggestion.contact
        outdated = not _still_current(suggestion, contact)
        if not outdated:
            suggestion.outcome = _apply(actor, suggestion, contact, via)
            suggestion.status = Suggestion.Status.ACCEPTED
        else:
            suggestion.status = Suggestion.Status.OUTDATED
            suggestion.outcome = "The contact changed since; nothing was applied."
        suggestion.decided_at = timezone.now()
        suggestion.decided_by = actor if getattr(actor, "pk", None) else None
        suggestion.save(update_fields=["status", "outcome", "decided_at", "decided_by"])
    if outdated:
        raise SuggestionOutdated(suggestion.outcome)
    return suggestion


def suggestion_reject(*, actor: Any, suggestion_ids: Sequence[int]) -> int:
    """Reject pending suggestions (they will not be made again). Returns how many."""
    from rapport.quality.models import Suggestion

    policy.require(actor, "enrichment.apply")
    return Suggestion.objects.filter(
        pk__in=list(suggestion_ids), status=Suggestion.Status.PENDING
    ).update(
        status=Suggestion.Status.REJECTED,
        decided_at=timezone.now(),
        decided_by=actor if getattr(actor, "pk", None) else None,
    )


def suggestion_accept_many(
    *, actor: Any, suggestion_ids: Sequence[int], via: str = "ui"
) -> dict[str, Any]:
    """Accept each suggestion on its own (one failure does not undo the others).

    Returns ``{"accepted": n, "failed": [{"id", "contact", "reason"}]}``.
    """
    from rapport.core.errors import Conflict, InvalidInput, NotPermitted
    from rapport.quality.models import Suggestion

    policy.require(actor, "enrichment.apply")
    accepted, failed = 0, []
    wanted = list(dict.fromkeys(suggestion_ids))
    # One query finds which exist, so a long list of unknown ids costs no more than that.
    known = set(Suggestion.objects.filter(pk__in=wanted).values_list("pk", flat=True))
    for pk in wanted:
        if pk not in known:
            failed.append({"id": pk, "reason": "There is no such suggestion."})
            continue
        try:
            suggestion_accept(actor=actor, suggestion_id=pk, via=via)
            accepted += 1
        except InvalidInput as exc:
            failed.append({"id": pk, "reason": str(exc)})
        except (SuggestionOutdated, Conflict, NotPermitted) as exc:
            failed.append({"id": pk, "reason": str(exc)})
        except ObjectDoesNotExist:
            failed.append({"id": pk, "reason": "There is no such suggestion."})
    return {"accepted": accepted, "failed": failed}
